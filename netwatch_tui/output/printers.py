"""Headless output: one NDJSON record or one CSV block per interval."""

from __future__ import annotations

from typing import Protocol, TextIO

from netwatch_tui.model.sanitize import clean
from netwatch_tui.model.snapshot import Snapshot
from netwatch_tui.model.units import format_csv_rate
from netwatch_tui.output.json_records import RecordEncoder

CSV_HEADER = "PID, COMMAND, CONNS, TX_SEC, RX_SEC"


class Printer(Protocol):
    def write(self, snapshot: Snapshot) -> None: ...


class JsonPrinter:
    """``--format json``: one JSON object per line per interval (NDJSON), flushed at once.

    Plain ASCII: a name holding U+2028 or U+0085 would otherwise end a "line" for readers that
    split on every Unicode line break (Python's str.splitlines does)."""

    def __init__(self, stream: TextIO, include_loopback: bool) -> None:
        self._stream = stream
        self._encoder = RecordEncoder(include_loopback)

    def write(self, snapshot: Snapshot) -> None:
        self._stream.write(self._encoder.encode(snapshot) + "\n")
        self._stream.flush()


def csv_field(text: str) -> str:
    """A field that cannot break the line: escaped controls, quoted if it holds a comma or quote."""
    text = clean(text)
    if any(char in text for char in ',"') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


class CsvPrinter:
    """``--format csv``: the header once, then per interval one line per active process (the most
    bytes first) and a blank line.

    The header waits for the first snapshot, so a run that fails to start prints nothing on stdout.
    """

    def __init__(self, stream: TextIO, include_loopback: bool) -> None:
        self._stream = stream
        self._include_loopback = include_loopback
        self._header_written = False

    def write(self, snapshot: Snapshot) -> None:
        lines = [] if self._header_written else [CSV_HEADER + "\n"]
        self._header_written = True
        moving = [
            (process, process.bytes(self._include_loopback))
            for process in snapshot.active(self._include_loopback)
        ]
        moving.sort(key=lambda item: item[1].tx + item[1].rx, reverse=True)  # the busiest first, as nethogs
        for process, moved in moving:
            fields = (
                str(process.pid),
                csv_field(process.name),
                str(process.conns),
                format_csv_rate(snapshot.rate(moved.tx)),
                format_csv_rate(snapshot.rate(moved.rx)),
            )
            lines.append(", ".join(fields) + "\n")
        self._stream.write("".join(lines) + "\n")
        self._stream.flush()
