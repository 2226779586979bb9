"""The app driven like a user drives it (Textual's Pilot), fed by the deterministic synthetic source."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, Callable

import psutil
import pytest
from textual import events
from textual.widgets import Static
from textual.widgets.data_table import ColumnKey, RowKey

from netwatch_tui import app as app_module
from netwatch_tui.app import NetwatchApp, run_tui
from netwatch_tui.errors import NetwatchError
from netwatch_tui.messages import SnapshotReady
from netwatch_tui.model.columns import Col
from netwatch_tui.model.snapshot import Connection
from netwatch_tui.model.table_rows import KEEP_EXITED, ProcessRow
from netwatch_tui.source import Deliver
from netwatch_tui.synthetic import DEMO, HOSTILE, FakeProcess, SyntheticSource
from netwatch_tui.widgets.detail_screen import DetailScreen
from netwatch_tui.widgets.filter_bar import FilterBar
from netwatch_tui.widgets.help_screen import HelpScreen
from netwatch_tui.widgets.kill_dialog import KillDialog
from netwatch_tui.widgets.process_table import ProcessTable
from netwatch_tui.widgets.status_bar import StatusBar

from .conftest import TICKS, feed, settled, synthetic_app, wait_until

WIDE = (200, 30)


def table_of(app: NetwatchApp) -> ProcessTable:
    return app.query_one(ProcessTable)


def shown_pids(app: NetwatchApp) -> list[int]:
    """The rows as the widget orders them (not the app's own bookkeeping)."""
    return [int(row.key.value or 0) for row in table_of(app).ordered_rows]


def cell(app: NetwatchApp, pid: int, col: Col) -> str:
    return table_of(app).get_cell(str(pid), col.value).plain


def status_text(app: NetwatchApp) -> str:
    return str(app.query_one(StatusBar).render())


def notices(app: NetwatchApp) -> list[str]:
    return [notification.message for notification in app._notifications]


def rows(app: NetwatchApp) -> tuple[ProcessRow, ...]:
    frame = app.state.frame
    assert frame is not None
    return frame.rows


def oracle(rows_: tuple[ProcessRow, ...], key: Callable[[ProcessRow], Any], descending: bool) -> list[int]:
    """The expected order: by ``key``, ties by ascending pid."""
    by_pid = sorted(rows_, key=lambda row: row.pid)
    return [row.pid for row in sorted(by_pid, key=key, reverse=descending)]


SORTS: dict[str, tuple[Callable[[ProcessRow], Any], bool, tuple[Col, ...]]] = {
    # key: (value it sorts by, first press descending?, columns whose header shows the arrow)
    "p": (lambda row: row.pid, False, (Col.PID,)),
    "o": (lambda row: row.stats.user.casefold(), False, (Col.USER,)),
    "n": (lambda row: row.stats.name.casefold(), False, (Col.COMMAND,)),
    "c": (lambda row: row.stats.conns, True, (Col.CONNS,)),
    "s": (lambda row: row.moved.all.tx, True, (Col.TX_RATE,)),
    "r": (lambda row: row.moved.all.rx, True, (Col.RX_RATE,)),
    "S": (lambda row: row.stats.total.all.tx, True, (Col.TX_TOTAL,)),
    "R": (lambda row: row.stats.total.all.rx, True, (Col.RX_TOTAL,)),
}


async def test_starting_state_until_the_first_snapshot() -> None:
    class Silent:
        description = "a probe that is still compiling"
        live = True
        interval = 1.0

        def run(self, deliver: Deliver, stop: threading.Event) -> None:
            stop.wait(30)

        def watch_connections(self, pids: frozenset[int]) -> None:
            pass

    app = NetwatchApp(Silent())
    async with app.run_test() as pilot:
        await pilot.pause()
        assert "waiting for the first snapshot (a probe that is still compiling)" in status_text(app)
        assert app.query_one("#starting").display and not table_of(app).display
        app.post_message(SnapshotReady(SyntheticSource().snapshot(0)))
        await wait_until(pilot, lambda: app.received == 1)
        await pilot.pause()
        assert table_of(app).display and not app.query_one("#starting").display
    assert not app._worker.is_alive()


async def test_default_order_is_total_rate_descending_with_arrows_on_both_rate_columns() -> None:
    app = synthetic_app()
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        assert shown_pids(app) == oracle(rows(app), lambda r: r.moved.all.tx + r.moved.all.rx, True)
        labels = {key.value: column.label.plain for key, column in table_of(app).columns.items()}
        assert labels["tx_rate"] == "TX/s ▼" and labels["rx_rate"] == "RX/s ▼" and labels["pid"] == "PID"
        assert table_of(app).cursor_pid == shown_pids(app)[0]
        assert "sort TX+RX/s ▼" in status_text(app)


@pytest.mark.parametrize("key", list(SORTS))
async def test_each_sort_key_orders_rows_keeps_the_cursor_and_reverses_on_a_second_press(key: str) -> None:
    value, descending, arrowed = SORTS[key]
    app = synthetic_app()
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("down", "down", "down")
        chosen = table_of(app).cursor_pid
        for direction in (descending, not descending):
            await pilot.press(key)
            assert shown_pids(app) == oracle(rows(app), value, direction)
            assert table_of(app).cursor_pid == chosen
            arrow = "▼" if direction else "▲"
            for col in arrowed:
                assert table_of(app).columns[ColumnKey(col.value)].label.plain.endswith(arrow)


async def test_t_returns_to_the_default_sort_and_I_inverts_any_sort() -> None:
    app = synthetic_app()
    total = lambda row: row.moved.all.tx + row.moved.all.rx  # noqa: E731
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("p", "t")
        assert shown_pids(app) == oracle(rows(app), total, True)
        await pilot.press("I")
        assert shown_pids(app) == oracle(rows(app), total, False)


def header_offset(table: ProcessTable, col: Col) -> tuple[int, int]:
    """Where a click lands on ``col``'s header (each column is its width plus one cell of padding a side)."""
    x = 0
    for column in table.ordered_columns:
        if column.key.value == col.value:
            return x + 2, 0
        x += column.get_render_width(table)
    raise AssertionError(f"{col} is not shown")


@pytest.mark.parametrize(
    ("col", "value", "descending"),
    [
        (Col.PID, lambda row: row.pid, False),
        (Col.COMMAND, lambda row: row.stats.name.casefold(), False),
        (Col.RX_RATE, lambda row: row.moved.all.rx, True),
        (Col.TX_TOTAL, lambda row: row.stats.total.all.tx, True),
    ],
)
async def test_clicking_a_header_sorts_by_it_and_again_reverses(
    col: Col, value: Callable[[ProcessRow], Any], descending: bool
) -> None:
    app = synthetic_app()
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("down", "down")
        chosen = table_of(app).cursor_pid
        for direction in (descending, not descending):
            await pilot.click(ProcessTable, offset=header_offset(table_of(app), col))
            await pilot.pause()
            assert shown_pids(app) == oracle(rows(app), value, direction)
            assert table_of(app).cursor_pid == chosen


async def test_angle_brackets_move_the_sort_column_like_htop() -> None:
    app = synthetic_app()
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("greater_than_sign")  # from TX+RX (the HISTORY column, last) round to PID
        assert shown_pids(app) == sorted(shown_pids(app))
        assert "sort PID ▲" in status_text(app)
        await pilot.press("greater_than_sign")
        assert "sort USER ▲" in status_text(app)
        await pilot.press("less_than_sign", "less_than_sign")
        assert "sort TX+RX/s ▼" in status_text(app)


async def test_the_cursor_follows_its_process_when_new_snapshots_reorder_rows() -> None:
    app = synthetic_app()
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("down")
        chosen = table_of(app).cursor_pid
        orders = {tuple(shown_pids(app))}
        for tick in range(TICKS, TICKS + 6):
            await feed(pilot, tick)
            assert table_of(app).cursor_pid == chosen
            orders.add(tuple(shown_pids(app)))
        assert len(orders) > 1, "the rates changed the order, or this test proves nothing"


async def test_a_cursor_on_the_first_row_stays_there_when_new_snapshots_reorder_rows() -> None:
    many = [
        FakeProcess(
            20_000 + index, f"worker-{index}", "u", "w", (100 * (index + 1), 100 * (200 - index)), (1,)
        )
        for index in range(200)
    ]
    app = synthetic_app(many)
    async with app.run_test(size=(100, 20)) as pilot:
        await settled(pilot)
        table = table_of(app)
        first = table.cursor_pid
        assert table.cursor_row == 0 and first == shown_pids(app)[0]
        await feed(pilot, TICKS)  # the busiest becomes the least busy: the order turns over
        assert shown_pids(app)[-1] == first
        assert (table.cursor_row, table.scroll_y) == (0, 0)
        assert table.cursor_pid == shown_pids(app)[0]


async def test_exited_processes_stay_a_few_intervals_then_go() -> None:
    wget = next(p for p in DEMO if p.name == "wget")
    assert wget.exits_at == 3
    app = synthetic_app()
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)  # ticks 0-4: wget reported exited at 3, absent at 4
        row = next(r for r in rows(app) if r.pid == wget.pid)
        assert row.exited
        assert wget.pid in shown_pids(app)
        dimmed = table_of(app).get_cell(str(wget.pid), Col.COMMAND.value)
        assert dimmed.style, "an exited row is drawn with the exited style"
        await feed(pilot, TICKS)
        assert wget.pid in shown_pids(app)
        await feed(pilot, TICKS + 1)
        assert wget.pid not in shown_pids(app)


