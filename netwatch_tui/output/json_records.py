"""The ``--format json`` record: one JSON object per interval, and its way back into a Snapshot.

The contract fields are ``time``, ``interval`` and ``processes`` with ``pid``, ``name``, ``cmdline``,
``user``, ``conns``, ``tx_bytes``, ``rx_bytes``, ``tx_rate``, ``rx_rate``, ``tx_total``, ``rx_total``.
The extra fields (``lo_*``, ``packet_*``, ``start_time``, ``alive``, ``loopback``, ``backend``) let a
replay show exactly what the live view showed, loopback toggle included.
"""

from __future__ import annotations

from typing import Any

from netwatch_tui.model.snapshot import ByteCounts, ProcessStats, Snapshot, Traffic
from netwatch_tui.model.text import decode_untrusted


def _pair(record: dict[str, Any], prefix: str, suffix: str) -> Traffic:
    return Traffic(int(record.get(f"{prefix}tx_{suffix}", 0)), int(record.get(f"{prefix}rx_{suffix}", 0)))


def process_record(snapshot: Snapshot, process: ProcessStats, include_loopback: bool) -> dict[str, Any]:
    """The JSON object of one process in one interval."""
    moved = process.bytes(include_loopback)
    total = process.totals(include_loopback)
    return {
        "pid": process.pid,
        "name": decode_untrusted(process.name),
        "cmdline": decode_untrusted(process.cmdline),
        "user": decode_untrusted(process.user),
        "conns": process.conns,
        "tx_bytes": moved.tx,
        "rx_bytes": moved.rx,
        "tx_rate": round(snapshot.rate(moved.tx), 3),
        "rx_rate": round(snapshot.rate(moved.rx), 3),
        "tx_total": total.tx,
        "rx_total": total.rx,
        "lo_tx_bytes": process.delta.loopback.tx,
        "lo_rx_bytes": process.delta.loopback.rx,
        "lo_tx_total": process.total.loopback.tx,
        "lo_rx_total": process.total.loopback.rx,
        "packet_tx_bytes": process.delta.packet.tx,
        "packet_rx_bytes": process.delta.packet.rx,
        "packet_tx_total": process.total.packet.tx,
        "packet_rx_total": process.total.packet.rx,
        "start_time": process.start_time,
        "alive": process.alive,
    }


def snapshot_record(snapshot: Snapshot, include_loopback: bool) -> dict[str, Any]:
    """The JSON object of one interval: the processes that moved bytes in it, and those that exited
    in it (``alive`` false, once, so that a replay knows they are gone)."""
    record: dict[str, Any] = {
        "time": round(snapshot.time, 6),
        "interval": round(snapshot.interval, 6),
        "backend": snapshot.backend,
        "loopback": include_loopback,
        "processes": [
            process_record(snapshot, process, include_loopback)
            for process in snapshot.processes
            if not process.alive or process.bytes(include_loopback)
        ],
    }
    if snapshot.dropped_updates:
        record["dropped_updates"] = snapshot.dropped_updates
    return record


def _counts(record: dict[str, Any], suffix: str, loopback_included: bool) -> ByteCounts:
    shown = _pair(record, "", suffix)
    loopback = _pair(record, "lo_", suffix)
    packet = _pair(record, "packet_", suffix)
    everything = shown if loopback_included else shown + loopback
    return ByteCounts(everything, loopback, packet)


def snapshot_from_record(record: dict[str, Any]) -> Snapshot:
    """Rebuild the Snapshot a record was written from (for ``--replay``).

    Raises KeyError, TypeError or ValueError on a record that is not one of ours.
    """
    loopback_included = bool(record.get("loopback", True))
    processes = tuple(
        ProcessStats(
            pid=int(item["pid"]),
            name=str(item["name"]),
            cmdline=str(item.get("cmdline", "")),
            user=str(item.get("user", "")),
            start_time=item.get("start_time"),
            conns=int(item.get("conns", 0)),
            delta=_counts(item, "bytes", loopback_included),
            total=_counts(item, "total", loopback_included),
            alive=bool(item.get("alive", True)),
        )
        for item in record["processes"]
    )
    return Snapshot(
        time=float(record["time"]),
        interval=float(record["interval"]),
        backend=str(record.get("backend", "replay")),
        processes=processes,
        replay=True,
        dropped_updates=int(record.get("dropped_updates", 0)),
    )
