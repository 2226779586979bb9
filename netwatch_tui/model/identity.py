"""Is it the same process? A pid alone is not an identity: pids are reused, start times are not.

Start times are wall-clock seconds (psutil's create_time): the kernel's tick count since boot plus the
boot time from /proc/stat, a whole second that can move by one when the clock is stepped. A reused pid
belongs to a process started after its predecessor exited, far more than that apart in practice.
"""

from __future__ import annotations

START_TIME_TOLERANCE = 1.5  # seconds; the probe's process_info allows the same slack


def same_start_time(first: float, second: float) -> bool:
    return abs(first - second) <= START_TIME_TOLERANCE
