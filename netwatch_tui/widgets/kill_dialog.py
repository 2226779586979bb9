"""The kill confirmation: who would be signalled, and with what (SIGTERM unless asked otherwise)."""

from __future__ import annotations

import signal
from typing import ClassVar, Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

from netwatch_tui.model.sanitize import clean
from netwatch_tui.model.table_rows import ProcessRow
from netwatch_tui.widgets.field_grid import FieldGrid


def describe(row: ProcessRow, rates: str) -> list[tuple[str, str]]:
    """The facts a user checks before killing: pid, user, the full command line, current rates."""
    stats = row.stats
    return [
        ("pid", str(stats.pid)),
        ("user", clean(stats.user)),
        ("name", clean(stats.name)),
        ("command", clean(stats.cmdline) or "(none)"),
        ("rates", rates),
    ]


class KillDialog(ModalScreen[Optional[signal.Signals]]):
    """Dismisses with the signal to send, or None to cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "cancel", "Cancel"),
        Binding("t", "send('SIGTERM')", "SIGTERM"),
        Binding("9", "send('SIGKILL')", "SIGKILL"),
    ]

    def __init__(self, row: ProcessRow, rates: str) -> None:
        super().__init__()
        self._row = row
        self._rates = rates

    def compose(self) -> ComposeResult:
        with Vertical(id="kill-dialog"):
            yield Static(Text(f"Send a signal to pid {self._row.pid}?"), id="kill-title")
            yield FieldGrid(describe(self._row, self._rates), id="kill-details")
            with Horizontal(id="kill-buttons"):
                yield Button("SIGTERM (t)", id="SIGTERM", variant="warning")
                yield Button("SIGKILL (9)", id="SIGKILL", variant="error")
                yield Button("Cancel (Esc)", id="cancel")
        yield Footer()  # its own: the table's, underneath, would offer keys that do not work here

    def on_mount(self) -> None:
        self.query_one("#SIGTERM", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "cancel":
            self.dismiss(None)
        else:
            self.action_send(str(event.button.id))

    def action_send(self, name: str) -> None:
        self.dismiss(signal.Signals[name])

    def action_cancel(self) -> None:
        self.dismiss(None)
