"""Names, command lines and users of processes, asked of /proc through psutil and cached.

The cache is keyed by ``(pid, start time)``, so a reused pid is never described with its
predecessor's name.
"""

from __future__ import annotations

import pwd
import time
from dataclasses import dataclass

import psutil

from netwatch_tui.model.text import decode_untrusted

# psutil's create_time rests on the whole-second boot time in /proc/stat.
_START_TIME_SLACK = 1.5


@dataclass(frozen=True)
class ProcessInfo:
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


class ProcessInfoCache:
    """Describes live processes; ``lookup`` returns None for a process that is gone."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, float], ProcessInfo] = {}
        self._used: set[tuple[int, float]] = set()

    def lookup(self, pid: int, first_seen_ns: int) -> ProcessInfo | None:
        """The process ``pid`` if it is the one the kernel first saw at ``first_seen_ns``.

        A process with that pid that started after that moment is a successor on a reused pid:
        the one the kernel counted is gone.
        """
        try:
            process = psutil.Process(pid)
            start_time = process.create_time()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return None
        if start_time > monotonic_to_epoch(first_seen_ns) + _START_TIME_SLACK:
            return None
        key = (pid, start_time)
        self._used.add(key)
        info = self._cache.get(key)
        if info is None:
            info = self._describe(process, start_time)
            self._cache[key] = info
        return info

    @staticmethod
    def _describe(process: psutil.Process, start_time: float) -> ProcessInfo:
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
        return ProcessInfo(
            decode_untrusted(name), decode_untrusted(cmdline), decode_untrusted(user), start_time
        )

    def end_round(self) -> None:
        """Forget processes not looked up since the previous call (they are gone or idle)."""
        self._cache = {key: info for key, info in self._cache.items() if key in self._used}
        self._used = set()
