"""Kill guards: only the process a row shows is ever signalled, and every outcome is a value."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import psutil
import pytest

from netwatch_tui import kill
from netwatch_tui.kill import Outcome


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def start_time(pid: int) -> float:
    return psutil.Process(pid).create_time()


def test_sigterm_reaches_the_process_that_started_at_that_time(child: subprocess.Popen[bytes]) -> None:
    assert kill.check(child.pid, start_time(child.pid)) is None
    result = kill.send_signal(child.pid, start_time(child.pid))
    assert result.ok and result.message == f"sent SIGTERM to pid {child.pid}"
    assert child.wait(timeout=10) == -signal.SIGTERM


def test_sigkill_on_request(child: subprocess.Popen[bytes]) -> None:
    assert kill.send_signal(child.pid, start_time(child.pid), signal.SIGKILL).ok
    assert child.wait(timeout=10) == -signal.SIGKILL


def test_a_reused_pid_is_refused(child: subprocess.Popen[bytes]) -> None:
    """The row remembers a process that started long before the one holding the pid now."""
    stale = start_time(child.pid) - 3600
    for result in (kill.check(child.pid, stale), kill.send_signal(child.pid, stale)):
        assert result is not None and result.outcome is Outcome.REFUSED
        assert "another process" in result.message
    assert child.poll() is None


def test_a_process_without_start_time_is_refused(child: subprocess.Popen[bytes]) -> None:
    result = kill.send_signal(child.pid, None)
    assert result.outcome is Outcome.REFUSED
    assert child.poll() is None


def test_init_and_netwatch_itself_are_refused() -> None:
    init = kill.send_signal(1, start_time(1))
    assert init.outcome is Outcome.REFUSED and "init" in init.message
    itself = kill.send_signal(os.getpid(), start_time(os.getpid()))
    assert itself.outcome is Outcome.REFUSED and "netwatch itself" in itself.message


def test_kernel_threads_are_refused() -> None:
    kthreadd = 2  # the parent of every kernel thread
    if not os.path.exists(f"/proc/{kthreadd}/stat"):
        pytest.skip("no kthreadd visible (pid namespace)")
    result = kill.check(kthreadd, start_time(kthreadd))
    assert result is not None and result.outcome is Outcome.REFUSED and "kernel thread" in result.message


def test_a_process_that_already_exited_is_reported_gone(child: subprocess.Popen[bytes]) -> None:
    started = start_time(child.pid)
    child.kill()
    child.wait(timeout=10)
    result = kill.send_signal(child.pid, started)
    assert result.outcome is Outcome.GONE and "already exited" in result.message


def test_permission_denied_is_an_outcome_not_an_exception(
    child: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(*_: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(signal, "pidfd_send_signal", denied)
    result = kill.send_signal(child.pid, start_time(child.pid))
    assert result.outcome is Outcome.DENIED and "permission denied" in result.message
    assert child.poll() is None


def test_without_pidfd_the_guarded_os_kill_is_used(
    child: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pidfd(_: int) -> int:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(os, "pidfd_open", no_pidfd)
    assert kill.send_signal(child.pid, start_time(child.pid)).ok
    assert child.wait(timeout=10) == -signal.SIGTERM
