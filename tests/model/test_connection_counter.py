"""Connection counts follow real processes' sockets, and are re-read only when they may have changed."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys

import pytest

from netwatch_tui import connection_counter
from netwatch_tui.connection_counter import (
    FD_CHECK_SECONDS,
    FD_CHECKS_PER_SECOND,
    FULL_RECOUNT_SECONDS,
    ConnectionCounter,
    kernel_reports_fd_count,
    open_file_count,
)
from netwatch_tui.connections import ConnectionTables

ME = os.getpid()
STEP = 2 * FD_CHECK_SECONDS  # later than any process's next fd check
GONE = 2**22 + 1  # beyond pid_max


def _kernel_at_least(major: int, minor: int) -> bool:
    numbers = platform.release().split("-")[0].split(".")
    return (int(numbers[0]), int(numbers[1])) >= (major, minor)


def test_the_fd_count_comes_from_one_stat_on_linux_6_2_and_later() -> None:
    assert kernel_reports_fd_count() == _kernel_at_least(6, 2)
    if kernel_reports_fd_count():
        before = open_file_count(ME)
        with open(os.devnull):
            assert open_file_count(ME) == before + 1
    assert open_file_count(GONE) is None


def test_counts_follow_new_and_closed_connections() -> None:
    counter = ConnectionCounter()
    with socket.create_server(("127.0.0.1", 0)) as server:
        assert counter.update({ME: 1}, frozenset(), now=0.0) is not None
        base = counter.count(ME)
        client = socket.create_connection(server.getsockname())
        accepted, _ = server.accept()
        assert counter.update({ME: 1}, frozenset(), now=STEP) is not None  # its fd count changed
        assert counter.count(ME) == base + 2
        client.close()
        accepted.close()
        counter.update({ME: 1}, frozenset(), now=2 * STEP)
        assert counter.count(ME) == base


def test_a_changed_token_or_a_watch_recounts_what_fds_do_not_show() -> None:
    counter = ConnectionCounter()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as spare:  # unbound: not a connection yet
        counter.update({ME: 1}, frozenset(), now=0.0)
        base = counter.count(ME)
        spare.connect(("127.0.0.1", 9))  # no new fd
        if kernel_reports_fd_count():
            assert counter.update({ME: 1}, frozenset(), now=STEP) is None  # nothing says it changed
            assert counter.count(ME) == base
        tables = counter.update({ME: 1}, frozenset({ME}), now=STEP + 0.1)  # the detail view reads it
        assert tables is not None and tables.count(ME) == base + 1 == counter.count(ME)
        spare.close()
        counter.update({ME: 2}, frozenset(), now=STEP + 0.2)  # the kernel saw a socket change
        assert counter.count(ME) == base


def test_unchanged_processes_are_not_reread_until_the_full_recount() -> None:
    counter = ConnectionCounter()
    counter.update({ME: 1}, frozenset(), now=0.0)
    if kernel_reports_fd_count():
        assert counter.update({ME: 1}, frozenset(), now=STEP) is None
        assert counter.update({ME: 1}, frozenset(), now=2 * STEP) is None
    else:
        assert counter.update({ME: 1}, frozenset(), now=STEP) is not None  # no fd count: every check
    assert counter.update({ME: 1}, frozenset(), now=FULL_RECOUNT_SECONDS + 1) is not None


# One TCP connection (both ends) beside a listener, held until stdin closes.
_HOLDER = """
import socket, sys
server = socket.create_server(("127.0.0.1", 0))
client = socket.create_connection(server.getsockname())
accepted = server.accept()
print(flush=True)
sys.stdin.read()
"""


def test_a_new_process_is_counted_at_once_and_a_gone_one_forgotten() -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "\n"
        counter = ConnectionCounter()
        counter.update({ME: 1}, frozenset(), now=0.0)
        counter.update({ME: 1, holder.pid: 1}, frozenset(), now=1.0)  # not a full recount
        assert counter.count(holder.pid) == 2  # its connection's two ends; the listener is not one
    finally:
        holder.kill()
        holder.wait()
    counter.update({ME: 1}, frozenset(), now=2.0)
    assert counter.count(holder.pid) == 0


def test_tables_say_which_processes_they_could_read() -> None:
    tables = ConnectionTables([ME, GONE])
    assert tables.read(ME) and not tables.read(GONE)


def test_fd_checks_stay_within_their_budget_per_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """Few processes: each one's fds every FD_CHECK_SECONDS; many: FD_CHECKS_PER_SECOND in all."""
    if not kernel_reports_fd_count():
        pytest.skip("this kernel reports no fd count (before 6.2): everyone is recounted instead")
    checked: list[int] = []

    def counted(pid: int) -> int:
        checked.append(pid)
        return 1

    monkeypatch.setattr(connection_counter, "open_file_count", counted)
    monkeypatch.setattr(connection_counter, "ConnectionTables", lambda pids: _AllRead())
    for processes in (30, 1000):
        counter = ConnectionCounter()
        alive = dict.fromkeys(range(1, processes + 1), 1)
        counter.update(alive, frozenset(), now=0.0)  # first sight: everyone counted
        checked.clear()
        seconds = 60
        for second in range(1, seconds + 1):
            counter.update(alive, frozenset(), now=float(second))
        expected = min(processes / FD_CHECK_SECONDS, FD_CHECKS_PER_SECOND) * seconds
        assert 0.9 * expected <= len(checked) <= 1.1 * expected, (processes, len(checked))
        assert set(checked) == set(alive)  # everyone's turn came


class _AllRead:
    """ConnectionTables in which every process was read and holds one connection."""

    def read(self, pid: int) -> bool:
        return True

    def count(self, pid: int) -> int:
        return 1
