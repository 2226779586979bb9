"""The ``--format json`` record: one JSON object per interval, and its way back into a Snapshot.

The contract fields are ``time``, ``interval`` and ``processes`` with ``pid``, ``name``, ``cmdline``,
``user``, ``conns``, ``tx_bytes``, ``rx_bytes``, ``tx_rate``, ``rx_rate``, ``tx_total``, ``rx_total``.
The extra fields (``lo_*``, ``packet_*``, ``start_time``, ``alive``, ``loopback``, ``backend``) let a
replay show exactly what the live view showed, loopback toggle included.
"""

from __future__ import annotations

import json
import math
from typing import Any

from netwatch_tui.model.snapshot import NO_BYTES, ByteCounts, ProcessStats, Snapshot, Traffic
from netwatch_tui.model.text import decode_untrusted

# One process's fields after its opening, in the order they are written (json.dumps's spelling:
# %r of a float is its JSON text; the last two are given already spelled).
_PROCESS_NUMBERS = (
    '"conns":%d,"tx_bytes":%d,"rx_bytes":%d,"tx_rate":%r,"rx_rate":%r,"tx_total":%d,"rx_total":%d,'
    '"lo_tx_bytes":%d,"lo_rx_bytes":%d,"lo_tx_total":%d,"lo_rx_total":%d,'
    '"packet_tx_bytes":%d,"packet_rx_bytes":%d,"packet_tx_total":%d,"packet_rx_total":%d,'
    '"start_time":%s,"alive":%s}'
)
_BOOLEAN = {True: "true", False: "false"}
_dumps = json.JSONEncoder(separators=(",", ":")).encode  # ASCII only, see printers.JsonPrinter


class RecordEncoder:
    """The JSON text of each interval's record: the processes that moved bytes in it, and those that
    exited in it (``alive`` false, once, so that a replay knows they are gone).

    The same characters json.dumps would write, in under half the time: with 1,000 processes
    sending every interval, encoding was the larger part of netwatch's own work. A process's
    identity fields (pid, name, cmdline, user, and start_time) are encoded once and kept while it
    is in the snapshots (most processes send now and then, not every interval); its numbers are written by
    one %-format.
    """

    def __init__(self, include_loopback: bool) -> None:
        self._include_loopback = include_loopback
        self._identities: dict[tuple[int, str, str, str, float | None], tuple[str, str]] = {}

    def encode(self, snapshot: Snapshot) -> str:
        include_loopback = self._include_loopback
        identities = self._identities
        if len(identities) > 2 * len(snapshot.processes) + 64:  # those gone, now and then
            self._identities = identities = {
                key: identities[key] for key in (p[:5] for p in snapshot.processes) if key in identities
            }
        processes = []
        interval = snapshot.interval
        per_second = (lambda count: round(count / interval, 3)) if interval > 0 else (lambda count: 0.0)
        for process in snapshot.processes:
            if process[6] is NO_BYTES and process[8]:  # delta, alive: a live process that moved nothing
                continue
            # One unpacking instead of an attribute lookup per field: this loop runs for every process
            # that moved bytes, every interval.
            _, _, _, _, _, conns, delta, (total_all, total_loopback, total_packet), alive = process
            (tx, rx), loopback, packet = delta
            if not include_loopback:  # ByteCounts.shown, without its Traffic
                tx, rx = tx - loopback[0], rx - loopback[1]
            if not (tx or rx) and (alive or not process.totals(include_loopback)):
                continue  # idle; or gone, never listed (with --no-loopback: all its bytes on loopback)
            key = process[:5]  # pid, name, cmdline, user, start_time
            kept = identities.get(key)
            if kept is None:
                kept = identities[key] = _identity(process)
            opening, start_time = kept
            numbers = _PROCESS_NUMBERS % (
                conns,
                tx,
                rx,
                per_second(tx),
                per_second(rx),
                *(total_all if include_loopback else total_all - total_loopback),
                *loopback,
                *total_loopback,
                *packet,
                *total_packet,
                start_time,
                _BOOLEAN[alive],
            )
            processes.append(opening + numbers)
        dropped = f',"dropped_updates":{snapshot.dropped_updates}' if snapshot.dropped_updates else ""
        return (
            f'{{"time":{round(snapshot.time, 6)!r},"interval":{round(snapshot.interval, 6)!r},'
            f'"backend":{_dumps(snapshot.backend)},"loopback":{_BOOLEAN[include_loopback]},'
            f'"processes":[{",".join(processes)}]{dropped}}}'
        )


