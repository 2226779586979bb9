"""The pure model behind the TUI: escaping, sparklines, history, rows, sorting, columns, filter, status."""

from __future__ import annotations

import random

import pytest

from netwatch_tui.cgroups import parse_cgroup
from netwatch_tui.model.cells import HistoryCell, history_cell, row_cells
from netwatch_tui.model.columns import (
    CELL_PADDING,
    COMMAND_FLOOR,
    SCROLLBAR,
    Col,
    layout,
    sort_key_of,
    sorted_columns,
)
from netwatch_tui.model.history import History
from netwatch_tui.model.monitor import Monitor
from netwatch_tui.model.sanitize import clean
from netwatch_tui.model.snapshot import NO_BYTES, ByteCounts, ProcessStats, Snapshot, Traffic, summed
from netwatch_tui.model.sorting import SortKey, SortOrder, sort_rows, step
from netwatch_tui.model.sparkline import bars, spark
from netwatch_tui.model.status import empty_table_note, host_line, info_line
from netwatch_tui.model.table_rows import RowBook
from netwatch_tui.model.view import DisplayState, ViewOptions, matches, visible_rows
from netwatch_tui.synthetic import DEMO, HOSTILE, FakeProcess, SyntheticSource


def stats(
    pid: int, tx: int = 0, rx: int = 0, *, start: float = 100.0, alive: bool = True, **kw: object
) -> ProcessStats:
    moved = ByteCounts(Traffic(tx, rx))
    fields = dict(name=f"p{pid}", cmdline=f"/bin/p{pid}", user="u", conns=1)
    fields.update(kw)
    return ProcessStats(pid=pid, start_time=start, delta=moved, total=moved, alive=alive, **fields)  # type: ignore[arg-type]


def snap(*processes: ProcessStats, interval: float = 1.0) -> Snapshot:
    return Snapshot(time=0.0, interval=interval, backend="test", processes=processes)


# -- sanitize ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("curl", "curl"),
        ("[red]x[/red]", "[red]x[/red]"),  # markup is left alone: widgets never parse it
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("two\nlines\r\tx", "two\\nlines\\r\\tx"),
        ("bad\udcff", "bad\\xff"),  # a byte that was not UTF-8, kept by surrogateescape
        ("\u202egnp.exe", "\\u202egnp.exe"),  # right-to-left override
        ("a\u2028b\x7f\x85", "a\\u2028b\\x7f\\x85"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("caf\u00e9 \u6f22\u5b57", "caf\u00e9 \u6f22\u5b57"),  # printable text stays as it is
    ],
)
def test_clean_makes_every_dangerous_character_visible(raw: str, shown: str) -> None:
    assert clean(raw) == shown
    assert clean(raw).isprintable()


# -- sparklines and history -------------------------------------------------------------------------


def test_spark_scales_to_the_largest_value_and_keeps_small_values_visible() -> None:
    assert spark([0, 1, 4, 8]) == " ▁▄█"
    assert spark([0, 1, 1000]) == " ▁█"
    assert spark([5, 5], maximum=10) == "▄▄"
    assert spark([]) == ""
    assert spark([0, 0]) == "  "


def test_bars_stack_eighths_over_several_lines() -> None:
    assert bars([0, 8, 16], 2) == ["  █", " ██"]
    assert bars([1, 16], 2) == [" █", "▁█"]
    assert bars([12, 16], 2) == ["▄█", "██"]


def test_history_keeps_the_last_n_intervals() -> None:
    history = History(3)
    for tx in range(5):
        history.push(ByteCounts(Traffic(tx, 0)))
    assert [moved.tx for moved in history.view().shown(True)] == [2, 3, 4]
    assert len(history.view()) == 3


def test_history_over_many_pushes_keeps_exactly_the_last_n() -> None:
    history = History(5)
    for tx in range(1, 500):  # past the slack many times over
        history.push(ByteCounts(Traffic(tx, 2 * tx), Traffic(1, 0)))
        expected = range(max(1, tx - 4), tx + 1)
        shown = history.view().shown(False)
        assert shown == [Traffic(t - 1, 2 * t) for t in expected]
    assert history.view().shown(True, last=2) == [Traffic(498, 996), Traffic(499, 998)]


