/* Backend "tracepoints" (Linux >= 6.3): sock_sendmsg / sock_recvmsg report every socket's bytes,
 * in the calling process's context.
 *
 * The two functions are attached as BTF-typed raw tracepoints (tp_btf, see probe/btf_tracepoints.py),
 * not as BCC's TRACEPOINT_PROBE: they get the tracepoint's own arguments (the socket, the result,
 * the flags) and read the socket's fields with plain loads (NW_TYPED_SOCKET, common.c). A classic
 * tracepoint has the kernel fill in its record for the program first, which costs about as much
 * again as this whole program (bench/hot_path.py). */

/* One cell per CPU: see address_of. */
BPF_ARRAY(addresses, u64, NW_CPUS);

/* The verifier types the socket argument as a pointer to struct sock, on which arithmetic (the slot
 * hash) is refused; its address is what the maps are keyed by. A pointer stored in a map value is
 * read back as a plain number (allowed to root / CAP_PERFMON). Programs do not nest on a CPU. */
static __always_inline u64 address_of(const void *sk)
{
    u32 cpu = bpf_get_smp_processor_id();
    u64 *cell = addresses.lookup(&cpu);
    if (!cell)
        return 0;
    *(const void *volatile *)cell = sk;
    return *(volatile u64 *)cell;
}

/* ctx: the tracepoint's arguments (struct sock *sk, int ret, int flags). */
static __always_inline void account_call(const u64 *ctx, int receive)
{
    const char *sk = (const char *)ctx[0];
    int ret = (int)ctx[1];
    if (ret <= 0 || (receive && ((int)ctx[2] & NW_MSG_PEEK)))
        return;
    u16 family = *(const u16 *)(sk + OFF_FAMILY);
    if (!is_counted_family(family))
        return;
    u64 address = address_of(sk);
    if (address)
        account(address, sk, family, *(const u16 *)(sk + OFF_PROTOCOL), ret, receive);
}

int sock_send_length(u64 *ctx)
{
    account_call(ctx, 0);
    return 0;
}

int sock_recv_length(u64 *ctx)
{
    account_call(ctx, 1);
    return 0;
}
