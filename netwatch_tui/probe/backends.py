"""The probe backends, and the choice of the best one the running kernel supports."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, NamedTuple

from netwatch_tui.errors import NetwatchError
from netwatch_tui.probe import environment

BPF_DIR = Path(__file__).parent / "bpf"
# BCC rewrites map calls and generates tracepoint argument structs only in the text it is given,
# not in #included files: the shared maps and helpers, then the backend's hooks, then the hooks
# every backend shares, are put together into one text.
COMMON_SOURCE = "common.c"
LIFECYCLE_SOURCE = "lifecycle.c"

_LIFECYCLE_TRACEPOINTS = {
    "sock:inet_sock_set_state": "tracepoint__sock__inet_sock_set_state",
    "sched:sched_process_exit": "tracepoint__sched__sched_process_exit",
    "sched:sched_process_exec": "tracepoint__sched__sched_process_exec",
}

# (kind, kernel function, BPF function) for the kprobe backend.
_KPROBES = (
    ("entry", "tcp_sendmsg", "tcp_sendmsg_entry"),
    ("return", "tcp_sendmsg", "sendmsg_return"),
    ("entry", "udp_sendmsg", "udp_sendmsg_entry"),
    ("return", "udp_sendmsg", "sendmsg_return"),
    ("entry", "udpv6_sendmsg", "udp_sendmsg_entry"),
    ("return", "udpv6_sendmsg", "sendmsg_return"),
    ("entry", "udp_recvmsg", "udp_recvmsg_entry"),
    ("return", "udp_recvmsg", "recvmsg_return"),
    ("entry", "udpv6_recvmsg", "udp_recvmsg_entry"),
    ("return", "udpv6_recvmsg", "recvmsg_return"),
    ("entry", "tcp_recvmsg", "tcp_recvmsg_entry"),
    ("return", "tcp_recvmsg", "tcp_recvmsg_return"),
    ("entry", "tcp_cleanup_rbuf", "tcp_cleanup_rbuf_entry"),
    ("entry", "tcp_sendpage", "tcp_sendmsg_entry"),
    ("return", "tcp_sendpage", "sendmsg_return"),
)
# Attached only where the kernel has them: sendfile() and splice() into a TCP socket reach
# tcp_sendpage, not tcp_sendmsg, before Linux 6.5 (which removed it and sends them through tcp_sendmsg).
_OPTIONAL_KPROBES = frozenset({"tcp_sendpage"})


def _in_tracefs(*parts: str) -> bool:
    """Whether tracefs has this file; only root may look into it on most systems."""
    root = environment.tracefs_root()
    try:
        return root is not None and root.joinpath(*parts).exists()
    except PermissionError:
        raise NetwatchError(
            f"cannot tell which probe backend this kernel supports: only root may read {root}"
        ) from None


def _tracepoint_exists(name: str) -> bool:
    category, event = name.split(":")
    return _in_tracefs("events", category, event, "format")


def _kprobes_available() -> bool:
    return _in_tracefs("kprobe_events")


class Backend(NamedTuple):
    """One way of counting: its BPF source, how it attaches, and whether this kernel can run it."""

    name: str
    source_file: str
    summary: str
    functions: tuple[str, ...]  # those BCC loads (the tracepoints backend's socket hooks are not)
    available: Callable[[], bool]
    unavailable_reason: str
    attach: Callable[[Any], None]
    program_type: Callable[[Any], int]
    kernel_functions: tuple[str, ...] = ()  # those its kprobes may attach to
    defines: tuple[str, ...] = ()  # macros its text starts with (see NW_TYPED_SOCKET in common.c)


SOCKET_TRACEPOINTS = ("sock_send_length", "sock_recv_length")  # attached as tp_btf (btf_tracepoints.py)


def _attach_tracepoints(program: Any) -> None:
    """BCC attaches the ``tracepoint__*`` functions by itself when it compiles them; the socket
    hooks are tp_btf programs, which BCC cannot load (btf_tracepoints.py)."""
    from netwatch_tui.probe import btf_tracepoints  # deferred: the attach child's only

    btf_tracepoints.attach(program, SOCKET_TRACEPOINTS)


def _attach_kprobes(program: Any) -> None:
    for kind, kernel_function, bpf_function in _KPROBES:
        if kernel_function in _OPTIONAL_KPROBES and program.ksymname(kernel_function.encode()) < 0:
            continue
        if kind == "entry":
            program.attach_kprobe(event=kernel_function.encode(), fn_name=bpf_function.encode())
        else:
            program.attach_kretprobe(event=kernel_function.encode(), fn_name=bpf_function.encode())


TRACEPOINTS = Backend(
    name="tracepoints",
    source_file="tracepoints.c",
    summary="sock:sock_send_length / sock:sock_recv_length, as tp_btf hooks (Linux >= 6.3)",
    functions=tuple(_LIFECYCLE_TRACEPOINTS.values()),
    available=lambda: (
        _tracepoint_exists("sock:sock_send_length") and _tracepoint_exists("sock:sock_recv_length")
    ),
    unavailable_reason="the kernel has no sock:sock_send_length / sock_recv_length tracepoints (Linux < 6.3)",
    attach=_attach_tracepoints,
    program_type=lambda bpf: bpf.TRACEPOINT,
    defines=("NW_TYPED_SOCKET",),
)

KPROBES = Backend(
    name="kprobes",
    source_file="kprobes.c",
    summary="kprobes on tcp_sendmsg, tcp_sendpage, tcp_cleanup_rbuf, udp(v6)_sendmsg, udp(v6)_recvmsg",
    functions=tuple(dict.fromkeys(bpf_function for _, _, bpf_function in _KPROBES)),
    available=_kprobes_available,
    unavailable_reason="the kernel has no kprobes (no kprobe_events in tracefs)",
    attach=_attach_kprobes,
    program_type=lambda bpf: bpf.KPROBE,
    kernel_functions=tuple(dict.fromkeys(kernel_function for _, kernel_function, _ in _KPROBES)),
)


def program_text(backend: Backend) -> str:
    """The one C text BCC compiles for ``backend``."""
    parts = (COMMON_SOURCE, backend.source_file, LIFECYCLE_SOURCE)
    return preamble(backend) + "\n".join((BPF_DIR / name).read_text() for name in parts)


def preamble(backend: Backend) -> str:
    """The macros ``backend``'s text starts with."""
    return "".join(f"#define {name}\n" for name in backend.defines)


BACKENDS = {backend.name: backend for backend in (TRACEPOINTS, KPROBES)}


def choose_backend(requested: str = "auto") -> Backend:
    """The backend to use: the one asked for, or the best this kernel supports."""
    if requested != "auto":
        backend = BACKENDS[requested]
        if not backend.available():
            raise NetwatchError(f"--probe {requested}: {backend.unavailable_reason}; try --probe auto")
        return backend
    for backend in (TRACEPOINTS, KPROBES):
        if backend.available():
            return backend
    reasons = "; ".join(backend.unavailable_reason for backend in (TRACEPOINTS, KPROBES))
    raise NetwatchError(f"no probe backend works on this kernel: {reasons}")
