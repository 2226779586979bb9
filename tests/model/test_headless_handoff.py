"""An output nobody reads holds the worker back instead of piling snapshots up in memory."""

from __future__ import annotations

import sys
import threading

import pytest

from netwatch_tui.headless import HandOff, run_headless
from netwatch_tui.model.snapshot import Snapshot
from netwatch_tui.source import Deliver


class StalledOutput:
    """A stdout whose reader is away: writes block until :meth:`release`."""

    def __init__(self) -> None:
        self._released = threading.Event()
        self.lines: list[str] = []

    def write(self, text: str) -> int:
        self._released.wait(timeout=30)
        self.lines.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def release(self) -> None:
        self._released.set()


class EagerSource:
    """Delivers snapshots as fast as it is let, counting them."""

    description = "eager"
    live = False
    interval = None

    def __init__(self) -> None:
        self.delivered = 0

    def run(self, deliver: Deliver, stop: threading.Event) -> None:
        while not stop.is_set():
            deliver(Snapshot(time=float(self.delivered), interval=1.0, backend="eager"))
            self.delivered += 1

    def watch_connections(self, pids: frozenset[int]) -> None:
        pass


def test_a_stalled_output_holds_the_worker_back(monkeypatch: pytest.MonkeyPatch) -> None:
    output, source = StalledOutput(), EagerSource()
    monkeypatch.setattr(sys, "stdout", output)
    delivered_while_stalled: list[int] = []

    def release() -> None:
        delivered_while_stalled.append(source.delivered)
        output.release()

    threading.Timer(1.0, release).start()  # unbounded, the source would deliver many thousands by then
    assert run_headless(source, "json", count=3, include_loopback=True) == 0
    assert delivered_while_stalled[0] <= HandOff.MAX_PENDING + 1  # one more is in the printer's hands
    assert len(output.lines) == 3


def test_closing_releases_a_waiting_put() -> None:
    hand_off = HandOff()
    for number in range(HandOff.MAX_PENDING):
        hand_off.put(Snapshot(time=float(number), interval=1.0, backend="x"))
    waiting = threading.Thread(target=hand_off.put, args=(Snapshot(time=9.0, interval=1.0, backend="x"),))
    waiting.start()
    waiting.join(0.3)
    assert waiting.is_alive()  # full: it waits
    hand_off.close()
    waiting.join(2)
    assert not waiting.is_alive()
