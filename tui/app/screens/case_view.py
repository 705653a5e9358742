"""One case: profile, stage, contract, the timeline of every event, incidents."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any
from uuid import UUID

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from domain.amounts import format_major
from domain.officers.access import CASE_OPEN, EXPORT
from domain.values import format_minor
from projections.queries import CaseRow, IncidentRow, TimelineEntry
from tui.app.catalogue import actions_for
from tui.app.reads import log_read
from tui.app.readside import when
from tui.app.widgets import facts_grid, literals


def timeline_columns(zone: str) -> tuple[str, ...]:
    """The timeline's headers: times and dates are the officer's, and the
    header says in which zone (msafiri/zones.py)."""
    return ("#", f"Recorded ({zone})", "Happened", "Who", "Role", "Event", "Details")


INCIDENT_COLUMNS = ("Incident", "Category", "Severity", "Status", "Country", "Happened", "Help")
FUND_COLUMNS = ("Requested", "Benefit", "Amount", "Status", "Approvals", "Paid", "Reference")
# Issue 16: money claims, amounts in major units of the claim's currency.
CLAIM_COLUMNS = (
    "Claim",
    "Kind",
    "Opened",
    "Claimed",
    "Recovered",
    "Outstanding",
    "Status",
    "Steps",
)


def _facts(title: str, facts: dict[str, str]) -> Table:
    return facts_grid(facts.items() or [("-", "nothing recorded")], title=title)


def profile(row: CaseRow, zone: tzinfo) -> dict[str, str]:
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
        "registered": when(row.registered_at, zone, with_time=False),
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


CLAIM_GROUPS = ("claim", "coverage")


def coverage_facts(rows: list[Any]) -> dict[str, str]:
    """The current contract's coverage: insurance, registration, agreements."""
    if not rows:
        return {}
    row = rows[0]
    insured = f"{row.insurer} {row.policy_number}, {row.valid_from} to {row.valid_until}"
    registered = f"{row.scheme}, since {row.registered_on}"
    return {
        "insured": insured if row.insured else "no",
        "social security": registered if row.registered else "not registered",
        "agreements": ", ".join(
            f"{kind}: {title}" for kind, title in (("BLA", row.bla), ("SSA", row.ssa)) if title
        )
        or "none in force",
    }


class CaseScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="case.back"),
        Binding("a", "case_actions", "Case actions", id="case.actions"),
        Binding("i", "incident_actions", "Incident actions", id="case.incident_actions"),
        Binding("c", "claim_actions", "Claims", id="case.claim_actions"),
        # Enter on a timeline row opens it too (the table's own row selection).
        Binding("d", "event_details", "Event", id="case.event_details"),
        # The screen refreshes itself when the read models move; reload stays
        # as a key but leaves the footer room for the rest at 120 columns.
        Binding("r", "reload", "Reload", id="case.reload", show=False),
        Binding("t", "next_tab", "Next tab", id="case.next_tab"),
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
        self.claims: list[Any] = []  # ClaimRow (projections/claims_queries.py)

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

    @property
    def claim_id(self) -> UUID | None:
        """The claim selected in the Claims tab (the target of claim actions)."""
        table = self.query_one("#claims", DataTable)
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
                timeline.add_columns(*timeline_columns(self.app.zone.name))
                yield timeline
            with TabPane("Incidents", id="tab-incidents"):
                incidents: DataTable = DataTable(id="incidents", cursor_type="row")
                incidents.add_columns(*INCIDENT_COLUMNS)
                yield incidents
            with TabPane("Fund", id="tab-fund"):
                fund: DataTable = DataTable(id="fund", cursor_type="row")
                fund.add_columns(*FUND_COLUMNS)
                yield fund
            with TabPane("Claims", id="tab-claims"):
                yield Static(id="coverage")
                claims: DataTable = DataTable(id="claims", cursor_type="row")
                claims.add_columns(*CLAIM_COLUMNS)
                yield claims
        yield Footer()

    def on_mount(self) -> None:
        log_read(self.app, CASE_OPEN, subject_kind="case", subject_id=self.migrant_id)
        self.action_reload()

    def action_reload(self) -> None:
        read_side = self.app.read_side
        queries = read_side.queries
        migrant_id = str(self.migrant_id)
        viewer = self.app.viewer

        def load() -> tuple[Any, ...]:
            return (
                queries.get_case(migrant_id),
                read_side.case_timeline(migrant_id, viewer),
                queries.list_incidents(migrant_id=migrant_id, limit=200, viewer=viewer).rows,
                queries.case_disbursements(migrant_id, viewer=viewer),
                queries.claims.for_case(viewer, migrant_id),
                queries.claims.coverage(migrant_id),
            )

        self.app.call(load, then=self._show, group="case")

    def refresh_data(self) -> None:
        self.action_reload()

    def wants_change(self, change: Any) -> bool:
        # This case's own events; any incident or fund event may be one of its own.
        return change.context in (
            "incidents",
            "fund",
            "claims",
            "coverage",
        ) or change.aggregate_id == str(self.migrant_id)

    def after_action(self, result: Any) -> None:
        if result is not None:
            self.action_reload()

    def _show(self, loaded: tuple[Any, ...]) -> None:
        detail, timeline, incidents, disbursements, claims, coverage = loaded
        if detail is None:
            self.query_one("#case-title", Static).update("No such case (yet): reload with r")
            return
        self.detail, self.incidents = detail, incidents
        row = detail
        n = row.open_incidents
        open_note = f" · {n} open incident{'' if n == 1 else 's'}" if n else ""
        self.query_one("#case-title", Static).update(
            Text(
                f"{row.case_number} · {row.full_name} · "
                f"stage: {row.stage.replace('_', ' ')}{open_note}"
            )
        )
        self.query_one("#profile", Static).update(_facts("Profile", profile(row, self.app.zone.tz)))
        self.query_one("#contract", Static).update(_facts("Contract", contract(row)))
        self._fill_timeline(timeline)
        self._fill_incidents(incidents)
        self._fill_fund(disbursements)
        self._fill_claims(claims, coverage)

    def _fill_claims(self, claims: list[Any], coverage: list[Any]) -> None:
        self.claims = claims
        self.query_one("#coverage", Static).update(_facts("Coverage", coverage_facts(coverage)))
        table = self.query_one("#claims", DataTable)
        table.clear()
        for c in claims:
            table.add_row(
                *literals(
                    c.claim_id[:8],
                    c.kind.replace("_", " "),
                    c.opened_on,
                    format_major(c.claimed_minor, c.currency),
                    format_major(c.recovered_minor, c.currency),
                    format_major(c.outstanding_minor, c.currency),
                    c.outcome.replace("_", " ") if c.outcome else c.status,
                    str(c.steps),
                ),
                key=c.claim_id,
            )

    def _fill_fund(self, disbursements: list[Any]) -> None:
        zone = self.app.zone.tz
        table = self.query_one("#fund", DataTable)
        table.clear()
        for d in disbursements:
            paid = "-" if d.paid_minor is None else format_major(d.paid_minor, d.currency)
            table.add_row(
                *literals(
                    when(d.requested_at, zone, with_time=False),
                    d.category.replace("_", " "),
                    f"{format_minor(d.amount_minor, d.currency)} {d.currency}",
                    d.status,
                    f"{d.approvals_given}/{d.approvers_needed}",
                    paid,
                    d.payment_reference or "-",
                ),
                key=d.disbursement_id,
            )

    def _fill_timeline(self, entries: list[TimelineEntry]) -> None:
        zone = self.app.zone.tz
        table = self.query_one("#timeline", DataTable)
        table.clear()
        self.timeline = {str(entry.notification_id): entry for entry in entries}
        for entry in entries:
            table.add_row(
                *literals(
                    str(entry.notification_id),
                    when(entry.recorded_at, zone),
                    when(entry.occurred_at, zone, with_time=False),
                    entry.actor_name or "Msafiri (system)",
                    entry.actor_role.replace("_", " "),
                    entry.event_type,
                    entry.summary,
                ),
                key=str(entry.notification_id),
            )

    def _fill_incidents(self, incidents: list[IncidentRow]) -> None:
        zone = self.app.zone.tz
        table = self.query_one("#incidents", DataTable)
        table.clear()
        for incident in incidents:
            table.add_row(
                *literals(
                    incident.incident_id[:8],
                    incident.category.replace("_", " "),
                    incident.severity,
                    incident.status,
                    incident.country,
                    when(incident.occurred_at, zone, with_time=False),
                    incident.assistance_status.replace("_", " "),
                ),
                key=incident.incident_id,
            )

    # -- one timeline event in full ------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "timeline":
            self._open_entry(event.row_key.value)
        elif event.data_table.id == "incidents" and event.row_key.value:
            from tui.app.screens.incident_view import IncidentScreen

            self.app.push_screen(IncidentScreen(UUID(event.row_key.value)))

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

    def _pick(self, title: str, target: str, actions: list[Any] | None = None) -> None:
        from tui.app.screens.actions import open_action
        from tui.app.screens.picker import ActionPicker

        app: Any = self.app
        actions = actions_for(app.session.role, target) if actions is None else actions
        if not actions:
            who = app.session.role.with_article.capitalize()
            app.notify(f"{who} has no {target} actions", severity="warning")
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
        """The selected incident's actions, with reporting a new one (an
        incident is reported on the case, so it is offered here too)."""
        app: Any = self.app
        self.query_one(TabbedContent).active = "tab-incidents"
        report = [a for a in actions_for(app.session.role, "case") if a.group == "incident"]
        if self.incident_id is None:
            if not report:
                app.notify("This case has no incident to act on", severity="warning")
                return
            self._pick(f"No incident yet on {self.context_line}", "incident", report)
            return
        on_it = actions_for(app.session.role, "incident")
        title = f"Incident {str(self.incident_id)[:8]} of {self.context_line}"
        self._pick(title, "incident", on_it + report)

    def action_claim_actions(self) -> None:
        """Claims (issue 16): open one on the selected incident (or, after
        return, for what is owed), or follow the selected claim; coverage."""
        app: Any = self.app
        self.query_one(TabbedContent).active = "tab-claims"
        on_case = [a for a in actions_for(app.session.role, "case") if a.group in CLAIM_GROUPS]
        on_claim = actions_for(app.session.role, "claim") if self.claim_id else []  # type: ignore[arg-type]
        title = f"Claims of {self.context_line}"
        if self.claim_id:
            title = f"Claim {str(self.claim_id)[:8]} of {self.context_line}"
        self._pick(title, "claim", on_claim + on_case)

    def action_next_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        order = ["tab-timeline", "tab-incidents", "tab-fund", "tab-claims"]
        tabs.active = order[(order.index(tabs.active) + 1) % len(order)]

    def action_replay(self) -> None:
        from tui.app.screens.replay import ReplayScreen

        self.app.push_screen(ReplayScreen(self.migrant_id, self.context_line))

    def action_export(self) -> None:
        """The case's whole history as JSON Lines, in a worker."""
        from tui.app.exports import export_case

        if self.detail is None:
            return
        app: Any = self.app
        log_read(
            app, EXPORT, subject_kind="case", subject_id=self.migrant_id, detail="case history"
        )

        def done(result: tuple[Any, int]) -> None:
            path, written = result
            app.notify(f"Wrote {written} events to {path}", title="Exported")
            app.offer_download(path)

        app.call(
            export_case,
            app.system,
            app.export_dir,
            self.migrant_id,
            self.detail.case_number,
            app.viewer,
            then=done,
            group="export",
        )

    def action_copy_id(self) -> None:
        if self.detail is not None:
            self.app.copy_to_clipboard(self.detail.case_number)
            self.app.notify(f"Copied {self.detail.case_number}")
