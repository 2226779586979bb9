"""Hand the heap's free pages back to the kernel (the live probe does it every TRIM_SECONDS).

Each interval builds and drops many short-lived objects; a burst (1,000 processes seen at once, a
socket table parsed for everyone) leaves free pages inside the C heap that glibc keeps for reuse,
so the RSS stays at the burst's height. ``malloc_trim(0)`` returns them (from every arena, the middle
of the heap included). With 1,000 busy processes, headless: 25.8 MB -> 24.0 MB after 30 s, for
0.3 ms per call. Other C libraries (musl) have no malloc_trim: nothing is done there.
"""

from __future__ import annotations

import ctypes
from typing import Callable


def _load_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # type: ignore[no-any-return]  # the C library in use
    except (OSError, AttributeError):
        return None


_TRIM = _load_trim()


def release_free_memory() -> None:
    if _TRIM is not None:
        _TRIM(0)
