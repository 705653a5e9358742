"""A small modal that lets the officer pick one of the allowed actions."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.app.catalogue import Action


class ActionPicker(ModalScreen[Action | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="picker.cancel")]

    def __init__(self, title: str, actions: list[Action]):
        super().__init__()
        self.title_text = title
        self.actions = actions

    def compose(self) -> ComposeResult:
        with Vertical(id="picker", classes="card"):
            yield Static(Text(self.title_text), classes="card-title")  # names a case
            yield OptionList(
                *[Option(action.title, id=action.key) for action in self.actions], id="actions"
            )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(next(a for a in self.actions if a.key == event.option.id))