async def test_many_rows_leaving_at_once_leave_the_table_as_remove_row_would() -> None:
    """Every other process exits in the same interval: their rows go together (in one pass, not one
    remove_row each), and the rows left are numbered afresh, in their order, the cursor on its process."""
    jobs = [
        FakeProcess(30_000 + index, f"job-{index}", "u", "j", (1000 * (80 - index),), (index,))
        for index in range(80)
    ]
    jobs = [replace(job, exits_at=2) if index % 2 else job for index, job in enumerate(jobs)]
    staying = {job.pid for job in jobs if job.exits_at is None}
    app = synthetic_app(jobs, ticks=0)
    async with app.run_test(size=WIDE) as pilot:
        await feed(pilot, 0, 1)
        await pilot.press("p")  # by pid: the exited rows stay among the others until they go
        table = table_of(app)
        followed = shown_pids(app)[30]  # below rows that go: its index changes
        assert followed in staying
        table.move_cursor(row=30)
        await feed(pilot, *range(2, 3 + KEEP_EXITED))  # reported exited, then missing until they go
        pids = shown_pids(app)
        assert set(pids) == staying and table.row_count == len(staying)
        assert [table.get_row_index(str(pid)) for pid in pids] == list(range(len(pids)))
        assert [table.get_row_at(index)[0].plain for index in range(len(pids))] == [str(pid) for pid in pids]
        assert table.rows.keys() == {RowKey(str(pid)) for pid in staying}
        assert table.cursor_pid == followed and table.cursor_row == pids.index(followed)
        style, width = table.rich_style, table.size.width
        drawn = [table._render_line(y, 0, width, style).text.split()[0] for y in range(1, table.size.height)]
        assert drawn == [str(pid) for pid in pids[: len(drawn)]]


