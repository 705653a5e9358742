"""The recruitment agency of a contract is chosen by name, like its employer
(issue 16): after the employer's picker, the agencies' picker offers the
registered agencies whose name starts with or is like what the officer
types, with their licence; Enter chooses, Esc goes on without one. The
form shows the agency on its context line (a licence that is not valid as a
warning) and never asks for an agency id."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Label, Static

from domain.employers import commands as ec
from domain.officers.commands import SetPassword
from msafiri.bootstrap import build_system
from msafiri.settings import Settings
from tests.conftest import Officers
from tests.employer_helpers import agency, employer, oriented_migrant
from tests.factories import days_ago, send_abroad
from tests.tui.conftest import PASSWORD, cells, fill, make_app, settle, sign_in, signed_in
from tests.tui.test_visible import inside, screen_text
from tui.app.catalogue import BY_KEY
from tui.app.screens.actions import FormScreen, open_action
from tui.app.screens.case_view import CaseScreen
from tui.app.screens.employer_search import EmployerSearchScreen

STARTS = days_ago(30)
CONTRACT = {
    "destination_country": "SA",
    "sector": "domestic_work",
    "job_title": "Housemaid",
    "monthly_wage": {"amount": "1,500.00", "currency": "SAR"},
    "starts_on": str(STARTS),
    "ends_on": str(STARTS + timedelta(days=730)),
}


async def open_contract_form(pilot) -> None:
    """On the case: `a`, Enter on "case: register contract" (an attaché's first)."""
    await pilot.press("a")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


async def pick(pilot, kind: str, typed: str | None) -> EmployerSearchScreen:
    """Type part of a name into the picker of `kind`, Enter to the list and
    Enter to choose the first offered; None: Esc (none chosen)."""
    picker = pilot.app.screen
    assert isinstance(picker, EmployerSearchScreen) and picker.party_kind == kind
    if typed is None:
        await pilot.press("escape")
    else:
        await pilot.press(*typed)
        await settle(pilot)
        await pilot.press("enter", "enter")
    await settle(pilot)
    return picker


def context_of(form: FormScreen) -> str:
    return str(form.query_one("#form-context", Static).render())


def justified(system, migrant_id) -> list:
    events = system.store.events.get(migrant_id)
    return [e for e in events if type(e).__name__ == "ContractWarningJustified"]


async def test_attache_picks_employer_and_agency_by_name_and_the_contract_carries_both(
    system, officers
):
    harbi = employer(system, officers.registrar)
    gulf = agency(system, officers.registrar)
    agency(system, officers.registrar, name="Coast Overseas Ltd", licence_number="PREA-0077")
    migrant_id = oriented_migrant(system, officers)
    async with signed_in(system, "attache", case=migrant_id) as (app, pilot):
        await open_contract_form(pilot)
        await pick(pilot, "employer", "al harb")  # the start of the name
        # The agencies' picker follows; a typo still finds the one meant.
        picker = app.screen
        assert isinstance(picker, EmployerSearchScreen) and picker.party_kind == "agency"
        assert "Choose the contract's recruitment agency" in screen_text(app)
        await pilot.press(*"nairobi gulf recruters")
        await settle(pilot)
        table = picker.query_one("#parties", DataTable)
        assert table.row_count == 1
        row = cells(table, 0)
        assert row[1] == "Nairobi Gulf Recruiters Ltd"
        assert row[2].startswith("licence valid until")
        await pilot.press("enter", "enter")
        await settle(pilot)

        form = app.screen
        assert isinstance(form, FormScreen)
        line = context_of(form)
        assert "Employer: Al-Harbi household (Riyadh, SA)" in line
        assert "Agency: Nairobi Gulf Recruiters Ltd (PREA-0042, licence valid until" in line
        assert "justification is required" not in line
        # Neither id is a field to type, nor the names the registry gives.
        for hidden in ("agency_id", "employer_id", "recruitment_agency", "employer_name"):
            assert not form.query(f"#f-{hidden}"), hidden
        fill(form, **CONTRACT)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, FormScreen)

        contract = system.cases.get(migrant_id).contract
        assert (contract.employer_id, contract.agency_id) == (harbi, gulf)
        assert contract.recruitment_agency == "Nairobi Gulf Recruiters Ltd"
        app.read_side.catch_up()
        row = app.read_side.queries.get_case(str(migrant_id))
        assert (row.employer_id, row.agency_id) == (str(harbi), str(gulf))
        assert not justified(system, migrant_id)


