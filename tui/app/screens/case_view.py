"""One case: profile, stage, contract, the timeline of every event, incidents."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from domain.values import format_minor
from projections.queries import CaseRow, IncidentRow, TimelineEntry
from tui.app.catalogue import actions_for
from tui.app.readside import when
from tui.app.widgets import facts_grid

TIMELINE_COLUMNS = ("#", "Recorded (UTC)", "Happened", "Who", "Role", "Event", "Details")
INCIDENT_COLUMNS = ("Incident", "Category", "Severity", "Status", "Country", "Happened", "Help")
FUND_COLUMNS = ("Requested", "Benefit", "Amount", "Status", "Approvals", "Paid", "Reference")


def _facts(title: str, facts: dict[str, str]) -> Table:
    return facts_grid(facts.items() or [("-", "nothing recorded")], title=title)


def profile(row: CaseRow) -> dict[str, str]:
    return {
        "case number": row.case_number,
        "name": row.full_name,
        "sex": row.sex,
        "born": f"{row.date_of_birth} ({row.age_band} at registration)",
        "national id": row.national_id or "-",
        "passport": row.passport_number or "-",
        "phone": row.phone,
        "county": row.county,
        "education": row.education,
        "stage": f"{row.stage.replace('_', ' ')} (cycle {row.cycle})",
        "registered": when(row.registered_at, with_time=False),
        "membership": row.membership_number or "-",
    }


def contract(row: CaseRow) -> dict[str, str]:
    if not row.destination and not row.employer:
        return {}
    wage = "-"
    if row.wage_minor is not None and row.wage_currency:
        wage = f"{format_minor(row.wage_minor, row.wage_currency)} {row.wage_currency}/month"
    return {
        "destination": row.destination,
        "employer": row.employer,
        "sector": row.sector.replace("_", " "),
        "job": row.job_title,
        "wage": wage,
    }


class CaseScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="case.back"),
        Binding("a", "case_actions", "Case actions", id="case.actions"),
        Binding("i", "incident_actions", "Incident actions", id="case.incident_actions"),
        # Enter on a timeline row opens it too (the table's own row selection).
        Binding("d", "event_details", "Event", id="case.event_details"),
        # The screen refreshes itself when the read models move; reload stays
        # as a key but leaves the footer room for the rest at 120 columns.
        Binding("r", "reload", "Reload", id="case.reload", show=False),
        Binding("h", "replay", "Replay", id="case.replay"),
        Binding("ctrl+e", "export", "Export", id="case.export"),
        Binding("ctrl+y", "copy_id", "Copy case no.", id="case.copy"),
    ]

    def __init__(self, migrant_id: UUID):
        super().__init__()
        self.migrant_id = migrant_id
        self.detail: CaseRow | None = None
        self.incidents: list[IncidentRow] = []
        self.timeline: dict[str, TimelineEntry] = {}  # by log position, as the row key

    @property
    def context_line(self) -> str:
        if self.detail is None:
            return ""
        row = self.detail
        return f"{row.case_number} · {row.full_name} · {row.stage.replace('_', ' ')}"

    @property
    def incident_id(self) -> UUID | None:
        table = self.query_one("#incidents", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return UUID(key) if key else None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("loading...", id="case-title", classes="card-title")
        with Horizontal(id="case-facts"):
            yield Static(id="profile")
            yield Static(id="contract")
        with TabbedContent(id="case-tabs"):
            with TabPane("Timeline", id="tab-timeline"):
                timeline: DataTable = DataTable(id="timeline", cursor_type="row")
                timeline.add_columns(*TIMELINE_COLUMNS)
                yield timeline
            with TabPane("Incidents", id="tab-incidents"):
                incidents: DataTable = DataTable(id="incidents", cursor_type="row")
                incidents.add_columns(*INCIDENT_COLUMNS)
                yield incidents
            with TabPane("Fund", id="tab-fund"):
                fund: DataTable = DataTable(id="fund", cursor_type="row")
                fund.add_columns(*FUND_COLUMNS)
                yield fund
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        read_side = self.app.read_side
        queries = read_side.queries
        migrant_id = str(self.migrant_id)

        def load() -> tuple[Any, ...]:
            return (
                queries.get_case(migrant_id),
                read_side.case_timeline(migrant_id),
                queries.list_incidents(migrant_id=migrant_id, limit=200).rows,
                queries.case_disbursements(migrant_id),
            )

        self.app.call(load, then=self._show, group="case")

    def refresh_data(self) -> None:
        self.action_reload()

    def wants_change(self, change: Any) -> bool:
        # This case's own events; any incident or fund event may be one of its own.
        return change.context in ("incidents", "fund") or change.aggregate_id == str(
            self.migrant_id
        )

    def after_action(self, result: Any) -> None:
        if result is not None:
            self.action_reload()

    def _show(self, loaded: tuple[Any, ...]) -> None:
        detail, timeline, incidents, disbursements = loaded
        if detail is None:
            self.query_one("#case-title", Static).update("No such case (yet): reload with r")
            return
        self.detail, self.incidents = detail, incidents
        row = detail
        open_note = f" · {row.open_incidents} open incident(s)" if row.open_incidents else ""
        self.query_one("#case-title", Static).update(
            f"{row.case_number} · {row.full_name} · stage: {row.stage.replace('_', ' ')}{open_note}"
        )
        self.query_one("#profile", Static).update(_facts("Profile", profile(row)))
        self.query_one("#contract", Static).update(_facts("Contract", contract(row)))
        self._fill_timeline(timeline)
        self._fill_incidents(incidents)
        self._fill_fund(disbursements)

    def _fill_fund(self, disbursements: list[Any]) -> None:
        table = self.query_one("#fund", DataTable)
        table.clear()
        for d in disbursements:
            paid = "-" if d.paid_minor is None else f"{format_minor(d.paid_minor, d.currency)}"
            table.add_row(
                when(d.requested_at, with_time=False),
                d.category.replace("_", " "),
                f"{format_minor(d.amount_minor, d.currency)} {d.currency}",
                d.status,
                f"{d.approvals_given}/{d.approvers_needed}",
                paid,
                d.payment_reference or "-",
                key=d.disbursement_id,
            )

    def _fill_timeline(self, entries: list[TimelineEntry]) -> None:
        table = self.query_one("#timeline", DataTable)
        table.clear()
        self.timeline = {str(entry.notification_id): entry for entry in entries}
        for entry in entries:
            table.add_row(
                str(entry.notification_id),
                when(entry.recorded_at),
                when(entry.occurred_at, with_time=False),
                entry.actor_name or "Msafiri (system)",
                entry.actor_role.replace("_", " "),
                entry.event_type,
                entry.summary,
                key=str(entry.notification_id),
            )

    def _fill_incidents(self, incidents: list[IncidentRow]) -> None:
        table = self.query_one("#incidents", DataTable)
        table.clear()
        for incident in incidents:
            table.add_row(
                incident.incident_id[:8],
                incident.category.replace("_", " "),
                incident.severity,
                incident.status,
                incident.country,
                when(incident.occurred_at, with_time=False),
                incident.assistance_status.replace("_", " "),
                key=incident.incident_id,
            )

    # -- one timeline event in full ------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "timeline":
            self._open_entry(event.row_key.value)

    def action_event_details(self) -> None:
        table = self.query_one("#timeline", DataTable)
        if not table.row_count:
            self.app.notify("The timeline has no event to show yet", severity="warning")
            return
        self.query_one(TabbedContent).active = "tab-timeline"
        self._open_entry(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def _open_entry(self, key: str | None) -> None:
        from tui.app.screens.timeline_entry import TimelineEntryScreen

        entry = self.timeline.get(key or "")
        if entry is not None:
            self.app.push_screen(TimelineEntryScreen(entry))

    # -- actions ----------------------------------------------------------------

    def _pick(self, title: str, target: str) -> None:
        from tui.app.screens.actions import open_action
        from tui.app.screens.picker import ActionPicker

        app: Any = self.app
        actions = actions_for(app.session.role, target)
        if not actions:
            app.notify(f"A {app.session.role.value} has no {target} actions", severity="warning")
            return

        def chosen(action: Any) -> None:
            if action is not None:
                open_action(
                    app,
                    action,
                    migrant_id=self.migrant_id,
                    incident_id=self.incident_id,
                    context=self.context_line,
                    on_done=self.after_action,
                )

        app.push_screen(ActionPicker(title, actions), chosen)

    def action_case_actions(self) -> None:
        self._pick(f"Act on {self.context_line}", "case")

    def action_incident_actions(self) -> None:
        if self.incident_id is None:
            self.app.notify("This case has no incident to act on", severity="warning")
            return
        self.query_one(TabbedContent).active = "tab-incidents"
        self._pick(f"Incident {str(self.incident_id)[:8]} of {self.context_line}", "incident")

    def action_replay(self) -> None:
        from tui.app.screens.replay import ReplayScreen

        self.app.push_screen(ReplayScreen(self.migrant_id, self.context_line))

    def action_export(self) -> None:
        """The case's whole history as JSON Lines, in a worker."""
        from tui.app.exports import export_case

        if self.detail is None:
            return
        app: Any = self.app

        def done(result: tuple[Any, int]) -> None:
            path, written = result
            app.notify(f"Wrote {written} events to {path}", title="Exported")

        app.call(
            export_case,
            app.system,
            app.export_dir,
            self.migrant_id,
            self.detail.case_number,
            then=done,
            group="export",
        )

    def action_copy_id(self) -> None:
        if self.detail is not None:
            self.app.copy_to_clipboard(self.detail.case_number)
            self.app.notify(f"Copied {self.detail.case_number}")
