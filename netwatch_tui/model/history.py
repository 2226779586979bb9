"""Per-interval byte counts of the recent past, drawn as sparklines.

Kept as integers in one array per process, one entry per interval that had traffic; an idle
interval costs nothing. Entries of consecutive intervals stored the same way form a run: their
integers one after the other, then a trailer, ``last << 12 | count << 3 | kind``: the number of
the run's last interval, how many entries it has, and how they are stored. Most processes' traffic
is either all loopback or none of it, and moves less than 2 GiB each way per interval, so most
entries are one integer, both directions packed into it; the general case takes two or four.
Runs are read from the newest back, trailer first.

The newest run is open: it has no trailer yet; the History, and each view of it, holds where it
starts, its kind and its last interval instead. Its trailer is appended when the next entry cannot
join it. So the array only ever grows at its end, and a view, which reads as far as the array went
when it was taken, never sees it change.

With 1,000 processes sending every second, the history is the one part of the TUI that grows
for minutes, until HISTORY_LENGTH intervals are kept. At five integers an entry it took the TUI's
RSS from 51 MB to 73 MB (10 MB of arrays, the rest heap left behind by their copies); at two
integers an entry, to 58 MB (in a 300-interval synthetic run). A busy process's history is now
one integer an interval.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Iterator
from typing import NamedTuple, Optional

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
_COUNT_BITS = 9
_MAX_RUN = (1 << _COUNT_BITS) - 1  # entries in one run at most; a longer stretch takes two runs
_LAST_SHIFT = _KIND_BITS + _COUNT_BITS
_PACK_SHIFT = 31  # tx in the low 31 bits, rx above them: both below 2 GiB keeps it positive in 63 bits
_PACK_MASK = (1 << _PACK_SHIFT) - 1


def _entry(moved: ByteCounts) -> tuple[int, tuple[int, ...]]:
    """How ``moved`` is stored: the kind of its entry, and its integers."""
    all_bytes, loopback = moved.all, moved.loopback
    if not loopback:
        relation = _NO_LOOPBACK
    elif loopback == all_bytes:
        relation = _ALL_LOOPBACK
    else:
        return _SOME_LOOPBACK, (all_bytes.tx, all_bytes.rx, loopback.tx, loopback.rx)
    tx, rx = all_bytes
    if 0 <= tx <= _PACK_MASK and 0 <= rx <= _PACK_MASK:
        return relation | _PACKED, (tx | rx << _PACK_SHIFT,)
    return relation, (tx, rx)


def _size(kind: int) -> int:
    """How many integers an entry of ``kind`` takes."""
    if kind & _PACKED:
        return 1
    return 4 if kind == _SOME_LOOPBACK else 2


class _Run(NamedTuple):
    """Entries of consecutive intervals stored alike: where they begin in the array, how many there
    are (for the open run: how many the view saw), their kind, and the number of the last interval."""

    start: int
    count: int
    kind: int
    last: int

    @property
    def trailer(self) -> int:
        return self.last << _LAST_SHIFT | self.count << _KIND_BITS | self.kind

    @property
    def end(self) -> int:
        """Where its entries end (and, for a closed run, its trailer is)."""
        return self.start + self.count * _size(self.kind)


_OpenRun = Optional[tuple[int, int, int]]  # the open run's start, kind and last interval; None: no entry yet


def _runs(values: array[int], stop: int, open_run: _OpenRun, first: int) -> Iterator[_Run]:
    """The runs in ``values[:stop]`` holding intervals numbered ``first`` or later, newest first."""
    if open_run is None:
        return
    start, kind, last = open_run
    if last < first:
        return
    yield _Run(start, (stop - start) // _size(kind), kind, last)
    end = start
    while end:
        trailer = values[end - 1]
        last = trailer >> _LAST_SHIFT
        if last < first:
            return
        count, kind = trailer >> _KIND_BITS & _MAX_RUN, trailer & ((1 << _KIND_BITS) - 1)
        end -= 1 + count * _size(kind)
        yield _Run(end, count, kind, last)


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
        self._open: _OpenRun = None

    def push(self, moved: ByteCounts = NO_BYTES) -> None:
        self._count += 1
        if not (moved.all or moved.loopback):
            return
        kind, integers = _entry(moved)
        values = self._values
        start = len(values)
        if self._open is not None:
            open_start, open_kind, last = self._open
            count = (len(values) - open_start) // _size(open_kind)
            if open_kind == kind and last == self._count - 1 and count < _MAX_RUN:
                start = open_start  # the entry joins the open run
            else:
                values.append(_Run(open_start, count, open_kind, last).trailer)
                start += 1
        self._open = (start, kind, self._count)
        values.extend(integers)
        self._entries += 1
        self._trim()

    def view(self) -> HistoryView:
        """The history as it is now; later pushes do not change it (a paused screen shows a frame)."""
        return HistoryView(self._values, len(self._values), self._open, self._count, self._length)

    def _trim(self) -> None:
        """Past ``length + slack`` entries, copy the last ``length`` intervals' into a new array (not
        a deletion in place: views taken earlier keep the old one intact)."""
        if self._entries <= self._length + self._slack:
            return
        oldest_kept = self._count - self._length + 1
        runs = list(_runs(self._values, len(self._values), self._open, oldest_kept))
        oldest = runs[-1]
        dropped = max(0, oldest_kept - (oldest.last - oldest.count + 1))
        cut = oldest.start + dropped * _size(oldest.kind)
        values = self._values[cut:]
        if len(runs) > 1:  # the oldest run kept is closed: its trailer counts fewer entries now
            values[oldest.end - cut] = oldest._replace(count=oldest.count - dropped).trailer
        assert self._open is not None  # an entry was just pushed
        start, kind, last = self._open
        self._open = (max(0, start - cut), kind, last)  # the cut may fall inside the open run
        self._values = values
        self._entries = sum(run.count for run in runs) - dropped


class HistoryView:
    """The intervals a History held when the view was taken, oldest first."""

    __slots__ = ("_count", "_length", "_open", "_stop", "_values")

    def __init__(self, values: array[int], stop: int, open_run: _OpenRun, count: int, length: int) -> None:
        self._values = values  # appended to after the view is taken, never changed below ``stop``
        self._stop = stop
        self._open = open_run
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
        for run in _runs(values, self._stop, self._open, first):
            size = _size(run.kind)
            relation = run.kind & _RELATION
            number = max(first, run.last - run.count + 1)
            for index in range(run.end - (run.last - number + 1) * size, run.end, size):
                if size == 1:
                    packed = values[index]
                    traffic = Traffic(packed & _PACK_MASK, packed >> _PACK_SHIFT)
                else:
                    traffic = Traffic(values[index], values[index + 1])
                if not include_loopback and relation != _NO_LOOPBACK:
                    if relation == _ALL_LOOPBACK:
                        traffic = ZERO
                    else:
                        traffic = Traffic(traffic.tx - values[index + 2], traffic.rx - values[index + 3])
                shown[number - first] = traffic
                number += 1
        return shown
