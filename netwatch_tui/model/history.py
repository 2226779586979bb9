"""Per-interval byte counts of the recent past, drawn as sparklines.

Kept as integers in one array per process, one entry per interval that had traffic: its number and
four counts (all and loopback bytes, each way). A ByteCounts object per interval cost about 400
bytes, and with 1,000 processes sending every second and HISTORY_LENGTH intervals kept that grew
the TUI by about 90 MB in four minutes; an entry costs 40 bytes, and an idle interval nothing.
"""

from __future__ import annotations

from array import array

from netwatch_tui.model.snapshot import NO_BYTES, ZERO, ByteCounts, Traffic

# Long enough for the detail view's large sparklines on a wide terminal (60+ intervals).
HISTORY_LENGTH = 240
_FIELDS = 5  # per entry: the interval's number, all.tx, all.rx, loopback.tx, loopback.rx
_SLACK = 16  # entries kept past the length before the old ones are dropped, in one copy


class History:
    """The last ``length`` intervals' byte counts, oldest first. Views of it never change.

    Both the loopback bytes and all bytes are kept, so that the loopback toggle redraws the past.
    """

    def __init__(self, length: int = HISTORY_LENGTH) -> None:
        self._length = length
        self._count = 0  # intervals pushed so far; the last one is number ``_count``
        self._values = array("q")

    def push(self, moved: ByteCounts = NO_BYTES) -> None:
        self._count += 1
        if not (moved.all or moved.loopback):
            return
        values = self._values
        if len(values) >= _FIELDS * (self._length + _SLACK):
            # A new array, not a deletion in place: views taken earlier keep the old one intact.
            values = self._values = values[self._first_recent(values) :]
        values.extend((self._count, moved.all.tx, moved.all.rx, moved.loopback.tx, moved.loopback.rx))

    def view(self) -> HistoryView:
        """The history as it is now; later pushes do not change it (a paused screen shows a frame)."""
        return HistoryView(self._values, len(self._values), self._count, self._length)

    def _first_recent(self, values: array[int]) -> int:
        """Where the entries within the last ``length`` intervals begin (``_count`` is the new one's)."""
        oldest_kept = self._count - self._length + 1
        start = len(values)
        while start >= _FIELDS and values[start - _FIELDS] >= oldest_kept:
            start -= _FIELDS
        return start


class HistoryView:
    """The intervals a History held when the view was taken, oldest first."""

    __slots__ = ("_count", "_length", "_stop", "_values")

    def __init__(self, values: array[int], stop: int, count: int, length: int) -> None:
        self._values = values  # appended to after the view is taken, never changed below ``stop``
        self._stop = stop
        self._count = count
        self._length = length

    def __len__(self) -> int:
        return min(self._count, self._length)

    def shown(self, include_loopback: bool, last: int | None = None) -> list[Traffic]:
        """The bytes a view shows in each of the ``last`` intervals (all of them if None), oldest first:
        everything, or everything but loopback."""
        count = len(self) if last is None else max(0, min(last, len(self)))
        first = self._count - count + 1  # the number of the first interval shown
        shown = [ZERO] * count
        values = self._values
        at = self._stop - _FIELDS
        while at >= 0 and values[at] >= first:
            tx, rx = values[at + 1], values[at + 2]
            if not include_loopback:
                tx, rx = tx - values[at + 3], rx - values[at + 4]
            shown[values[at] - first] = Traffic(tx, rx)
            at -= _FIELDS
        return shown
