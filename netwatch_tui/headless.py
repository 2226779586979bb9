"""The non-interactive modes: the probe worker feeds a JSON or CSV printer until told to stop.

Stops cleanly, with every BPF program detached, on ``--count``, Ctrl-C, SIGTERM, SIGHUP and a
closed stdout (``netwatch --format json | head -1``).
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
from types import FrameType
from typing import NamedTuple

from netwatch_tui.errors import NetwatchError
from netwatch_tui.model.snapshot import Snapshot
from netwatch_tui.output.printers import CsvPrinter, JsonPrinter, Printer
from netwatch_tui.replay import ReplaySource
from netwatch_tui.source import SnapshotSource
from netwatch_tui.worker import SnapshotWorker

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopRequested(Exception):
    """Raised in the main thread by a stop signal."""


class _Finished(NamedTuple):
    error: BaseException | None


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise StopRequested(signal.Signals(signum).name)


class HandOff:
    """Snapshots from the worker to the printer, at most ``MAX_PENDING`` of them waiting.

    When nobody reads the output (a pipe whose reader is busy or stopped), the printer blocks, and
    the worker then waits here instead of piling snapshots up in memory. The kernel counts on
    meanwhile, so the next snapshot covers the longer interval and no byte is lost.
    """

    MAX_PENDING = 2

    def __init__(self) -> None:
        self._items: queue.Queue[Snapshot | _Finished] = queue.Queue(maxsize=self.MAX_PENDING)
        self._closed = threading.Event()

    def put(self, item: Snapshot | _Finished) -> None:
        """Wait for room; give up once the printer is done (:meth:`close`)."""
        while not self._closed.is_set():
            try:
                self._items.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def get(self) -> Snapshot | _Finished:
        return self._items.get()

    def close(self) -> None:
        self._closed.set()


def _printer(output_format: str, include_loopback: bool) -> Printer:
    printer_class = JsonPrinter if output_format == "json" else CsvPrinter
    return printer_class(sys.stdout, include_loopback)


def _silence_stdout() -> None:
    """After a closed pipe, let interpreter shutdown flush into /dev/null instead of failing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _print_until_done(items: HandOff, printer: Printer, count: int | None) -> None:
    printed = 0
    while count is None or printed < count:
        item = items.get()
        if isinstance(item, _Finished):
            if item.error is None:
                return
            if isinstance(item.error, NetwatchError):
                raise item.error
            raise NetwatchError(f"the probe worker failed: {type(item.error).__name__}: {item.error}")
        printer.write(item)
        printed += 1


def run_headless(
    source: SnapshotSource, output_format: str, count: int | None, include_loopback: bool
) -> int:
    """Print snapshots from ``source``; return the exit status."""
    items = HandOff()
    worker = SnapshotWorker(source, items.put, lambda error: items.put(_Finished(error)))
    previous = {signum: signal.signal(signum, _raise_stop) for signum in _STOP_SIGNALS}
    try:
        printer = _printer(output_format, include_loopback)
        worker.start()
        _print_until_done(items, printer, count)
    except StopRequested:
        pass
    except BrokenPipeError:
        _silence_stdout()
    finally:
        for signum in _STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)  # a second signal must not cut the clean-up short
        items.close()  # a worker waiting to hand over a snapshot stops waiting
        worker.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if isinstance(source, ReplaySource) and source.cut_short:
        print(f"netwatch: warning: {source.cut_short}", file=sys.stderr)
    return 0
