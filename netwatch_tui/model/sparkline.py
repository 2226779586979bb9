"""Text sparklines drawn with the eight block elements, one character per interval."""

from __future__ import annotations

from collections.abc import Sequence

_BLOCKS = " ▁▂▃▄▅▆▇█"
_LEVELS = len(_BLOCKS) - 1


def _eighths(value: float, maximum: float, height: int) -> int:
    """How many eighths of ``height`` rows ``value`` fills; any non-zero value shows at least one."""
    if value <= 0 or maximum <= 0:
        return 0
    return max(1, min(height * _LEVELS, round(value / maximum * height * _LEVELS)))


def spark(values: Sequence[float], maximum: float | None = None) -> str:
    """One line, one block per value, scaled to ``maximum`` (default: the largest value); zero is blank."""
    top = max(values, default=0) if maximum is None else maximum
    return "".join(_BLOCKS[_eighths(value, top, 1)] for value in values)


def bars(values: Sequence[float], height: int, maximum: float | None = None) -> list[str]:
    """A graph ``height`` lines tall (top line first), one column per value."""
    top = max(values, default=0) if maximum is None else maximum
    levels = [_eighths(value, top, height) for value in values]
    return [
        "".join(_BLOCKS[min(_LEVELS, max(0, level - row * _LEVELS))] for level in levels)
        for row in reversed(range(height))
    ]
