"""``netwatch --replay FILE``: plays back a file written by ``netwatch --format json``.

Records are read lazily (a capture may be long) and played one interval apart, divided by a speed
the user can change while it plays.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import IO

from netwatch_tui.errors import NetwatchError
from netwatch_tui.model.snapshot import NO_BYTES, ProcessStats, Snapshot
from netwatch_tui.output.json_records import snapshot_from_record
from netwatch_tui.source import Deliver

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
_TICK = 0.05  # how often a wait re-reads the speed, so a change applies at once


def _parse(path: Path, number: int, line: str) -> Snapshot:
    try:
        record = json.loads(line)
        if not isinstance(record, dict):
            raise TypeError("not a JSON object")
        return snapshot_from_record(record)
    except json.JSONDecodeError as exc:
        reason = f"not JSON: {exc.msg.lower()} at column {exc.colno}"
    except KeyError as exc:
        reason = f"no {exc.args[0]!r} field"
    except (ValueError, TypeError) as exc:
        reason = str(exc)
    raise NetwatchError(f"{path}, line {number}: not a record of `netwatch --format json` ({reason})")


class _IdleProcesses:
    """A recording lists only the processes that moved bytes in each interval, and each exit once;
    a process missing from a record is idle, not gone, and is shown again with its totals."""

    def __init__(self) -> None:
        self._alive: dict[int, ProcessStats] = {}

    def complete(self, snapshot: Snapshot) -> Snapshot:
        listed = {process.pid for process in snapshot.processes}
        idle = tuple(p._replace(delta=NO_BYTES) for pid, p in self._alive.items() if pid not in listed)
        for process in snapshot.processes:
            if process.alive:
                self._alive[process.pid] = process
            else:
                self._alive.pop(process.pid, None)
        return snapshot._replace(processes=snapshot.processes + idle)


class ReplaySource:
    """A snapshot source reading ``path``; opening it checks the first record, so a wrong file fails
    before the screen is taken over."""

    def __init__(self, path: str | Path, speed: float = 1.0) -> None:
        if not speed > 0:
            raise NetwatchError(f"--speed must be a positive number, not {speed}")
        self.path = Path(path)
        self._speed = float(speed)
        self._lock = threading.Lock()
        self.cut_short: str | None = None  # set if the last line is an unfinished record, left out
        with closing(self._records()) as records:
            first = next(records, None)
        if first is None:
            raise NetwatchError(self.cut_short or f"{self.path}: no records to replay (the file is empty)")
        self.description = f"replay of {self.path.name}"
        self.live = False  # its pids may since belong to other processes, or to the same ones, still running
        self.interval = None  # the recording's, record by record

    @property
    def speed(self) -> float:
        with self._lock:
            return self._speed

    def change_speed(self, steps: int) -> float:
        """Move ``steps`` along SPEEDS (``+`` / ``-`` keys) and return the new speed."""
        with self._lock:
            index = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - self._speed))
            self._speed = SPEEDS[max(0, min(len(SPEEDS) - 1, index + steps))]
            return self._speed

    def watch_connections(self, pids: frozenset[int]) -> None:
        """Recorded files carry no per-connection data: nothing to do."""

    def _open(self) -> IO[str]:
        try:
            return self.path.open(encoding="utf-8", errors="surrogateescape")
        except OSError as exc:
            raise NetwatchError(f"cannot read replay file {self.path}: {exc.strerror}") from None

    def _records(self) -> Iterator[Snapshot]:
        with self._open() as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                if line.endswith("\n"):
                    yield _parse(self.path, number, line)
                    continue
                try:  # the last line, unfinished if its writer was stopped mid-record
                    last = _parse(self.path, number, line)
                except NetwatchError:
                    self.cut_short = f"{self.path}, line {number}: an unfinished record, left out"
                    self.description = f"replay of {self.path.name} (its unfinished last record left out)"
                    return
                yield last

    def _wait(self, interval: float, stop: threading.Event) -> None:
        """Wait ``interval`` seconds of recorded time, at whatever speed is current moment by moment."""
        played = 0.0
        last = time.monotonic()
        while played < interval and not stop.wait(min(_TICK, (interval - played) / self.speed)):
            now = time.monotonic()
            played += (now - last) * self.speed
            last = now

    def run(self, deliver: Deliver, stop: threading.Event) -> None:
        idle = _IdleProcesses()
        for index, recorded in enumerate(self._records()):
            snapshot = idle.complete(recorded)
            if stop.is_set():
                return
            if index:
                self._wait(snapshot.interval, stop)
                if stop.is_set():
                    return
            deliver(snapshot)
