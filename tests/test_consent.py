"""A migrant's consents: recorded and withdrawn on the case; a referral needs
the matching consent or records its legal basis; after a withdrawal of
partner sharing the NATS stream holds nothing new for the person. On SQLite
and PostgreSQL, against a real JetStream server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from domain.cases import commands as c
from domain.cases.consent import (
    ConsentRecorded,
    ConsentScope,
    ConsentWithdrawn,
    LegalBasis,
    RecordConsent,
    WithdrawConsent,
)
from domain.errors import IllegalTransition, InvalidCommand, NotAuthorised
from domain.incidents import commands as ic
from domain.model import Actor
from domain.officers.commands import RegisterOfficer
from domain.values import Role
from msafiri.demo.officers import ensure_demo_officers
from tests import test_nats
from tests.factories import days_ago, send_abroad
from tests.test_fund_cli import run
from tests.test_nats import publish_all, read_stream

# The NATS tests' fixtures (a real JetStream server, a stream per test).
nats_url = test_nats.nats_url
nats_settings = test_nats.nats_settings
nats_system = test_nats.nats_system

SACCO = "Kakamega Returnees SACCO"


def returned(system, officers, **registration) -> object:
    migrant_id = send_abroad(system, officers, **registration)
    system.cases.execute(
        officers.attache,
        c.RecordReturn(
            migrant_id=migrant_id,
            returned_on=days_ago(30),
            assisted=False,
            reason="contract_completed",
        ),
    )
    return migrant_id


def referral(migrant_id, partner: str = SACCO, **fields) -> c.MakeReferral:
    return c.MakeReferral(
        migrant_id=migrant_id,
        service="sacco_membership",
        partner=partner,
        referred_on=days_ago(10),
        **fields,
    )


def consent(migrant_id, scope: str, provider: str | None = None) -> RecordConsent:
    return RecordConsent(
        migrant_id=migrant_id, scope=scope, provider=provider, given_on=days_ago(12)
    )


def withdrawal(migrant_id, scope: str, provider: str | None = None) -> WithdrawConsent:
    return WithdrawConsent(
        migrant_id=migrant_id, scope=scope, provider=provider, withdrawn_on=days_ago(1)
    )


def test_a_referral_without_consent_is_refused_or_records_its_legal_basis(system, officers):
    migrant_id = returned(system, officers)
    cases, officer = system.cases, officers.reintegrator
    version = cases.get(migrant_id).version

    with pytest.raises(IllegalTransition, match=f"no consent to share with {SACCO}.*legal_basis"):
        cases.execute(officer, referral(migrant_id))
    assert cases.get(migrant_id).version == version  # nothing stored

    # Without consent, but on a lawful basis: stored with the basis.
    urgent = referral(migrant_id, "Nairobi Trauma Clinic", legal_basis="vital_interests")
    cases.execute(officer, urgent)
    made = list(system.store.events.get(migrant_id))[-1]
    assert made.partner == "Nairobi Trauma Clinic"
    assert made.legal_basis is LegalBasis.VITAL_INTERESTS

    # With her consent to this provider (named in other letters and spacing):
    cases.execute(officer, consent(migrant_id, "referral_sharing", "kakamega  returnees sacco"))
    recorded = list(system.store.events.get(migrant_id))[-1]
    assert isinstance(recorded, ConsentRecorded)
    assert recorded.actor_id == officer.officer_id and recorded.actor_role == officer.role
    assert recorded.occurred_at.date() == days_ago(12)
    cases.execute(officer, referral(migrant_id))
    assert list(system.store.events.get(migrant_id))[-1].legal_basis is None

    # Consent to one provider is not consent to another.
    with pytest.raises(IllegalTransition, match="no consent to share with Kazi Connect"):
        cases.execute(officer, referral(migrant_id, "Kazi Connect Agency"))


def test_a_withdrawn_consent_no_longer_covers_a_referral(system, officers):
    migrant_id = returned(system, officers)
    cases, officer = system.cases, officers.reintegrator
    cases.execute(officer, consent(migrant_id, "referral_sharing", SACCO))
    with pytest.raises(IllegalTransition, match="already holds this consent"):
        cases.execute(officer, consent(migrant_id, "referral_sharing", SACCO))
    cases.execute(officer, withdrawal(migrant_id, "referral_sharing", SACCO))
    withdrawn = list(system.store.events.get(migrant_id))[-1]
    assert isinstance(withdrawn, ConsentWithdrawn)
    assert withdrawn.occurred_at.date() == days_ago(1)
    with pytest.raises(IllegalTransition, match="no consent to share"):
        cases.execute(officer, referral(migrant_id))
    # Nothing to withdraw twice; phone contact was never given.
    with pytest.raises(IllegalTransition, match=r"no referral sharing consent to .* withdraw"):
        cases.execute(officer, withdrawal(migrant_id, "referral_sharing", SACCO))
    with pytest.raises(IllegalTransition, match="no phone contact consent to withdraw"):
        cases.execute(officer, withdrawal(migrant_id, "phone_contact"))
    migrant = cases.get(migrant_id)
    assert not migrant.has_consent(ConsentScope.REFERRAL_SHARING, SACCO)
    assert migrant.shares_with_partners  # until withdrawn


def test_consent_input_and_roles(system, officers):
    migrant_id = send_abroad(system, officers)
    with pytest.raises(InvalidCommand, match="provider"):
        RecordConsent.parse(
            {"migrant_id": migrant_id, "scope": "referral_sharing", "given_on": days_ago(1)}
        )
    with pytest.raises(InvalidCommand, match="provider"):
        RecordConsent.parse(
            {
                "migrant_id": migrant_id,
                "scope": "phone_contact",
                "provider": "Safaricom",
                "given_on": days_ago(1),
            }
        )
    with pytest.raises(InvalidCommand, match="scope"):
        RecordConsent.parse({"migrant_id": migrant_id, "scope": "all", "given_on": days_ago(1)})
    with pytest.raises(NotAuthorised):
        system.cases.execute(officers.fund, consent(migrant_id, "phone_contact"))
    # A data-protection officer records a withdrawal that reached their office.
    dpo_id = system.officers.register(
        officers.admin,
        RegisterOfficer(
            username="dpo",
            full_name="Samuel Kiprop",
            station="Data Protection Office",
            roles=(Role.DATA_PROTECTION_OFFICER,),
        ),
    )
    dpo = Actor(officer_id=dpo_id, role=Role.DATA_PROTECTION_OFFICER)
    system.cases.execute(officers.attache, consent(migrant_id, "phone_contact"))
    system.cases.execute(dpo, withdrawal(migrant_id, "phone_contact"))
    assert not system.cases.get(migrant_id).has_consent(ConsentScope.PHONE_CONTACT)


def test_an_incident_referral_needs_consent_or_a_legal_basis(system, officers):
    migrant_id = send_abroad(system, officers)
    now = datetime.now(UTC)
    incident_id = system.incidents.report(
        officers.attache,
        ic.ReportIncident(
            migrant_id=migrant_id,
            category="physical_abuse",
            severity="high",
            occurred_at=now - timedelta(days=2),
            reported_at=now - timedelta(days=1),
            channel="hotline",
            description="Beaten by the employer's son.",
        ),
    )
    run_ = system.incidents.execute
    run_(officers.attache, ic.AssessIncident(incident_id=incident_id, severity="high", notes="."))
    shelter = {
        "incident_id": incident_id,
        "referred_to": "shelter",
        "organisation": "Riyadh Shelter",
    }
    with pytest.raises(IllegalTransition, match="no consent to share with Riyadh Shelter"):
        run_(officers.attache, ic.ReferIncident(**shelter))
    assert system.incidents.get(incident_id).version == 2
    run_(officers.attache, ic.ReferIncident(**shelter, legal_basis="vital_interests"))
    referred = list(system.store.events.get(incident_id))[-1]
    assert referred.legal_basis is LegalBasis.VITAL_INTERESTS
    # With consent to that organisation, no basis is needed.
    system.cases.execute(
        officers.attache, consent(migrant_id, "referral_sharing", "Riyadh Shelter")
    )
    run_(officers.attache, ic.ReferIncident(**shelter))
    assert list(system.store.events.get(incident_id))[-1].legal_basis is None


def test_consent_from_the_command_line(settings, system, monkeypatch, capsys):
    officers = type("O", (), {})()
    actors = ensure_demo_officers(system)
    for key in ("registrar", "attache", "reintegrator"):
        setattr(officers, key, actors[key])
    migrant_id = returned(system, officers)
    case_number = system.cases.get(migrant_id).case_number
    system.keep_current()  # the read models resolve the case number
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", "msafiri-demo")
    who = ("--officer", "demo.reintegration", "--role", "reintegration_officer")
    code, out, err = run(
        capsys,
        *who,
        "case",
        "consent",
        f"migrant_id={case_number}",
        "scope=referral_sharing",
        f"provider={SACCO}",
        f"given_on={days_ago(2)}",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["case_number"] == case_number
    code, _, err = run(
        capsys,
        *who,
        "case",
        "withdraw-consent",
        f"migrant_id={case_number}",
        "scope=partner_sharing",
        f"withdrawn_on={days_ago(1)}",
    )
    assert code == 0, err
    migrant = system.cases.get(migrant_id)
    assert migrant.has_consent(ConsentScope.REFERRAL_SHARING, SACCO)
    assert not migrant.shares_with_partners
    # A referral without a basis is one line naming the rule, exit 1.
    code, _, err = run(
        capsys,
        *who,
        "case",
        "make-referral",
        f"migrant_id={case_number}",
        "service=job_placement",
        "partner=Kazi Connect Agency",
        f"referred_on={days_ago(1)}",
    )
    assert code == 1
    assert err.startswith("error: ") and "no consent to share with Kazi Connect" in err


# --- the stream ---------------------------------------------------------------------


def _about(messages, migrant_id) -> list[dict]:
    """Published payloads about a person: their case's events, or events naming them."""
    key = str(migrant_id)
    return [
        payload
        for _, _, payload in messages
        if payload.get("aggregate_id") == key or key in json.dumps(payload.get("data", {}))
    ]


