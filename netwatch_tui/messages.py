"""Messages from the probe worker thread to the app (``post_message`` is the one thread-safe door)."""

from __future__ import annotations

from textual.message import Message

from netwatch_tui.model.snapshot import Snapshot


class SnapshotReady(Message):
    """The source produced one interval's snapshot."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class SourceFinished(Message):
    """The source ended: ``error`` is None at the end of a replay, or what stopped the probe."""

    def __init__(self, error: BaseException | None) -> None:
        super().__init__()
        self.error = error
