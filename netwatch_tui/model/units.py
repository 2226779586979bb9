"""Human-readable byte and rate formatting, shared by the printers and the TUI."""

from __future__ import annotations

_BINARY_PREFIXES = ("", "Ki", "Mi", "Gi", "Ti", "Pi")
_DECIMAL_PREFIXES = ("", "k", "M", "G", "T", "P")


def _scaled(value: float, step: float, prefixes: tuple[str, ...]) -> tuple[float, str]:
    index = 0
    while abs(value) >= step and index < len(prefixes) - 1:
        value /= step
        index += 1
    return value, prefixes[index]


def format_bytes(count: float) -> str:
    """``1536`` -> ``'1.5 KiB'``; whole bytes stay whole (``'512 B'``)."""
    value, prefix = _scaled(float(count), 1024.0, _BINARY_PREFIXES)
    if not prefix:
        return f"{int(value)} B"
    return f"{value:.1f} {prefix}B"


def format_rate(bytes_per_second: float, bits: bool = False) -> str:
    """A rate as bytes (binary prefixes, ``'96.9 KiB/s'``) or bits (decimal, ``'793.6 kbit/s'``).

    Rounded, not cut: a byte moved in an interval measured at 1.002 s is ``'1 B/s'``, not ``'0 B/s'``.
    """
    amount, step, prefixes, unit = (
        (bytes_per_second * 8, 1000.0, _DECIMAL_PREFIXES, "bit/s")
        if bits
        else (bytes_per_second, 1024.0, _BINARY_PREFIXES, "B/s")
    )
    if round(amount) < step:
        return f"{round(amount)} {unit}"
    value, prefix = _scaled(max(amount, step), step, prefixes)  # 1023.7 B/s: 1.0 KiB/s
    return f"{value:.1f} {prefix}{unit}"


def format_csv_rate(bytes_per_second: float) -> str:
    """The nethogs/net-proc-watch style used by ``--format csv``: ``'96.86 K/sec'``."""
    value, prefix = _scaled(bytes_per_second, 1024.0, ("B", "K", "M", "G", "T", "P"))
    return f"{value:.2f} {prefix}/sec"
