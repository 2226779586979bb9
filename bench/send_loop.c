/* Nanoseconds per send() call that fails at once: 1 byte on an unconnected UDP socket
 * (EDESTADDRREQ). The sock_send_length tracepoint fires on every call whatever its result, and a
 * program there returns at its first check (the result): the difference with one attached is what
 * running a program on the hook costs at all, the kernel's work around it included, which
 * bpf_stats' run time leaves out (bench/hot_path.py).
 *
 *     send_loop CALLS
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

int main(int argc, char **argv)
{
    long calls = argc > 1 ? atol(argv[1]) : 1000000;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || calls <= 0) {
        perror("send_loop");
        return 1;
    }
    char byte = 'x';
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < calls; i++)
        send(fd, &byte, 1, MSG_DONTWAIT);
    clock_gettime(CLOCK_MONOTONIC, &end);
    printf("%.1f\n", ((end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec)) / calls);
    return 0;
}
