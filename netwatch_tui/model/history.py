"""Per-interval byte counts of the recent past, drawn as sparklines.

Kept as four integers per interval (all and loopback bytes, each way) in one array per process: a
ByteCounts object per interval cost about 400 bytes, and with 1,000 processes sending every
second and HISTORY_LENGTH intervals kept that grew the TUI by about 90 MB in four minutes. The
array costs 32 bytes per interval, whatever the traffic.
"""

from __future__ import annotations

from array import array

from netwatch_tui.model.snapshot import NO_BYTES, ByteCounts, Traffic

# Long enough for the detail view's large sparklines on a wide terminal (60+ intervals).
HISTORY_LENGTH = 240
_FIELDS = 4  # per interval: all.tx, all.rx, loopback.tx, loopback.rx
_SLACK = 16  # intervals kept past the length before the oldest are dropped, in one copy


class History:
    """The last ``length`` intervals' byte counts, oldest first. Views of it never change.

    Both the loopback bytes and all bytes are kept, so that the loopback toggle redraws the past.
    """

    def __init__(self, length: int = HISTORY_LENGTH) -> None:
        self._length = length
        self._values = array("q")

    def push(self, moved: ByteCounts = NO_BYTES) -> None:
        values = self._values
        if len(values) >= _FIELDS * (self._length + _SLACK):
            # A new array, not a deletion in place: views taken earlier keep the old one intact.
            values = self._values = values[-_FIELDS * (self._length - 1) :]
        values.extend((moved.all.tx, moved.all.rx, moved.loopback.tx, moved.loopback.rx))

    def view(self) -> HistoryView:
        """The history as it is now; later pushes do not change it (a paused screen shows a frame)."""
        return HistoryView(self._values, len(self._values), self._length)


class HistoryView:
    """The intervals a History held when the view was taken, oldest first."""

    __slots__ = ("_length", "_stop", "_values")

    def __init__(self, values: array[int], stop: int, length: int) -> None:
        self._values = values  # appended to after the view is taken, never changed below ``stop``
        self._stop = stop
        self._length = length

    def __len__(self) -> int:
        return min(self._stop // _FIELDS, self._length)

    def shown(self, include_loopback: bool, last: int | None = None) -> list[Traffic]:
        """The bytes a view shows in each of the ``last`` intervals (all of them if None), oldest first:
        everything, or everything but loopback."""
        count = len(self) if last is None else max(0, min(last, len(self)))
        values = self._values[self._stop - _FIELDS * count : self._stop]
        steps = range(0, len(values), _FIELDS)
        if include_loopback:
            return [Traffic(values[i], values[i + 1]) for i in steps]
        return [Traffic(values[i] - values[i + 2], values[i + 1] - values[i + 3]) for i in steps]
