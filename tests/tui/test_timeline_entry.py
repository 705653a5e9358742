"""Reading one timeline event in full: the timeline's Details column is one
line per event (and the read model keeps 300 characters of it); enter on a
row opens the whole event - who, role, when recorded, when it happened, the
summary and every field recorded."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import DataTable, Static, TabbedContent

from domain.incidents import commands as ic
from tests import fund_helpers
from tests.tui.conftest import SIZE, settle, signed_in
from tui.app.screens.case_view import CaseScreen
from tui.app.screens.timeline_entry import TimelineEntryScreen

OUTCOME = (
    "Discharged from hospital after surgery on the left wrist; the employer paid the "
    "first two weeks of treatment and then stopped, so the embassy's welfare desk "
    "arranged a follow-up with the orthopaedic clinic, a translator for the "
    "consultation and a letter to the employer about the unpaid sick leave. The worker "
    "signed the settlement in the attaché's presence, kept a copy of every receipt, and "
    "asked for the case to stay open until the last instalment reaches her M-Pesa account."
)


def shown(static: Static) -> str:
    """What a Static shows, as plain words (wrapped lines joined again)."""
    console = Console(width=SIZE[0], record=True, color_system=None, file=io.StringIO())
    console.print(static.content)
    return " ".join(console.export_text().split())


async def test_enter_on_a_timeline_row_shows_the_whole_event(system, officers):
    fund_helpers.open_fund(system, officers)
    migrant_id, incident_id = fund_helpers.incident_abroad(system, officers)
    system.incidents.execute(
        officers.attache, ic.ResolveIncident(incident_id=incident_id, outcome=OUTCOME)
    )
    assert len(OUTCOME) > 300  # longer than the timeline keeps, far wider than the screen
    async with signed_in(system, "attache", case=migrant_id) as (app, pilot):
        case = app.screen
        assert isinstance(case, CaseScreen)
        table = case.query_one("#timeline", DataTable)
        [entry] = [e for e in case.timeline.values() if e.event_type == "IncidentResolved"]
        row = table.get_row(str(entry.notification_id))
        assert OUTCOME not in row[-1]  # the table's one line is cut

        # Enter on the highlighted row opens the event in full.
        table.focus()
        table.move_cursor(row=table.get_row_index(str(entry.notification_id)))
        await pilot.press("enter")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, TimelineEntryScreen) and modal.entry == entry
        facts = shown(modal.query_one("#entry-facts", Static))
        assert "who Peter Otieno" in facts and str(officers.attache.officer_id) in facts
        assert "role labour attache" in facts
        recorded = entry.recorded_at[:19].replace("T", " ")
        assert f"recorded {recorded} UTC" in facts  # to the second
        assert f"happened {entry.occurred_at[:19].replace('T', ' ')} UTC" in facts
        assert f"about incident {incident_id}" in facts
        assert shown(modal.query_one("#entry-summary", Static)) == " ".join(entry.summary.split())
        # Every field as recorded: the whole outcome, not the 300 characters kept.
        assert modal.recorded is not None and modal.recorded.payload["outcome"] == OUTCOME
        assert f"outcome {OUTCOME}" in shown(modal.query_one("#entry-recorded", Static))

        # Escape goes back to the case, where it was.
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is case
        assert table.cursor_row == table.get_row_index(str(entry.notification_id))


async def test_d_shows_the_highlighted_event_from_any_tab_with_money_in_words(system, officers):
    fund_helpers.open_fund(system, officers)
    migrant_id, incident_id = fund_helpers.incident_abroad(system, officers)
    fund_helpers.request_assistance(system, officers, incident_id, "medical_care", 80_000)
    async with signed_in(system, "attache", case=migrant_id) as (app, pilot):
        case = app.screen
        tabs = case.query_one(TabbedContent)
        tabs.active = "tab-incidents"
        await pilot.pause()
        table = case.query_one("#timeline", DataTable)
        [entry] = [e for e in case.timeline.values() if e.event_type == "AssistanceRequested"]
        table.move_cursor(row=table.get_row_index(str(entry.notification_id)))
        await pilot.press("d")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, TimelineEntryScreen) and modal.entry == entry
        assert tabs.active == "tab-timeline"
        details = shown(modal.query_one("#entry-recorded", Static))
        assert "estimate 80,000.00 KES" in details
        assert "payee Kings Faisal Hospital" in details
        await pilot.press("enter")  # enter closes it too
        await settle(pilot)
        assert app.screen is case
