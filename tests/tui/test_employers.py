"""Pilot story (issue 16): an attaché registers a contract with a
watchlisted employer - chosen from the registry as she types its name - is
warned, writes a justification that is recorded, and the employer's screen
shows its history; a fund officer sees the same counts, never a record."""

from __future__ import annotations

from uuid import uuid4

from textual.widgets import DataTable, Input, Static

from domain.employers import commands as ec
from domain.incidents import commands as ic
from domain.values import utcnow
from tests.employer_helpers import contract_with, employer, list_party, oriented_migrant
from tests.factories import days_ago, send_abroad
from tests.tui.conftest import fill, settle, signed_in
from tui.app.catalogue import BY_KEY
from tui.app.screens.actions import FormScreen, open_action
from tui.app.screens.employer_search import EmployerSearchScreen
from tui.app.screens.employer_view import EmployerScreen


def _history_of(system, officers):
    """A listed household with a placement and a restricted incident behind it."""
    harbi = employer(system, officers.registrar)
    abroad = send_abroad(system, officers, national_id="28887777", passport_number="AK2222333")
    from domain.cases import commands as c

    system.cases.execute(
        officers.registrar, c.LinkContractParties(migrant_id=abroad, employer_id=harbi)
    )
    from datetime import timedelta

    system.incidents.report(
        officers.attache,
        ic.ReportIncident(
            incident_id=uuid4(),
            migrant_id=abroad,
            category="sexual_harassment_or_violence",
            gbv_subtype="sexual_assault",
            severity="critical",
            occurred_at=utcnow() - timedelta(days=20),
            reported_at=utcnow() - timedelta(days=19),
            channel="hotline",
            description="What she told the hotline.",
        ),
    )
    list_party(system, officers.attache2, officers.registrar_checker, harbi, "Abuse reported")
    return harbi


async def test_attache_is_warned_justifies_and_sees_the_employers_history(system, officers):
    from tests.employer_helpers import supervisor

    officers.registrar_checker = supervisor(system, officers)
    harbi = _history_of(system, officers)
    migrant_id = oriented_migrant(system, officers)
    async with signed_in(system, "attache") as (app, pilot):
        open_action(app, BY_KEY["case.contract"], migrant_id=migrant_id, context="Case")
        await settle(pilot)
        # The registry is offered first: a similar name in the country.
        picker = app.screen
        assert isinstance(picker, EmployerSearchScreen)
        picker.query_one("#country", Input).value = "SA"
        picker.query_one("#search", Input).value = "al harbi hsehold"
        await settle(pilot)
        table = picker.query_one("#parties", DataTable)
        assert table.row_count == 1
        assert "listed" in str(table.get_row_at(0)[4])
        table.focus()
        await pilot.press("enter")
        await settle(pilot)
        # The agencies' picker follows (tests/tui/test_agency_pick.py): none here.
        assert isinstance(app.screen, EmployerSearchScreen)
        assert app.screen.party_kind == "agency"
        await pilot.press("escape")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        assert "on the watchlist" not in str(form.query_one("#form-context", Static).render())
        assert "listed" in str(form.query_one("#form-context", Static).render())
        command = contract_with(migrant_id, employer_id=harbi)
        fill(
            form,
            destination_country="SA",
            sector="domestic_work",
            job_title="Housemaid",
            monthly_wage={"amount": "1,500.00", "currency": "SAR"},
            starts_on=str(command.starts_on),
            ends_on=str(command.ends_on),
        )
        head = system.store.recorder.max_notification_id()
        await pilot.press("ctrl+s")
        await settle(pilot)
        # Warned beside the justification, with the reason; nothing stored.
        warned = str(form.query_one("#e-justification", Static).render())
        assert "watchlist" in warned and "Abuse reported" in warned
        assert isinstance(app.screen, FormScreen)
        assert system.store.recorder.max_notification_id() == head
        fill(form, justification="Household visited by the mission; weekly calls agreed")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, FormScreen)
        contract = system.cases.get(migrant_id).contract
        assert contract.employer_id == harbi
        recorded = [
            e for e in system.store.events.get(migrant_id)
            if type(e).__name__ == "ContractWarningJustified"
        ]  # fmt: skip
        assert recorded[0].justification.startswith("Household visited")

        # The employer's screen: placements, incidents as counts, watchlist.
        app.read_side.catch_up()
        app.push_screen(EmployerScreen(str(harbi)))
        await settle(pilot)
        shown = str(app.screen.query_one("#employer-history", Static).render())
        assert "watchlist: listed: Abuse reported" in shown
        assert "migrants placed: 2" in shown
        assert "sexual harassment or violence, critical: 1 (1 open)" in shown
        assert "restricted: counts only" in shown
        assert "hotline" not in shown and "sexual_assault" not in shown
        assert "claims: 0 open, 0 with money recovered" in shown


async def test_a_fund_officer_sees_the_counts_only(system, officers):
    from tests.employer_helpers import supervisor

    officers.registrar_checker = supervisor(system, officers)
    harbi = _history_of(system, officers)
    async with signed_in(system, "fund") as (app, pilot):
        app.action_employers()
        await settle(pilot)
        screen = app.screen
        screen.query_one("#country", Input).value = "SA"
        screen.query_one("#search", Input).value = "harbi"
        await settle(pilot)
        table = screen.query_one("#parties", DataTable)
        table.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, EmployerScreen) and app.screen.party_id == str(harbi)
        shown = str(app.screen.query_one("#employer-history", Static).render())
        assert "1 (1 open) (restricted: counts only)" in shown
        assert "What she told" not in shown and "assault" not in shown
    assert ec and days_ago  # builders used above
