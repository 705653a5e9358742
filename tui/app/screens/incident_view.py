"""One incident of a case in full (Enter on the case's Incidents tab).

Opening it is a read of the incident, noted in the access log."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from domain.officers.access import INCIDENT_OPEN
from msafiri.zones import OfficerZone
from projections.queries import IncidentRow
from tui.app.reads import log_read
from tui.app.screens.timeline_entry import exact
from tui.app.widgets import facts_grid


def incident_facts(row: IncidentRow, zone: OfficerZone) -> list[tuple[str, str]]:
    return [
        ("case", f"{row.case_number} · {row.full_name}"),
        ("category", row.category.replace("_", " ")),
        ("gbv subtype", (row.gbv_subtype or "-").replace("_", " ")),
        ("severity", row.severity),
        ("status", row.status),
        ("country", row.country),
        ("channel", row.channel.replace("_", " ")),
        ("happened", exact(row.occurred_at, zone)),
        ("reported", exact(row.reported_at, zone)),
        (
            "assistance",
            f"{row.assistance_status} ({row.assistance_requests} "
            f"request{'' if row.assistance_requests == 1 else 's'})",
        ),
        ("closed", exact(row.closed_at, zone)),
    ]


class IncidentScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,enter", "dismiss(None)", "Close", id="incident.close")]

    def __init__(self, incident_id: UUID):
        super().__init__()
        self.incident_id = incident_id

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="timeline-entry", classes="card"):
            yield Static(Text(f"Incident {str(self.incident_id)[:8]}"), classes="card-title")
            yield Static("reading...", id="incident-facts")
            yield Static("enter or escape: close", classes="card-help")

    def on_mount(self) -> None:
        app: Any = self.app
        log_read(app, INCIDENT_OPEN, subject_kind="incident", subject_id=self.incident_id)
        incident_id = str(self.incident_id)
        viewer = app.viewer  # restricted text masked by the one policy (disclosure.py)
        queries = app.read_side.queries
        app.call(
            lambda: queries.get_incident(incident_id, viewer=viewer), then=self._show, group="entry"
        )

    def _show(self, row: IncidentRow | None) -> None:
        target = self.query_one("#incident-facts", Static)
        if row is None:
            target.update("No such incident (yet).")
            return
        target.update(facts_grid(incident_facts(row, self.app.zone), gap=2, fold=True))