def test_a_history_view_does_not_change_after_it_is_taken() -> None:
    """A paused screen shows an old frame: its sparklines must stay as they were."""
    history = History(3)
    history.push(ByteCounts(Traffic(1, 1)))
    view = history.view()
    for tx in range(2, 400):
        history.push(ByteCounts(Traffic(tx, tx)))
    assert view.shown(True) == [Traffic(1, 1)]
    assert len(view) == 1


def test_history_cell_pads_short_histories_and_shares_one_scale() -> None:
    history = History()
    history.push(ByteCounts(Traffic(8, 0)))
    history.push(ByteCounts(Traffic(0, 4)))
    assert history_cell(history.view(), width=9, include_loopback=True) == HistoryCell("  █ ", "   ▄")


# -- rows: retention of exited processes, pid reuse -------------------------------------------------


def test_exited_processes_linger_dimmed_then_go() -> None:
    book = RowBook(keep_exited=3)
    book.update(snap(stats(10, 5), stats(11, 5)))
    rows = {row.pid: row for row in book.update(snap(stats(10, 5), stats(11, 7, alive=False)))}
    assert rows[11].exited and rows[11].moved.all.tx == 7  # its last bytes are still shown
    for _ in range(2):
        rows = {row.pid: row for row in book.update(snap(stats(10, 5)))}
        assert rows[11].exited and rows[11].moved == NO_BYTES
    assert {row.pid for row in book.update(snap(stats(10, 5)))} == {10}


def test_a_process_missing_from_snapshots_is_treated_as_exited() -> None:
    book = RowBook(keep_exited=2)
    book.update(snap(stats(10, 5), stats(11, 5)))
    for _ in range(2):  # shown, dimmed, for keep_exited snapshots
        rows = {row.pid: row for row in book.update(snap(stats(10, 5)))}
        assert rows[11].exited and not rows[10].exited
    assert {row.pid for row in book.update(snap(stats(10, 5)))} == {10}


def test_a_reused_pid_starts_a_new_history() -> None:
    book = RowBook()
    book.update(snap(stats(10, 5, start=100.0)))
    (row,) = book.update(snap(stats(10, 9, start=100.0)))
    assert [moved.tx for moved in row.history.shown(True)] == [5, 9]
    (row,) = book.update(snap(stats(10, 1, start=5000.0)))
    assert [moved.tx for moved in row.history.shown(True)] == [1]


def test_monitor_adds_up_host_bytes_and_counts_snapshots() -> None:
    monitor = Monitor()
    monitor.ingest(snap(stats(1, 10, 1), stats(2, 5, 2)))
    frame = monitor.ingest(snap(stats(1, 1, 1)))
    assert frame.number == 2
    assert frame.host_total.all == Traffic(16, 4)
    assert frame.host_history.shown(True) == [Traffic(15, 3), Traffic(1, 1)]
    assert frame.row(1) is not None and frame.row(99) is None


def test_summed_adds_every_part_of_the_counts() -> None:
    counts = [ByteCounts(Traffic(n, 2 * n), Traffic(3 * n, 4 * n), Traffic(5 * n, 6 * n)) for n in (1, 10)]
    expected = ByteCounts(Traffic(11, 22), Traffic(33, 44), Traffic(55, 66))
    assert summed(iter(counts)) == counts[0] + counts[1] == expected
    assert summed([]) == NO_BYTES


# -- sorting ----------------------------------------------------------------------------------------


def test_pressing_a_sort_key_again_reverses_it_and_numbers_start_largest_first() -> None:
    order = SortOrder()
    assert order == SortOrder(SortKey.RATE, descending=True)
    assert order.pressed(SortKey.PID) == SortOrder(SortKey.PID, descending=False)
    assert order.pressed(SortKey.TX_RATE) == SortOrder(SortKey.TX_RATE, descending=True)
    assert order.pressed(SortKey.RATE) == SortOrder(SortKey.RATE, descending=False)
    assert order.reversed().reversed() == order
    assert (order.arrow, order.reversed().arrow) == ("▼", "▲")


def test_sort_rows_breaks_ties_by_ascending_pid_in_both_directions() -> None:
    rows = RowBook().update(snap(stats(3, 10), stats(1, 10), stats(2, 50), stats(4, 0)))
    for descending, expected in ((True, [2, 1, 3, 4]), (False, [4, 1, 3, 2])):
        ordered = sort_rows(rows, SortOrder(SortKey.TX_RATE, descending), include_loopback=True)
        assert [row.pid for row in ordered] == expected


