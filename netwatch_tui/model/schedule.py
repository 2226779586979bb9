"""Spread periodic per-item work (re-reading a process's fds, re-checking that it lives) over time."""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Hashable, Set


class StaggeredSchedule:
    """Each item is due once every ``period`` seconds. A new item is due at once, and then at a random
    point of its first period, so a thousand processes that appear together are not all re-read in
    one tick.

    Asked once per interval for all items together: the new and the gone are found by set
    differences and the due ones taken from a heap, so an interval costs little for the items that
    are not due (most of them, with a period of several intervals).
    """

    def __init__(self, period: float, seed: int | None = None) -> None:
        self.period = period
        self._next: dict[Hashable, float] = {}
        # (time, tie-breaker, item); an entry whose time is no longer the item's is stale and skipped
        self._heap: list[tuple[float, int, Hashable]] = []
        self._tie = itertools.count()  # items need not be comparable
        self._random = random.Random(seed)

    def take_due(self, items: Set[Hashable], now: float) -> set[Hashable]:
        """The ``items`` due at ``now``, each then set one period later; items no longer among
        ``items`` are forgotten (if they come back, they are new)."""
        for gone in self._next.keys() - items:
            del self._next[gone]
        due = set(items - self._next.keys())
        for item in due:
            self._set(item, now + self._random.uniform(0, self.period))
        heap = self._heap
        while heap and heap[0][0] <= now:
            when, _, item = heapq.heappop(heap)
            if self._next.get(item) == when:
                due.add(item)
                self._set(item, max(when + self.period, now))
        return due

    def _set(self, item: Hashable, when: float) -> None:
        self._next[item] = when
        heapq.heappush(self._heap, (when, next(self._tie), item))