def workers(count: int) -> list[FakeProcess]:
    """More processes than a screen holds, each busier than the one before."""
    return [
        FakeProcess(20_000 + index, f"worker-{index}", "u", "w", (100 * (index + 1),), (index,))
        for index in range(count)
    ]


async def test_rows_off_screen_are_drawn_when_they_scroll_into_view() -> None:
    app = synthetic_app(workers(200))
    async with app.run_test(size=(100, 20)) as pilot:
        await settled(pilot)
        last = shown_pids(app)[-1]
        assert cell(app, last, Col.TX_RATE) == ""  # far below the screen: not formatted yet
        await pilot.press("end")
        await pilot.pause()
        assert table_of(app).cursor_pid == last
        row = next(r for r in rows(app) if r.pid == last)
        assert cell(app, last, Col.TX_RATE) == f"{row.moved.all.tx} B/s"
        assert cell(app, last, Col.COMMAND) == row.stats.name
        first = shown_pids(app)[0]
        assert cell(app, first, Col.COMMAND) == ""  # left the screen: its cells are dropped
        await pilot.press("home")
        await pilot.pause()
        assert cell(app, first, Col.COMMAND) == next(r for r in rows(app) if r.pid == first).stats.name


@pytest.mark.parametrize("change", ["m", "wider", "narrower"])
async def test_the_columns_change_while_the_table_is_scrolled(change: str) -> None:
    """A new set of columns (the m key, a resize) empties the table, which scrolls it to the top:
    the rows that were on screen must not be looked up in it meanwhile (that crashed the app)."""
    app = synthetic_app(workers(60))
    async with app.run_test(size=(100, 20)) as pilot:
        await settled(pilot)
        await pilot.press("end")
        await pilot.pause()
        last = table_of(app).cursor_pid
        columns = table_of(app).columns_shown
        if change == "m":
            await pilot.press("m")
        else:
            await pilot.resize_terminal(160 if change == "wider" else 60, 20)
        await pilot.pause()
        table = table_of(app)
        assert table.columns_shown != columns
        assert table.cursor_pid == last  # the cursor, and the screen with it, stay on its process
        row = next(r for r in rows(app) if r.pid == last)
        assert cell(app, last, Col.COMMAND) == row.stats.name
        assert app.is_running


