from __future__ import annotations

import csv
import io
import json

from netwatch_tui.model.snapshot import ByteCounts, ProcessStats, Snapshot, Traffic
from netwatch_tui.model.text import decode_untrusted
from netwatch_tui.output.printers import CSV_HEADER, CsvPrinter, JsonPrinter

HOSTILE = [
    "[red]x[/red]",
    "evil\x1b[2J\x1b[H",
    "two\nlines",
    'a, "quoted" name',
    decode_untrusted(b"bad\xff\xfeutf8"),
]


def snapshot(names: list[str]) -> Snapshot:
    processes = tuple(
        ProcessStats(
            pid=100 + index,
            name=name,
            cmdline=name + " --flag",
            user=name,
            start_time=None,
            conns=index,
            delta=ByteCounts(Traffic(99_185 * (index + 1), 512)),
            total=ByteCounts(Traffic(99_185 * (index + 1), 512)),
        )
        for index, name in enumerate(names)
    )
    return Snapshot(time=1.0, interval=1.0, backend="test", processes=processes)


def test_csv_blocks_and_units() -> None:
    stream = io.StringIO()
    printer = CsvPrinter(stream, include_loopback=True)
    printer.write(snapshot(["curl"]))
    printer.write(snapshot([]))
    assert stream.getvalue() == f"{CSV_HEADER}\n100, curl, 0, 96.86 K/sec, 512.00 B/sec\n\n\n"


def test_csv_lists_the_busiest_process_first() -> None:
    stream = io.StringIO()
    CsvPrinter(stream, include_loopback=True).write(snapshot(["a", "b", "c"]))
    assert [line.split(", ")[1] for line in stream.getvalue().splitlines()[1:-1]] == ["c", "b", "a"]


def test_csv_stays_well_formed_with_hostile_names() -> None:
    stream = io.StringIO()
    CsvPrinter(stream, include_loopback=True).write(snapshot(HOSTILE))
    lines = stream.getvalue().splitlines()
    assert lines[0] == CSV_HEADER and lines[-1] == ""
    rows = list(csv.reader(lines[1:-1], skipinitialspace=True))
    assert len(rows) == len(HOSTILE)
    assert all(len(row) == 5 for row in rows)
    commands = [row[1] for row in reversed(rows)]  # busiest first: the last name moved the most
    assert commands[0] == "[red]x[/red]"
    assert commands[1] == "evil\\x1b[2J\\x1b[H"
    assert commands[2] == "two\\nlines"
    assert commands[3] == 'a, "quoted" name'
    assert commands[4] == "bad\\xff\\xfeutf8"
    assert "\x1b" not in stream.getvalue()


def test_json_stays_valid_utf8_with_hostile_names() -> None:
    stream = io.StringIO()
    JsonPrinter(stream, include_loopback=True).write(snapshot(HOSTILE))
    text = stream.getvalue()
    assert text.count("\n") == 1
    text.encode("utf-8")  # no lone surrogates
    record = json.loads(text)
    assert [p["name"] for p in record["processes"]] == HOSTILE


def test_lone_surrogates_from_any_source_are_made_visible() -> None:
    """A replay file or a test source can hold surrogates no byte stands for ("\\udc28")."""
    stream = io.StringIO()
    JsonPrinter(stream, include_loopback=True).write(snapshot(["/tmp/\udcc3\udc28run"]))
    stream.getvalue().encode("utf-8")
    assert json.loads(stream.getvalue())["processes"][0]["name"] == "/tmp/\\udcc3\\udc28run"
