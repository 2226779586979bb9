"""Two columns of label / value pairs (kill dialog, detail view, help), styled from styles.tcss."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Static


class FieldGrid(Grid):
    """Values are shown literally (``Text``, never markup): they may be untrusted process data."""

    def __init__(self, fields: Sequence[tuple[str, str]] = (), *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._fields = list(fields)

    def compose(self) -> ComposeResult:
        for label, value in self._fields:
            yield Static(Text(label), classes="field-label")
            yield Static(Text(value), classes="field-value")

    def set_fields(self, fields: Sequence[tuple[str, str]]) -> None:
        """Replace the values; the grid is rebuilt only when the labels change."""
        fields = list(fields)
        if [label for label, _ in fields] != [label for label, _ in self._fields]:
            self._fields = fields
            self.refresh(recompose=True)
            return
        self._fields = fields
        for widget, (_, value) in zip(self.query(".field-value").results(Static), fields):
            widget.update(Text(value))
