"""Where the probe's time per event goes: netwatch's program beside stripped-down variants of it.

    sudo .venv/bin/python -m bench.hot_path [--rounds 3] [--seconds 3]

Each variant is attached to the same two tracepoints (sock_send_length, sock_recv_length) in turn,
round after round, under the same syscall-bound load (iperf3 over loopback, 128-byte writes), with
``kernel.bpf_stats_enabled`` on (switched off again afterwards). Reported: the median run time per
event of each variant, and what each step adds to the one before. The empty variant is the floor
any program on these tracepoints pays here, the statistics' own clock reads included.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bench.lib import conditions_line, median, table, write_result
from bench.overhead import LOADS, _program_stats, run_iperf
from netwatch_tui.probe.backends import TRACEPOINTS
from netwatch_tui.probe.loader import BPF_DIR, COMMON_SOURCE, compile_flags

_PROBES = """
TRACEPOINT_PROBE(sock, sock_send_length)
{
    u16 family = args->family;
    if (!is_counted_family(family) || args->ret <= 0)
        return 0;
    SEND
    return 0;
}

TRACEPOINT_PROBE(sock, sock_recv_length)
{
    u16 family = args->family;
    if (!is_counted_family(family) || args->ret <= 0 || (args->flags & NW_MSG_PEEK))
        return 0;
    RECEIVE
    return 0;
}
"""
_ONE_HASH = """
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    struct proc_val_t *proc = procs.lookup(&tgid);
    if (!proc) {
        struct proc_val_t fresh = {};
        procs.insert(&tgid, &fresh);
        proc = procs.lookup(&tgid);
    }
    if (proc)
        __sync_fetch_and_add(&proc->FIELD, args->ret);
"""
# name -> (what is done per event, the send body, the receive body)
VARIANTS = {
    "empty": ("the family and length checks only", "", ""),
    "process id": (
        "+ bpf_get_current_pid_tgid()",
        "if ((bpf_get_current_pid_tgid() >> 32) == 0) return 1;",
        "if ((bpf_get_current_pid_tgid() >> 32) == 0) return 1;",
    ),
    "per-process hash": (
        "+ one hash lookup by process and one atomic add",
        _ONE_HASH.replace("FIELD", "tx"),
        _ONE_HASH.replace("FIELD", "rx"),
    ),
    "netwatch": (
        "netwatch's program: this CPU's socket and process slots (hash maps when one is missed), "
        "loopback split",
        "account(args->sk, family, args->protocol, args->ret, 0);",
        "account(args->sk, family, args->protocol, args->ret, 1);",
    ),
}


HEADER = ["variant", "work per event", "run time per event", "added by the step", "each round (ns)"]


def program_text(send: str, receive: str) -> str:
    common = (BPF_DIR / COMMON_SOURCE).read_text()
    return common + _PROBES.replace("SEND", send).replace("RECEIVE", receive)


def nanoseconds_per_event(text: str, flags: list[str], seconds: float) -> float:
    """Attach ``text``, run the 128-byte load, return the two programs' run time per event."""
    from bcc import BPF  # deferred: BCC is needed by this benchmark only

    program = BPF(text=text.encode(), cflags=flags)
    try:
        before = _socket_program_totals()
        run_iperf(LOADS["TCP 128 B writes"], seconds)
        after = _socket_program_totals()
    finally:
        program.cleanup()
    return (after[0] - before[0]) / max(1, after[1] - before[1])


def _socket_program_totals() -> tuple[int, int]:
    """Summed run_time_ns and run_cnt of this process's sock_*_length programs."""
    stats = _program_stats(os.getpid()).items()
    wanted = [value for name, value in stats if "sock_send_length" in name or "sock_recv_length" in name]
    if len(wanted) != 2:
        raise SystemExit(f"bench.hot_path: expected the send and receive programs, found {len(wanted)}")
    return sum(run_time for run_time, _ in wanted), sum(count for _, count in wanted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    options = parser.parse_args()
    if not TRACEPOINTS.available():
        raise SystemExit(f"bench.hot_path needs the sock tracepoints: {TRACEPOINTS.unavailable_reason}")
    flags = compile_flags()
    texts = {name: program_text(send, receive) for name, (_, send, receive) in VARIANTS.items()}
    runs: dict[str, list[float]] = {name: [] for name in VARIANTS}
    stats = Path("/proc/sys/kernel/bpf_stats_enabled")
    was = stats.read_text()
    stats.write_text("1")
    try:
        for round_number in range(options.rounds):
            order = list(texts.items())
            for name, text in order if round_number % 2 == 0 else reversed(order):  # ABBA: drifts cancel
                runs[name].append(nanoseconds_per_event(text, flags, options.seconds))
    finally:
        stats.write_text(was)
    rows = []
    previous = None
    for name, (what, _, _) in VARIANTS.items():
        cost = median(runs[name])
        step = "-" if previous is None else f"{cost - previous:+.0f} ns"
        each = ", ".join(f"{value:.0f}" for value in runs[name])
        rows.append([name, what, f"{cost:.0f} ns", step, each])
        previous = cost
    section = [
        "## Probe run time per event: netwatch's program and its floor",
        f"Conditions: {conditions_line()}; iperf3 over 127.0.0.1 with 128-byte writes, {options.seconds:g} s "
        f"per run, {options.rounds} interleaved rounds; `kernel.bpf_stats_enabled` on (its clock reads "
        "are part of every figure). Per event = summed run time / run count of the send and receive "
        "programs. CPU mitigations of this kernel: "
        f"{_mitigations()}.",
        "",
        table(HEADER, rows),
    ]
    write_result("hot_path", "\n".join(section))


def _mitigations() -> str:
    """The mitigations that make every call and return dearer (they set the cost of a helper call)."""
    found = []
    for name in ("spectre_v2", "spec_rstack_overflow", "retbleed"):
        path = Path("/sys/devices/system/cpu/vulnerabilities") / name
        if path.exists():
            found.append(f"{name}: {path.read_text().strip()}")
    return "; ".join(found) or "unknown"


if __name__ == "__main__":
    main()