async def test_the_detail_view_says_how_its_count_differs_from_conns() -> None:
    """CONNS leaves TCP listeners out; the detail lists them, and says so in its count."""
    firefox = next(p for p in DEMO if p.name == "firefox")
    app = synthetic_app(ticks=0)
    async with app.run_test(size=WIDE) as pilot:
        await feed(pilot, 0)
        await select_pid(pilot, firefox.pid)
        await pilot.press("enter")
        assert isinstance(app.source, SyntheticSource)
        listener = Connection("TCP", "0.0.0.0:8080", "0.0.0.0:0", "LISTEN")
        established = Connection("TCP", "10.0.0.5:8080", "192.0.2.1:5000", "ESTABLISHED")
        for connections, title in (
            ((listener, established, established), "Connections (2, and 1 listening)"),
            ((established,), "Connections (1)"),
        ):
            snapshot = app.source.snapshot(1)._replace(connections={firefox.pid: connections})
            app.post_message(SnapshotReady(snapshot))
            await pilot.pause()
            assert str(app.screen.query_one("#connections-title", Static).render()) == title


async def test_the_detail_view_of_a_process_that_exits_says_so() -> None:
    wget = next(p for p in DEMO if p.name == "wget")
    assert wget.exits_at == 3
    app = synthetic_app(ticks=0)
    async with app.run_test(size=WIDE) as pilot:
        await feed(pilot, 0)
        await select_pid(pilot, wget.pid)
        await pilot.press("enter")
        title = lambda: str(app.screen.query_one("#connections-title", Static).render())  # noqa: E731
        await feed(pilot, 1)
        assert title().startswith("Connections (")
        await feed(pilot, 2, 3, 4)
        assert "(exited)" in str(app.screen.query_one("#detail-title", Static).render())
        assert title() == "Connections: none (the process has exited)"


@pytest.mark.parametrize(("height", "graph_lines"), [(50, 6), (24, 3), (16, 0)])
async def test_the_detail_view_keeps_room_for_connections_on_short_terminals(
    height: int, graph_lines: int
) -> None:
    """At 80x24 the graphs used to take every line the connection list could have had."""
    firefox = next(p for p in DEMO if p.name == "firefox")
    app = synthetic_app(ticks=0)
    async with app.run_test(size=(80, height)) as pilot:
        await feed(pilot, 0)
        await select_pid(pilot, firefox.pid)
        await pilot.press("enter")
        await feed(pilot, 1)  # the detail asked for connections: they come with the next snapshot
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        graphs = [screen.query_one(f"#{direction}-graph").region.height for direction in ("tx", "rx")]
        assert graphs == [graph_lines, graph_lines]
        table = screen.query_one("#connections")
        count = min(firefox.conns, 6)  # as many as synthetic.py makes up
        assert table.region.height >= min(count + 1, height - 11)  # its header, then rows
        drawn = [table.render_line(y).text for y in range(1, table.region.height)]
        assert sum("ESTABLISHED" in line or "UDP" in line for line in drawn) == min(count, len(drawn))
        assert table.region.bottom <= height - 1  # above the footer


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("firefox", [4711]),
        ("2421", [2421]),
        ("ALICE", [955, 4711, 30408]),
        ("debian.iso", [30408]),
        ("/srv/", [6020]),  # a `/` typed into the filter is text, not the filter key again
    ],
)
async def test_filter_by_pid_name_user_or_command_line(query: str, expected: list[int]) -> None:
    app = synthetic_app()
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("slash")
        assert app.focused is app.query_one(FilterBar)
        await pilot.press(*query, "enter")
        assert sorted(shown_pids(app)) == expected
        assert app.focused is table_of(app)
        assert f"filter “{query}”" in status_text(app)
        assert f"({len(expected)} shown)" in status_text(app)
        await pilot.press("escape")  # Esc on the table clears the filter
        assert len(shown_pids(app)) == len(DEMO)
        assert "filter" not in status_text(app)


def empty_note(app: NetwatchApp) -> str | None:
    """The note shown instead of rows, if it is on screen."""
    note = app.query_one("#empty")
    return str(note.render()) if note.display and note.region.height else None


