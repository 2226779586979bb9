"""What the user chose to see (units, loopback, rates or totals, filter, sort) and the rows it gives."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from netwatch_tui.model.monitor import Frame
from netwatch_tui.model.sanitize import clean
from netwatch_tui.model.sorting import SortKey, SortOrder, sort_rows
from netwatch_tui.model.table_rows import ProcessRow


@dataclass(frozen=True)
class ViewOptions:
    include_loopback: bool = True
    bits: bool = False
    totals_first: bool = False  # the `m` view: totals (since start) before rates
    query: str = ""
    sort: SortOrder = field(default_factory=SortOrder)

    def with_totals_first(self, totals_first: bool) -> ViewOptions:
        """Switch views; a TX+RX sort follows the view (rate <-> total), other sorts stay."""
        swap = {SortKey.RATE: SortKey.TOTAL, SortKey.TOTAL: SortKey.RATE}
        key = swap.get(self.sort.key, self.sort.key)
        return replace(self, totals_first=totals_first, sort=SortOrder(key, self.sort.descending))


def matches(row: ProcessRow, query: str) -> bool:
    """Case-insensitive substring of the pid, name, user or command line (as shown, escapes included)."""
    if not query:
        return True
    needle = query.casefold()
    stats = row.stats
    return any(
        needle in text.casefold()
        for text in (str(stats.pid), clean(stats.name), clean(stats.user), clean(stats.cmdline))
    )


def visible_rows(frame: Frame, options: ViewOptions) -> list[ProcessRow]:
    """The frame's rows that pass the filter, in display order. With loopback left out, a process
    that has moved nothing else has nothing to show, and no row (as in ``--format json``)."""
    rows = [
        row
        for row in frame.rows
        if matches(row, options.query) and (options.include_loopback or row.stats.totals(False))
    ]
    return sort_rows(rows, options.sort, options.include_loopback)


@dataclass(frozen=True, eq=False)
class DisplayState:
    """Everything the screens draw from: the frame on show and how to show it."""

    frame: Frame | None
    options: ViewOptions
    source: str  # the source's description ("replay of capture.ndjson", ...)
    paused: bool = False
    finished: bool = False  # the source ended (a replay reached its end)
    speed: float | None = None  # replay speed, None for live sources
    interval: float | None = None  # the interval asked for; None: the snapshot's own (a replay's)