def test_loopback_choice_changes_the_rate_order() -> None:
    lo = ByteCounts(Traffic(100, 0), loopback=Traffic(100, 0))
    local = stats(1)._replace(delta=lo, total=lo)
    rows = RowBook().update(snap(local, stats(2, 10)))
    assert [r.pid for r in sort_rows(rows, SortOrder(SortKey.RATE), include_loopback=True)] == [1, 2]
    assert [r.pid for r in sort_rows(rows, SortOrder(SortKey.RATE), include_loopback=False)] == [2, 1]


def test_step_moves_the_sort_between_columns_and_wraps() -> None:
    choices = (SortKey.PID, SortKey.USER, SortKey.TX_RATE)
    assert step(SortOrder(SortKey.PID), choices, 1) == SortOrder(SortKey.USER, descending=False)
    assert step(SortOrder(SortKey.TX_RATE), choices, 1) == SortOrder(SortKey.PID, descending=False)
    assert step(SortOrder(SortKey.PID), choices, -1) == SortOrder(SortKey.TX_RATE, descending=True)
    assert step(SortOrder(SortKey.CONNS), choices, 1).key is SortKey.PID


# -- columns ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [40, 47, 50, 54, 60, 80, 100, 120, 160, 250])
@pytest.mark.parametrize("totals_first", [False, True])
def test_layout_fits_the_terminal_and_keeps_the_essential_columns(width: int, totals_first: bool) -> None:
    specs = layout(width, totals_first)
    cols = [spec.col for spec in specs]
    primary = [Col.TX_TOTAL, Col.RX_TOTAL] if totals_first else [Col.TX_RATE, Col.RX_RATE]
    assert {Col.PID, Col.COMMAND, *primary} <= set(cols)
    assert cols.index(primary[0]) < cols.index(Col.HISTORY) if Col.HISTORY in cols else True
    used = sum(spec.width + 2 * CELL_PADDING for spec in specs) + SCROLLBAR
    narrowest = 7 + COMMAND_FLOOR + (2 * 10 if totals_first else 2 * 12) + 4 * 2 * CELL_PADDING + SCROLLBAR
    assert used == max(width, narrowest)  # narrower still, COMMAND stays COMMAND_FLOOR cells wide


def test_narrow_terminals_drop_low_priority_columns_first() -> None:
    assert [spec.col for spec in layout(60)] == [Col.PID, Col.COMMAND, Col.TX_RATE, Col.RX_RATE]
    assert Col.HISTORY not in [spec.col for spec in layout(80)]
    assert {Col.USER, Col.CONNS, Col.HISTORY} <= {spec.col for spec in layout(100)}
    assert len(layout(200)) == len(Col)
    history = next(spec for spec in layout(250) if spec.col is Col.HISTORY)
    assert history.width == 61  # 30 intervals each way


def test_header_clicks_and_arrows_map_to_sort_keys() -> None:
    assert sort_key_of(Col.TX_RATE, totals_first=False) is SortKey.TX_RATE
    assert sort_key_of(Col.HISTORY, totals_first=False) is SortKey.RATE
    assert sort_key_of(Col.HISTORY, totals_first=True) is SortKey.TOTAL
    assert sorted_columns(SortKey.RATE) == {Col.TX_RATE, Col.RX_RATE}
    assert sorted_columns(SortKey.USER) == {Col.USER}


# -- cells, filter, view ----------------------------------------------------------------------------


def test_cells_format_units_and_escape_names() -> None:
    hostile = stats(7, 2048, 0, name="\x1b[2Jx", user="[b]r[/b]")
    (row,) = RowBook().update(snap(hostile, interval=2.0))
    specs = layout(200)
    cells = dict(zip([spec.col for spec in specs], row_cells(row, specs, ViewOptions(), 2.0)))
    assert cells[Col.COMMAND] == "\\x1b[2Jx"
    assert cells[Col.USER] == "[b]r[/b]"
    assert cells[Col.TX_RATE] == "1.0 KiB/s"
    assert cells[Col.TX_TOTAL] == "2.0 KiB"
    bits = dict(zip([spec.col for spec in specs], row_cells(row, specs, ViewOptions(bits=True), 2.0)))
    assert bits[Col.TX_RATE] == "8.2 kbit/s"


