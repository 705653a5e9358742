"""Each role's home screen: what an officer in that role works on first."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from domain.values import Role
from tui.app.catalogue import actions_for
from tui.app.session import role_label

CASE_WORKERS = (Role.REGISTRATION_OFFICER, Role.LABOUR_ATTACHE, Role.REINTEGRATION_OFFICER)


class RoleHomeScreen(Screen):
    """A plain home for the administrator: it says what the role can do and
    where (the palette lists every action)."""

    BINDINGS = [Binding("ctrl+p", "app.command_palette", "Palette", id="home.palette")]

    def __init__(self, role: Role, text: str):
        super().__init__()
        self.role = role
        self.text = text

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(classes="card"):
            yield Static(f"Home · {role_label(self.role)}", classes="card-title")
            yield Static(self.text, id="home-text")
            actions = actions_for(self.role)
            if actions:
                yield Static("\n".join(f"  {a.title}" for a in actions), classes="card-help")
        yield Footer()


def home_screen_for(role: Role) -> Any:
    if role in CASE_WORKERS:
        from tui.app.screens.case_search import CaseSearchScreen

        return CaseSearchScreen()
    if role is Role.AUDITOR:
        from tui.app.screens.audit import WhoDidWhatScreen

        return WhoDidWhatScreen()
    if role is Role.FUND_OFFICER:
        from tui.app.screens.fund import FundHomeScreen

        return FundHomeScreen()
    return RoleHomeScreen(
        role,
        "Administrators manage officer accounts: press ctrl+p and choose an "
        "'officer: ...' entry (register, grant role, revoke role, deactivate, reset "
        "password). F2 shows the status screen, F3 the statistics.",
    )
