"""The interactive TUI: a live, sortable table of processes and their bandwidth.

The snapshot source runs in a worker thread and posts each snapshot as a message; every widget is
updated from those messages on the event loop, never from the thread. Quitting (q, Ctrl-C, SIGTERM,
or an error in the source) stops the worker, which releases the probe. SIGHUP restores the terminal
and ends the process at once (hangup.py says why).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from dataclasses import replace
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual.actions import parse
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Input, Static

from netwatch_tui import kill
from netwatch_tui.errors import NetwatchError
from netwatch_tui.hangup import HangUp
from netwatch_tui.messages import SnapshotReady, SourceFinished
from netwatch_tui.model.columns import Col, sort_key_of
from netwatch_tui.model.monitor import Frame, Monitor
from netwatch_tui.model.sorting import SortKey, step
from netwatch_tui.model.status import empty_table_note
from netwatch_tui.model.table_rows import ProcessRow
from netwatch_tui.model.units import format_rate
from netwatch_tui.model.view import DisplayState, ViewOptions
from netwatch_tui.replay import ReplaySource
from netwatch_tui.source import SnapshotSource
from netwatch_tui.widgets.detail_screen import DetailScreen
from netwatch_tui.widgets.filter_bar import FilterBar
from netwatch_tui.widgets.help_screen import HelpScreen
from netwatch_tui.widgets.kill_dialog import KillDialog
from netwatch_tui.widgets.process_table import ProcessTable
from netwatch_tui.widgets.status_bar import StatusBar
from netwatch_tui.worker import SnapshotWorker

# Actions on the process table (its filter, order, columns and cursor): not while another screen
# covers it, where they would change a table out of sight (or focus its filter bar from under a
# detail view).
_TABLE_ACTIONS = frozenset(
    {"filter", "clear_filter", "sort", "sort_combined", "step_sort", "reverse_sort", "toggle_view", "kill"}
)

# How the help screen and the footers name keys (the README's names); others as Textual displays them.
_KEY_NAMES = {
    "ctrl+c": "Ctrl-C",
    "ctrl+z": "Ctrl-Z",
    "escape": "Esc",
    "backspace": "Backspace",
    "space": "Space",
    **{f"f{n}": f"F{n}" for n in range(1, 13)},
}

# Keys that belong to widgets rather than to the app, listed in the help screen after the app's own:
# on the table, in the detail view, and in the kill dialog wherever it can be opened.
_TABLE_KEYS = (
    ("↑ ↓ PgUp PgDn Home End", "move the cursor"),
    ("Enter", "detail of the selected process (Esc returns)"),
    ("click a header", "sort by that column (again: reverse)"),
)
_DETAIL_KEYS = (("↑ ↓ PgUp PgDn Home End", "scroll the connections"),)
_KILL_DIALOG_KEYS = (("kill dialog: t / 9 / Esc", "send SIGTERM / send SIGKILL / cancel"),)


class NetwatchApp(App[None]):
    CSS_PATH = "styles.tcss"
    TITLE = "netwatch"
    ENABLE_COMMAND_PALETTE = False  # every action has its key (see ?); the footer needs the room
    BINDINGS: ClassVar[list[BindingType]] = [
        # The footer shows the short descriptions; the help screen the tooltips, or else the description.
        Binding("q,f10", "quit", "Quit", tooltip="quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, tooltip="quit"),
        Binding("ctrl+z", "suspend_process", "Suspend", show=False, tooltip="suspend (fg resumes)"),
        Binding("question_mark,f1", "help", "Help", tooltip="this help"),
        # priority: handled as the key arrives, so keys typed right after it reach the filter
        Binding(
            "slash", "filter", "Filter", priority=True, tooltip="filter by pid, name, user or command line"
        ),
        Binding("escape", "clear_filter", "clear the filter", show=False),
        Binding("space", "pause", "Pause", tooltip="pause the display (collection goes on)"),
        Binding("space", "resume", "Resume", tooltip="resume the display"),
        Binding("k,f9", "kill", "Kill", tooltip="kill the selected process (asks first)"),
        Binding("s", "sort('TX_RATE')", "Sort TX/s", tooltip="sort by TX rate"),
        Binding("r", "sort('RX_RATE')", "Sort RX/s", tooltip="sort by RX rate"),
        Binding("S", "sort('TX_TOTAL')", "sort by TX total", show=False),
        Binding("R", "sort('RX_TOTAL')", "sort by RX total", show=False),
        Binding("t", "sort_combined", "sort by TX+RX (the default)", show=False),
        Binding("p", "sort('PID')", "sort by PID", show=False),
        Binding("o", "sort('USER')", "sort by user (owner)", show=False),
        Binding("n", "sort('COMMAND')", "sort by command name", show=False),
        Binding("c", "sort('CONNS')", "sort by connection count", show=False),
        Binding("less_than_sign", "step_sort(-1)", "sort by the column to the left", show=False),
        Binding("greater_than_sign,f6", "step_sort(1)", "sort by the column to the right", show=False),
        Binding("I", "reverse_sort", "reverse the sort order", show=False),
        Binding("m", "toggle_view", "Rates/totals", tooltip="rates or totals first"),
        Binding("u", "toggle_units", "Bits/bytes", tooltip="rates in bits or bytes"),
        Binding("l", "toggle_loopback", "Loopback", tooltip="show or hide loopback traffic"),
        Binding("plus", "speed(1)", "Faster", tooltip="replay faster"),
        Binding("minus", "speed(-1)", "Slower", tooltip="replay slower"),
    ]

    def __init__(self, source: SnapshotSource, *, include_loopback: bool = True) -> None:
        super().__init__()
        self.source = source
        self.error: BaseException | None = None
        self._worker = SnapshotWorker(source, self._deliver, self._finished)
        self._monitor = Monitor()
        self._latest: Frame | None = None  # the newest frame (collection never pauses)
        self._shown: Frame | None = None  # the frame on screen (frozen while paused)
        self._options = ViewOptions(include_loopback=include_loopback)
        self._paused = False
        self._finished = False
        self._hang_up = HangUp()  # the terminal's settings, before the app takes it

    # -- the worker thread's side: only post_message, which is thread-safe ---------------------------

    def _deliver(self, snapshot: Any) -> None:
        self.post_message(SnapshotReady(snapshot))

    def _finished(self, error: BaseException | None) -> None:
        self.post_message(SourceFinished(error))

    # -- lifecycle ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(Text(f"waiting for the first snapshot ({self.source.description})"), id="starting")
        yield ProcessTable(id="processes")
        yield Static(id="empty")  # said instead of rows when there are none to show
        yield FilterBar(id="filter")
        yield Footer()

    def on_mount(self) -> None:
        self._render()
        self.query_one(ProcessTable).focus()
        if threading.current_thread() is threading.main_thread():
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGTERM, self.exit)
            loop.add_signal_handler(signal.SIGHUP, self._hang_up)
        self._worker.start()

    def on_unmount(self) -> None:
        self.stop_worker()
        if threading.current_thread() is threading.main_thread():
            loop = asyncio.get_running_loop()
            loop.remove_signal_handler(signal.SIGTERM)
            loop.remove_signal_handler(signal.SIGHUP)

    def stop_worker(self) -> None:
        """Stop the source and wait for it to release the probe (idempotent)."""
        if self._worker.is_alive():
            self._worker.stop()

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        self._latest = self._monitor.ingest(message.snapshot)
        if not self._paused:
            self._shown = self._latest
            self.add_class("-running")
            self._render()

    def on_source_finished(self, message: SourceFinished) -> None:
        if message.error is not None:
            self.error = message.error
            self.exit(return_code=getattr(message.error, "exit_code", 1))
            return
        self._finished = True
        self._render()

    # -- drawing ------------------------------------------------------------------------------------

    @property
    def received(self) -> int:
        """Snapshots received so far (they keep coming while the display is paused)."""
        return self._latest.number if self._latest is not None else 0

    @property
    def state(self) -> DisplayState:
        speed = self.source.speed if isinstance(self.source, ReplaySource) else None
        return DisplayState(
            self._shown,
            self._options,
            self.source.description,
            self._paused,
            self._finished,
            speed,
            self.source.interval,
        )

    def _render(self) -> None:
        state = self.state
        table = self.query_one(ProcessTable)
        if state.frame is not None:
            table.show(state.frame, state.options)
        shown = len(table.pids)
        self.query_one(StatusBar).show(state, shown)
        self.set_class(state.frame is not None and not shown, "-empty")
        if state.frame is not None and not shown:
            self.query_one("#empty", Static).update(Text(empty_table_note(state)))
        for screen in self.screen_stack:
            if isinstance(screen, DetailScreen):
                screen.show(state)

    def _set_options(self, **changes: Any) -> None:
        self._options = replace(self._options, **changes)
        self._render()

    # -- keys ---------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in _TABLE_ACTIONS and len(self.screen_stack) > 1:
            return False
        if action in ("kill", "kill_pid") and not self.source.live:
            return False  # not shown: there is nothing to kill in a replay or the demo
        if action in ("pause", "resume"):  # one key: the footer names what it will do
            return self._paused == (action == "resume")
        if action == "speed":
            return isinstance(self.source, ReplaySource)
        if action == "filter":  # a `/` typed into the filter is part of the filter
            return not isinstance(self.focused, Input)
        return True

    def action_sort(self, name: str) -> None:
        self._set_options(sort=self._options.sort.pressed(SortKey[name]))

    def action_sort_combined(self) -> None:
        self.action_sort("TOTAL" if self._options.totals_first else "RATE")

    def action_step_sort(self, offset: int) -> None:
        columns = self.query_one(ProcessTable).columns_shown
        choices = tuple(dict.fromkeys(sort_key_of(col, self._options.totals_first) for col in columns))
        self._set_options(sort=step(self._options.sort, choices, offset))

    def action_reverse_sort(self) -> None:
        self._set_options(sort=self._options.sort.reversed())

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        if isinstance(event.data_table, ProcessTable):
            self.action_sort(sort_key_of(Col(event.column_key.value), self._options.totals_first).name)

    def action_toggle_view(self) -> None:
        self._options = self._options.with_totals_first(not self._options.totals_first)
        self._render()

    def action_toggle_units(self) -> None:
        self._set_options(bits=not self._options.bits)

    def action_toggle_loopback(self) -> None:
        self._set_options(include_loopback=not self._options.include_loopback)

    def action_pause(self) -> None:
        self._paused = True
        self.refresh_bindings()
        self._render()

    def action_resume(self) -> None:
        self._paused = False
        self._shown = self._latest
        self.refresh_bindings()
        self._render()

    def action_speed(self, steps: int) -> None:
        if isinstance(self.source, ReplaySource):
            self.source.change_speed(steps)
            self._render()

    def action_filter(self) -> None:
        bar = self.query_one(FilterBar)
        bar.add_class("-active")
        self.screen.set_focus(bar)  # at once, not after the next refresh as Widget.focus would

    def action_clear_filter(self) -> None:
        self.query_one(FilterBar).action_cancel()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._set_options(query=event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._close_filter(keep=bool(event.value))

    def on_filter_bar_cancelled(self, event: FilterBar.Cancelled) -> None:
        self._close_filter(keep=False)

    def _close_filter(self, keep: bool) -> None:
        self.query_one(FilterBar).set_class(keep, "-active")
        self.screen.set_focus(self.query_one(ProcessTable))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.key_help()))

    def key_help(self) -> list[tuple[str, str]]:
        """(keys, what they do) for the bindings that work here and now: those of the screen on top
        of the table (the detail view), then the app's; then the widgets' keys."""
        on_table = self.screen is self.screen_stack[0]
        layers = [(self.BINDINGS, self.check_action)]
        if not on_table:
            layers.insert(0, (self.screen.BINDINGS, self.screen.check_action))
        keys: dict[str, list[str]] = {}
        can_kill = False
        for bindings, check in layers:
            for binding in Binding.make_bindings(bindings):
                _, action, parameters = parse(binding.action)
                if check(action, parameters):
                    can_kill = can_kill or action == "kill"
                    names = keys.setdefault(binding.tooltip or binding.description, [])
                    if (name := self.get_key_display(binding)) not in names:
                        names.append(name)
        widget_keys = (_TABLE_KEYS if on_table else _DETAIL_KEYS) + (_KILL_DIALOG_KEYS if can_kill else ())
        return [(" ".join(names), description) for description, names in keys.items()] + list(widget_keys)

    def get_key_display(self, binding: Binding) -> str:
        return _KEY_NAMES.get(binding.key) or super().get_key_display(binding)

    # -- detail and kill ----------------------------------------------------------------------------

    def _row(self, pid: int | None) -> ProcessRow | None:
        if pid is None or self._shown is None:
            return None
        return self._shown.row(pid)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if not isinstance(event.data_table, ProcessTable):
            return
        row = self._row(int(event.row_key.value or 0))
        if row is not None:
            self.source.watch_connections(frozenset({row.pid}))
            self.push_screen(DetailScreen(row, self.state), callback=self._detail_closed)

    def _detail_closed(self, _: None) -> None:
        self.source.watch_connections(frozenset())

    def action_kill(self) -> None:
        pid = self.query_one(ProcessTable).cursor_pid
        if pid is None:
            self.notify("no process selected", severity="warning")
            return
        self.action_kill_pid(pid)

    def action_kill_pid(self, pid: int) -> None:
        if not self.source.live:
            return
        row = self._row(pid)
        if row is None or row.exited:
            self.notify(f"pid {pid} has already exited", severity="warning")
            return
        refusal = kill.check(pid, row.stats.start_time)
        if refusal is not None:
            self.notify(refusal.message, title="not killed", severity="warning", markup=False)
            return
        moved = row.moved.shown(self._options.include_loopback)
        interval = self._shown.snapshot.interval if self._shown is not None else 1.0
        rates = (
            f"TX {format_rate(moved.tx / interval, self._options.bits)}"
            f"   RX {format_rate(moved.rx / interval, self._options.bits)}"
        )
        self.push_screen(KillDialog(row, rates), callback=partial(self._kill_confirmed, row))

    def _kill_confirmed(self, row: ProcessRow, chosen: signal.Signals | None) -> None:
        if chosen is None:
            return
        result = kill.send_signal(row.pid, row.stats.start_time, chosen)
        self.notify(result.message, severity="information" if result.ok else "error", markup=False)


def _one_line(error: BaseException) -> str:
    if isinstance(error, NetwatchError):
        message = str(error)
    else:
        message = f"the probe failed: {type(error).__name__}: {error}"
    return " ".join(message.split())


def run_tui(source: SnapshotSource, *, include_loopback: bool = True) -> int:
    """Run the TUI on ``source`` until the user quits; returns the process exit code.

    An error from the source ends the app and is printed as one line on stderr (no traceback).
    """
    app = NetwatchApp(source, include_loopback=include_loopback)
    try:
        app.run()
    finally:
        app.stop_worker()
    if app.error is not None:
        print(f"netwatch: {_one_line(app.error)}", file=sys.stderr)
        return getattr(app.error, "exit_code", 1) or 1
    return app.return_code or 0
