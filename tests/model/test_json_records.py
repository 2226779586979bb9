from __future__ import annotations

import json

import pytest

from netwatch_tui.model.snapshot import ByteCounts, ProcessStats, Snapshot, Traffic
from netwatch_tui.output.json_records import snapshot_from_record, snapshot_record

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


@pytest.mark.parametrize("include_loopback", [True, False])
def test_round_trip_for_replay(include_loopback: bool) -> None:
    original = snapshot()
    back = snapshot_from_record(json.loads(json.dumps(snapshot_record(original, include_loopback))))
    assert back.replay
    (process,) = back.processes
    assert process == original.processes[0]