async def test_an_empty_table_says_why() -> None:
    only_loopback = [p for p in DEMO if p.loopback]
    app = synthetic_app(only_loopback)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        assert empty_note(app) is None and "1 process ·" in status_text(app)
        await pilot.press("slash", *"[b]nothing", "enter")
        assert empty_note(app) == "no process matches “[b]nothing” (Esc clears the filter)"
        assert "1 process (0 shown)" in status_text(app)
        await pilot.press("escape", "l")
        assert empty_note(app) == "only loopback traffic so far (l shows it)"
        await pilot.press("l")
        assert empty_note(app) is None and shown_pids(app) == [only_loopback[0].pid]
    app = synthetic_app([])
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        assert empty_note(app) == "no process has moved bytes since netwatch started"
        assert "0 processes" in status_text(app)


async def test_keys_typed_right_after_slash_reach_the_filter() -> None:
    """A terminal delivers `/2421<Enter>` typed fast (or by tmux) in one burst, before any refresh."""
    app = synthetic_app()
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        for key, character in (
            ("slash", "/"),
            ("2", "2"),
            ("4", "4"),
            ("2", "2"),
            ("1", "1"),
            ("enter", "\r"),
        ):
            app.post_message(events.Key(key, character))
        await wait_until(pilot, lambda: shown_pids(app) == [2421])
        assert not isinstance(app.screen, DetailScreen)


async def test_escape_in_the_filter_bar_clears_it() -> None:
    app = synthetic_app()
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("slash", "n", "g", "escape")
        assert len(shown_pids(app)) == len(DEMO)
        assert not app.query_one(FilterBar).has_class("-active")
        assert app.focused is table_of(app)


async def test_pause_freezes_the_display_while_collection_continues() -> None:
    app = synthetic_app()
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("space")
        assert "PAUSED" in status_text(app)
        before = {pid: cell(app, pid, Col.TX_RATE) for pid in shown_pids(app)}
        await feed(pilot, *range(TICKS, TICKS + 3))
        assert app.state.frame is not None and app.state.frame.number == TICKS
        assert {pid: cell(app, pid, Col.TX_RATE) for pid in shown_pids(app)} == before
        await pilot.press("p")  # sorting still works on the frozen frame
        assert shown_pids(app) == sorted(before)
        await pilot.press("space")
        assert "PAUSED" not in status_text(app)
        assert app.state.frame is not None and app.state.frame.number == TICKS + 3


async def test_the_status_line_shows_the_sources_interval() -> None:
    app = synthetic_app()
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        assert "every 1 s" in status_text(app)
        assert isinstance(app.source, SyntheticSource)
        app.source.interval = 2.5  # as asked with --interval 2.5; its snapshots here still say 1 s
        await pilot.press("u")  # any redraw
        assert "every 2.5 s" in status_text(app)


async def test_u_switches_rates_between_bytes_and_bits() -> None:
    app = synthetic_app()
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        assert cell(app, 6020, Col.TX_RATE).endswith("iB/s")
        await pilot.press("u")
        assert cell(app, 6020, Col.TX_RATE).endswith("bit/s")
        assert "bit/s" in status_text(app)
        await pilot.press("u")
        assert cell(app, 6020, Col.TX_RATE).endswith("iB/s")


async def test_m_puts_totals_first_and_the_combined_sort_follows() -> None:
    app = synthetic_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settled(pilot)
        shown = table_of(app).columns_shown
        assert Col.TX_RATE in shown and Col.TX_TOTAL not in shown  # 100 columns: the primary pair only
        await pilot.press("m")
        shown = table_of(app).columns_shown
        assert Col.TX_TOTAL in shown and Col.TX_RATE not in shown
        assert "sort TX+RX total ▼" in status_text(app) and "since start" in status_text(app)
        total = lambda row: row.stats.total.all.tx + row.stats.total.all.rx  # noqa: E731
        assert shown_pids(app) == oracle(rows(app), total, True)
        await pilot.press("m")
        assert Col.TX_RATE in table_of(app).columns_shown
        assert "sort TX+RX/s ▼" in status_text(app)


async def test_l_leaves_loopback_bytes_out() -> None:
    postgres = next(p for p in DEMO if p.name == "postgres")
    assert postgres.loopback
    app = synthetic_app()
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        assert cell(app, postgres.pid, Col.TX_RATE) != "0 B/s"
        everyone = set(shown_pids(app))
        await pilot.press("l")
        # all of its traffic is loopback: nothing left to show, no row (as in --format json)
        assert set(shown_pids(app)) == everyone - {postgres.pid}
        assert "loopback hidden" in status_text(app)
        await pilot.press("l")
        assert set(shown_pids(app)) == everyone
        assert cell(app, postgres.pid, Col.TX_RATE) != "0 B/s"


