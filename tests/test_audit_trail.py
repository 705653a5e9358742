"""What an auditor reads: corrections with what and why, records as of a
position or a time, and who did what."""

from __future__ import annotations

from uuid import uuid4

from domain.cases import commands as cc
from domain.values import utcnow
from ledger import commands as c
from projections.audit.corrections import corrections
from projections.audit.trail import WhoFilter, export_lines, state_as_of
from tests.factories import days_ago
from tests.fund_helpers import kes, open_fund, send_abroad


def test_corrections_show_what_they_corrected_and_why(system, officers):
    open_fund(system, officers)
    migrant_id = send_abroad(system, officers)
    system.cases.execute(
        officers.registrar,
        cc.CorrectRegistration(migrant_id=migrant_id, phone="+254700000001", reason="Typo."),
    )
    grant = c.RecordGrant(
        command_id=uuid4(), donor="IOM", amount=kes(500), received_on=days_ago(2), reference="X-1"
    )
    system.ledger.record_grant(officers.fund, grant)
    system.ledger.reverse(
        officers.fund,
        c.ReverseTransfer(command_id=uuid4(), transfer_id=grant.command_id, reason="Duplicate."),
    )
    found = {item["kind"]: item for item in corrections(system.store, system.ledger.book_id)}
    assert found["registration corrected"]["corrected"]["phone"]["now"] == "+254700000001"
    assert found["registration corrected"]["why"] == "Typo."
    reversed_ = found["transfer reversed"]
    assert reversed_["record"] == str(grant.command_id) and reversed_["why"] == "Duplicate."
    assert reversed_["corrected"]["amount"] == "500.00 KES"


def test_a_case_as_of_a_position_and_a_time(system, officers):
    migrant_id = send_abroad(system, officers)
    before_correction = utcnow()
    position = system.audit.max_position()
    system.cases.execute(
        officers.registrar,
        cc.CorrectRegistration(migrant_id=migrant_id, county="Busia", reason="Wrong county."),
    )
    assert system.cases.get(migrant_id).county == "Busia"
    then = state_as_of(system.store, system.audit, migrant_id, position=position)
    assert then.county == "Kakamega" and then.stage.value == "on_site"
    assert state_as_of(system.store, system.audit, migrant_id, moment=before_correction).county == (
        "Kakamega"
    )
    assert state_as_of(system.store, system.audit, migrant_id, position=1) is None


def test_who_did_what_filters_by_officer_role_and_type(system, officers):
    send_abroad(system, officers)
    lines = list(
        export_lines(
            system.store,
            system.audit,
            WhoFilter(officer_id=officers.attache.officer_id, event_type="Arrived"),
        )
    )
    assert len(lines) == 1 and lines[0]["actor_role"] == "labour_attache"
    registrar = list(
        export_lines(system.store, system.audit, WhoFilter(role="registration_officer"))
    )
    assert registrar and all(line["actor_role"] == "registration_officer" for line in registrar)
