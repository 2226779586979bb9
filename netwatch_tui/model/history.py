"""Ring buffers of per-interval byte counts: a process's recent past, drawn as sparklines."""

from __future__ import annotations

from collections import deque

from netwatch_tui.model.snapshot import NO_BYTES, ByteCounts

# Long enough for the detail view's large sparklines on a wide terminal (60+ intervals).
HISTORY_LENGTH = 240


class History:
    """The last ``length`` intervals' byte counts, oldest first.

    ByteCounts (not one Traffic) are kept so the loopback toggle redraws the past correctly.
    """

    def __init__(self, length: int = HISTORY_LENGTH) -> None:
        self._values: deque[ByteCounts] = deque(maxlen=length)

    def push(self, moved: ByteCounts = NO_BYTES) -> None:
        self._values.append(moved)

    def values(self) -> tuple[ByteCounts, ...]:
        return tuple(self._values)

    def __len__(self) -> int:
        return len(self._values)
