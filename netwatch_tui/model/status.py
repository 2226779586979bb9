"""The two status lines above the table, as (text, role) segments; the widget maps roles to styles."""

from __future__ import annotations

from netwatch_tui.model.sanitize import clean
from netwatch_tui.model.sparkline import spark
from netwatch_tui.model.units import format_bytes, format_rate
from netwatch_tui.model.view import DisplayState

Segment = tuple[str, str]  # (text, role): role is "", "badge", "warn", "tx", "rx" or "dim"
HOST_SPARK = 20  # intervals in the host sparklines


def _badges(state: DisplayState) -> list[Segment]:
    badges: list[Segment] = []
    frame = state.frame
    if state.paused:
        badges.append((" PAUSED ", "warn"))
    if frame is not None and frame.snapshot.replay:
        badges.append((f" REPLAY x{state.speed:g} " if state.speed else " REPLAY ", "badge"))
    if frame is not None and frame.snapshot.backend == "synthetic":
        badges.append((" SYNTHETIC ", "badge"))
    if state.finished:
        badges.append((" ENDED ", "warn"))
    return [part for badge in badges for part in (badge, (" ", ""))]


def host_line(state: DisplayState) -> list[Segment]:
    frame = state.frame
    if frame is None:
        return [*_badges(state), (f"waiting for the first snapshot ({state.source})", "dim")]
    options = state.options
    snapshot = frame.snapshot
    history = frame.host_history.shown(options.include_loopback, HOST_SPARK)
    now = history[-1]
    top = max(max(t.tx, t.rx) for t in history)
    line = [
        *_badges(state),
        ("TX ", "dim"),
        (f"{format_rate(snapshot.rate(now.tx), options.bits):>12} ", "tx"),
        (spark([t.tx for t in history], top), "tx"),
        ("  RX ", "dim"),
        (f"{format_rate(snapshot.rate(now.rx), options.bits):>12} ", "rx"),
        (spark([t.rx for t in history], top), "rx"),
    ]
    if options.totals_first:
        total = frame.host_total.shown(options.include_loopback)
        line += [
            ("  since start ", "dim"),
            (format_bytes(total.tx), "tx"),
            (" / ", "dim"),
            (format_bytes(total.rx), "rx"),
        ]
    return line


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def empty_table_note(state: DisplayState) -> str:
    """What to say instead of rows when there are none to show."""
    frame, options = state.frame, state.options
    if frame is not None and frame.rows:
        if options.query:
            return f"no process matches “{clean(options.query)}” (Esc clears the filter)"
        return "only loopback traffic so far (l shows it)"
    if frame is not None and frame.host_total.all:
        return "no process is left of those that moved bytes (they have exited)"
    return "no process has moved bytes since netwatch started"


def info_line(state: DisplayState, shown: int) -> list[Segment]:
    frame = state.frame
    if frame is None:
        return []
    options = state.options
    snapshot = frame.snapshot
    parts = [
        snapshot.backend,
        # The interval asked for: the measured one (which the rates divide by) varies, 0.995 s, 1.01 s...
        f"every {snapshot.interval if state.interval is None else state.interval:.3g} s",
        _count(len(frame.rows), "process", "processes")
        + (f" ({shown} shown)" if shown != len(frame.rows) else ""),
        f"sort {options.sort.key.value} {options.sort.arrow}",
    ]
    if options.query:
        parts.append(f"filter “{clean(options.query)}”")
    if not options.include_loopback:
        parts.append("loopback hidden")
    if options.bits:
        parts.append("bits")
    if options.totals_first:
        parts.append("totals first")
    if snapshot.dropped_updates:
        parts.append(f"{snapshot.dropped_updates} updates dropped (maps full)")
    if state.source != snapshot.backend:
        parts.append(state.source)
    return [(" · ".join(parts), "dim")]
