from __future__ import annotations

import pytest

from netwatch_tui.model.units import format_bytes, format_csv_rate, format_rate


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"), (5 * 1024**3, "5.0 GiB")],
)
def test_format_bytes(count: int, text: str) -> None:
    assert format_bytes(count) == text


@pytest.mark.parametrize(
    ("rate", "bits", "text"),
    [
        (0, False, "0 B/s"),
        (99_200, False, "96.9 KiB/s"),
        (99_200, True, "793.6 kbit/s"),
        (100, True, "800 bit/s"),
        (2.5 * 1024**2, False, "2.5 MiB/s"),
        (1 / 1.002, False, "1 B/s"),  # one byte in an interval measured a little long: rounded, not cut
        (1023.4, False, "1023 B/s"),
        (1023.7, False, "1.0 KiB/s"),  # would round to 1024 B/s
        (124.96, True, "1.0 kbit/s"),  # 999.7 bit/s: rounded, the next step
        (0.4, False, "0 B/s"),
    ],
)
def test_format_rate(rate: float, bits: bool, text: str) -> None:
    assert format_rate(rate, bits=bits) == text


@pytest.mark.parametrize(
    ("rate", "text"),
    [(0, "0.00 B/sec"), (512, "512.00 B/sec"), (99_185, "96.86 K/sec"), (3 * 1024**2, "3.00 M/sec")],
)
def test_csv_rate(rate: float, text: str) -> None:
    assert format_csv_rate(rate) == text