async def test_a_revoked_licence_is_seen_and_needs_a_justification(system, officers):
    employer(system, officers.registrar)
    revoked = agency(system, officers.registrar, name="Nairobi Gulf Recruiters Ltd")
    system.employers.execute(
        officers.registrar,
        ec.RevokeAgencyLicence(party_id=revoked, reason="fee charging", revoked_on=days_ago(5)),
    )
    migrant_id = oriented_migrant(system, officers)
    async with signed_in(system, "attache", case=migrant_id) as (app, pilot):
        await open_contract_form(pilot)
        await pick(pilot, "employer", "al harbi")
        picker = app.screen
        await pilot.press(*"nairobi")
        await settle(pilot)
        # Seen in the list before it is chosen.
        assert cells(picker.query_one("#parties", DataTable), 0)[2] == (
            "licence revoked: fee charging"
        )
        await pilot.press("enter", "enter")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        line = context_of(form)
        assert "licence revoked: fee charging" in line
        assert "⚠ a written justification is required" in line
        label = str(form.query_one("#l-justification", Label).render())
        assert "agency licence not valid" in label and "optional" not in label

        fill(form, **CONTRACT)
        head = system.store.recorder.max_notification_id()
        await pilot.press("ctrl+s")
        await settle(pilot)
        # Refused: the domain's warning beside the justification, nothing stored.
        assert app.screen is form
        warned = str(form.query_one("#e-justification", Static).render())
        assert "revoked" in warned and "fee charging" in warned
        assert system.store.recorder.max_notification_id() == head
        assert system.cases.get(migrant_id).contract is None

        fill(form, justification="The migrant signed before the revocation; NEA informed")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, FormScreen)
    assert system.cases.get(migrant_id).contract.agency_id == revoked
    [record] = justified(system, migrant_id)
    assert record.agency_id == revoked and "revoked" in record.warnings[0]
    assert record.justification.startswith("The migrant signed")


async def test_esc_on_the_agency_picker_registers_a_contract_without_an_agency(system, officers):
    harbi = employer(system, officers.registrar)
    agency(system, officers.registrar)
    migrant_id = oriented_migrant(system, officers)
    async with signed_in(system, "attache", case=migrant_id) as (app, pilot):
        await open_contract_form(pilot)
        await pick(pilot, "employer", "al harbi")
        await pick(pilot, "agency", None)
        form = app.screen
        assert isinstance(form, FormScreen)
        assert "Agency:" not in context_of(form) and "Employer: Al-Harbi" in context_of(form)
        assert not form.query("#f-agency_id")
        fill(form, **CONTRACT)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, FormScreen)
    contract = system.cases.get(migrant_id).contract
    assert contract.employer_id == harbi
    assert contract.agency_id is None and contract.recruitment_agency is None


async def test_link_a_free_text_contract_then_renew_with_its_agency_warned(system, officers):
    """A contract from before the registries is linked by name; renewing it
    later shows the agency's licence, now revoked, before saving."""
    migrant_id = send_abroad(system, officers)  # free-text employer and agency
    harbi = employer(system, officers.registrar)
    gulf = agency(system, officers.registrar)
    async with signed_in(system, "attache", case=migrant_id) as (app, pilot):
        open_action(app, BY_KEY["case.link_parties"])
        await settle(pilot)
        await pick(pilot, "employer", "al harbi")
        await pick(pilot, "agency", "nairobi gulf")
        form = app.screen
        assert isinstance(form, FormScreen)
        assert "Agency: Nairobi Gulf Recruiters Ltd" in context_of(form)
        assert not form.query("#f-agency_id") and not form.query("#f-employer_id")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, FormScreen)
        contract = system.cases.get(migrant_id).contract
        assert (contract.employer_id, contract.agency_id) == (harbi, gulf)

        system.employers.execute(
            officers.registrar,
            ec.RevokeAgencyLicence(party_id=gulf, reason="fee charging", revoked_on=days_ago(1)),
        )
        app.read_side.catch_up()
        await pilot.press("r")
        await settle(pilot)
        open_action(app, BY_KEY["case.renew"])
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        line = context_of(form)
        assert "Employer: Al-Harbi household" in line
        assert "licence revoked: fee charging" in line and "justification is required" in line


@pytest.fixture
def layout_system(tmp_path):
    """SQLite only: where a widget is drawn does not depend on the backend
    (the stories above, which store what was chosen, run on both)."""
    system = build_system(Settings(database_url=f"sqlite:///{tmp_path / 'msafiri.db'}"))
    yield system
    system.close()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_picked_contract_form_shows_every_label_and_save(layout_system, size):
    system = layout_system
    officers = Officers(system)
    system.officers.set_password(
        officers.attache, SetPassword(username="attache", password=PASSWORD)
    )
    employer(system, officers.registrar)
    revoked = agency(system, officers.registrar)
    system.employers.execute(
        officers.registrar,
        ec.RevokeAgencyLicence(party_id=revoked, reason="fee charging", revoked_on=days_ago(5)),
    )
    migrant_id = oriented_migrant(system, officers)
    app = make_app(system)
    app.read_side.catch_up()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await sign_in(pilot, "attache")
        app.push_screen(CaseScreen(migrant_id))
        await settle(pilot)
        await open_contract_form(pilot)
        await pick(pilot, "employer", "al harbi")
        picker = app.screen
        await pilot.press(*"nairobi")
        await settle(pilot)
        # The picker's title, the agency and its licence are on screen.
        text = screen_text(app)
        assert "recruitment agency" in text and "Nairobi Gulf" in text
        assert "licence revoked" in text
        await pilot.press("enter", "enter")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen) and picker is not form
        page = form.query_one("#form-page", VerticalScroll)
        context = form.query_one("#form-context", Static)
        assert inside(app, context, page)
        text = screen_text(app)
        assert "Agency: Nairobi Gulf Recruiters Ltd" in text
        wanted = [*form.query(".field-label").results(Label), form.query_one("#save")]
        for widget in wanted:
            widget.scroll_visible(animate=False, immediate=True)
            await pilot.pause()
            what = str(widget.render()) if isinstance(widget, Label) else "Save"
            assert inside(app, widget, page), (size, what)
