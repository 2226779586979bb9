"""Spread periodic per-item work (re-reading a process's fds, re-checking that it lives) over time."""

from __future__ import annotations

import random
from collections.abc import Hashable, Iterable


class StaggeredSchedule:
    """Each item is due once every ``period`` seconds; a new item's first turn is at a random point of
    its first period, so a thousand processes that appear together are not all re-read in one tick."""

    def __init__(self, period: float, seed: int | None = None) -> None:
        self.period = period
        self._next: dict[Hashable, float] = {}
        self._random = random.Random(seed)

    def due(self, item: Hashable, now: float) -> bool:
        """Whether ``item`` is due at ``now``; if so, its next turn is set one period later."""
        next_time = self._next.get(item)
        if next_time is None:
            self._next[item] = now + self._random.uniform(0, self.period)
            return True
        if now < next_time:
            return False
        self._next[item] = max(next_time + self.period, now)
        return True

    def keep_only(self, items: Iterable[Hashable]) -> None:
        """Forget items that no longer exist."""
        wanted = set(items)
        self._next = {item: time for item, time in self._next.items() if item in wanted}
