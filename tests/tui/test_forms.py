"""Lifecycle forms generated from the command models, end to end on SQLite."""

from __future__ import annotations

from uuid import UUID

import pytest
from textual.widgets import DataTable, Input, Label, OptionList, Select, Static

from domain.cases.vocabulary import Stage
from domain.incidents import commands as ic
from tests import factories
from tests.tui.conftest import PASSWORD, SIZE, cells, fill, make_app, settle, sign_in, signed_in
from tui.app.screens.actions import ConfirmDiscard, FormScreen
from tui.app.screens.case_search import CaseSearchScreen
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
        assert "MigrantRegistered" in cells(timeline, 0)
        assert "Grace Wanjiru" in cells(timeline, 0)

        # Back on the search screen, the case is found as you type.
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press(*"wanj")
        await settle(pilot)
        cases = app.screen.query_one("#cases", DataTable)
        assert cases.row_count == 1
        assert cells(cases, 0)[1] == "Wanjiku Mwangi"


async def test_an_attache_reports_an_incident_from_the_case(system, officers):
    migrant_id = factories.send_abroad(system, officers)
    async with signed_in(system, "attache", case=migrant_id) as (app, pilot):
        # The case action picker lists what an attaché may do; pick the report.
        await pilot.press("a")
        await pilot.pause()
        picker = app.screen.query_one("#actions")
        titles = [str(picker.get_option_at_index(i).prompt) for i in range(picker.option_count)]
        # (An attaché may register a contract too: issue 16, docs/domain.md.)
        assert "incident: report" in titles and "case: register migrant" not in titles
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
        assert cells(incidents, 0)[3] == "reported"
        assert app.read_side.queries.get_case(str(migrant_id)).open_incidents == 1


# -- by key presses only, at the sizes officers use ------------------------------------

SIZES = [(80, 24), (100, 30), (160, 48)]


async def sign_in_by_keys(pilot, username: str) -> None:
    await pilot.press(*username, "enter", *PASSWORD, "enter")
    await settle(pilot)


async def open_case_by_keys(pilot, case_number: str) -> None:
    await pilot.press(*case_number)
    await settle(pilot)
    await pilot.press("enter")  # from the search box to the results
    await pilot.press("enter")  # open the highlighted case
    await settle(pilot)


async def pick_action(pilot, key: str) -> None:
    """Arrow down the action picker to `key`, then enter."""
    options = pilot.app.screen.query_one("#actions", OptionList)
    for _ in range(options.option_count):
        if options.get_option_at_index(options.highlighted).id == key:
            break
        await pilot.press("down")
    await pilot.press("enter")
    await settle(pilot)


async def choose(pilot, select: Select, value: str) -> None:
    """Open the focused select, arrow down to `value`, enter."""
    assert pilot.app.focused is select
    await pilot.press("enter")
    await pilot.pause()
    values = [v for _, v in select._options]
    for _ in range(values.index(value)):
        await pilot.press("down")
    await pilot.press("enter")
    await pilot.pause()
    assert select.value == value


def in_view(app, widget) -> bool:
    region = widget.region
    return bool(region.area) and app.screen.region.contains_region(region)


def an_incident(system, officers) -> tuple[UUID, UUID, str]:
    migrant_id = factories.send_abroad(system, officers)
    incident_id = system.incidents.report(
        officers.attache,
        ic.ReportIncident(
            migrant_id=migrant_id,
            category="physical_abuse",
            severity="high",
            occurred_at=f"{factories.days_ago(2).isoformat()}T09:00:00+00:00",
            channel="hotline",
            description="Beaten by the employer's son",
        ),
    )
    system.keep_current()
    return migrant_id, incident_id, system.read_models.queries.get_case(str(migrant_id)).case_number


async def request_assistance_by_keys(app, pilot, case_number: str, amount: str, currency: str):
    await sign_in_by_keys(pilot, "attache")
    await open_case_by_keys(pilot, case_number)
    assert isinstance(app.screen, CaseScreen)
    await pilot.press("i")  # incident actions, on the case's one incident
    await pilot.pause()
    await pick_action(pilot, "incident.request_assistance")
    form = app.screen
    assert isinstance(form, FormScreen)
    await choose(pilot, form.query_one("#f-kind", Select), "medical_care")
    await pilot.press("tab", *amount, "tab", *currency, "tab", *"Kings Faisal Hospital")
    await pilot.press("tab", *"Treatment after the assault.")
    return form


