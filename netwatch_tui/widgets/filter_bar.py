"""The ``/`` filter: typing narrows the table live, Enter keeps the filter, Esc clears it."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input


class FilterBar(Input):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Clear filter")]

    class Cancelled(Message):
        """The user pressed Esc in the filter."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="filter: pid, name, user or command line", id=id)

    def action_cancel(self) -> None:
        self.value = ""
        self.post_message(self.Cancelled())
