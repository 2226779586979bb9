"""The ``netwatch`` command: argument parsing, then the TUI, a headless printer, or ``doctor``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Callable, NoReturn

from netwatch_tui import __version__
from netwatch_tui.errors import NetwatchError
from netwatch_tui.probe.backends import BACKENDS

FORMATS = ("tui", "json", "csv")


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the fix, exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise NetwatchError(f"{message} (see `{self.prog} --help`)", exit_code=2)


def _bounded(
    convert: Callable[[str], float], what: str, low: float, high: float | None = None, unit: str = ""
) -> Callable[[str], float]:
    """An argparse type: ``convert``, then ``low`` <= value (<= ``high``), each failure one sentence."""

    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value != value or value < low:  # value != value: NaN
            if high is None:
                raise argparse.ArgumentTypeError(f"{text} must be at least {low}")
            raise argparse.ArgumentTypeError(f"{text} is out of range ({low:g} to {high:g}{unit})")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"{text} is out of range ({low:g} to {high:g}{unit})")
        return value

    return parse


_seconds = _bounded(float, "a number of seconds", 0.05, 3600, " seconds")
_positive_int = _bounded(int, "a whole number", 1)
_speed = _bounded(float, "a number", 0.01, 1000)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="netwatch",
        usage=f"%(prog)s [options]\n       %(prog)s doctor [--probe {{{','.join(('auto', *BACKENDS))}}}]",
        description="Per-process network bandwidth, measured in the kernel with eBPF. "
        "`netwatch doctor` checks this machine.",
    )
    parser.add_argument("--version", action="version", version=f"netwatch {__version__}")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="tui (default when stdout is a terminal), json (NDJSON, one record per interval; "
        "the default otherwise) or csv (PID, COMMAND, CONNS, TX_SEC, RX_SEC)",
    )
    parser.add_argument("--interval", type=_seconds, help="seconds between snapshots (default 1)")
    parser.add_argument("--count", type=_positive_int, help="stop after this many intervals (json/csv)")
    parser.add_argument(
        "--pid", type=_positive_int, action="append", default=[], help="only this process (repeatable)"
    )
    parser.add_argument(
        "--no-loopback",
        dest="loopback",
        action="store_false",
        help="leave out traffic on loopback (127.0.0.0/8, ::1)",
    )
    parser.add_argument(
        "--probe", choices=("auto", *BACKENDS), help="probe backend (default: the best this kernel supports)"
    )
    parser.add_argument(
        "--replay", metavar="FILE", help="play a file written by --format json (no root needed)"
    )
    parser.add_argument("--speed", type=_speed, help="replay speed factor (default 1)")
    parser.add_argument(
        "--demo", action="store_true", help="show made-up processes (labelled SYNTHETIC): try it without root"
    )
    return parser


def build_doctor_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="netwatch doctor", description="Check what netwatch needs, and fix hints.")
    parser.add_argument("--probe", choices=("auto", *BACKENDS), default="auto", help="backend to check")
    return parser


def check_combination(options: argparse.Namespace) -> None:
    """Options the chosen source would silently ignore are errors instead, as is an absent --pid."""
    live = not (options.replay or options.demo)
    conflicts = (
        (options.replay and options.demo, "--demo and --replay cannot be used together"),
        (options.speed is not None and not options.replay, "--speed works with --replay only"),
        (
            options.interval is not None and options.replay,
            "--interval: a replay keeps its own intervals",
        ),
        (options.pid and not live, "--pid works on the live probe only, not with --replay or --demo"),
        (options.probe is not None and not live, "--probe works on the live probe only"),
    )
    for conflict, message in conflicts:
        if conflict:
            raise NetwatchError(message, exit_code=2)
    for pid in options.pid if live else ():
        if not os.path.exists(f"/proc/{pid}"):
            raise NetwatchError(f"--pid {pid}: no such process", exit_code=2)


def _dispatch(argv: Sequence[str]) -> int:
    if argv and argv[0] == "doctor":
        from netwatch_tui.doctor import run_doctor

        return run_doctor(build_doctor_parser().parse_args(argv[1:]).probe)
    options = build_parser().parse_args(argv)
    check_combination(options)
    output_format = options.format or ("tui" if sys.stdout.isatty() else "json")
    interval = 1.0 if options.interval is None else options.interval
    if options.demo:
        from netwatch_tui.synthetic import DEMO, HOSTILE, SyntheticSource

        source = SyntheticSource(DEMO + HOSTILE, interval=interval)
    elif options.replay:
        from netwatch_tui.replay import ReplaySource

        source = ReplaySource(options.replay, speed=options.speed or 1.0)
    else:
        from netwatch_tui.probe.environment import preflight
        from netwatch_tui.probe.source import ProbeSource

        preflight()
        source = ProbeSource(options.probe or "auto", interval, options.pid)
    if output_format == "tui":
        if options.count:
            raise NetwatchError("--count works with --format json or csv, not the TUI", exit_code=2)
        from netwatch_tui.no_tls import keep_tls_out

        keep_tls_out()
        from netwatch_tui.app import run_tui

        return run_tui(source, include_loopback=options.loopback)
    from netwatch_tui.headless import run_headless

    return run_headless(source, output_format, options.count, options.loopback)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: every failure a user can fix is one line on stderr and a non-zero status."""
    try:
        return _dispatch(sys.argv[1:] if argv is None else argv)
    except NetwatchError as exc:
        print(f"netwatch: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: still one line, unless asked for the traceback
        if os.environ.get("NETWATCH_DEBUG"):
            raise
        print(
            f"netwatch: internal error: {type(exc).__name__}: {exc} (NETWATCH_DEBUG=1 shows where)",
            file=sys.stderr,
        )
        return 1