@pytest.mark.parametrize(
    ("size", "typed", "currency", "minor", "echoed"),
    [
        ((80, 24), "1,200.50", "KES", 120050, "1,200.50 KES"),
        ((100, 30), "12.345", "BHD", 12345, "12.345 BHD"),
        ((160, 48), "1200", "JPY", 1200, "1,200 JPY"),
    ],
    ids=["KES-80x24", "BHD-100x30", "JPY-160x48"],
)
async def test_an_assistance_estimate_is_typed_in_major_units_and_echoed(
    system, officers, size, typed, currency, minor, echoed
):
    _, incident_id, case_number = an_incident(system, officers)
    app = make_app(system)
    app.read_side.catch_up()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        form = await request_assistance_by_keys(app, pilot, case_number, typed, currency)
        # Before saving, the form says what it will save, beside the field.
        echo = form.query_one("#m-estimate", Static)
        assert str(echo.render()) == f"= {echoed}"
        echo.scroll_visible(animate=False, immediate=True)
        await pilot.pause()
        assert in_view(app, echo)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen), str(form.query_one("#form-error").render())
    [asked] = [
        e for e in system.store.events.get(incident_id) if type(e).__name__ == "AssistanceRequested"
    ]
    assert asked.estimate.amount_minor == minor and asked.estimate.currency == currency


async def test_more_decimals_than_the_currency_has_are_refused(system, officers):
    _, _, case_number = an_incident(system, officers)
    app = make_app(system)
    app.read_side.catch_up()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        form = await request_assistance_by_keys(app, pilot, case_number, "12.345", "KES")
        assert "KES has 2 decimals" in str(form.query_one("#m-estimate", Static).render())
        head = system.store.recorder.max_notification_id()
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        error = form.query_one("#e-estimate", Static)
        assert str(error.render()) == "✗ KES has 2 decimals"
        assert in_view(app, error)  # the form scrolled to the field in trouble
        assert system.store.recorder.max_notification_id() == head


async def test_registering_shows_every_problem_at_once_in_the_labels_words(system, officers):
    app = make_app(system)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await sign_in_by_keys(pilot, "registrar")
        await pilot.press("ctrl+n")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormScreen)
        labels = [str(label.render()) for label in form.query(".field-label").results(Label)]
        # "Optional" fields are never required; the one-of rule is on their labels.
        assert "National id - give a passport number or a national id" in labels
        assert not any("optional" in label and "passport" in label for label in labels)
        head = system.store.recorder.max_notification_id()
        await pilot.press("ctrl+s")
        await settle(pilot)
        # One save shows every rule: the required fields and the cross-field rule.
        for name in ("full_name", "sex", "date_of_birth", "phone", "county", "education"):
            assert error_beside(form, name) == "✗ is required", name
        for name in ("national_id", "passport_number"):
            assert error_beside(form, name) == "✗ give a national id or a passport number (or both)"
        summary = str(form.query_one("#form-error", Static).render())
        assert "full name" in summary and "_" not in summary
        # Typing into a field takes its mark away at once.
        assert app.focused is form.query_one("#f-full_name")
        await pilot.press(*"Wanjiku")
        assert error_beside(form, "full_name") == ""
        assert error_beside(form, "phone") == "✗ is required"
        # Esc on a changed form asks; n keeps it, y throws it away.
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDiscard)
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is form
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, CaseSearchScreen)
        assert system.store.recorder.max_notification_id() == head


async def test_esc_on_an_untouched_form_leaves_without_asking(system, officers):
    app = make_app(system)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await sign_in_by_keys(pilot, "registrar")
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CaseSearchScreen)


async def test_slash_in_the_focused_filter_box_is_not_typed_into_it(system, officers):
    factories.send_abroad(system, officers)
    app = make_app(system)
    app.read_side.catch_up()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await sign_in_by_keys(pilot, "auditor")
        await pilot.press("slash", *"attache", "slash")
        await settle(pilot)
        assert app.screen.query_one("#officer", Input).value == "attache"
        events = app.screen.query_one("#events", DataTable)
        assert events.row_count and {cells(events, i)[3] for i in range(events.row_count)} == {
            "attache"
        }
        # In a date box "/" is a character (the filter box is elsewhere).
        await pilot.press("tab", "tab", "tab", "2", "slash")
        assert app.screen.query_one("#since", Input).value == "2/"


async def test_a_part_approval_is_typed_in_the_requests_currency(system, officers):
    from tests import fund_helpers
    from tui.app.screens.fund import FundHomeScreen

    fund_helpers.open_fund(system, officers)
    migrant_id, incident_id = fund_helpers.incident_abroad(system, officers)
    disbursement_id = fund_helpers.request(
        system, officers.attache, migrant_id, incident_id, 45_000
    )
    app = make_app(system)
    app.read_side.catch_up()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await sign_in_by_keys(pilot, "fund")
        assert isinstance(app.screen, FundHomeScreen)
        await settle(pilot)
        await pilot.press("a")  # approve the request at the head of the queue
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        assert str(form.query_one("#l-amount_minor", Label).render()).startswith("Amount (in KES")
        await pilot.press(*"12,000")
        assert str(form.query_one("#m-amount_minor", Static).render()) == "= 12,000.00 KES"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FundHomeScreen)
    disbursement = system.ledger.disbursement(disbursement_id)
    assert [amount for _, amount, _ in disbursement.approvals] == [1_200_000]
