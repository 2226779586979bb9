"""Is it the same process? A pid alone is not an identity: pids are reused, start times are not."""

from __future__ import annotations

# psutil derives start times from clock ticks (10 ms) plus the boot time: allow a couple of ticks.
START_TIME_TOLERANCE = 0.02


def same_start_time(first: float, second: float) -> bool:
    return abs(first - second) <= START_TIME_TOLERANCE
