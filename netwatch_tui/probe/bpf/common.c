/* Shared by both backends: the maps and the accounting of one send or receive. The loader puts
 * this, a backend and lifecycle.c together into one text (BCC rewrites only that text).
 *
 * Compile-time constants (-D) passed by the loader:
 *   PROC_ENTRIES, EXITED_ENTRIES, SOCK_ENTRIES   map sizes (see probe/maps.py)
 *   PROC_SLOTS, SOCK_SLOTS, NW_CPUS              slots per CPU (powers of two), and possible CPUs
 *   OFF_DADDR, OFF_RCV_SADDR, OFF_DPORT, OFF_NUM, OFF_FAMILY, OFF_V6_DADDR, OFF_V6_RCV_SADDR
 *                                                 offsets in struct sock_common, and OFF_PROTOCOL
 *                                                 in struct sock, from the running kernel's BTF
 *                                                 (probe/btf.py), not from headers
 */
/* No kernel header here: <linux/sched.h> alone doubled the compile time (start-up), for the length
 * of a task's comm (TASK_COMM_LEN, an enum there since 5.17, so it gets a name of our own). */
#define NW_COMM_LEN 16

#define NW_AF_INET 2
#define NW_AF_INET6 10
#define NW_AF_PACKET 17
#define NW_IPPROTO_TCP 6
#define NW_TCP_SYN_SENT 2
#define NW_TCP_SYN_RECV 3
#define NW_TCP_CLOSE 7
#define NW_MSG_PEEK 2

/* Cumulative counters of one process (tgid); user space subtracts successive reads. */
struct proc_val_t {
    u64 first_ns;   /* when this entry was made: with the tgid, it names one process across pid reuse */
    u64 tx, rx;     /* every counted byte */
    u64 lo_tx, lo_rx;   /* the part on loopback inet sockets */
    u64 pkt_tx, pkt_rx; /* the part on AF_PACKET sockets */
    u32 uid;
    char comm[NW_COMM_LEN];
    u32 socket_events; /* sockets first seen, connected or closed (TCP): user space recounts its connections */
    u32 execs;      /* exec() calls since: user space reads its name and command line again */
};

struct exited_key_t {
    u32 tgid;
    u32 pad;
    u64 first_ns;
};

/* One socket: its 4-tuple (read once, when first seen) and its bytes. */
struct sock_val_t {
    u64 tx, rx;
    u32 tgid;       /* the last process that took a slot for it (or moved bytes on it) */
    u16 family;
    u16 protocol;
    u16 lport;      /* host order */
    u16 dport;      /* host order */
    u8 loopback;
    u8 pad[3];
    u8 saddr[16];
    u8 daddr[16];
};

/* Slots: the hot path's first stop (see "Slots" in probe/maps.py for why and how).
 *
 * Each CPU has its own stripe of PROC_SLOTS process slots and SOCK_SLOTS socket slots in a plain
 * array; only programs running on that CPU add to it. BPF tracing programs do not nest on a CPU
 * and run with preemption off, so the adds need no atomics. An array lookup is a few instructions
 * (the verifier inlines it); a hash lookup costs 40-60 ns here, and the hot path had two. */
struct proc_slot_t {
    u32 tgid;       /* the owner, with first_ns; 0: free */
    u32 pad;
    u64 first_ns;
    u64 tx, rx, lo_tx, lo_rx;   /* the owner's bytes on this CPU since it took the slot */
};

struct sock_slot_t {
    u64 sk;         /* 0: free */
    u64 tx, rx;     /* bytes not yet added to the socket's entry in `socks` */
    u16 lport, dport;   /* host order: a non-TCP socket's address may be reused unseen */
    u8 loopback;
    u8 tcp;
    u8 pad[2];
};

BPF_HASH(procs, u32, struct proc_val_t, PROC_ENTRIES);
BPF_HASH(exited, struct exited_key_t, struct proc_val_t, EXITED_ENTRIES);
BPF_TABLE("lru_hash", u64, struct sock_val_t, socks, SOCK_ENTRIES);
BPF_ARRAY(proc_slots, struct proc_slot_t, NW_CPUS * PROC_SLOTS);
BPF_ARRAY(sock_slots, struct sock_slot_t, NW_CPUS * SOCK_SLOTS);
/* [0] updates lost because procs was full, [1] exits that could not be moved to `exited`. */
BPF_ARRAY(drops, u64, 2);

static __always_inline void count_drop(int index)
{
    u64 *counter = drops.lookup(&index);
    if (counter)
        __sync_fetch_and_add(counter, 1);
}

