"""Sending a signal to the process a row shows, and only to that process.

A row names a process by pid *and* start time: by the time the user confirms, the pid may belong to
someone else. The check and the signal go through a pidfd (Linux >= 5.3), which pins the process the
check looked at, so there is no window in which a reused pid could receive the signal. Every outcome,
refusals and failures included, is returned as a value for the UI to show.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from enum import Enum

import psutil

from netwatch_tui.model.identity import same_start_time

PF_KTHREAD = 0x00200000  # include/linux/sched.h: the task is a kernel thread


class Outcome(Enum):
    SENT = "sent"
    REFUSED = "refused"
    GONE = "gone"
    DENIED = "denied"
    FAILED = "failed"


@dataclass(frozen=True)
class KillResult:
    outcome: Outcome
    message: str

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.SENT


def _refused(message: str) -> KillResult:
    return KillResult(Outcome.REFUSED, message)


def _gone(pid: int) -> KillResult:
    return KillResult(Outcome.GONE, f"pid {pid} has already exited")


def _is_kernel_thread(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return bool(int(fields[6]) & PF_KTHREAD)  # fields after "(comm)": state ppid pgrp session tty tpgid flags


def _static_refusal(pid: int, start_time: float | None) -> KillResult | None:
    """Refusals that need no look at the process."""
    if pid <= 1:
        return _refused(f"pid {pid} is init: signalling it would take the whole system down")
    if pid == os.getpid():
        return _refused("that is netwatch itself: press q to quit")
    if start_time is None:
        return _refused(f"pid {pid} exited before netwatch could identify it: nothing to signal")
    return None


def _identity_refusal(pid: int, start_time: float | None) -> KillResult | None:
    """Refusals that depend on what the pid is now (call with the process pinned)."""
    try:
        actual = psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        return _gone(pid)
    if start_time is None or not same_start_time(actual, start_time):
        return _refused(f"pid {pid} now belongs to another process (its start time differs): not signalled")
    if _is_kernel_thread(pid):
        return _refused(f"pid {pid} is a kernel thread: signals cannot stop it")
    return None


def check(pid: int, start_time: float | None) -> KillResult | None:
    """Why ``pid`` must not be signalled (a refusal, or already gone), or None if it may be."""
    return _static_refusal(pid, start_time) or _identity_refusal(pid, start_time)


def _open_pidfd(pid: int) -> int | None:
    """A pidfd for ``pid``, or None where the kernel or Python has none (then os.kill is used)."""
    try:
        return os.pidfd_open(pid)
    except ProcessLookupError:
        raise
    except (AttributeError, OSError):
        return None


def send_signal(pid: int, start_time: float | None, sig: signal.Signals = signal.SIGTERM) -> KillResult:
    """Send ``sig`` to ``pid`` if it is still the process that started at ``start_time``."""
    refusal = _static_refusal(pid, start_time)
    if refusal is not None:
        return refusal
    pidfd: int | None = None
    try:
        pidfd = _open_pidfd(pid)
        refusal = _identity_refusal(pid, start_time)
        if refusal is not None:
            return refusal
        if pidfd is None:
            os.kill(pid, sig)
        else:
            signal.pidfd_send_signal(pidfd, sig)
    except ProcessLookupError:
        return _gone(pid)
    except PermissionError:
        return KillResult(
            Outcome.DENIED, f"permission denied to signal pid {pid}: run netwatch as its owner or as root"
        )
    except OSError as exc:
        return KillResult(Outcome.FAILED, f"could not signal pid {pid}: {exc.strerror}")
    finally:
        if pidfd is not None:
            os.close(pidfd)
    return KillResult(Outcome.SENT, f"sent {sig.name} to pid {pid}")