def _incident(system, officers, migrant_id) -> object:
    now = datetime.now(UTC)
    return system.incidents.report(
        officers.attache,
        ic.ReportIncident(
            migrant_id=migrant_id,
            category="unpaid_or_delayed_wages",
            severity="medium",
            occurred_at=now - timedelta(days=3),
            reported_at=now - timedelta(days=1),
            channel="hotline",
            description="Four months unpaid.",
        ),
    )


def test_after_withdrawal_the_stream_holds_nothing_new_for_the_person(
    nats_system, nats_settings, officers
):
    system = nats_system
    wanjiku = send_abroad(system, officers)
    other = send_abroad(
        system, officers, national_id="29876543", passport_number="BK7654321", full_name="Otieno"
    )
    publish_all(system)
    before = read_stream(nats_settings)
    assert _about(before, wanjiku) and _about(before, other)

    # A welfare check recorded before the withdrawal, not yet published when
    # it comes, is withheld too.
    check = c.RecordWelfareCheck(
        migrant_id=wanjiku, channel="phone_call", status="concerns", checked_on=days_ago(2)
    )
    system.cases.execute(officers.attache, check)
    system.cases.execute(officers.attache, withdrawal(wanjiku, "partner_sharing"))
    # After it: her case, an incident about her (and what follows it).
    incident_id = _incident(system, officers, wanjiku)
    system.incidents.execute(
        officers.attache, ic.AssessIncident(incident_id=incident_id, severity="high", notes=".")
    )
    system.cases.execute(officers.attache, check.model_copy(update={"status": "urgent"}))
    # The other person's events still flow.
    _incident(system, officers, other)
    system.cases.execute(officers.attache, check.model_copy(update={"migrant_id": other}))

    progress = publish_all(system)
    after = read_stream(nats_settings)
    new = after[len(before) :]
    assert _about(new, wanjiku) == []
    assert not any(p["aggregate_id"] == str(incident_id) for _, _, p in new)
    # Skipped and counted: the withheld check, withdrawal, report, assessment, check.
    assert progress.withheld == 5
    assert [p["type"] for p in _about(new, other)] == ["IncidentReported", "WelfareCheckRecorded"]
    assert len(new) == 2  # nothing else was written

    # Giving consent again releases events from then on, not those between.
    system.cases.execute(officers.attache, consent(wanjiku, "partner_sharing"))
    system.cases.execute(officers.attache, check.model_copy(update={"checked_on": days_ago(0)}))
    progress = publish_all(system)
    latest = read_stream(nats_settings)[len(after) :]
    assert [p["type"] for p in _about(latest, wanjiku)] == [
        "ConsentRecorded",
        "WelfareCheckRecorded",
    ]
    assert progress.withheld == 0


def test_a_publisher_started_after_the_withdrawal_still_withholds(
    nats_system, nats_settings, officers
):
    system = nats_system
    wanjiku = send_abroad(system, officers)
    system.cases.execute(officers.attache, withdrawal(wanjiku, "partner_sharing"))
    _incident(system, officers, wanjiku)
    # A fresh publisher (as after a restart) learns the withdrawal from the log.
    progress = publish_all(system, page_size=3)
    messages = read_stream(nats_settings)
    about = _about(messages, wanjiku)
    # What came before the withdrawal was not yet published: withheld as well.
    assert about == []
    assert progress.withheld == 8  # registration .. arrival, withdrawal, incident
    assert messages, "officers' and other events are still published"