static __always_inline int is_loopback_v4(u32 addr)
{
    return (addr & 0xff) == 127; /* network order: the first octet is the low byte */
}

static __always_inline int is_loopback_v6(const u8 *addr)
{
    u64 high = 0, low = 0;
    __builtin_memcpy(&high, addr, 8);
    __builtin_memcpy(&low, addr + 8, 8);
    if (high == 0 && low == 0x0100000000000000ULL) /* ::1 */
        return 1;
    /* ::ffff:127.x.y.z */
    return high == 0 && (low & 0xffffffffULL) == 0xffff0000ULL && addr[12] == 127;
}

/* How a socket's fields are read. The kprobe backend has its address only, a plain number, and reads
 * through bpf_probe_read_kernel (a helper call: 40-50 ns here). A tp_btf program gets a pointer the
 * verifier knows as struct sock, which it may load from directly: its backend defines
 * NW_TYPED_SOCKET (backends.py), and the functions below are handed that pointer as `fields`. */
#ifdef NW_TYPED_SOCKET
#define NW_READ_SOCKET(dst, fields, offset) __builtin_memcpy(&(dst), (const char *)(fields) + (offset), sizeof(dst))
#else
#define NW_READ_SOCKET(dst, fields, offset) \
    bpf_probe_read_kernel(&(dst), sizeof(dst), (const char *)(fields) + (offset))
#endif

static __always_inline void read_tuple(const void *fields, u16 family, struct sock_val_t *val)
{
    u16 ports[2] = {};
    NW_READ_SOCKET(ports, fields, OFF_DPORT);
    val->dport = bpf_ntohs(ports[0]);
    val->lport = ports[1]; /* skc_num is already host order */
    if (family == NW_AF_INET) {
        u32 daddr = 0, saddr = 0;
        NW_READ_SOCKET(daddr, fields, OFF_DADDR);
        NW_READ_SOCKET(saddr, fields, OFF_RCV_SADDR);
        __builtin_memcpy(val->daddr, &daddr, 4);
        __builtin_memcpy(val->saddr, &saddr, 4);
        val->loopback = is_loopback_v4(daddr) || is_loopback_v4(saddr);
    } else {
        NW_READ_SOCKET(val->daddr, fields, OFF_V6_DADDR);
        NW_READ_SOCKET(val->saddr, fields, OFF_V6_RCV_SADDR);
        val->loopback = is_loopback_v6(val->daddr) || is_loopback_v6(val->saddr);
    }
}

/* The entry of the socket at address `key`, made (or remade, when a freed socket's address was
 * reused) as needed; ``*made`` says whether it was. */
static __always_inline struct sock_val_t *socket_entry(u64 key, const void *fields, u16 family, u16 protocol,
                                                       int *made)
{
    struct sock_val_t *val = socks.lookup(&key);
    if (val) {
        if (val->protocol == NW_IPPROTO_TCP)
            return val; /* TCP entries are dropped at TCP_CLOSE, so the address cannot be stale */
        u16 ports[2] = {};
        NW_READ_SOCKET(ports, fields, OFF_DPORT);
        if (val->lport == ports[1] && val->dport == bpf_ntohs(ports[0]))
            return val;
    }
    struct sock_val_t fresh = {};
    fresh.family = family;
    fresh.protocol = protocol;
    read_tuple(fields, family, &fresh);
    socks.update(&key, &fresh);
    *made = 1;
    return socks.lookup(&key);
}

static __always_inline struct proc_val_t *process_entry(u32 tgid)
{
    struct proc_val_t *val = procs.lookup(&tgid);
    if (val)
        return val;
    struct proc_val_t fresh = {};
    fresh.first_ns = bpf_ktime_get_ns();
    fresh.uid = (u32)bpf_get_current_uid_gid();
    bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
    procs.insert(&tgid, &fresh);
    val = procs.lookup(&tgid);
    if (!val)
        count_drop(0);
    return val;
}

/* Keeps the compiler from moving stores across it: a slot's owner is written last. */
#define NW_STORES_BEFORE_THIS() asm volatile("" ::: "memory")

static __always_inline u32 proc_slot_index(u32 cpu, u32 tgid)
{
    return cpu * PROC_SLOTS + (tgid & (PROC_SLOTS - 1));
}

static __always_inline u32 sock_slot_index(u32 cpu, u64 sk)
{
    /* Socket addresses are slab objects, aligned alike: multiply to spread them. */
    return cpu * SOCK_SLOTS + (u32)(((sk >> 4) * 0x9E3779B97F4A7C15ULL) >> 40) % SOCK_SLOTS;
}

