"""The migrant case lifecycle, told as narratives, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from domain.cases import commands as c
from domain.cases.consent import RecordConsent
from domain.cases.vocabulary import Stage
from domain.errors import (
    AlreadyExists,
    ConcurrentUpdate,
    IllegalTransition,
    InvalidCommand,
    NotAuthorised,
    NotFound,
)
from domain.incidents import commands as ic
from domain.values import Role
from msafiri.bootstrap import build_system
from tests.factories import days_ago, registration, send_abroad


def test_a_migrant_goes_abroad_returns_and_reintegrates(system, officers):
    # A registration officer registers Wanjiku and prepares her departure.
    migrant_id = send_abroad(system, officers)
    migrant = system.cases.get(migrant_id)
    assert migrant.stage is Stage.ON_SITE
    assert migrant.case_number.startswith("MS-")
    assert migrant.contract.monthly_wage.amount_minor == 150000

    # The attaché records a welfare check, a change of employer and a renewal.
    attache = officers.attache
    system.cases.execute(
        attache,
        c.RecordWelfareCheck(
            migrant_id=migrant_id, channel="phone_call", status="well", checked_on=days_ago(200)
        ),
    )
    system.cases.execute(
        attache,
        c.ChangeEmployer(
            migrant_id=migrant_id,
            employer_name="Al-Qahtani household",
            reason="transfer of sponsorship agreed",
            changed_on=days_ago(150),
        ),
    )
    migrant = system.cases.get(migrant_id)
    assert migrant.contract.employer_name == "Al-Qahtani household"

    # She returns, assisted, and the reintegration officer takes over.
    system.cases.execute(
        attache,
        c.RecordReturn(
            migrant_id=migrant_id,
            returned_on=days_ago(30),
            assisted=True,
            reason="contract_completed",
        ),
    )
    reintegrator = officers.reintegrator
    system.cases.execute(
        reintegrator,
        c.CertifySkills(
            migrant_id=migrant_id,
            trade="Housekeeping",
            level="Grade III",
            certificate_number="RPL-2026-7781",
            certified_on=days_ago(20),
        ),
    )
    # A referral shares her case with the partner: she consents first.
    system.cases.execute(
        reintegrator,
        RecordConsent(
            migrant_id=migrant_id,
            scope="referral_sharing",
            provider="Kakamega Returnees SACCO",
            given_on=days_ago(15),
        ),
    )
    referral = c.MakeReferral(
        migrant_id=migrant_id,
        service="sacco_membership",
        partner="Kakamega Returnees SACCO",
        referred_on=days_ago(15),
    )
    system.cases.execute(reintegrator, referral)
    system.cases.execute(
        reintegrator,
        c.RecordReferralOutcome(
            migrant_id=migrant_id,
            referral_id=referral.referral_id,
            outcome="completed",
            recorded_on=days_ago(5),
        ),
    )
    assert system.cases.get(migrant_id).stage is Stage.REINTEGRATION

    # The case is closed; later she re-migrates, which starts a new cycle.
    system.cases.execute(
        reintegrator,
        c.CloseCase(migrant_id=migrant_id, reason="reintegrated", closed_on=days_ago(2)),
    )
    system.cases.execute(
        officers.registrar, c.StartNewCycle(migrant_id=migrant_id, started_on=days_ago(1))
    )
    migrant = system.cases.get(migrant_id)
    assert (migrant.stage, migrant.cycle, migrant.contract) == (Stage.PRE_DEPARTURE, 2, None)


def test_every_event_records_actor_role_and_both_times(system, officers):
    migrant_id = send_abroad(system, officers)
    events = list(system.store.events.get(migrant_id))
    departed = next(e for e in events if type(e).__name__ == "Departed")
    # Who did it, in which role.
    assert departed.actor_id == officers.registrar.officer_id
    assert departed.actor_role is Role.REGISTRATION_OFFICER
    # When it happened (the officer's date) and when it was recorded (now), both aware UTC.
    assert departed.occurred_at.date() == days_ago(360)
    assert departed.timestamp.utcoffset().total_seconds() == 0
    assert departed.timestamp > departed.occurred_at


def test_illegal_transitions_are_refused_with_named_errors(system, officers):
    migrant_id = system.cases.register(officers.registrar, registration())
    # A return before departure.
    with pytest.raises(IllegalTransition, match="not abroad"):
        system.cases.execute(
            officers.attache,
            c.RecordReturn(
                migrant_id=migrant_id,
                returned_on=days_ago(1),
                assisted=False,
                reason="family_reasons",
            ),
        )
    # A departure without a contract.
    with pytest.raises(IllegalTransition, match="contract before"):
        system.cases.execute(
            officers.registrar, c.RecordDeparture(migrant_id=migrant_id, departed_on=days_ago(1))
        )
    # An incident on someone who never departed.
    with pytest.raises(IllegalTransition, match="has not departed"):
        system.incidents.report(
            officers.attache,
            ic.ReportIncident(
                migrant_id=migrant_id,
                category="unpaid_or_delayed_wages",
                severity="medium",
                occurred_at=f"{days_ago(3)}T08:00:00+03:00",
                channel="hotline",
                description="No salary for three months",
            ),
        )
    # An outcome for a referral that does not exist.
    with pytest.raises((NotFound, IllegalTransition)):
        system.cases.execute(
            officers.reintegrator,
            c.RecordReferralOutcome(
                migrant_id=migrant_id,
                referral_id="00000000-0000-4000-8000-000000000000",
                outcome="completed",
                recorded_on=days_ago(1),
            ),
        )
    # Nothing was stored by any refusal: the case is still at version 1.
    assert system.cases.get(migrant_id).version == 1


def test_roles_are_enforced_in_the_application_services(system, officers):
    # An attaché may not register migrants; an auditor may do nothing at all.
    with pytest.raises(NotAuthorised, match="labour_attache may not register"):
        system.cases.register(officers.attache, registration())
    migrant_id = system.cases.register(officers.registrar, registration())
    with pytest.raises(NotAuthorised):
        system.cases.execute(
            officers.auditor,
            c.CloseCase(migrant_id=migrant_id, reason="test", closed_on=days_ago(0)),
        )
    # Claiming a role one does not hold is refused too.
    impostor = officers.attache.model_copy(update={"role": Role.REGISTRATION_OFFICER})
    with pytest.raises(NotAuthorised, match="does not hold"):
        system.cases.register(impostor, registration(national_id="40000001", passport_number=None))
    # A revoked role stops working at once.
    from domain.officers.commands import DeactivateOfficer

    system.officers.deactivate(
        officers.admin, DeactivateOfficer(username="registrar", reason="left")
    )
    with pytest.raises(NotAuthorised, match="deactivated"):
        system.cases.register(officers.registrar, registration(national_id="40000002"))


def test_one_case_per_identity_document(system, officers):
    system.cases.register(officers.registrar, registration())
    with pytest.raises(AlreadyExists, match="already registered to case MS-"):
        system.cases.register(officers.registrar, registration(passport_number="BX9999999"))


def test_bad_input_names_the_field_and_stores_nothing(system, officers):
    before = system.store.recorder.max_notification_id()
    with pytest.raises(InvalidCommand) as refused:
        registration(national_id="12", phone="0712", county="Atlantis")
    fields = {field for field, _ in refused.value.errors}
    assert {"national_id", "phone", "county"} <= fields
    assert "47 counties" in str(refused.value)
    with pytest.raises(InvalidCommand, match="ends_on must be after starts_on"):
        c.RegisterContract.parse(
            {
                "migrant_id": "00000000-0000-4000-8000-000000000000",
                "destination_country": "QA",
                "employer_name": "X",
                "sector": "care_work",
                "job_title": "Carer",
                "monthly_wage": {"amount_minor": 1, "currency": "QAR"},
                "starts_on": "2026-01-01",
                "ends_on": "2025-01-01",
            }
        )
    with pytest.raises(InvalidCommand, match="currency"):
        c.RegisterContract.parse(
            {
                "migrant_id": "00000000-0000-4000-8000-000000000000",
                "destination_country": "QA",
                "employer_name": "X",
                "sector": "care_work",
                "job_title": "Carer",
                "monthly_wage": {"amount_minor": 100, "currency": "XXQ"},
                "starts_on": "2025-01-01",
                "ends_on": "2026-01-01",
            }
        )
    with pytest.raises(InvalidCommand, match="gbv_subtype is required"):
        ic.ReportIncident.parse(
            {
                "migrant_id": "00000000-0000-4000-8000-000000000000",
                "category": "sexual_harassment_or_violence",
                "severity": "high",
                "occurred_at": "2026-01-01T10:00:00Z",
                "channel": "walk_in",
                "description": "x",
            }
        )
    assert system.store.recorder.max_notification_id() == before


def test_two_writers_on_one_case_one_wins_the_other_gets_a_retryable_error(
    system, officers, settings
):
    migrant_id = send_abroad(system, officers)
    # A second process (another officer's terminal) opens the same database.
    other = build_system(settings)
    try:
        seen_here = system.cases.get(migrant_id)
        seen_there = other.cases.get(migrant_id)
        seen_here.record_welfare_check(
            officers.attache,
            c.RecordWelfareCheck(
                migrant_id=migrant_id, channel="phone_call", status="well", checked_on=days_ago(1)
            ),
        )
        seen_there.record_welfare_check(
            officers.attache2,
            c.RecordWelfareCheck(
                migrant_id=migrant_id,
                channel="home_visit",
                status="concerns",
                checked_on=days_ago(1),
            ),
        )
        system.store.save_all(seen_here)
        with pytest.raises(ConcurrentUpdate) as lost:
            other.store.save_all(seen_there)
        assert lost.value.retryable
        # And an officer submitting against a stale screen is told so, too.
        with pytest.raises(ConcurrentUpdate, match="changed since you opened it"):
            other.cases.execute(
                officers.attache2,
                c.RecordWelfareCheck(
                    migrant_id=migrant_id,
                    channel="home_visit",
                    status="concerns",
                    checked_on=days_ago(1),
                    expected_version=seen_there.version - 1,
                ),
            )
    finally:
        other.close()
    assert system.cases.get(migrant_id).version == seen_here.version


def test_a_registration_mistake_is_corrected_with_what_and_why(system, officers):
    from domain.cases.events import RegistrationCorrected

    migrant_id = system.cases.register(officers.registrar, registration())
    system.cases.execute(
        officers.registrar,
        c.CorrectRegistration(
            migrant_id=migrant_id,
            full_name="Wanjiku Mwangi Njoroge",
            date_of_birth="1996-04-21",
            reason="Name and date of birth as on the passport.",
        ),
    )
    migrant = system.cases.get(migrant_id)
    assert migrant.full_name == "Wanjiku Mwangi Njoroge"
    assert str(migrant.date_of_birth) == "1996-04-21"
    correction = list(system.store.events.get(migrant_id))[-1]
    assert isinstance(correction, RegistrationCorrected)
    assert correction.corrections["full_name"] == {
        "was": "Wanjiku Mwangi",
        "now": "Wanjiku Mwangi Njoroge",
    }
    with pytest.raises(IllegalTransition, match="nothing to correct"):
        system.cases.execute(
            officers.registrar,
            c.CorrectRegistration(
                migrant_id=migrant_id, full_name="Wanjiku Mwangi Njoroge", reason="Again."
            ),
        )
    with pytest.raises(InvalidCommand, match="at least one field"):
        c.CorrectRegistration.parse({"migrant_id": migrant_id, "reason": "Nothing."})
