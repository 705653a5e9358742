"""Change your own password: from the palette ("officer: change my password"),
or before anything else after an administrator's reset (the sign-in screen
opens it with the temporary password already given)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Static

from domain.errors import InvalidCommand, MsafiriError
from domain.officers.commands import ChangePassword
from tui.app.widgets import text_input


class ChangePasswordScreen(Screen):
    """Dismissed with the Officer once the password is changed, None when
    cancelled (a forced change cancelled leaves nobody signed in)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="password.cancel")]

    def __init__(self, username: str, *, current: str | None = None, forced: bool = False):
        super().__init__()
        self.username = username
        self._current = current
        self.forced = forced

    def compose(self) -> ComposeResult:
        yield Header()
        with Center(), Vertical(id="change-password", classes="card"):
            yield Static("Choose a new password", classes="card-title")
            if self.forced:
                yield Static(
                    "An administrator reset your password: choose your own before you go on.",
                    id="forced-note",
                )
            if self._current is None:
                yield Label("Current password")
                yield text_input(id="current", password=True)
                yield Static("", id="e-current_password", classes="field-error")
            yield Label("New password (12 characters or more; a few unrelated words work well)")
            yield text_input(id="new", password=True)
            yield Static("", id="e-new_password", classes="field-error")
            yield Label("New password again")
            yield text_input(id="again", password=True)
            yield Static("", id="password-error", classes="field-error")
            yield Button("Change password", id="change", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#new" if self._current is not None else "#current", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        order = ["current", "new", "again"] if self._current is None else ["new", "again"]
        position = order.index(event.input.id)
        if position + 1 < len(order):
            self.query_one(f"#{order[position + 1]}", Input).focus()
        else:
            self.attempt()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "change":
            self.attempt()

    def action_cancel(self) -> None:
        # A forced change cancelled: back to the sign-in screen, signed out.
        self.dismiss(None)

    def _show(self, where: str, message: str) -> None:
        for error in self.query(".field-error"):
            error.update("")
            error.remove_class("shown")
        error = self.query_one(f"#{where}", Static)
        error.update(f"✗ {message}")
        error.add_class("shown")

    def attempt(self) -> None:
        current = (
            self._current if self._current is not None else self.query_one("#current", Input).value
        )
        new = self.query_one("#new", Input).value
        if new != self.query_one("#again", Input).value:
            self._show("password-error", "the two new passwords differ")
            return
        try:
            command = ChangePassword.parse({"current_password": current, "new_password": new})
        except InvalidCommand as error:
            self._refused(error)
            return
        officers, username = self.app.system.officers, self.username

        def change():
            try:
                return officers.change_password(
                    username, command, interface="tui", connection=self.app.connection
                )
            except MsafiriError as error:
                return error

        self.app.call(change, then=self._changed, group="password", exclusive=True)

    def _refused(self, error: MsafiriError) -> None:
        if isinstance(error, InvalidCommand):
            field, rule = error.errors[0]
            where = f"e-{field}" if self.query(f"#e-{field}") else "password-error"
            self._show(where, rule if where != "password-error" else f"{field}: {rule}")
        else:
            self._show("password-error", str(error))

    def _changed(self, result) -> None:
        if isinstance(result, MsafiriError):
            self._refused(result)
            return
        self.app.notify("Your password is changed", title="Password")
        self.dismiss(result)
