"""Enter on a row: one process in full (command line, cgroup, connections, large TX/RX graphs)."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from netwatch_tui.cgroups import CgroupInfo, read_cgroup
from netwatch_tui.model.sanitize import clean
from netwatch_tui.model.table_rows import ProcessRow
from netwatch_tui.model.units import format_bytes, format_rate
from netwatch_tui.model.view import DisplayState
from netwatch_tui.widgets.connection_table import ConnectionTable
from netwatch_tui.widgets.field_grid import FieldGrid
from netwatch_tui.widgets.graph import Graph


def _started(start_time: float | None) -> str:
    if start_time is None:
        return "unknown (exited before it could be asked)"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(start_time))


class DetailScreen(Screen[None]):
    """Follows one pid; the app calls :meth:`show` with every new display state."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "back", "Back", tooltip="back to the table"),
        Binding("k,f9", "kill", "Kill", tooltip="kill this process (asks first)"),
    ]
    # Terminal lines below which the graphs are drawn smaller, and not at all (styles.tcss).
    SHORT, TINY = 30, 20

    def __init__(self, row: ProcessRow, state: DisplayState) -> None:
        super().__init__()
        self.pid = row.pid
        self._row = row
        self._state = state
        self._cgroup = "reading…"
        self._container = "reading…"

    def compose(self) -> ComposeResult:
        yield Static(id="detail-title")
        yield FieldGrid(id="detail-fields")
        yield Graph(id="tx-graph")
        yield Graph(id="rx-graph")
        yield Static(Text("Connections"), id="connections-title")
        yield ConnectionTable(id="connections")
        yield Footer()

    def on_mount(self) -> None:
        self.show(self._state)
        self._read_cgroup()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(self.TINY <= event.size.height < self.SHORT, "-short")
        self.set_class(event.size.height < self.TINY, "-tiny")

    @work(thread=True, exit_on_error=False)
    def _read_cgroup(self) -> None:
        """Reads /proc off the event loop."""
        info = read_cgroup(self._row.pid, self._row.stats.start_time)
        self.app.call_from_thread(self._set_cgroup, info)

    def _set_cgroup(self, info: CgroupInfo | None) -> None:
        self._cgroup = "unavailable (process gone, or not on this host)" if info is None else info.path or "/"
        self._container = "-" if info is None or info.container is None else info.container
        self.show(self._state)

    def show(self, state: DisplayState) -> None:
        self._state = state
        frame = state.frame
        current = frame.row(self.pid) if frame is not None else None
        exited = current is None or current.exited
        self._row = current or self._row
        stats = self._row.stats
        options = state.options
        interval = frame.snapshot.interval if frame is not None else 1.0
        moved = self._row.moved.shown(options.include_loopback)
        total = stats.totals(options.include_loopback)
        title = f"pid {stats.pid}  {clean(stats.name)}" + ("  (exited)" if exited else "")
        self.query_one("#detail-title", Static).update(Text(title, no_wrap=True, overflow="ellipsis"))
        self.query_one("#detail-fields", FieldGrid).set_fields(
            [
                ("command", clean(stats.cmdline) or "(none)"),
                ("user", clean(stats.user)),
                ("started", _started(stats.start_time)),
                ("cgroup", clean(self._cgroup)),
                ("container", clean(self._container)),
                (
                    "now",
                    f"TX {format_rate(moved.tx / interval, options.bits)}"
                    f"   RX {format_rate(moved.rx / interval, options.bits)}",
                ),
                ("since start", f"TX {format_bytes(total.tx)}   RX {format_bytes(total.rx)}"),
            ]
        )
        history = self._row.history.shown(options.include_loopback)
        for direction, values in (
            ("tx", [t.tx / interval for t in history]),
            ("rx", [t.rx / interval for t in history]),
        ):
            peak = format_rate(max(values, default=0), options.bits)
            self.query_one(f"#{direction}-graph", Graph).plot(
                f"{direction.upper()} per second (peak {peak})", values
            )
        self._show_connections(state, exited)

    def _show_connections(self, state: DisplayState, exited: bool) -> None:
        frame = state.frame
        live = frame is not None and not exited  # an exited process holds no socket
        connections = frame.snapshot.connections.get(self.pid, ()) if live else ()
        self.query_one(ConnectionTable).show(connections)
        if connections:
            # The table's CONNS leaves TCP listeners out (README): say how the two numbers differ.
            listening = sum(connection.listening for connection in connections)
            title = f"Connections ({len(connections) - listening}" + (
                f", and {listening} listening)" if listening else ")"
            )
        elif frame is not None and frame.snapshot.replay:
            title = "Connections: not recorded in replay files"
        elif exited:
            title = "Connections: none (the process has exited)"
        else:
            title = "Connections: none seen yet (they are listed from the next interval on)"
        self.query_one("#connections-title", Static).update(Text(title))

    def action_back(self) -> None:
        self.dismiss(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "kill":  # as the app's own kill: only on the live view
            return self.app.check_action("kill_pid", parameters)
        return True

    async def action_kill(self) -> None:
        await self.app.run_action(f"kill_pid({self.pid})")
