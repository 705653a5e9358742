"""Incidents abroad: reported -> assessed -> referred / assisted -> resolved or closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import IllegalTransition, NotAuthorised
from domain.incidents import commands as ic
from domain.incidents.vocabulary import IncidentStatus
from tests.factories import send_abroad


def report(system, officers, migrant_id, **overrides):
    fields = {
        "migrant_id": migrant_id,
        "category": "document_confiscation",
        "severity": "high",
        "occurred_at": datetime.now(UTC) - timedelta(days=40),
        "reported_at": datetime.now(UTC) - timedelta(days=3),
        "channel": "hotline",
        "description": "Employer holds her passport and refuses to return it.",
    }
    fields.update(overrides)
    return system.incidents.report(officers.attache, ic.ReportIncident.parse(fields))


def test_an_incident_is_followed_from_report_to_closure(system, officers):
    migrant_id = send_abroad(system, officers)
    # Reported late: it keeps its real date as well as when it was told.
    incident_id = report(system, officers, migrant_id)
    incident = system.incidents.get(incident_id)
    assert incident.status is IncidentStatus.REPORTED
    assert incident.country == "SA"  # from the contract
    reported = next(iter(system.store.events.get(incident_id)))
    assert reported.occurred_at < reported.reported_at < reported.timestamp

    attache = officers.attache
    run = system.incidents.execute
    run(
        attache, ic.AssessIncident(incident_id=incident_id, severity="critical", notes="Confirmed.")
    )
    run(
        attache,
        ic.ReferIncident(
            incident_id=incident_id,
            referred_to="host_labour_ministry",
            organisation="Ministry of Human Resources, Riyadh",
            legal_basis="public_task",
        ),
    )
    request = ic.RequestAssistance(
        incident_id=incident_id,
        kind="legal_aid",
        payee="Riyadh Legal Aid Clinic",
        estimate={"amount_minor": 5_000_000, "currency": "KES"},
        justification="Lawyer to recover the passport.",
    )
    run(attache, request)
    run(attache, ic.AddIncidentNote(incident_id=incident_id, note="Hearing set for next week."))
    run(attache, ic.ResolveIncident(incident_id=incident_id, outcome="Passport returned."))
    run(attache, ic.CloseIncident(incident_id=incident_id, reason="Resolved."))
    incident = system.incidents.get(incident_id)
    assert incident.status is IncidentStatus.CLOSED
    assert incident.assistance == {request.request_id: "requested"}
    # A closed incident takes no more follow-up.
    with pytest.raises(IllegalTransition, match="closed"):
        run(attache, ic.AddIncidentNote(incident_id=incident_id, note="late"))


def test_incident_rules(system, officers):
    migrant_id = send_abroad(system, officers)
    # Before departure did not happen to this migrant abroad.
    with pytest.raises(IllegalTransition, match="before the departure"):
        report(system, officers, migrant_id, occurred_at=datetime.now(UTC) - timedelta(days=900))
    incident_id = report(system, officers, migrant_id)
    # Referral needs an assessment first.
    with pytest.raises(IllegalTransition, match="assess the incident before"):
        system.incidents.execute(
            officers.attache,
            ic.ReferIncident(incident_id=incident_id, referred_to="police", organisation="Police"),
        )
    # Only labour attachés work incidents.
    with pytest.raises(NotAuthorised):
        system.incidents.execute(
            officers.fund, ic.ResolveIncident(incident_id=incident_id, outcome="Settled.")
        )
    assert system.incidents.get(incident_id).version == 1


def test_money_assistance_needs_an_estimate_and_a_payee():
    from domain.errors import InvalidCommand

    with pytest.raises(InvalidCommand, match="repatriation needs an amount estimate"):
        ic.RequestAssistance.parse(
            {
                "incident_id": "00000000-0000-4000-8000-000000000000",
                "kind": "repatriation",
                "justification": "She wants to go home.",
            }
        )
    # Counselling may be given without money.
    ic.RequestAssistance.parse(
        {
            "incident_id": "00000000-0000-4000-8000-000000000000",
            "kind": "counselling",
            "justification": "Trauma after assault.",
        }
    )