async def test_help_lists_every_key_that_works_here_and_closes(tmp_path: Any) -> None:
    app = synthetic_app(live=True)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        listed = dict(app.key_help())  # what ? shows on the table
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = " ".join(listed).split()
        for key in ("q", "F10", "Ctrl-C", "Ctrl-Z", "?", "F1", "/", "Esc", "Space", "k", "F9", "s", "r", "S"):
            assert key in keys, key
        for key in ("R", "t", "p", "o", "n", "c", "<", ">", "F6", "I", "m", "u", "l"):
            assert key in keys, key
        assert "+" not in keys and "-" not in keys  # replay speed: not on a live view
        assert listed["Space"] == "pause the display (collection goes on)"
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("space")
        assert dict(app.key_help())["Space"] == "resume the display"
    from .test_replay import write_capture

    write_capture(tmp_path / "capture.ndjson")
    app = NetwatchApp(app_module.ReplaySource(tmp_path / "capture.ndjson"))
    async with app.run_test(size=WIDE) as pilot:
        listed = dict(app.key_help())
        assert listed["+"] == "replay faster" and listed["-"] == "replay slower"
        assert "k" not in " ".join(listed).split()  # nothing to kill in a recording
        assert not any(keys.startswith("kill dialog") for keys in listed)


async def test_help_in_the_detail_view_lists_the_keys_that_work_there() -> None:
    app = synthetic_app(live=True)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        listed = dict(app.key_help())
        assert listed["Esc Backspace"] == "back to the table"
        assert listed["k F9"] == "kill this process (asks first)"
        assert listed["↑ ↓ PgUp PgDn Home End"] == "scroll the connections"
        assert "kill dialog: t / 9 / Esc" in listed
        keys = " ".join(key for key in listed if not key.startswith("kill dialog")).split()
        for gone in ("/", "s", "p", "<", "m", "Enter", "header"):  # the table's: they do nothing here
            assert gone not in keys, gone
        for key in ("q", "?", "Space", "u", "l"):
            assert key in keys, key
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, DetailScreen)


@pytest.mark.parametrize("screen_key", ["enter", "question_mark"])
async def test_table_keys_do_nothing_while_the_detail_or_help_covers_the_table(screen_key: str) -> None:
    """/ once focused the filter bar from under the detail view, which then could not be left."""
    app = synthetic_app()
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        order, cursor = shown_pids(app), table_of(app).cursor_pid
        await pilot.press(screen_key)
        covering = app.screen
        assert isinstance(covering, (DetailScreen, HelpScreen))
        await pilot.press("slash", "x", "p", "n", "less_than_sign", "I")
        assert app.screen is covering
        assert app.query_one(FilterBar).value == "" and not app.query_one(FilterBar).has_class("-active")
        await pilot.press("escape")
        assert app.screen is app.screen_stack[0]
        assert app.focused is table_of(app)
        assert (shown_pids(app), table_of(app).cursor_pid) == (order, cursor)
        await pilot.press("slash", "x")  # and they work again on the table
        assert app.query_one(FilterBar).value == "x"


async def test_quitting_stops_the_worker() -> None:
    app = NetwatchApp(SyntheticSource(DEMO, interval=0.05))  # a live, never-ending source
    async with app.run_test(size=WIDE) as pilot:
        await wait_until(pilot, lambda: app.received >= 2)
        await pilot.press("q")
    assert not app._worker.is_alive()
    assert app.return_code == 0


async def test_sigterm_quits_cleanly() -> None:
    """`kill PID` ends the app like q, restoring the terminal."""
    app = NetwatchApp(SyntheticSource(DEMO, interval=0.05))
    async with app.run_test(size=WIDE) as pilot:
        await wait_until(pilot, lambda: app.received >= 1)
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL, "the app must handle SIGTERM"
        os.kill(os.getpid(), signal.SIGTERM)
        await wait_until(pilot, lambda: app._exit)
    assert not app._worker.is_alive()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handler removed with the app


async def test_ctrl_c_quits_too() -> None:
    app = NetwatchApp(SyntheticSource(DEMO, interval=0.05))
    async with app.run_test(size=WIDE) as pilot:
        await wait_until(pilot, lambda: app.received >= 1)
        await pilot.press("ctrl+c")
    assert not app._worker.is_alive()


