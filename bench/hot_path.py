"""Where the probe's time per event goes: netwatch's program beside stripped-down variants of it.

    sudo .venv/bin/python -m bench.hot_path [--rounds 3] [--seconds 3]

Each variant is attached to the same two tracepoints (sock_send_length, sock_recv_length) in turn,
round after round: as netwatch attaches them (tp_btf, btf_tracepoints.py), and, for the floor it
replaced, an empty program attached the classic way (the kernel fills in the tracepoint's record
before the program runs). Measured for each:
- its run time per event under the syscall-bound load (iperf3 over loopback, 128-byte writes), and
  under 1400-byte UDP datagrams, with
  ``kernel.bpf_stats_enabled`` on (switched off again afterwards): the program alone;
- with the statistics off, its throughput under the 128-byte and the UDP loads against a run with no
  program in the same round.
Reported: the medians, and what each step adds to the one before. Then what running a program on
the hook costs at all, which bpf_stats does not see: what the empty program, attached either way,
adds to a send() call that fails at once (send_loop.c, on CPU 1, against no program just before;
the program returns at its first check).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.lib import conditions_line, median, table, write_result
from bench.overhead import LOADS, _program_stats, run_iperf, throughput
from netwatch_tui.probe import btf_tracepoints
from netwatch_tui.probe.backends import BPF_DIR, COMMON_SOURCE, SOCKET_TRACEPOINTS, TRACEPOINTS, preamble
from netwatch_tui.probe.loader import compile_flags

_CLASSIC_PROBES = """
TRACEPOINT_PROBE(sock, sock_send_length)
{
    if (!is_counted_family(args->family) || args->ret <= 0)
        return 0;
    return 0;
}

TRACEPOINT_PROBE(sock, sock_recv_length)
{
    if (!is_counted_family(args->family) || args->ret <= 0 || (args->flags & NW_MSG_PEEK))
        return 0;
    return 0;
}
"""
# netwatch's own checks (tracepoints.c), then the variant's work for a counted call.
_BTF_PROBES = """
static __always_inline int counted(const u64 *ctx, int receive)
{
    const char *sk = (const char *)ctx[0];
    if ((int)ctx[1] <= 0 || (receive && ((int)ctx[2] & NW_MSG_PEEK)))
        return 0;
    return is_counted_family(*(const u16 *)(sk + OFF_FAMILY));
}

int sock_send_length(u64 *ctx)
{
    if (!counted(ctx, 0))
        return 0;
    SEND
    return 0;
}