static __always_inline void add_traffic(u64 *tx, u64 *rx, u64 bytes, int receive)
{
    if (receive)
        *rx += bytes;
    else
        *tx += bytes;
}

/* The same for counters that programs on other CPUs add to as well. */
static __always_inline void add_traffic_atomic(u64 *tx, u64 *rx, u64 bytes, int receive)
{
    if (receive)
        __sync_fetch_and_add(rx, bytes);
    else
        __sync_fetch_and_add(tx, bytes);
}

static __always_inline int same_ports(const struct sock_slot_t *slot, const void *fields)
{
    u16 ports[2] = {};
    NW_READ_SOCKET(ports, fields, OFF_DPORT);
    return slot->lport == ports[1] && slot->dport == bpf_ntohs(ports[0]);
}

/* Hand a socket slot's bytes to the socket's `socks` entry and free the slot. The slot is
 * emptied first: user space reads `socks` before the slots, so it may see these bytes one read
 * late, never twice. */
static __always_inline void flush_sock_slot(struct sock_slot_t *slot)
{
    u64 key = slot->sk, tx = slot->tx, rx = slot->rx;
    slot->tx = 0;
    slot->rx = 0;
    slot->sk = 0;
    struct sock_val_t *sock = socks.lookup(&key);
    if (!sock)
        return; /* closed (TCP) or evicted: its per-socket detail is gone anyway */
    __sync_fetch_and_add(&sock->tx, tx);
    __sync_fetch_and_add(&sock->rx, rx);
}

/* Book `bytes` on the socket at address `key`, whose fields are read through `fields` (this CPU's
 * slot for it, or its `socks` entry); return whether the socket is on loopback. ``*made`` says
 * whether its `socks` entry was made. */
static __always_inline u8 book_socket(u32 cpu, u64 key, const void *fields, u16 family, u16 protocol,
                                      u64 bytes, int receive, u32 tgid, int *made)
{
    u32 index = sock_slot_index(cpu, key);
    struct sock_slot_t *slot = sock_slots.lookup(&index);
    if (slot && slot->sk == key &&
        (protocol == NW_IPPROTO_TCP ? slot->tcp : !slot->tcp && same_ports(slot, fields))) {
        add_traffic(&slot->tx, &slot->rx, bytes, receive);
        return slot->loopback;
    }
    /* Missed on this very address: the socket the slot was taken for is gone (a UDP socket closes
     * unseen) and another took its place. Its unflushed bytes go with it, as its entry does, not
     * into the new socket's entry. */
    if (slot && slot->sk == key)
        slot->sk = 0;
    struct sock_val_t *sock = socket_entry(key, fields, family, protocol, made);
    if (!sock)
        return 0;
    sock->tgid = tgid;
    if (!slot) {
        add_traffic_atomic(&sock->tx, &sock->rx, bytes, receive);
        return sock->loopback;
    }
    if (slot->sk)
        flush_sock_slot(slot);
    slot->tx = 0;
    slot->rx = 0;
    slot->lport = sock->lport;
    slot->dport = sock->dport;
    slot->loopback = sock->loopback;
    slot->tcp = protocol == NW_IPPROTO_TCP;
    NW_STORES_BEFORE_THIS();
    slot->sk = key;
    add_traffic(&slot->tx, &slot->rx, bytes, receive);
    return slot->loopback;
}

static __always_inline void add_to_proc_slot(struct proc_slot_t *slot, u64 bytes, u8 loopback, int receive)
{
    add_traffic(&slot->tx, &slot->rx, bytes, receive);
    if (loopback)
        add_traffic(&slot->lo_tx, &slot->lo_rx, bytes, receive);
}

/* Book `bytes` moved on the socket at address `key` (its fields read through `fields`, see
 * NW_READ_SOCKET) to the calling process. The caller has already kept only AF_INET, AF_INET6 and
 * AF_PACKET sockets and positive byte counts.
 *
 * The usual case costs two array lookups: this CPU's slot for the socket (whose loopback flag it
 * keeps) and this CPU's slot for the process. The hash maps are visited when a slot is missed:
 * a new socket or process, or one whose slot another holds. */
