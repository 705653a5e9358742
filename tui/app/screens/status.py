"""Configuration, connections and how far the read models lag the log."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from tui.app.widgets import facts_grid


def status_facts(app: Any) -> dict[str, str]:
    """Blocking: reads the log head and the read models' positions."""
    system = app.system
    settings = system.settings
    facts = {
        "database": system.database.url,  # the password is masked by Database.url
        "backend": system.database.backend,
        "NATS": settings.nats_url or "not configured",
        "live updates": app.live.state,
        "fund": settings.fund_code,
        "colour": "off (NO_COLOR)" if app.no_color else "on",
        "theme": app.theme,
        # Where the officer's times come from: typed ones are read in it, and
        # every screen shows stored times in it (msafiri/zones.py).
        "time zone": f"{app.zone.name} "
        + ("(MSAFIRI_TIMEZONE)" if settings.timezone else "(this machine's)"),
    }
    if app.session is not None:
        facts["signed in"] = app.session.label
    connection, origin = app.connection, app.connection_from
    facts["connected by"] = f"{connection} from {origin}" if origin else connection
    try:
        facts.update(app.read_side.status())
    except Exception as error:  # the status screen must show even a broken read side
        facts["read models"] = f"unavailable: {type(error).__name__}: {error}"
    return facts


class StatusScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="status.back"),
        Binding("r", "refresh", "Refresh", id="status.refresh"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(classes="card"):
            yield Static("Status", classes="card-title")
            yield Static("reading...", id="status-facts")
        yield Footer()

    def on_mount(self) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        self.app.call(status_facts, self.app, then=self._show, group="status")

    def _show(self, facts: dict[str, str]) -> None:
        self.query_one("#status-facts", Static).update(facts_grid(facts.items(), gap=2))
