"""`netwatch --demo` needs neither root nor BPF; its output stays well-formed, hostile names included."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

from tests.netwatch_run import ROOT, netwatch_command


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        netwatch_command("--demo", "--interval", "0.1", "--count", "2", *args),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_demo_json() -> None:
    result = run("--format", "json")
    assert (result.returncode, result.stderr) == (0, "")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 2
    names = {p["name"] for p in records[0]["processes"]}
    assert {"curl", "nginx", "[red]evil[/red]", "bad\\xff\\xfeutf8"} <= names


def test_demo_csv() -> None:
    result = run("--format", "csv")
    assert (result.returncode, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0] == "PID, COMMAND, CONNS, TX_SEC, RX_SEC"
    rows = list(csv.reader([line for line in lines[1:] if line], skipinitialspace=True))
    assert rows and all(len(row) == 5 for row in rows)
    assert "\x1b" not in result.stdout


def test_a_replay_cut_short_prints_its_whole_records_and_a_warning(tmp_path: Path) -> None:
    """As `netwatch --format json > file` leaves a file when it is killed mid-write."""
    recorded = run("--format", "json").stdout
    path = tmp_path / "cut.ndjson"
    path.write_text(recorded + recorded[:30])
    result = subprocess.run(
        netwatch_command("--replay", str(path), "--speed", "64", "--format", "json"),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0
    assert [json.loads(line)["time"] for line in result.stdout.splitlines()] == [
        json.loads(line)["time"] for line in recorded.splitlines()
    ]
    assert result.stderr == f"netwatch: warning: {path}, line 3: an unfinished record, left out\n"
