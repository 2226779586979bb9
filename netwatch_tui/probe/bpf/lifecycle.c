/* Tracepoints both backends use: sockets closing and processes exiting. Appended to each
 * backend's source by the loader: BCC generates tracepoint argument structs for the main text only. */

TRACEPOINT_PROBE(sock, inet_sock_set_state)
{
    /* Closing; or starting: connect() and listen() leave TCP_CLOSE, an accepted connection's
     * socket is made in TCP_SYN_RECV. */
    if (args->newstate == NW_TCP_CLOSE || args->oldstate == NW_TCP_CLOSE || args->newstate == NW_TCP_SYN_RECV)
        forget_socket(args->skaddr);
    /* connect() runs in the connecting process: its new connection counts before it moves a byte,
     * without waiting for user space's periodic full recount. */
    if (args->oldstate == NW_TCP_CLOSE && args->newstate == NW_TCP_SYN_SENT)
        count_socket_event(bpf_get_current_pid_tgid() >> 32);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_process_exit)
{
    u64 id = bpf_get_current_pid_tgid();
#ifdef HAVE_GROUP_DEAD
    if (!args->group_dead)
        return 0;
#else
    /* Before Linux 6.16 the tracepoint does not say. do_exit() has already taken this thread off
     * signal->live when it fires, so 0 there means that no thread of the process is left to move
     * a byte (offsets from the running kernel's BTF). */
    const char *task = (const char *)bpf_get_current_task();
    const char *signal = 0;
    int live = 1;
    bpf_probe_read_kernel(&signal, sizeof(signal), task + OFF_TASK_SIGNAL);
    if (signal)
        bpf_probe_read_kernel(&live, sizeof(live), signal + OFF_SIGNAL_LIVE);
    if (live != 0)
        return 0;
#endif
    retire_process(id >> 32);
    return 0;
}

/* A process that runs another program: its new name goes in its entry (for a process gone before
 * user space asks), and the count tells user space to read its name and command line again. */
TRACEPOINT_PROBE(sched, sched_process_exec)
{
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    struct proc_val_t *val = procs.lookup(&tgid);
    if (!val)
        return 0;
    bpf_get_current_comm(val->comm, sizeof(val->comm));
    __sync_fetch_and_add(&val->execs, 1);
    return 0;
}
