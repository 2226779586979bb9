"""Where the probe's time per event goes: netwatch's program beside stripped-down variants of it.

    sudo .venv/bin/python -m bench.hot_path [--rounds 3] [--seconds 3]

Each variant is attached to the same two tracepoints (sock_send_length, sock_recv_length) in turn,
round after round. Under the syscall-bound load (iperf3 over loopback, 128-byte writes) with
``kernel.bpf_stats_enabled`` on (switched off again afterwards): its run time per event. Then, with
the statistics off, its throughput under the 128-byte and the UDP loads against a run with no
program in the same round. Reported: the medians, and what each step adds to the one before. The
empty variant is the floor any program on these tracepoints pays here; the process id variant, the
floor of any program that books bytes to processes.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bench.lib import conditions_line, median, table, write_result
from bench.overhead import LOADS, _program_stats, run_iperf, throughput
from netwatch_tui.probe.backends import BPF_DIR, COMMON_SOURCE, TRACEPOINTS
from netwatch_tui.probe.loader import compile_flags

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


HEADER = [
    "variant",
    "work per event",
    "run time per event",
    "added by the step",
    "each round (ns)",
    "throughput vs no program: TCP 128 B",
    "UDP 1400 B",
]
THROUGHPUT_LOADS = ("TCP 128 B writes", "UDP 1400 B datagrams")
STATS = Path("/proc/sys/kernel/bpf_stats_enabled")
NO_PROGRAM = "no program"


def program_text(send: str, receive: str) -> str:
    common = (BPF_DIR / COMMON_SOURCE).read_text()
    return common + _PROBES.replace("SEND", send).replace("RECEIVE", receive)


def measure(text: str, flags: list[str], seconds: float) -> tuple[float, dict[str, float]]:
    """Attach ``text``; return its run time per event (statistics on) and its throughput under each
    of THROUGHPUT_LOADS (statistics off: their clock reads would slow every event)."""
    from bcc import BPF  # deferred: BCC is needed by this benchmark only

    program = BPF(text=text.encode(), cflags=flags)
    try:
        STATS.write_text("1")
        try:
            before = _socket_program_totals()
            run_iperf(LOADS["TCP 128 B writes"], seconds)
            after = _socket_program_totals()
        finally:
            STATS.write_text("0")
        return (after[0] - before[0]) / max(1, after[1] - before[1]), throughputs(seconds)
    finally:
        program.cleanup()


def throughputs(seconds: float) -> dict[str, float]:
    """Bits per second under each of THROUGHPUT_LOADS."""
    found = {}
    for load in THROUGHPUT_LOADS:
        report = run_iperf(LOADS[load], seconds)[0]
        found[load] = throughput(report, "-u" in LOADS[load])[0]
    return found


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
    ratios = {name: {load: list[float]() for load in THROUGHPUT_LOADS} for name in VARIANTS}
    was = STATS.read_text()
    try:
        for round_number in range(options.rounds):
            # No program first, then each variant; every other round the reverse (drifts cancel).
            order: list[tuple[str, str | None]] = [(NO_PROGRAM, None), *texts.items()]
            measured: dict[str, dict[str, float]] = {}
            for name, text in order if round_number % 2 == 0 else reversed(order):
                if text is None:
                    measured[name] = throughputs(options.seconds)
                    continue
                per_event, measured[name] = measure(text, flags, options.seconds)
                runs[name].append(per_event)
            for name in texts:
                for load in THROUGHPUT_LOADS:
                    ratios[name][load].append(measured[name][load] / measured[NO_PROGRAM][load])
    finally:
        STATS.write_text(was)
    rows = []
    previous = None
    for name, (what, _, _) in VARIANTS.items():
        cost = median(runs[name])
        step = "-" if previous is None else f"{cost - previous:+.0f} ns"
        each = ", ".join(f"{value:.0f}" for value in runs[name])
        shares = [f"x{median(ratios[name][load]):.3f}" for load in THROUGHPUT_LOADS]
        rows.append([name, what, f"{cost:.0f} ns", step, each, *shares])
        previous = cost
    section = [
        "## Probe run time per event: netwatch's program and its floor",
        f"Conditions: {conditions_line()}; iperf3 over 127.0.0.1, server on CPU 0, client on CPU 1, "
        f"{options.seconds:g} s per run, {options.rounds} interleaved rounds. Run time: under 128-byte "
        "writes with `kernel.bpf_stats_enabled` on (its clock reads are part of every figure); per event "
        "= summed run time / run count of the send and receive programs. Throughput: with the statistics "
        "off, against a run with no program in the same round (median of the rounds' ratios). "
        "CPU mitigations of this kernel: "
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
