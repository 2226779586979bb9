/* Backend "kprobes" (kernels before 6.3, which lack sock:sock_{send,recv}_length).
 *
 * The approach of BCC's older tcptop and netdata's socket plugin: TX from the return value of
 * tcp_sendmsg / udp_sendmsg / udpv6_sendmsg (the size argument is what was asked, not what was
 * sent), TCP RX from tcp_cleanup_rbuf(sk, copied) (it also sees splice() and tcp_read_sock()
 * reads), UDP RX from the return value of udp_recvmsg / udpv6_recvmsg, MSG_PEEK reads skipped.
 * AF_PACKET, SCTP, ICMP and raw sockets are not seen by this backend. */

#include <uapi/linux/ptrace.h> /* struct pt_regs, for PT_REGS_PARM* */

struct call_t {
    const void *sk;
    u32 counted; /* tcp_recvmsg: bytes tcp_cleanup_rbuf has already counted in this call */
    u16 protocol;
    u8 skip;
};

/* The socket of a call in flight, by thread, from the entry probe to the return probe. */
BPF_HASH(calls, u64, struct call_t, 10240);

static __always_inline u16 socket_family(const void *sk)
{
    u16 family = 0;
    bpf_probe_read_kernel(&family, sizeof(family), (const char *)sk + OFF_FAMILY);
    return family;
}

static __always_inline int enter(const void *sk, u16 protocol, u8 skip)
{
    u64 id = bpf_get_current_pid_tgid();
    struct call_t call = {.sk = sk, .protocol = protocol, .skip = skip};
    calls.update(&id, &call);
    return 0;
}

static __always_inline int leave(struct pt_regs *ctx, int receive)
{
    u64 id = bpf_get_current_pid_tgid();
    struct call_t *call = calls.lookup(&id);
    if (!call)
        return 0;
    struct call_t done = *call;
    calls.delete(&id);
    int ret = PT_REGS_RC(ctx);
    if (ret <= 0 || done.skip)
        return 0;
    u16 family = socket_family(done.sk);
    if (family == NW_AF_INET || family == NW_AF_INET6)
        account((u64)done.sk, done.sk, family, done.protocol, ret, receive);
    return 0;
}

int tcp_sendmsg_entry(struct pt_regs *ctx, const void *sk)
{
    return enter(sk, NW_IPPROTO_TCP, 0);
}

int udp_sendmsg_entry(struct pt_regs *ctx, const void *sk)
{
    return enter(sk, 17, 0);
}

int sendmsg_return(struct pt_regs *ctx)
{
    return leave(ctx, 0);
}

/* udp_recvmsg / tcp_recvmsg lost their `noblock` argument in 5.19. BCC reads the arguments it
 * is shown in the function's own signature, so each variant is spelled out. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 19, 0)
int udp_recvmsg_entry(struct pt_regs *ctx, const void *sk, void *msg, size_t len, int flags)
{
    return enter(sk, 17, (flags & NW_MSG_PEEK) != 0);
}

/* Only remembers a MSG_PEEK read, so that tcp_cleanup_rbuf below does not count it. */
int tcp_recvmsg_entry(struct pt_regs *ctx, const void *sk, void *msg, size_t len, int flags)
{
    return enter(sk, NW_IPPROTO_TCP, (flags & NW_MSG_PEEK) != 0);
}
#else
int udp_recvmsg_entry(struct pt_regs *ctx, const void *sk, void *msg, size_t len, int noblock, int flags)
{
    return enter(sk, 17, (flags & NW_MSG_PEEK) != 0);
}

int tcp_recvmsg_entry(struct pt_regs *ctx, const void *sk, void *msg, size_t len, int noblock, int flags)
{
    return enter(sk, NW_IPPROTO_TCP, (flags & NW_MSG_PEEK) != 0);
}
#endif

int tcp_recvmsg_return(struct pt_regs *ctx)
{
    u64 id = bpf_get_current_pid_tgid();
    calls.delete(&id);
    return 0;
}

int recvmsg_return(struct pt_regs *ctx)
{
    return leave(ctx, 1);
}

/* tcp_cleanup_rbuf(sk, copied): called once the reader has consumed `copied` bytes. Within one
 * tcp_recvmsg call it can run more than once with the running total: a read that must wait for
 * more data (MSG_WAITALL, SO_RCVLOWAT) calls it before each sleep and again at the end. Only the
 * growth since the previous call in the same tcp_recvmsg is new. */
int tcp_cleanup_rbuf_entry(struct pt_regs *ctx, const void *sk, int copied)
{
    if (copied <= 0)
        return 0;
    u64 id = bpf_get_current_pid_tgid();
    struct call_t *call = calls.lookup(&id);
    u32 counted = 0;
    if (call && call->sk == sk && call->protocol == NW_IPPROTO_TCP) {
        if (call->skip || (u32)copied <= call->counted)
            return 0;
        counted = call->counted;
        call->counted = copied;
    }
    u16 family = socket_family(sk);
    if (family == NW_AF_INET || family == NW_AF_INET6)
        account((u64)sk, sk, family, NW_IPPROTO_TCP, (u32)copied - counted, 1);
    return 0;
}

