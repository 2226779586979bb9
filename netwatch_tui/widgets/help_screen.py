"""``?``: every key, generated from the bindings themselves so the list cannot drift from them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from netwatch_tui.widgets.field_grid import FieldGrid


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark,f1", "close", "Close help")]

    def __init__(self, keys: Sequence[tuple[str, str]]) -> None:
        """``keys``: (keys, what they do) pairs, in the order to list them."""
        super().__init__()
        self._keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog"):
            yield Static(Text("netwatch keys (Esc closes)"), id="help-title")
            yield FieldGrid(self._keys, id="help-keys")
        yield Footer()  # its own: the table's, underneath, would offer keys that do not work here

    def action_close(self) -> None:
        self.dismiss(None)
