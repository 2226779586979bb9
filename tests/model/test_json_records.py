from __future__ import annotations

import json

import pytest

from netwatch_tui.model.snapshot import ByteCounts, ProcessStats, Snapshot, Traffic
from netwatch_tui.model.text import decode_untrusted
from netwatch_tui.output.json_records import RecordEncoder, snapshot_from_record, snapshot_record
from netwatch_tui.synthetic import DEMO, HOSTILE, SyntheticSource

CONTRACT = {
    "pid", "name", "cmdline", "user", "conns",
    "tx_bytes", "rx_bytes", "tx_rate", "rx_rate", "tx_total", "rx_total",
}  # fmt: skip


def snapshot() -> Snapshot:
    busy = ProcessStats(
        pid=42,
        name="curl",
        cmdline="curl -O http://example.invalid/",
        user="alice",
        start_time=1_700_000_000.5,
        conns=2,
        delta=ByteCounts(Traffic(1000, 4000), Traffic(100, 400), Traffic(10, 0)),
        total=ByteCounts(Traffic(5000, 9000), Traffic(500, 900), Traffic(10, 0)),
    )
    idle = ProcessStats(43, "sshd", "", "root", None, 1, ByteCounts(), ByteCounts(Traffic(1, 1)))
    return Snapshot(time=1_800_000_000.25, interval=2.0, backend="tracepoints", processes=(busy, idle))


def test_record_contract_and_rates() -> None:
    record = snapshot_record(snapshot(), include_loopback=True)
    assert record["time"] == 1_800_000_000.25 and record["interval"] == 2.0
    (process,) = record["processes"]  # the idle process moved nothing this interval
    assert process.keys() >= CONTRACT
    assert (process["tx_bytes"], process["rx_bytes"]) == (1000, 4000)
    assert (process["tx_rate"], process["rx_rate"]) == (500.0, 2000.0)
    assert (process["tx_total"], process["rx_total"]) == (5000, 9000)
    json.dumps(record)


def test_without_loopback() -> None:
    (process,) = snapshot_record(snapshot(), include_loopback=False)["processes"]
    assert (process["tx_bytes"], process["rx_bytes"], process["tx_total"]) == (900, 3600, 4500)


def test_an_exit_is_written_only_for_a_process_whose_bytes_were_shown() -> None:
    """With --no-loopback, a process that only talked over loopback was never listed: its exit neither."""
    only_loopback = ByteCounts(Traffic(5, 6), Traffic(5, 6))
    gone = ProcessStats(8, "lo", "", "u", None, 0, ByteCounts(), only_loopback, False)
    exits = Snapshot(1.0, 1.0, "tracepoints", (gone,))
    assert [p["pid"] for p in snapshot_record(exits, include_loopback=True)["processes"]] == [8]
    assert snapshot_record(exits, include_loopback=False)["processes"] == []


@pytest.mark.parametrize("include_loopback", [True, False])
def test_round_trip_for_replay(include_loopback: bool) -> None:
    original = snapshot()
    back = snapshot_from_record(json.loads(json.dumps(snapshot_record(original, include_loopback))))
    assert back.replay
    (process,) = back.processes
    assert process == original.processes[0]


def reference_record(snapshot: Snapshot, include_loopback: bool) -> dict:
    """The record as the README documents it, built field by field: the oracle for RecordEncoder."""

    def process_record(process: ProcessStats) -> dict:
        moved, total = process.bytes(include_loopback), process.totals(include_loopback)
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

    record = {
        "time": round(snapshot.time, 6),
        "interval": round(snapshot.interval, 6),
        "backend": snapshot.backend,
        "loopback": include_loopback,
        "processes": [
            process_record(p)
            for p in snapshot.processes
            if p.bytes(include_loopback) or (not p.alive and p.totals(include_loopback))
        ],
    }
    if snapshot.dropped_updates:
        record["dropped_updates"] = snapshot.dropped_updates
    return record


def varied_snapshots() -> list[Snapshot]:
    source = SyntheticSource(DEMO + HOSTILE, count=0)
    snapshots = [source.snapshot(tick) for tick in range(6)]  # exits, idle ticks, hostile names
    gone = ProcessStats(
        7, "b\udcffad", "", "x\u2028y", None, 0, ByteCounts(), ByteCounts(Traffic(3, 4)), False
    )
    only_loopback = ByteCounts(Traffic(5, 6), Traffic(5, 6))
    gone_from_loopback = ProcessStats(8, "lo", "", "u", None, 0, ByteCounts(), only_loopback, False)
    snapshots.append(
        Snapshot(1.0, 0.0, "kprobes", (gone, gone_from_loopback, *snapshot().processes), dropped_updates=12)
    )
    snapshots.append(Snapshot(1_800_000_000.123456789, 1 / 3, 'tr"ace\\points', snapshot().processes))
    return snapshots


@pytest.mark.parametrize("include_loopback", [True, False])
def test_encoder_writes_json_dumps_characters(include_loopback: bool) -> None:
    encoder = RecordEncoder(include_loopback)
    written = 0
    for each in varied_snapshots():
        expected = json.dumps(reference_record(each, include_loopback), separators=(",", ":"))
        assert encoder.encode(each) == expected  # one encoder throughout: the identities it keeps
        written += len(json.loads(expected)["processes"])
    assert written > 20


def test_encoder_keeps_identities_of_the_processes_still_in_the_snapshots_only() -> None:
    encoder = RecordEncoder(include_loopback=True)
    moved = ByteCounts(Traffic(1, 1))
    for pid in range(1, 2001):  # a new process every interval, the one before it gone
        encoder.encode(
            Snapshot(
                float(pid), 1.0, "tracepoints", (ProcessStats(pid, "p", "", "u", None, 0, moved, moved),)
            )
        )
    assert len(encoder._identities) <= 2 + 64
    steady = tuple(ProcessStats(pid, "p", "", "u", None, 0, moved, moved) for pid in range(100))
    encoder.encode(Snapshot(1.0, 1.0, "tracepoints", steady))
    renamed = (steady[0]._replace(name="renamed"), *steady[1:])
    (first, *_) = json.loads(encoder.encode(Snapshot(2.0, 1.0, "tracepoints", renamed)))["processes"]
    assert first["name"] == "renamed"
