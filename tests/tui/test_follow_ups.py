"""Follow-up commands name what they follow up by picking it from a list
(a case's open referrals, an incident's open assistance requests), and long
text fields are multi-line editors."""

from __future__ import annotations

from uuid import UUID, uuid4

from textual.widgets import Select, TextArea

from domain.cases import commands as c
from domain.cases.consent import RecordConsent
from domain.incidents import commands as ic
from tests import factories
from tests.tui.conftest import fill, settle, signed_in
from tui.app.catalogue import BY_KEY
from tui.app.screens.actions import FormScreen, open_action
from tui.app.screens.case_view import CaseScreen


def returned_with_referrals(system, officers) -> tuple[UUID, UUID, UUID]:
    """A returnee with two referrals: one already completed, one open."""
    migrant_id = factories.send_abroad(system, officers)
    system.cases.execute(
        officers.attache,
        c.RecordReturn(
            migrant_id=migrant_id,
            returned_on=factories.days_ago(30),
            assisted=False,
            reason="contract_completed",
        ),
    )
    referrals = []
    for service, partner in (
        ("sacco_membership", "Kakamega Returnees SACCO"),
        ("job_placement", "Kazi Connect Agency"),
    ):
        consent = RecordConsent(
            migrant_id=migrant_id,
            scope="referral_sharing",
            provider=partner,
            given_on=factories.days_ago(9),
        )
        system.cases.execute(officers.reintegrator, consent)
        referral = c.MakeReferral(
            migrant_id=migrant_id,
            service=service,
            partner=partner,
            referred_on=factories.days_ago(9),
        )
        system.cases.execute(officers.reintegrator, referral)
        referrals.append(referral.referral_id)
    system.cases.execute(
        officers.reintegrator,
        c.RecordReferralOutcome(
            migrant_id=migrant_id,
            referral_id=referrals[0],
            outcome="completed",
            recorded_on=factories.days_ago(2),
        ),
    )
    return migrant_id, referrals[0], referrals[1]


async def test_a_referral_outcome_is_recorded_on_a_referral_picked_from_the_open_ones(
    system, officers
):
    migrant_id, completed, open_one = returned_with_referrals(system, officers)
    async with signed_in(system, "reintegrator", case=migrant_id) as (app, pilot):
        open_action(app, BY_KEY["case.referral_outcome"], migrant_id=migrant_id)
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        # Only the open referral is offered, by what it is; being the only
        # one, it is chosen already.
        picker = app.screen.query_one("#f-referral_id", Select)
        assert [label for label, _ in app.screen.query_one("CommandForm").specs[0].options] == [
            f"job placement · Kazi Connect Agency · referred {factories.days_ago(9)}"
        ]
        assert picker.value == str(open_one)
        fill(
            app.screen,
            outcome="ongoing",
            notes="Interviewed twice.\nSecond interview went well.",
        )
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
    events = list(system.store.events.get(migrant_id))
    last = events[-1]
    assert type(last).__name__ == "ReferralOutcomeRecorded"
    assert (last.referral_id, last.outcome) == (open_one, "ongoing")
    # The multi-line notes are kept as typed.
    assert last.notes == "Interviewed twice.\nSecond interview went well."
    assert completed != open_one


async def test_with_no_open_referral_there_is_nothing_to_pick_and_no_form(system, officers):
    migrant_id, _, open_one = returned_with_referrals(system, officers)
    system.cases.execute(
        officers.reintegrator,
        c.RecordReferralOutcome(
            migrant_id=migrant_id,
            referral_id=open_one,
            outcome="declined",
            recorded_on=factories.days_ago(1),
        ),
    )
    async with signed_in(system, "reintegrator", case=migrant_id) as (app, pilot):
        open_action(app, BY_KEY["case.referral_outcome"], migrant_id=migrant_id)
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert any("no open referral" in n.message for n in app._notifications)


async def test_assistance_provided_names_a_request_picked_from_the_open_ones(system, officers):
    from tests import fund_helpers

    fund_helpers.open_fund(system, officers)
    migrant_id, incident_id = fund_helpers.incident_abroad(system, officers)
    counselling = uuid4()  # help the fund does not pay for: no estimate
    system.incidents.execute(
        officers.attache,
        ic.RequestAssistance(
            incident_id=incident_id,
            request_id=counselling,
            kind="counselling",
            justification="Distressed after the fall.",
        ),
    )
    shelter = fund_helpers.request_assistance(system, officers, incident_id, "shelter", 12_000)
    async with signed_in(system, "attache", case=migrant_id) as (app, pilot):
        open_action(app, BY_KEY["incident.provided"], incident_id=incident_id)
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        picker = app.screen.query_one("#f-request_id", Select)
        options = {value: str(label) for label, value in picker._options if value != Select.NULL}
        assert set(options) == {str(counselling), str(shelter)}
        assert options[str(shelter)].startswith("shelter · 12,000.00 KES to Kings Faisal Hospital")
        # Two to choose from: none is chosen for the officer, and saving
        # without one says so beside the list.
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        assert str(app.screen.query_one("#e-request_id").render()).startswith("✗")
        picker.value = str(counselling)
        notes = app.screen.query_one("#f-notes", TextArea)
        notes.load_text("Three sessions with the embassy counsellor.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
    assert system.incidents.get(incident_id).assistance[counselling] == "provided"