int sock_recv_length(u64 *ctx)
{
    if (!counted(ctx, 1))
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
        __sync_fetch_and_add(&proc->FIELD, (int)ctx[1]);
"""
_PROCESS_ID = "if ((bpf_get_current_pid_tgid() >> 32) == 0) return 1;"
EMPTY = "empty"
CLASSIC = "empty, classic tracepoint"
# name -> (what is done per event, the program's text after common.c)
VARIANTS = {
    CLASSIC: ("the family and length checks only, attached as a classic tracepoint", _CLASSIC_PROBES),
    EMPTY: ("the family and length checks only", _BTF_PROBES.replace("SEND", "").replace("RECEIVE", "")),
    "process id": (
        "+ bpf_get_current_pid_tgid()",
        _BTF_PROBES.replace("SEND", _PROCESS_ID).replace("RECEIVE", _PROCESS_ID),
    ),
    "per-process hash": (
        "+ one hash lookup by process and one atomic add",
        _BTF_PROBES.replace("SEND", _ONE_HASH.replace("FIELD", "tx")).replace(
            "RECEIVE", _ONE_HASH.replace("FIELD", "rx")
        ),
    ),
    "netwatch": (
        "netwatch's program: this CPU's socket and process slots (hash maps when one is missed), "
        "loopback split",
        (BPF_DIR / TRACEPOINTS.source_file).read_text(),
    ),
}


HEADER = [
    "variant",
    "work per event",
    "run time per event",
    "added by the step",
    "each round (ns)",
    "run time per event: UDP 1400 B",
    "throughput vs no program: TCP 128 B",
    "UDP 1400 B",
]
TCP_SMALL, UDP = "TCP 128 B writes", "UDP 1400 B datagrams"
THROUGHPUT_LOADS = (TCP_SMALL, UDP)
STATS = Path("/proc/sys/kernel/bpf_stats_enabled")
NO_PROGRAM = "no program"
SEND_CALLS = 1_000_000


def program_text(probes: str) -> str:
    return preamble(TRACEPOINTS) + (BPF_DIR / COMMON_SOURCE).read_text() + probes


def attached(text: str, flags: list[str], classic: bool) -> Any:
    """``text`` compiled and attached: its classic tracepoints by BCC, and unless ``classic`` its
    socket hooks as netwatch attaches them."""
    from bcc import BPF  # deferred: BCC is needed by this benchmark only

    program = BPF(text=text.encode(), cflags=flags)
    if not classic:
        try:
            btf_tracepoints.attach(program, SOCKET_TRACEPOINTS)
        except BaseException:
            program.cleanup()
            raise
    return program


def measure(
    name: str, text: str, flags: list[str], seconds: float
) -> tuple[dict[str, float], dict[str, float]]:
    """Attach ``text``; return its run time per event (statistics on) and its throughput (statistics
    off: their clock reads would slow every event), each under every one of THROUGHPUT_LOADS."""
    program = attached(text, flags, classic=name == CLASSIC)
    try:
        run_times = {}
        STATS.write_text("1")
        try:
            for load in THROUGHPUT_LOADS:
                before = _socket_program_totals()
                run_iperf(LOADS[load], seconds)
                after = _socket_program_totals()
                run_times[load] = (after[0] - before[0]) / max(1, after[1] - before[1])
        finally:
            STATS.write_text("0")
        return run_times, throughputs(seconds)
    finally:
        program.cleanup()


def send_call(loop: Path) -> float:
    """Nanoseconds per failing send() on CPU 1 (median of three runs)."""
    runs = [
        float(
            subprocess.run(
                ["taskset", "-c", "1", str(loop), str(SEND_CALLS)], capture_output=True, check=True
            ).stdout
        )
        for _ in range(3)
    ]
    return median(runs)


def hook_costs(flags: list[str], pairs: int) -> dict[str, list[float]]:
    """What each empty program adds to a failing send() call, against no program just before, in
    ``pairs`` alternations of the two."""
    added: dict[str, list[float]] = {CLASSIC: [], EMPTY: []}
    with tempfile.TemporaryDirectory() as folder:
        loop = build_send_loop(Path(folder))
        for index in range(pairs):
            for name in (CLASSIC, EMPTY) if index % 2 == 0 else (EMPTY, CLASSIC):
                baseline = send_call(loop)
                program = attached(program_text(VARIANTS[name][1]), flags, classic=name == CLASSIC)
                try:
                    added[name].append(send_call(loop) - baseline)
                finally:
                    program.cleanup()
    return added


def build_send_loop(folder: Path) -> Path:
    loop = folder / "send_loop"
    source = Path(__file__).with_name("send_loop.c")
    subprocess.run(["cc", "-O2", "-o", str(loop), str(source)], check=True)
    return loop


def throughputs(seconds: float) -> dict[str, float]:
    """Bits per second under each of THROUGHPUT_LOADS."""
    found = {}
    for load in THROUGHPUT_LOADS:
        report = run_iperf(LOADS[load], seconds)[0]
        found[load] = throughput(report, "-u" in LOADS[load])[0]
    return found


def _socket_program_totals() -> tuple[int, int]:
    """Summed run_time_ns and run_cnt of this process's send and receive programs (the kernel keeps
    15 characters of a name that has no BTF: "sock_send_lengt")."""
    stats = _program_stats(os.getpid()).items()
    wanted = [value for name, value in stats if "sock_send_len" in name or "sock_recv_len" in name]
    if len(wanted) != 2:
        raise SystemExit(f"bench.hot_path: expected the send and receive programs, found {len(wanted)}")
    return sum(run_time for run_time, _ in wanted), sum(count for _, count in wanted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--hook-pairs", type=int, default=6)
    options = parser.parse_args()
    if not TRACEPOINTS.available():
        raise SystemExit(f"bench.hot_path needs the sock tracepoints: {TRACEPOINTS.unavailable_reason}")
    flags = compile_flags()
    texts = {name: program_text(probes) for name, (_, probes) in VARIANTS.items()}
    runs = {name: {load: list[float]() for load in THROUGHPUT_LOADS} for name in VARIANTS}
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
                per_event, measured[name] = measure(name, text, flags, options.seconds)
                for load in THROUGHPUT_LOADS:
                    runs[name][load].append(per_event[load])
            for name in texts:
                for load in THROUGHPUT_LOADS:
                    ratios[name][load].append(measured[name][load] / measured[NO_PROGRAM][load])
    finally:
        STATS.write_text(was)
    hooks = hook_costs(flags, options.hook_pairs)
    rows = []
    previous = None
    for name, (what, _) in VARIANTS.items():
        cost = median(runs[name][TCP_SMALL])
        step = "-" if previous is None else f"{cost - previous:+.0f} ns"
        each = ", ".join(f"{value:.0f}" for value in runs[name][TCP_SMALL])
        udp = f"{median(runs[name][UDP]):.0f} ns"
        shares = [f"x{median(ratios[name][load]):.3f}" for load in THROUGHPUT_LOADS]
        rows.append([name, what, f"{cost:.0f} ns", step, each, udp, *shares])
        previous = cost
    hook_rows = [
        [name, f"{median(added):+.0f} ns", ", ".join(f"{value:+.0f}" for value in added)]
        for name, added in hooks.items()
    ]
    section = [
        "## Probe run time per event: netwatch's program and its floor",
        f"Conditions: {conditions_line()}; iperf3 over 127.0.0.1, server on CPU 0, client on CPU 1, "
        f"{options.seconds:g} s per run, {options.rounds} interleaved rounds. Run time: under 128-byte "
        "writes (and 1400-byte UDP datagrams, in its own column) with `kernel.bpf_stats_enabled` on (its "
        "clock reads are part of every figure); per event "
        "= summed run time / run count of the send and receive programs: the program alone. Throughput: "
        "with the statistics off, against a run with no program in the same round (median of the rounds' "
        "ratios). All variants but the classic one are attached as netwatch attaches its socket hooks "
        "(tp_btf). CPU mitigations of this kernel: "
        f"{_mitigations()}.",
        "",
        table(HEADER, rows),
        "",
        "What running a program on the hook costs, which the run time above leaves out: what the empty "
        f"program adds to a send() call that fails at once ({SEND_CALLS:,} calls, bench/send_loop.c, on "
        f"CPU 1, median of 3 runs), against no program just before; {options.hook_pairs} alternations. "
        "A classic tracepoint has the kernel fill in its record first; tp_btf passes the arguments.",
        "",
        table(["empty program attached as", "added to a send() call (median)", "each"], hook_rows),
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
