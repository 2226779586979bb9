"""Per-interval byte counts of the recent past, drawn as sparklines.

Kept as integers in one array per process, one entry per interval that had traffic; an idle
interval costs nothing. An entry ends with a trailer, ``number << 3 | kind``: the interval's
number, and how the counts before it are stored. Most processes' traffic is either all loopback or
none of it, and moves less than 2 GiB each way per interval, so most entries are two integers:
both directions packed into one, and the trailer. The general case (some loopback, or more bytes)
takes three or five. Entries are read from the newest back, trailer first.

With 1,000 processes sending every second, the history is the one part of the TUI that grows
for minutes, until HISTORY_LENGTH intervals are kept. At five integers an entry it took the TUI's
RSS from 51 MB to 73 MB (10 MB of arrays, the rest heap left behind by their copies); at two
integers an entry, and with the copies spread out, to 58 MB (in a 300-interval synthetic run).
"""

from __future__ import annotations

import itertools
from array import array

from netwatch_tui.model.snapshot import NO_BYTES, ZERO, ByteCounts, Traffic

# Long enough for the detail view's large sparklines on a wide terminal (60+ intervals).
HISTORY_LENGTH = 240
# Entries kept past the length before the old ones are dropped, in one copy. It differs from one
# history to the next so that processes started together do not all copy in the same interval:
# with 1,000 of them copying at once the heap grew by 2-3 MB more (the old arrays outlive the copy
# for an interval, in the frame on screen).
_SLACKS = itertools.cycle(range(8, 40))

_NO_LOOPBACK, _ALL_LOOPBACK, _SOME_LOOPBACK = 0, 1, 2  # how the loopback bytes relate to all bytes
_PACKED = 4  # flag: tx and rx share one integer
_RELATION = 3  # mask: the loopback relation in a kind
_KIND_BITS = 3
_PACK_SHIFT = 31  # tx in the low 31 bits, rx above them: both below 2 GiB keeps it positive in 63 bits
_PACK_MASK = (1 << _PACK_SHIFT) - 1


def _entry(number: int, moved: ByteCounts) -> tuple[int, ...]:
    """The integers that store ``moved`` as interval ``number``, trailer last."""
    all_bytes, loopback = moved.all, moved.loopback
    if not loopback:
        relation = _NO_LOOPBACK
    elif loopback == all_bytes:
        relation = _ALL_LOOPBACK
    else:
        trailer = number << _KIND_BITS | _SOME_LOOPBACK
        return (all_bytes.tx, all_bytes.rx, loopback.tx, loopback.rx, trailer)
    tx, rx = all_bytes
    if 0 <= tx <= _PACK_MASK and 0 <= rx <= _PACK_MASK:
        return (tx | rx << _PACK_SHIFT, number << _KIND_BITS | relation | _PACKED)
    return (tx, rx, number << _KIND_BITS | relation)


def _size(trailer: int) -> int:
    """How many integers the entry ending in ``trailer`` takes, the trailer included."""
    kind = trailer & ((1 << _KIND_BITS) - 1)
    if kind & _PACKED:
        return 2
    return 5 if kind == _SOME_LOOPBACK else 3


class History:
    """The last ``length`` intervals' byte counts, oldest first. Views of it never change.

    Both the loopback bytes and all bytes are kept, so that the loopback toggle redraws the past.
    """

    def __init__(self, length: int = HISTORY_LENGTH) -> None:
        self._length = length
        self._count = 0  # intervals pushed so far; the last one is number ``_count``
        self._entries = 0  # entries in the array
        self._slack = next(_SLACKS)
        self._values = array("q")

    def push(self, moved: ByteCounts = NO_BYTES) -> None:
        self._count += 1
        if not (moved.all or moved.loopback):
            return
        if self._entries >= self._length + self._slack:
            # A new array, not a deletion in place: views taken earlier keep the old one intact.
            start, self._entries = self._recent()
            self._values = self._values[start:]
        self._values.extend(_entry(self._count, moved))
        self._entries += 1

    def view(self) -> HistoryView:
        """The history as it is now; later pushes do not change it (a paused screen shows a frame)."""
        return HistoryView(self._values, len(self._values), self._count, self._length)

    def _recent(self) -> tuple[int, int]:
        """Where the entries of the last ``length`` intervals begin, and how many there are
        (``_count`` is already the number of the entry being pushed)."""
        oldest_kept = self._count - self._length + 1
        values = self._values
        start, entries = len(values), 0
        while start and values[start - 1] >> _KIND_BITS >= oldest_kept:
            start -= _size(values[start - 1])
            entries += 1
        return start, entries


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
        end = self._stop
        while end:
            trailer = values[end - 1]
            number = trailer >> _KIND_BITS
            if number < first:
                break
            size = _size(trailer)
            start = end - size
            if size == 2:
                packed = values[start]
                traffic = Traffic(packed & _PACK_MASK, packed >> _PACK_SHIFT)
            else:
                traffic = Traffic(values[start], values[start + 1])
            relation = trailer & _RELATION
            if not include_loopback and relation != _NO_LOOPBACK:
                if relation == _ALL_LOOPBACK:
                    traffic = ZERO
                else:
                    traffic = Traffic(traffic.tx - values[start + 2], traffic.rx - values[start + 3])
            shown[number - first] = traffic
            end = start
        return shown
