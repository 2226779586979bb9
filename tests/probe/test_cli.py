"""The ``netwatch`` command as a user runs it: formats, options, stopping, and nothing left attached."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.bpf_programs import loaded_program_ids, loaded_since, program_ids_held_by, still_loaded
from tests.markers import requires_bpf
from tests.netwatch_run import (
    ROOT,
    NetwatchRun,
    netwatch_command,
    stop_child,
    totals_by_pid,
    traffic_child,
    wait_for_file,
)

pytestmark = requires_bpf
CONTRACT_KEYS = {
    "pid", "name", "cmdline", "user", "conns", "tx_bytes", "rx_bytes",
    "tx_rate", "rx_rate", "tx_total", "rx_total",
}  # fmt: skip


def transfer(tmp_path: Path, up: int, down: int) -> tuple[int, int]:
    """A TCP loopback transfer between two children; returns (client pid, server pid)."""
    portfile = tmp_path / "port"
    server = traffic_child("tcp-server", "4", str(portfile), str(up), str(down))
    client = traffic_child("tcp-client", "4", wait_for_file(portfile), str(up), str(down))
    assert stop_child(client) == 0
    assert stop_child(server) == 0
    portfile.unlink()
    return client.pid, server.pid


def test_json_records_follow_the_contract(tmp_path: Path) -> None:
    run = NetwatchRun("--format", "json", "--interval", "0.3")
    first = run.next_record(timeout=60)
    client, server = transfer(tmp_path, 20_000, 30_000)
    records = [first, *run.records_after()]
    status, errors = run.stop()
    assert (status, errors) == (0, "")
    for record in records:
        assert isinstance(record["time"], float)
        assert 0.2 < record["interval"] < 1.0
        for process in record["processes"]:
            assert process.keys() >= CONTRACT_KEYS
            assert all(isinstance(process[key], int) for key in ("pid", "conns", "tx_bytes", "tx_total"))
            assert isinstance(process["tx_rate"], float)
            assert process["tx_rate"] == pytest.approx(process["tx_bytes"] / record["interval"], rel=1e-3)
    assert totals_by_pid(records)[client] == (20_000, 30_000)
    assert totals_by_pid(records)[server] == (30_000, 20_000)


def test_count_stops_after_n_intervals() -> None:
    result = subprocess.run(
        netwatch_command("--format", "json", "--interval", "0.2", "--count", "3"),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert (result.returncode, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert all(json.loads(line)["processes"] is not None for line in lines)


def test_csv_blocks(tmp_path: Path) -> None:
    run = NetwatchRun("--format", "csv", "--interval", "0.3")
    assert run.next_line(timeout=60) == "PID, COMMAND, CONNS, TX_SEC, RX_SEC\n"
    while run.next_line() != "\n":  # the first interval (others may be busy); the probe is attached now
        pass
    client, server = transfer(tmp_path, 500_000, 1000)
    lines: list[str] = []

    def both_listed() -> bool:
        return all(any(line.startswith(f"{pid}, ") for line in lines) for pid in (client, server))

    # Other processes may be busy too: read whole intervals until both ends were listed (at most 10).
    while lines.count("\n") < 2 or (lines.count("\n") < 10 and not both_listed()):
        line = run.next_line()
        if line is None:
            break
        lines.append(line)
    status, errors = run.stop()
    assert (status, errors) == (0, "")
    rate = r"\d+\.\d\d [BKMGTP]/sec"
    name = r'[^,"]+|"(?:[^"]|"")*"'  # a name with a comma or quote is quoted CSV-style
    pattern = re.compile(rf"^(\d+), ({name}), (\d+), ({rate}), ({rate})$")
    rows = [pattern.match(line.rstrip("\n")) for line in lines if line and line != "\n"]
    assert rows and all(rows), lines
    pids = {int(row.group(1)) for row in rows}
    assert {client, server} <= pids
    assert lines.count("\n") >= 2  # intervals are separated by a blank line


def test_pid_filter(tmp_path: Path) -> None:
    portfile = tmp_path / "port"
    server = traffic_child("tcp-server", "4", str(portfile), "1000", "2000")
    port = wait_for_file(portfile)
    run = NetwatchRun("--format", "json", "--interval", "0.3", "--pid", str(server.pid), "--pid", "1")
    first = run.next_record(timeout=60)
    client = traffic_child("tcp-client", "4", port, "1000", "2000")
    assert stop_child(client) == 0
    assert stop_child(server) == 0
    records = [first, *run.records_after()]
    run.stop()
    seen = {process["pid"] for record in records for process in record["processes"]}
    assert seen == {server.pid}
    assert totals_by_pid(records)[server.pid] == (2000, 1000)


def test_no_loopback_leaves_loopback_out(tmp_path: Path) -> None:
    run = NetwatchRun("--format", "json", "--interval", "0.3", "--no-loopback")
    first = run.next_record(timeout=60)
    client, server = transfer(tmp_path, 40_000, 40_000)
    records = [first, *run.records_after()]
    run.stop()
    assert all(record["loopback"] is False for record in records)
    # Listed at most once more, as exited, with no bytes.
    assert totals_by_pid(records).get(client, (0, 0)) == (0, 0)
    assert totals_by_pid(records).get(server, (0, 0)) == (0, 0)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_stop_signals_end_cleanly_and_detach(signum: int) -> None:
    run = NetwatchRun("--format", "json", "--interval", "0.3")
    run.next_record(timeout=60)
    ours = program_ids_held_by(run.process.pid)
    assert len(ours) >= 5, "send, recv, socket close, exit and exec hooks (at least) load while it runs"
    assert ours <= loaded_program_ids()
    status, errors = run.stop(signum)
    assert (status, errors) == (0, "")
    assert not still_loaded(ours), "a program outlived netwatch"


def test_closed_stdout_ends_cleanly() -> None:
    before = loaded_program_ids()
    pipeline = f"{' '.join(netwatch_command('--format', 'json', '--interval', '0.2'))} | head -1"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", pipeline], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 1
    json.loads(result.stdout)
    assert not loaded_since(before), "a program outlived netwatch"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--interval", "0"], "--interval: 0 is out of range"),
        (["--interval", "soon"], "--interval: 'soon' is not a number of seconds"),
        (["--count", "-1"], "--count: -1 must be at least 1"),
        (["--pid", "abc"], "--pid: 'abc' is not a whole number"),
        (["--format", "xml"], "--format: invalid choice: 'xml'"),
        (["--probe", "ebpf"], "--probe: invalid choice: 'ebpf'"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--format", "tui", "--count", "2"], "--count works with --format json or csv"),
        (["--replay", "/nonexistent/recording.ndjson", "--format", "json"], "/nonexistent/recording.ndjson"),
        (["doctor", "--probe", "x"], "--probe: invalid choice: 'x'"),
        # options the chosen source would ignore
        (["--speed", "4"], "--speed works with --replay only"),
        (["--demo", "--replay", "x.ndjson"], "--demo and --replay cannot be used together"),
        (["--replay", "x.ndjson", "--interval", "2"], "--interval: a replay keeps its own intervals"),
        (["--demo", "--pid", "1"], "--pid works on the live probe only"),
        (["--replay", "x.ndjson", "--probe", "kprobes"], "--probe works on the live probe only"),
        (["--format", "json", "--pid", "1", "--pid", "4194305"], "--pid 4194305: no such process"),
    ],
)
def test_bad_arguments_get_one_line(args: list[str], message: str) -> None:
    result = subprocess.run(netwatch_command(*args), capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode != 0
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("netwatch: ")
    assert message in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("NETWATCH_PROC_ENTRIES", "many", "NETWATCH_PROC_ENTRIES='many': give a number of entries"),
        ("NETWATCH_SOCK_ENTRIES", "0", "NETWATCH_SOCK_ENTRIES='0': give a number of entries from 1"),
        ("NETWATCH_PROC_SLOTS", "100", "NETWATCH_PROC_SLOTS='100': give a power of two"),
    ],
)
def test_bad_map_sizes_get_one_line(variable: str, value: str, message: str) -> None:
    before = loaded_program_ids()
    result = subprocess.run(
        netwatch_command("--format", "json", "--count", "1"),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, variable: value},
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"netwatch: {message}")
    assert not loaded_since(before), "a program outlived netwatch"


def test_doctor_passes_here() -> None:
    result = subprocess.run(netwatch_command("doctor"), capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    checks = [line for line in lines if not line.startswith("note")]
    assert all(line.startswith("ok    ") for line in checks), lines
    names = [line.split(":")[0][6:] for line in checks]
    assert names == [
        "privileges", "kernel BPF support", "tracefs", "BCC",
        "kernel headers", "probe backend", "calibration", "calibration, probe from the cache",
    ]  # fmt: skip
    assert any("splice()" in line for line in lines)
    assert checks[-1].endswith("runs start from /var/cache/netwatch-tui without compiling")