@pytest.mark.parametrize(
    ("query", "hit"),
    [("", True), ("4711", True), ("FIRE", True), ("alice", True), ("isForBrowser", True), ("nginx", False)],
)
def test_filter_matches_pid_name_user_and_command_line(query: str, hit: bool) -> None:
    firefox = next(p for p in DEMO if p.name == "firefox")
    (row,) = RowBook().update(
        snap(stats(firefox.pid, name=firefox.name, user=firefox.user, cmdline=firefox.cmdline))
    )
    assert matches(row, query) is hit


def test_visible_rows_filter_then_sort() -> None:
    frame = Monitor().ingest(SyntheticSource(DEMO).snapshot(0))
    rows = visible_rows(frame, ViewOptions(query="alice", sort=SortOrder(SortKey.PID, False)))
    assert [row.pid for row in rows] == [955, 4711, 30408]  # sshd: its command line names alice


def test_switching_to_totals_makes_a_combined_sort_follow() -> None:
    options = ViewOptions().with_totals_first(True)
    assert options.totals_first and options.sort.key is SortKey.TOTAL
    assert options.with_totals_first(False).sort.key is SortKey.RATE
    by_pid = ViewOptions(sort=SortOrder(SortKey.PID, False)).with_totals_first(True)
    assert by_pid.sort == SortOrder(SortKey.PID, False)


# -- status line ------------------------------------------------------------------------------------


def _text(segments: list[tuple[str, str]]) -> str:
    return "".join(text for text, _ in segments)


def test_status_before_the_first_snapshot_says_the_probe_is_starting() -> None:
    state = DisplayState(None, ViewOptions(), "live probe")
    assert "waiting for the first snapshot (live probe)" in _text(host_line(state))
    assert info_line(state, 0) == []


def test_status_shows_badges_totals_and_choices() -> None:
    source = SyntheticSource(DEMO + HOSTILE)
    monitor = Monitor()
    monitor.ingest(source.snapshot(0))
    frame = monitor.ingest(source.snapshot(1))
    options = ViewOptions(include_loopback=False, bits=True, query="\x1b[2J")
    state = DisplayState(frame, options.with_totals_first(True), "synthetic", paused=True, finished=True)
    host, info = _text(host_line(state)), _text(info_line(state, 3))
    assert "PAUSED" in host and "SYNTHETIC" in host and "ENDED" in host and "since start" in host
    assert "bit/s" in host
    assert "15 processes (3 shown)" in info and "loopback hidden" in info and "totals first" in info
    assert "\\x1b[2J" in info and "\x1b" not in info
    assert "sort TX+RX total ▼" in info


def test_status_shows_the_interval_asked_for_or_else_the_snapshots_own() -> None:
    """A live interval is measured, and never quite the one asked for: the rates divide by it, the
    status line says what was asked (it flickered between 0.995 s and 1.01 s)."""
    frame = Monitor().ingest(SyntheticSource().snapshot(0)._replace(interval=0.99517))
    assert "every 1 s" in _text(info_line(DisplayState(frame, ViewOptions(), "probe", interval=1.0), 1))
    assert "every 0.25 s" in _text(info_line(DisplayState(frame, ViewOptions(), "probe", interval=0.25), 1))
    assert "every 0.995 s" in _text(info_line(DisplayState(frame, ViewOptions(), "replay of x"), 1))


def test_an_empty_table_says_whether_anything_moved_at_all() -> None:
    source = SyntheticSource((FakeProcess(7, "gone", "u", "g", (100,), (0,), exits_at=1),))
    monitor = Monitor(keep_exited=0)
    assert monitor.ingest(source.snapshot(0)).rows
    for tick in (1, 2, 3):
        frame = monitor.ingest(source.snapshot(tick))
    assert not frame.rows
    note = empty_table_note(DisplayState(frame, ViewOptions(), "x"))
    assert note == "no process is left of those that moved bytes (they have exited)"
    quiet = Monitor().ingest(SyntheticSource(()).snapshot(0))
    assert empty_table_note(DisplayState(quiet, ViewOptions(), "x")) == (
        "no process has moved bytes since netwatch started"
    )


