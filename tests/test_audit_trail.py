"""What an auditor reads: corrections with what and why, records as of a
position or a time, and who did what."""

from __future__ import annotations

import json
from datetime import datetime
from uuid import uuid4

from domain.cases import commands as cc
from domain.values import utcnow
from ledger import commands as c
from projections.audit.corrections import corrections
from projections.audit.trail import export_lines, state_as_of
from tests.factories import days_ago
from tests.fund_helpers import kes, open_fund, send_abroad


def as_is(line: dict) -> dict:
    """These tests check the chain and the filters, not need to know
    (tests/test_need_to_know_matrix.py does): every line as stored."""
    return line


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
    reversal = c.ReverseTransfer(
        command_id=uuid4(), transfer_id=grant.command_id, reason="Duplicate."
    )
    system.ledger.reverse(officers.fund, reversal)
    # Money back out of the bank: posted once another officer approves it.
    system.ledger.approve_correction(
        officers.fund2, c.ApproveCorrection(command_id=uuid4(), proposal_id=reversal.command_id)
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


def test_who_did_what_filters_by_officer_role_type_and_time(system, officers):
    send_abroad(system, officers)
    system.read_models.catch_up()
    q = system.read_models.queries
    attache = str(officers.attache.officer_id)
    arrived = q.activity(officer_id=attache, event_type="Arrived").rows
    assert len(arrived) == 1 and arrived[0].actor_role == "labour_attache"
    assert arrived[0].username == "attache"
    registrar = q.activity(role="registration_officer").rows
    assert registrar and {r.actor_role for r in registrar} == {"registration_officer"}
    # The index holds every event of the log, in log order, exactly once.
    everything, after = [], None
    while True:
        page = q.activity(after=after, limit=7)
        everything += page.rows
        if page.after is None:
            break
        after = page.after
    trail = list(export_lines(system.store, system.audit, disclose=as_is))
    assert [r.position for r in everything] == [line["position"] for line in trail]
    assert [(r.actor_id, r.event_type) for r in everything] == [
        (line["actor_id"], line["type"]) for line in trail
    ]
    # Time range, inclusive at both ends.
    middle = everything[len(everything) // 2]
    moment = datetime.fromisoformat(middle.recorded_at)
    since = q.activity(since=moment, limit=500).rows
    until = q.activity(until=moment, limit=500).rows
    assert middle.position in {r.position for r in since} & {r.position for r in until}
    assert {r.position for r in since} | {r.position for r in until} == {
        r.position for r in everything
    }
    assert all(r.recorded_at >= middle.recorded_at for r in since)
    assert all(r.recorded_at <= middle.recorded_at for r in until)


def test_who_on_the_cli_names_the_officer_and_refuses_unknown_types(
    system, officers, settings, monkeypatch, capsys
):
    from domain.officers.commands import SetPassword
    from tests.test_fund_cli import run

    send_abroad(system, officers)
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    # `audit who` is a logged read: it names its reader.
    password = "a long passphrase for the auditor"
    system.officers.set_password(
        officers.auditor, SetPassword(username="auditor", password=password)
    )
    monkeypatch.setenv("MSAFIRI_OFFICER", "auditor")
    monkeypatch.setenv("MSAFIRI_ROLE", "auditor")
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", password)
    system.read_models.catch_up()
    code, out, err = run(capsys, "audit", "who", "--officer", "attache", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and rows, err
    assert {r["username"] for r in rows} == {"attache"}
    code, out, err = run(capsys, "audit", "who", "--type", "Arived")
    assert code == 2 and "--type" in err and "Arived" in err and not out
    code, _, err = run(capsys, "audit", "who", "--role", "chief")
    assert code == 2 and "--role" in err
