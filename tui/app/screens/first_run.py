"""First run on an empty database: the first administrator creates themself."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from domain.errors import InvalidCommand
from domain.officers.commands import CreateFirstAdministrator
from tui.app.forms import CommandForm


class FirstRunScreen(Screen):
    BINDINGS = [Binding("escape", "app.quit", "Quit", id="firstrun.quit")]

    def compose(self) -> ComposeResult:
        yield Header()
        with Center(), VerticalScroll(id="first-run", classes="card"):
            yield Static("Welcome to Msafiri", classes="card-title")
            yield Static(
                "This database is empty. Create the first administrator account: "
                "the administrator then registers the other officers and grants their roles.",
                classes="card-help",
            )
            yield CommandForm(CreateFirstAdministrator, zone=self.app.zone, id="form")
        yield Footer()

    def on_command_form_submitted(self, event: CommandForm.Submitted) -> None:
        command = event.command
        officers = self.app.system.officers

        def create():
            try:
                officers.create_first_administrator(command)
            except InvalidCommand as error:
                return error
            return None

        def done(error: InvalidCommand | None) -> None:
            if error is not None:
                event.form.show_errors(error.errors)
                return
            from tui.app.screens.sign_in import SignInScreen

            self.app.notify(f"Administrator {command.username} created; sign in to continue")
            self.app.switch_screen(SignInScreen(username=command.username))

        self.app.call(create, then=done, group="first-run", exclusive=True)