def test_status_labels_a_replay_with_its_speed() -> None:
    frame = Monitor().ingest(SyntheticSource().snapshot(0)._replace(replay=True, backend="tracepoints"))
    host = _text(host_line(DisplayState(frame, ViewOptions(), "replay of x", speed=4.0)))
    assert "REPLAY x4" in host and "SYNTHETIC" not in host


# -- cgroups ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path", "container"),
    [
        (
            "0::/user.slice/user-1000.slice/session-2.scope\n",
            "/user.slice/user-1000.slice/session-2.scope",
            None,
        ),
        (
            "0::/system.slice/docker-3f2a9c01b7e4aa55cc.scope\n",
            "/system.slice/docker-3f2a9c01b7e4aa55cc.scope",
            "docker 3f2a9c01b7e4",
        ),
        (
            "0::/machine.slice/libpod-0123456789abcdef.scope/container\n",
            "/machine.slice/libpod-0123456789abcdef.scope/container",
            "podman 0123456789ab",
        ),
        (
            "12:memory:/docker/abcdef0123456789\n1:name=systemd:/docker/abcdef0123456789\n",
            "/docker/abcdef0123456789",
            "docker abcdef012345",
        ),
        (
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-pod1.slice/cri-containerd-"
            "aaaabbbbccccdddd.scope\n",
            None,
            "containerd aaaabbbbcccc",
        ),
        ("", "", None),
    ],
)
def test_parse_cgroup_finds_the_path_and_the_container(
    text: str, path: str | None, container: str | None
) -> None:
    info = parse_cgroup(text)
    if path is not None:
        assert info.path == path
    assert info.container == container


@pytest.mark.parametrize(
    ("length", "pushes", "busy", "streak"),
    [
        (20, 2000, 0.3, 1),  # sparse traffic, of any kind from one interval to the next
        (20, 2000, 0.95, 12),  # long stretches of one kind: runs are cut when old intervals go
        (600, 3000, 1.0, 3000),  # one kind every interval: runs reach their longest and split
    ],
)
def test_history_matches_a_plain_list_of_the_last_n(
    length: int, pushes: int, busy: float, streak: int
) -> None:
    """Idle intervals are not stored, entries take 1 to 4 integers depending on how they relate to
    loopback and how large they are, and consecutive entries of one kind form runs: what is shown
    must still put every interval in its place, in every view ever taken."""
    big = 1 << 31  # too large for two counts to share one integer
    kinds = (
        lambda n: ByteCounts(Traffic(n, 1)),  # no loopback
        lambda n: ByteCounts(Traffic(n, 3), Traffic(n, 3)),  # all loopback
        lambda n: ByteCounts(Traffic(n, 1), Traffic(n // 2, 0)),  # some
        lambda n: ByteCounts(Traffic(big + n, 0)),  # large, no loopback
        lambda n: ByteCounts(Traffic(5, big * n), Traffic(5, big * n)),  # large, all loopback
        lambda n: ByteCounts(Traffic(0, (1 << 31) - 1)),  # the largest that packs
    )
    rng = random.Random(7)
    history, reference = History(length), []
    views = []
    kind = kinds[0]
    for number in range(1, pushes):
        if number % streak == 0 or streak == 1:
            kind = rng.choice(kinds)
        moved = kind(number) if rng.random() < busy else NO_BYTES
        history.push(moved)
        reference.append(moved)
        views.append((history.view(), reference[-length:]))
    for view, expected in views[-3 * length :] + views[:: max(1, pushes // 100)]:  # old views too
        for include_loopback in (True, False):
            assert view.shown(include_loopback) == [m.shown(include_loopback) for m in expected]
            assert view.shown(include_loopback, last=7) == [m.shown(include_loopback) for m in expected[-7:]]


def test_a_busy_history_takes_one_integer_an_interval() -> None:
    """A process that moves bytes every interval, less than 2 GiB each way: one run of packed
    entries, which the 1,000-process TUI's memory depends on."""
    history = History(240)
    for number in range(1000):
        history.push(ByteCounts(Traffic(number, 2 * number)))
    assert 240 <= len(history._values) < 240 + 40  # the length, and less than the largest slack
    assert history.view().shown(True, last=2) == [Traffic(998, 1996), Traffic(999, 1998)]