def _identity(process: ProcessStats) -> tuple[str, str]:
    """The opening of a process's object, up to and including the comma after ``user``; and its
    start time as JSON."""
    fields = {
        "pid": process.pid,
        "name": decode_untrusted(process.name),
        "cmdline": decode_untrusted(process.cmdline),
        "user": decode_untrusted(process.user),
    }
    start = process.start_time
    return _dumps(fields)[:-1] + ",", "null" if start is None else repr(start)


def snapshot_record(snapshot: Snapshot, include_loopback: bool) -> dict[str, Any]:
    """The JSON object of one interval, as a reader of ``--format json`` gets it."""
    record: dict[str, Any] = json.loads(RecordEncoder(include_loopback).encode(snapshot))
    return record


# Reading a record back: each field checked to be what the writer writes, so that a file edited or
# damaged by hand stops a replay with one line saying which field is wrong.


def _pair(record: dict[str, Any], prefix: str, suffix: str) -> Traffic:
    return Traffic(_count(record, f"{prefix}tx_{suffix}"), _count(record, f"{prefix}rx_{suffix}"))


def _wrong(name: str, value: object, expected: str) -> ValueError:
    shown = json.dumps(value)
    return ValueError(f"{name} is {shown if len(shown) <= 40 else shown[:39] + '…'}, not {expected}")


def _count(item: dict[str, Any], name: str, default: int | None = 0, what: str = "a count") -> int:
    """A count of bytes or things: a JSON integer, not negative (``default`` when absent)."""
    value = item[name] if default is None else item.get(name, default)
    if type(value) is not int or value < 0:
        raise _wrong(name, value, what)
    return value


def _text(item: dict[str, Any], name: str, default: str | None = "") -> str:
    value = item[name] if default is None else item.get(name, default)
    if not isinstance(value, str):
        raise _wrong(name, value, "a string")
    return value


def _seconds(item: dict[str, Any], name: str, default: float | None = None) -> float:
    """A time or an interval: a finite JSON number, not negative."""
    value = item[name] if default is None else item.get(name, default)
    if type(value) not in (int, float) or not math.isfinite(value) or value < 0:
        raise _wrong(name, value, "a number of seconds")
    return float(value)


def _flag(item: dict[str, Any], name: str, default: bool) -> bool:
    value = item.get(name, default)
    if type(value) is not bool:
        raise _wrong(name, value, "true or false")
    return value


def _counts(record: dict[str, Any], suffix: str, loopback_included: bool) -> ByteCounts:
    shown = _pair(record, "", suffix)
    loopback = _pair(record, "lo_", suffix)
    packet = _pair(record, "packet_", suffix)
    everything = shown if loopback_included else shown + loopback
    return ByteCounts(everything, loopback, packet)


def snapshot_from_record(record: dict[str, Any]) -> Snapshot:
    """Rebuild the Snapshot a record was written from (for ``--replay``).

    Raises KeyError (a field missing) or ValueError (a field of the wrong kind, said in its message)
    on a record that is not one of ours.
    """
    loopback_included = _flag(record, "loopback", True)
    items = record["processes"]
    if not isinstance(items, list):
        raise _wrong("processes", items, "a list")
    processes = tuple(_process(item, loopback_included) for item in items)
    return Snapshot(
        time=_seconds(record, "time"),
        interval=_seconds(record, "interval"),
        backend=_text(record, "backend", "replay"),
        processes=processes,
        replay=True,
        dropped_updates=_count(record, "dropped_updates"),
    )


def _process(item: object, loopback_included: bool) -> ProcessStats:
    if not isinstance(item, dict):
        raise _wrong("a process", item, "an object")
    start_time = item.get("start_time")
    return ProcessStats(
        pid=_count(item, "pid", None, "a process id"),
        name=_text(item, "name", None),
        cmdline=_text(item, "cmdline"),
        user=_text(item, "user"),
        start_time=None if start_time is None else _seconds(item, "start_time"),
        conns=_count(item, "conns"),
        delta=_counts(item, "bytes", loopback_included),
        total=_counts(item, "total", loopback_included),
        alive=_flag(item, "alive", True),
    )
