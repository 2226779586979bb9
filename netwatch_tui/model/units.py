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
    """A rate as bytes (binary prefixes, ``'96.9 KiB/s'``) or bits (decimal, ``'793.6 kbit/s'``)."""
    if bits:
        value, prefix = _scaled(bytes_per_second * 8, 1000.0, _DECIMAL_PREFIXES)
        return f"{value:.1f} {prefix}bit/s" if prefix else f"{int(value)} bit/s"
    value, prefix = _scaled(bytes_per_second, 1024.0, _BINARY_PREFIXES)
    return f"{value:.1f} {prefix}B/s" if prefix else f"{int(value)} B/s"


def format_csv_rate(bytes_per_second: float) -> str:
    """The nethogs/net-proc-watch style used by ``--format csv``: ``'96.86 K/sec'``."""
    value, prefix = _scaled(bytes_per_second, 1024.0, ("B", "K", "M", "G", "T", "P"))
    return f"{value:.2f} {prefix}/sec"