class Failing:
    description = "a probe that cannot load"
    live = True
    interval = 1.0

    def run(self, deliver: Deliver, stop: threading.Event) -> None:
        raise NetwatchError("BPF program failed to load: run `netwatch doctor`\nsecond line", exit_code=3)

    def watch_connections(self, pids: frozenset[int]) -> None:
        pass


async def test_a_source_error_ends_the_app_with_its_exit_code() -> None:
    app = NetwatchApp(Failing())
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: app.error is not None)
    assert app.return_code == 3


def test_run_tui_prints_the_error_on_one_line_and_returns_non_zero(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    original = NetwatchApp.run
    monkeypatch.setattr(NetwatchApp, "run", lambda self: original(self, headless=True))
    assert run_tui(Failing()) == 3
    err = capsys.readouterr().err
    assert err == "netwatch: BPF program failed to load: run `netwatch doctor` second line\n"


def test_run_tui_reports_an_unexpected_error_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Buggy(Failing):
        def run(self, deliver: Deliver, stop: threading.Event) -> None:
            raise KeyError("oops")

    original = NetwatchApp.run
    monkeypatch.setattr(NetwatchApp, "run", lambda self: original(self, headless=True))
    assert run_tui(Buggy()) == 1
    assert capsys.readouterr().err == "netwatch: the probe failed: KeyError: 'oops'\n"


async def test_hostile_names_are_shown_literally() -> None:
    app = synthetic_app(DEMO + HOSTILE)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        expected = {
            6661: ("[red]evil[/red]", "[b]root[/b]"),
            6662: ("\\x1b[2J\\x1b[Hwipe", "mallory"),
            6663: ("two\\nlines", "eve\\tx"),
            6664: ("bad\\xff\\xfeutf8", "trudy"),
            6665: ("\\u202egnp.exe", "oscar"),
        }
        for pid, (name, user) in expected.items():
            for col, text in ((Col.COMMAND, name), (Col.USER, user)):
                shown = table_of(app).get_cell(str(pid), col.value)
                assert shown.plain == text
                assert [style for _, style in shown.parts] == [None]  # no style came from the name itself


# -- kill ---------------------------------------------------------------------------------------------


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def as_fake(process: subprocess.Popen[bytes], start_offset: float = 0.0) -> FakeProcess:
    started = psutil.Process(process.pid).create_time() + start_offset
    return FakeProcess(process.pid, "sleeper", "tester", "python -c sleep", (10,), (20,), start_time=started)


async def select_pid(pilot: Any, pid: int) -> None:
    """Like a user: filter by the pid, then the only row is under the cursor."""
    await pilot.press("slash", *str(pid), "enter")
    assert table_of(pilot.app).cursor_pid == pid


@pytest.mark.parametrize(
    ("open_keys", "confirm", "sent"),
    [
        (("k",), "enter", signal.SIGTERM),  # SIGTERM is the focused, default choice
        (("f9",), "9", signal.SIGKILL),
        (("enter", "k"), "t", signal.SIGTERM),  # from the detail view
    ],
)
async def test_kill_confirmed_signals_the_selected_process(
    sleeper: subprocess.Popen[bytes], open_keys: tuple[str, ...], confirm: str, sent: signal.Signals
) -> None:
    app = synthetic_app((*DEMO, as_fake(sleeper)), live=True)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await select_pid(pilot, sleeper.pid)
        await pilot.press(*open_keys)
        assert isinstance(app.screen, KillDialog)
        await pilot.press(confirm)
        assert sleeper.wait(timeout=10) == -sent
        assert f"sent {sent.name} to pid {sleeper.pid}" in notices(app)


async def test_kill_cancelled_leaves_the_process_alone(sleeper: subprocess.Popen[bytes]) -> None:
    app = synthetic_app((*DEMO, as_fake(sleeper)), live=True)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await select_pid(pilot, sleeper.pid)
        await pilot.press("k", "escape")
        assert not isinstance(app.screen, KillDialog)
        await pilot.press("k")
        await pilot.click("#cancel")
        await pilot.pause()
        assert not isinstance(app.screen, KillDialog)
    assert sleeper.poll() is None


async def test_kill_refuses_a_pid_now_held_by_another_process(sleeper: subprocess.Popen[bytes]) -> None:
    app = synthetic_app((*DEMO, as_fake(sleeper, start_offset=-3600)), live=True)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await select_pid(pilot, sleeper.pid)
        await pilot.press("k")
        assert not isinstance(app.screen, KillDialog)
        assert any("another process" in notice for notice in notices(app))
    assert sleeper.poll() is None


async def test_kill_refuses_init_and_netwatch_itself() -> None:
    itself = FakeProcess(
        os.getpid(), "netwatch", "root", "netwatch", (1,), (1,), start_time=psutil.Process().create_time()
    )
    app = synthetic_app((*DEMO, itself), live=True)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("p", "home")  # lowest pid first: init
        assert table_of(app).cursor_pid == 1
        await pilot.press("k")
        assert not isinstance(app.screen, KillDialog)
        await select_pid(pilot, os.getpid())
        await pilot.press("k")
        assert not isinstance(app.screen, KillDialog)
        assert any("init" in notice for notice in notices(app))
        assert any("netwatch itself" in notice for notice in notices(app))


# -- replay -------------------------------------------------------------------------------------------


async def test_a_replay_plays_in_the_tui_labelled_and_with_speed_keys(tmp_path: Any) -> None:
    from .test_replay import write_capture

    path = tmp_path / "capture.ndjson"
    recorded = write_capture(path, ticks=4, interval=0.05)
    source = app_module.ReplaySource(path, speed=2)
    app = NetwatchApp(source)
    async with app.run_test(size=WIDE) as pilot:
        await wait_until(pilot, lambda: app.state.finished)
        await pilot.pause()
        assert app.received == len(recorded)
        assert "REPLAY x2" in status_text(app) and "ENDED" in status_text(app)
        assert "replay of capture.ndjson" in status_text(app)
        active = {p.pid for s in recorded for p in s.active()}
        assert set(shown_pids(app)) <= active
        await pilot.press("plus")
        assert source.speed == 4.0 and "REPLAY x4" in status_text(app)
        await pilot.press("minus", "minus")
        assert source.speed == 1.0


async def test_no_kill_from_a_replay_or_the_demo(sleeper: subprocess.Popen[bytes], tmp_path: Any) -> None:
    """A recording's pids may still be running (and its start times then match): killing from it
    would signal a live process from a view of the past. The made-up demo has nothing to kill."""
    from .test_replay import write_capture

    path = tmp_path / "capture.ndjson"
    write_capture(path, ticks=2, processes=(*DEMO, as_fake(sleeper)))
    for source in (app_module.ReplaySource(path, speed=8), SyntheticSource((*DEMO, as_fake(sleeper)))):
        app = NetwatchApp(source)
        async with app.run_test(size=WIDE) as pilot:
            await wait_until(pilot, lambda: sleeper.pid in shown_pids(app))  # noqa: B023
            await select_pid(pilot, sleeper.pid)
            assert app.check_action("kill", ()) is False  # not in the footer, nor in the help
            await pilot.press("k")
            assert app.screen is app.screen_stack[0]
            await pilot.press("enter", "k")  # nor from the detail view
            assert isinstance(app.screen, DetailScreen)
            app.action_kill_pid(sleeper.pid)  # nor however else it is asked
            await pilot.pause()
            assert isinstance(app.screen, DetailScreen)
    assert sleeper.poll() is None


def screen_rows(app: NetwatchApp) -> dict[int, tuple[str, object]]:
    """What the table draws for each row on screen: pid -> (the line's text, the row its clicks hit)."""
    table = table_of(app)
    drawn = {}
    for y in range(table.header_height, table.size.height):
        strip = table.render_line(y)
        words = strip.text.split()
        if words:
            styles = [segment.style for segment in strip if segment.style and segment.style.meta]
            drawn[int(words[0])] = (strip.text, {style.meta.get("row") for style in styles})
    return drawn


async def test_screen_shows_each_cells_latest_text_at_its_current_row() -> None:
    """The renders kept across updates: a changed cell is drawn anew, a moved row clicks as itself."""
    app = synthetic_app()
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("s")  # by TX rate: the rows move as the rates change
        await pilot.pause()
        lines_seen, orders_seen = set(), set()
        for tick in range(TICKS, TICKS + 4):
            await feed(pilot, tick)
            table = table_of(app)
            drawn = screen_rows(app)
            assert len(drawn) == len(shown_pids(app))
            for pid, (line, clicks) in drawn.items():
                for col in table.columns_shown:
                    assert cell(app, pid, col).strip() in line
                assert clicks == {shown_pids(app).index(pid)}
            lines_seen.add(tuple(line for line, _ in drawn.values()))
            orders_seen.add(tuple(shown_pids(app)))
        assert len(lines_seen) > 1 and len(orders_seen) > 1, "the ticks changed cells and moved rows"
