"""Names, command lines and users of processes, asked of /proc through psutil and cached.

The cache is keyed by pid and checked against the start time, so a reused pid is never
described with its predecessor's name; and against the count of the process's execs (kept by the
kernel probe), so a process that runs another program is not described as the one it was.
"""

from __future__ import annotations

import os
import pwd
import time
from collections.abc import Iterable
from typing import NamedTuple

import psutil

from netwatch_tui.model.identity import START_TIME_TOLERANCE, same_start_time
from netwatch_tui.model.text import decode_untrusted

_BOOT_TIME = psutil.boot_time()
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ProcessInfo(NamedTuple):
    name: str
    cmdline: str
    user: str
    start_time: float


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def monotonic_to_epoch(monotonic_ns: int) -> float:
    """A kernel monotonic timestamp (bpf_ktime_get_ns) as seconds since the epoch."""
    return monotonic_ns / 1e9 + (time.time() - time.monotonic())


def start_time(pid: int) -> float | None:
    """When ``pid`` started, as psutil's create_time computes it, from one read of /proc/PID/stat;
    None if it is gone or a zombie (the whole process, not just its exited main thread). (psutil.Process
    would read the file twice.)"""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    if fields[0] == b"Z" and not _other_threads_run(pid):
        return None
    return _BOOT_TIME + int(fields[19]) / _CLOCK_TICKS


def _other_threads_run(pid: int) -> bool:
    """Whether a zombie ``pid`` is only a main thread that has exited (pthread_exit) while other
    threads of the process go on: the process is then alive."""
    try:
        return len(os.listdir(f"/proc/{pid}/task")) > 1
    except OSError:
        return False


class ProcessInfoCache:
    """Describes live processes; ``lookup`` returns None for a process that is gone."""

    def __init__(self) -> None:
        # by pid, with the exec count it was read at; its start_time tells a reused pid apart
        self._cache: dict[int, tuple[ProcessInfo, int]] = {}

    def lookup(self, pid: int, first_seen_ns: int, execs: int = 0) -> ProcessInfo | None:
        """The process ``pid`` if it is the one the kernel first saw at ``first_seen_ns``, as it is
        after its ``execs``-th exec since then.

        A process with that pid that started after that moment is a successor on a reused pid:
        the one the kernel counted is gone.
        """
        started = start_time(pid)
        if started is None or started > monotonic_to_epoch(first_seen_ns) + START_TIME_TOLERANCE:
            return None
        info, described_at = self._cache.get(pid, (None, execs))
        if info is None or info.start_time != started or described_at != execs:
            info = self._describe(pid, started)
            if info is None:
                return None
            self._cache[pid] = (info, execs)
        return info

    @staticmethod
    def _describe(pid: int, started: float) -> ProcessInfo | None:
        try:
            process = psutil.Process(pid)
            if not same_start_time(process.create_time(), started):
                return None  # gone and replaced since start_time() read its stat file
        except psutil.Error:
            return None
        with process.oneshot():
            try:
                name = process.name()
            except psutil.Error:
                name = ""
            try:
                cmdline = " ".join(process.cmdline())
            except psutil.Error:
                cmdline = ""
            try:
                user = process.username()
            except (psutil.Error, KeyError):
                user = ""
        return ProcessInfo(decode_untrusted(name), decode_untrusted(cmdline), decode_untrusted(user), started)

    def keep_only(self, pids: Iterable[int]) -> None:
        """Forget every process but these (the others are gone)."""
        for pid in self._cache.keys() - pids:
            del self._cache[pid]
