"""The probe worker thread: runs a snapshot source and hands each snapshot to a consumer."""

from __future__ import annotations

import threading
from typing import Callable

from netwatch_tui.source import Deliver, SnapshotSource


class SnapshotWorker(threading.Thread):
    """Runs ``source`` in its own thread.

    ``deliver`` receives each snapshot (in this thread: it must be thread-safe, such as Textual's
    ``post_message`` or a ``queue.Queue.put``). ``on_finish`` is called exactly once when the source
    ends, with None on a normal end or the error that ended it. An unexpected exception is passed on
    as it is, so the consumer can report it and exit non-zero instead of hanging.
    """

    def __init__(
        self,
        source: SnapshotSource,
        deliver: Deliver,
        on_finish: Callable[[BaseException | None], None],
    ) -> None:
        super().__init__(name="netwatch-probe", daemon=True)
        self.source = source
        self._deliver = deliver
        self._on_finish = on_finish
        self.stop_event = threading.Event()

    def run(self) -> None:
        error: BaseException | None = None
        try:
            self.source.run(self._deliver, self.stop_event)
        except Exception as exc:  # NetwatchError or a bug: the consumer reports it and exits non-zero
            error = exc
        self._on_finish(error)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the source to stop and wait for it to release the probe."""
        self.stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)
