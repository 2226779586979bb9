"""Connection counts follow a real process's sockets, and are re-read only when its fds change."""

from __future__ import annotations

import os
import platform
import socket

from netwatch_tui.connection_counter import (
    FD_CHECK_SECONDS,
    FULL_RECOUNT_SECONDS,
    ConnectionCounter,
    kernel_reports_fd_count,
    open_file_count,
)

ME = os.getpid()
STEP = 2 * FD_CHECK_SECONDS  # later than any process's next fd check


def _kernel_at_least(major: int, minor: int) -> bool:
    numbers = platform.release().split("-")[0].split(".")
    return (int(numbers[0]), int(numbers[1])) >= (major, minor)


def test_the_fd_count_comes_from_one_stat_on_linux_6_2_and_later() -> None:
    assert kernel_reports_fd_count() == _kernel_at_least(6, 2)
    if kernel_reports_fd_count():
        before = open_file_count(ME)
        with open(os.devnull):
            assert open_file_count(ME) == before + 1
    assert open_file_count(2**22 + 1) is None  # beyond pid_max: gone


def test_counts_follow_new_and_closed_connections() -> None:
    counter = ConnectionCounter()
    with socket.create_server(("127.0.0.1", 0)) as server:
        assert counter.update({ME}, frozenset(), now=0.0) is not None  # a new process: counted at once
        base = counter.count(ME)
        client = socket.create_connection(server.getsockname())
        accepted, _ = server.accept()
        assert counter.update({ME}, frozenset(), now=STEP) is not None
        assert counter.count(ME) == base + 2
        client.close()
        accepted.close()
        counter.update({ME}, frozenset(), now=2 * STEP)
        assert counter.count(ME) == base


def test_unchanged_fds_are_not_reread_until_the_full_recount() -> None:
    counter = ConnectionCounter()
    counter.update({ME}, frozenset(), now=0.0)
    if kernel_reports_fd_count():
        assert counter.update({ME}, frozenset(), now=STEP) is None
        assert counter.update({ME}, frozenset(), now=2 * STEP) is None
    else:
        assert counter.update({ME}, frozenset(), now=STEP) is not None  # no fd count: every check
    assert counter.update({ME}, frozenset(), now=FULL_RECOUNT_SECONDS + 1) is not None


def test_watched_processes_are_always_read_and_the_gone_forgotten() -> None:
    counter = ConnectionCounter()
    counter.update({ME}, frozenset(), now=0.0)
    tables = counter.update({ME}, frozenset({ME}), now=0.5)
    assert tables is not None and tables.count(ME) == counter.count(ME)
    counter.update(set(), frozenset(), now=1.0)
    assert counter.count(ME) == 0
