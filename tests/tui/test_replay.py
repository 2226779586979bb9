"""``--replay``: files written by ``--format json`` play back; wrong files fail with one line."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from netwatch_tui.errors import NetwatchError
from netwatch_tui.model.snapshot import ByteCounts, ProcessStats, Snapshot, Traffic
from netwatch_tui.output.json_records import snapshot_record
from netwatch_tui.replay import SPEEDS, ReplaySource
from netwatch_tui.synthetic import DEMO, FakeProcess, SyntheticSource


def write_capture(
    path: Path, ticks: int = 3, interval: float = 0.05, processes: Sequence[FakeProcess] = DEMO
) -> list[Snapshot]:
    """An NDJSON file as ``netwatch --format json`` writes it, from synthetic snapshots."""
    source = SyntheticSource(processes, interval=interval)
    snapshots = [source.snapshot(tick) for tick in range(ticks)]
    path.write_text("".join(json.dumps(snapshot_record(s, include_loopback=True)) + "\n" for s in snapshots))
    return snapshots


def play(source: ReplaySource) -> list[Snapshot]:
    played: list[Snapshot] = []
    source.run(played.append, threading.Event())
    return played


def test_a_capture_plays_back_in_order_as_replay_snapshots(tmp_path: Path) -> None:
    path = tmp_path / "capture.ndjson"
    recorded = write_capture(path)
    source = ReplaySource(path, speed=8)
    assert source.description == "replay of capture.ndjson"
    played = play(source)
    assert [s.time for s in played] == [s.time for s in recorded]
    assert all(s.replay for s in played)
    curl = [next(p for p in s.processes if p.name == "curl") for s in played]
    assert [p.bytes().rx for p in curl] == [
        next(p for p in s.processes if p.pid == 30408).bytes().rx for s in recorded
    ]


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "capture.ndjson"
    write_capture(path, ticks=2)
    path.write_text(path.read_text().replace("\n", "\n\n"))
    assert len(play(ReplaySource(path, speed=64))) == 2


def test_stop_ends_playback_between_records(tmp_path: Path) -> None:
    path = tmp_path / "capture.ndjson"
    write_capture(path, ticks=50, interval=1.0)
    stop = threading.Event()
    played: list[Snapshot] = []

    def deliver(snapshot: Snapshot) -> None:
        played.append(snapshot)
        stop.set()

    ReplaySource(path).run(deliver, stop)
    assert len(played) == 1


def test_speed_steps_through_the_fixed_choices(tmp_path: Path) -> None:
    path = tmp_path / "capture.ndjson"
    write_capture(path, ticks=1)
    source = ReplaySource(path, speed=3)  # not a step: the nearest one is the start
    assert source.change_speed(1) == 4.0
    assert source.change_speed(-2) == 1.0
    assert source.change_speed(-10) == SPEEDS[0]
    assert source.change_speed(100) == SPEEDS[-1]
    assert source.speed == SPEEDS[-1]


def _record(**fields: object) -> str:
    """One record line with a process whose ``fields`` replace good ones."""
    process = {"pid": 42, "name": "curl", "tx_bytes": 1, "rx_bytes": 2, **fields}
    return json.dumps({"time": 1.5, "interval": 1.0, "processes": [process]}) + "\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no records to replay"),
        ("\n\n", "no records to replay"),
        ("not json\n", r"line 1: not a record of `netwatch --format json` \(not JSON: expecting value at"),
        ("[1, 2]\n", r"line 1: not a record .* \(not a JSON object\)"),
        ('{"time": 1}\n', r"line 1: not a record .* \(no 'processes' field\)"),
        ('{"time": 1, "interval": 1, "processes": [{"name": "x"}]}\n', r"line 1: .* \(no 'pid' field\)"),
        (_record(rx_bytes=1e400), r"line 1: .* \(rx_bytes is Infinity, not a count\)"),
        (_record(tx_total=-1), r"\(tx_total is -1, not a count\)"),
        (_record(conns="a"), r'\(conns is "a", not a count\)'),
        (_record(pid=1.5), r"\(pid is 1.5, not a process id\)"),
        (_record(name=["x"]), r'\(name is \["x"\], not a string\)'),
        (_record(alive="yes"), r'\(alive is "yes", not true or false\)'),
        (_record(start_time="today"), r'\(start_time is "today", not a number of seconds\)'),
        ('{"time": 1, "interval": -1, "processes": []}\n', r"\(interval is -1, not a number of seconds\)"),
        ('{"time": "now", "interval": 1, "processes": []}\n', r'\(time is "now", not a number of seconds\)'),
        ('{"time": 1, "interval": 1, "processes": {}}\n', r"\(processes is \{\}, not a list\)"),
        ('{"time": 1, "interval": 1, "processes": ["x"]}\n', r'\(a process is "x", not an object\)'),
        ('{"time": 1, "interval": 1, "loopback": 1, "processes": []}\n', r"\(loopback is 1, not true or f"),
        (_record(name=["x" * 100]), r'\(name is \["x{37}…, not a string\)'),
    ],
)
def test_wrong_files_fail_before_the_screen_is_taken(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.ndjson"
    path.write_text(content)
    with pytest.raises(NetwatchError, match=message) as caught:
        ReplaySource(path)
    assert "\n" not in str(caught.value)


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(NetwatchError, match=r"cannot read replay file .*No such file"):
        ReplaySource(tmp_path / "missing.ndjson")


def test_a_bad_record_later_in_the_file_stops_playback_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "capture.ndjson"
    write_capture(path, ticks=2)
    path.write_text(path.read_text() + "{truncated\n")
    source = ReplaySource(path, speed=64)
    with pytest.raises(NetwatchError, match="line 3"):
        play(source)


def test_an_unfinished_last_record_is_left_out_and_said(tmp_path: Path) -> None:
    """A recording whose writer was stopped mid-record plays up to its last whole record."""
    path = tmp_path / "capture.ndjson"
    recorded = write_capture(path, ticks=3)
    whole = path.read_text()
    path.write_text(whole + whole.splitlines()[0][:40])  # no newline: cut off in the middle
    source = ReplaySource(path, speed=64)
    assert source.cut_short is None
    assert [s.time for s in play(source)] == [s.time for s in recorded]
    assert source.cut_short == f"{path}, line 4: an unfinished record, left out"
    assert source.description == "replay of capture.ndjson (its unfinished last record left out)"


def test_a_file_of_one_unfinished_record_has_nothing_to_play(tmp_path: Path) -> None:
    path = tmp_path / "capture.ndjson"
    path.write_text('{"time": 1, "inter')
    with pytest.raises(NetwatchError, match="line 1: an unfinished record"):
        ReplaySource(path)


@pytest.mark.parametrize("speed", [0, -1.0, float("nan")])
def test_speed_must_be_positive(tmp_path: Path, speed: float) -> None:
    with pytest.raises(NetwatchError, match="--speed"):
        ReplaySource(tmp_path / "whatever", speed=speed)


def test_idle_processes_stay_and_exits_end_them(tmp_path: Path) -> None:
    """Recordings list only busy processes and exits: a process missing from a record is idle."""

    def stats(pid: int, moved: int, total: int, alive: bool = True) -> ProcessStats:
        return ProcessStats(pid, f"p{pid}", "", "root", 1.0, 0, ByteCounts(Traffic(moved, 0)),
                            ByteCounts(Traffic(total, 0)), alive)  # fmt: skip

    intervals = [
        (stats(1, 10, 10), stats(2, 5, 5)),
        (stats(1, 10, 20), stats(2, 0, 5)),  # 2 is idle: not written
        (stats(1, 0, 20, alive=False),),  # 1 exits without a last byte: written once
        (),
    ]
    path = tmp_path / "capture.ndjson"
    records = [
        snapshot_record(Snapshot(float(i), 1.0, "tracepoints", p), True) for i, p in enumerate(intervals)
    ]
    assert [[p["pid"] for p in r["processes"]] for r in records] == [[1, 2], [1], [1], []]
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    played = play(ReplaySource(path, speed=64))
    shown = [{p.pid: (p.bytes().tx, p.totals().tx, p.alive) for p in s.processes} for s in played]
    assert shown == [
        {1: (10, 10, True), 2: (5, 5, True)},
        {1: (10, 20, True), 2: (0, 5, True)},
        {1: (0, 20, False), 2: (0, 5, True)},
        {2: (0, 5, True)},
    ]
