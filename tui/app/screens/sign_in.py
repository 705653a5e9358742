"""Sign in: username, password, then the role to act in. After an
administrator's reset the officer chooses a new password first.

Failures are counted per username in the database and lock it after
repeated failures (domain/officers/service.py); every attempt is logged."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from domain.errors import MsafiriError
from domain.officers.service import PasswordChangeRequired
from domain.values import Role
from tui.app.session import Session, role_label
from tui.app.widgets import text_input


class SignInScreen(Screen):
    BINDINGS = [Binding("escape", "app.quit", "Quit", id="signin.quit")]

    def __init__(self, username: str = ""):
        super().__init__()
        self._username = username
        self._officer = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Center(), Vertical(id="signin", classes="card"):
            yield Static("Sign in to Msafiri", classes="card-title")
            yield Label("Username")
            yield text_input(id="username", value=self._username, placeholder="e.g. demo.attache")
            yield Label("Password")
            yield text_input(id="password", password=True, placeholder="password")
            yield Static("", id="signin-error", classes="field-error")
            yield Button("Sign in", id="sign-in", variant="primary")
            yield Label("Act as", id="role-label", classes="hidden")
            yield OptionList(id="roles", classes="hidden")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#password" if self._username else "#username", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "username":
            self.query_one("#password", Input).focus()
        else:
            self.attempt()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "sign-in":
            self.attempt()

    def attempt(self) -> None:
        username = self.query_one("#username", Input).value.strip().lower()
        password = self.query_one("#password", Input).value
        if not username or not password:
            self._refuse("give your username and password")
            return
        officers = self.app.system.officers

        def check():
            try:
                return officers.sign_in(
                    username, password, interface="tui", connection=self.app.connection
                )
            except MsafiriError as error:
                return error

        def checked(result) -> None:
            if isinstance(result, PasswordChangeRequired):
                from tui.app.screens.change_password import ChangePasswordScreen

                # Nothing else until the reset password is replaced.
                self.app.push_screen(
                    ChangePasswordScreen(username, current=password, forced=True),
                    self._after_change,
                )
                return
            self._checked(result)

        self.app.call(check, then=checked, group="sign-in", exclusive=True)

    def _after_change(self, officer) -> None:
        self.query_one("#password", Input).value = ""
        if officer is not None:
            self._checked(officer)

    def _refuse(self, message: str) -> None:
        error = self.query_one("#signin-error", Static)
        error.update(Text(f"✗ {message}"))
        error.add_class("shown")

    def _checked(self, result) -> None:
        if isinstance(result, MsafiriError):
            self.query_one("#password", Input).value = ""
            self._refuse(str(result))
            self.query_one("#password", Input).focus()
            return
        self._officer = result
        roles = sorted((r for r in result.roles if r is not Role.SYSTEM), key=list(Role).index)
        if len(roles) == 1:
            self._begin(roles[0])
            return
        # More than one role: the officer chooses which hat they wear now.
        options = self.query_one("#roles", OptionList)
        options.clear_options()
        options.add_options([Option(role_label(r), id=r.value) for r in roles])
        for widget in (options, self.query_one("#role-label")):
            widget.remove_class("hidden")
        options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._begin(Role(event.option.id))

    def _begin(self, role: Role) -> None:
        officer = self._officer
        self.app.begin_session(
            Session(
                officer_id=officer.id,
                username=officer.username,
                full_name=officer.full_name,
                station=officer.station,
                role=role,
            )
        )
