"""Lifecycle forms generated from the command models, end to end on SQLite."""

from __future__ import annotations

from textual.widgets import DataTable, Static

from domain.cases.vocabulary import Stage
from tests import factories
from tests.tui.conftest import SIZE, fill, make_app, settle, sign_in, signed_in
from tui.app.screens.actions import FormScreen
from tui.app.screens.case_view import CaseScreen

REGISTRATION = {
    "full_name": "Wanjiku Mwangi",
    "sex": "female",
    "date_of_birth": "1996-04-12",
    "national_id": "31234567",
    "phone": "+254712345678",
    "county": "Kakamega",
    "education": "secondary",
    "skills": "housekeeping, childcare",
}


def error_beside(screen, field: str) -> str:
    return str(screen.query_one(f"#e-{field}", Static).render())


async def test_a_refused_field_shows_beside_it_and_nothing_is_stored(system, officers):
    app = make_app(system)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await sign_in(pilot, "registrar")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        fill(app.screen, **{**REGISTRATION, "phone": "0712 345 678"})
        head = system.store.recorder.max_notification_id()
        await pilot.press("ctrl+s")
        await settle(pilot)
        # The rule is written beside the phone field; the form stays open.
        assert "international form" in error_beside(app.screen, "phone")
        assert error_beside(app.screen, "full_name") == ""
        assert isinstance(app.screen, FormScreen)
        # Nothing reached the store.
        assert system.store.recorder.max_notification_id() == head


async def test_a_cross_field_rule_lands_beside_the_field_it_names(system, officers):
    app = make_app(system)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await sign_in(pilot, "registrar")
        await pilot.press("ctrl+n")
        await pilot.pause()
        fill(app.screen, **{**REGISTRATION, "date_of_birth": "2015-01-01"})
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "must be 18 to 75" in error_beside(app.screen, "date_of_birth")


async def test_registering_opens_the_new_case_with_its_timeline(system, officers):
    app = make_app(system)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await sign_in(pilot, "registrar")
        await pilot.press("ctrl+n")
        await pilot.pause()
        fill(app.screen, **REGISTRATION)
        await pilot.press("ctrl+s")
        await settle(pilot)
        # Saved: the case opens, read from the read models.
        assert isinstance(app.screen, CaseScreen)
        case = app.read_side.queries.get_case(str(app.screen.migrant_id))
        assert case.full_name == "Wanjiku Mwangi" and case.stage == Stage.PRE_DEPARTURE
        title = str(app.screen.query_one("#case-title", Static).render())
        assert case.case_number in title
        timeline = app.screen.query_one("#timeline", DataTable)
        assert timeline.row_count == 1
        assert "MigrantRegistered" in timeline.get_row_at(0)
        assert "Grace Wanjiru" in timeline.get_row_at(0)

        # Back on the search screen, the case is found as you type.
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press(*"wanj")
        await settle(pilot)
        cases = app.screen.query_one("#cases", DataTable)
        assert cases.row_count == 1
        assert cases.get_row_at(0)[1] == "Wanjiku Mwangi"


async def test_an_attache_reports_an_incident_from_the_case(system, officers):
    migrant_id = factories.send_abroad(system, officers)
    async with signed_in(system, "attache", case=migrant_id) as (app, pilot):
        # The case action picker lists what an attaché may do; pick the report.
        await pilot.press("a")
        await pilot.pause()
        picker = app.screen.query_one("#actions")
        titles = [str(picker.get_option_at_index(i).prompt) for i in range(picker.option_count)]
        assert "incident: report" in titles and "case: register contract" not in titles
        picker.highlighted = titles.index("incident: report")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        yesterday = factories.days_ago(1).isoformat()
        fill(
            app.screen,
            category="unpaid_or_delayed_wages",
            severity="high",
            occurred_at=f"{yesterday} 09:30",
            channel="hotline",
            description="Six months of wages unpaid",
        )
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        incidents = app.screen.query_one("#incidents", DataTable)
        assert incidents.row_count == 1
        assert incidents.get_row_at(0)[3] == "reported"
        assert app.read_side.queries.get_case(str(migrant_id)).open_incidents == 1