static __always_inline void account(u64 key, const void *fields, u16 family, u16 protocol, u64 bytes,
                                    int receive)
{
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    u32 cpu = bpf_get_smp_processor_id();
    u8 loopback = 0;
    int new_socket = 0;
    if (family != NW_AF_PACKET)
        loopback = book_socket(cpu, key, fields, family, protocol, bytes, receive, tgid, &new_socket);
    u32 index = proc_slot_index(cpu, tgid);
    struct proc_slot_t *slot = family == NW_AF_PACKET ? 0 : proc_slots.lookup(&index);
    int owned = slot && slot->tgid == tgid;
    if (owned && !new_socket) {
        add_to_proc_slot(slot, bytes, loopback, receive);
        return;
    }
    struct proc_val_t *proc = process_entry(tgid);
    if (!proc)
        return;
    if (new_socket)
        __sync_fetch_and_add(&proc->socket_events, 1);
    if (slot && !owned && slot->tgid == 0) { /* take the free slot */
        slot->first_ns = proc->first_ns;
        slot->tx = 0;
        slot->rx = 0;
        slot->lo_tx = 0;
        slot->lo_rx = 0;
        NW_STORES_BEFORE_THIS();
        slot->tgid = tgid;
        owned = 1;
    }
    if (owned) {
        add_to_proc_slot(slot, bytes, loopback, receive);
        return;
    }
    add_traffic_atomic(&proc->tx, &proc->rx, bytes, receive);
    if (loopback)
        add_traffic_atomic(&proc->lo_tx, &proc->lo_rx, bytes, receive);
    if (family == NW_AF_PACKET)
        add_traffic_atomic(&proc->pkt_tx, &proc->pkt_rx, bytes, receive);
}

static __always_inline int is_counted_family(u16 family)
{
    return family == NW_AF_INET || family == NW_AF_INET6 || family == NW_AF_PACKET;
}

/* Add to `total` the bytes of process (tgid, first_ns) in its slots on every CPU; with `release`,
 * free those slots instead. */
static __always_inline void visit_proc_slots(u32 tgid, u64 first_ns, struct proc_val_t *total, int release)
{
    for (u32 cpu = 0; cpu < NW_CPUS; cpu++) {
        u32 index = proc_slot_index(cpu, tgid);
        struct proc_slot_t *slot = proc_slots.lookup(&index);
        if (!slot || slot->tgid != tgid || slot->first_ns != first_ns)
            continue;
        if (release) {
            slot->tgid = 0;
            continue;
        }
        total->tx += slot->tx;
        total->rx += slot->rx;
        total->lo_tx += slot->lo_tx;
        total->lo_rx += slot->lo_rx;
    }
}

/* The process is gone: move its counters (its entry and its slots) to `exited` under a key that
 * pid reuse cannot hit, so user space reports its last bytes once and a new process with the
 * same pid starts afresh. None of its threads is left to add to its slots meanwhile. */
static __always_inline void retire_process(u32 tgid)
{
    struct proc_val_t *val = procs.lookup(&tgid);
    if (!val)
        return;
    struct exited_key_t key = {.tgid = tgid, .first_ns = val->first_ns};
    struct proc_val_t copy;
    __builtin_memcpy(&copy, val, sizeof(copy));
    visit_proc_slots(tgid, key.first_ns, &copy, 0);
    if (exited.update(&key, &copy) == 0) {
        visit_proc_slots(tgid, key.first_ns, &copy, 1);
        procs.delete(&tgid);
    } else {
        count_drop(1);
    }
}

/* Something changed among the process's sockets: user space recounts its connections. */
static __always_inline void count_socket_event(u32 tgid)
{
    struct proc_val_t *proc = procs.lookup(&tgid);
    if (proc)
        __sync_fetch_and_add(&proc->socket_events, 1);
}

/* TCP sockets are forgotten when they close, and again when a socket starts (socket addresses are
 * reused: a receive completing after a peer's reset books on a closed socket, remaking an entry
 * that no close would drop). The process that last used one is told, so that its connections are
 * recounted. */
static __always_inline void forget_socket(const void *sk)
{
    u64 key = (u64)sk;
    /* Its slots first: a slot does not check a TCP socket's ports, so a reused address must not
     * find one. Its unflushed bytes go with it, like its entry's. */
    for (u32 cpu = 0; cpu < NW_CPUS; cpu++) {
        u32 index = sock_slot_index(cpu, key);
        struct sock_slot_t *slot = sock_slots.lookup(&index);
        if (slot && slot->sk == key)
            __sync_val_compare_and_swap(&slot->sk, key, 0); /* unless that CPU took it meanwhile */
    }
    struct sock_val_t *sock = socks.lookup(&key);
    if (!sock)
        return;
    count_socket_event(sock->tgid);
    socks.delete(&key);
}
