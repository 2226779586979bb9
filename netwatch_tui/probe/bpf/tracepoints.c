/* Backend "tracepoints" (Linux >= 6.3): sock_sendmsg / sock_recvmsg report every socket's bytes,
 * in the calling process's context. */

TRACEPOINT_PROBE(sock, sock_send_length)
{
    u16 family = args->family;
    if (!is_counted_family(family) || args->ret <= 0)
        return 0;
    account(args->sk, family, args->protocol, args->ret, 0);
    return 0;
}

TRACEPOINT_PROBE(sock, sock_recv_length)
{
    u16 family = args->family;
    if (!is_counted_family(family) || args->ret <= 0 || (args->flags & NW_MSG_PEEK))
        return 0;
    account(args->sk, family, args->protocol, args->ret, 1);
    return 0;
}

