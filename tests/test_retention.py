"""Retention: closed cases past the retention period are listed for a
data-protection officer, each with the erasure command to run; nothing is
erased. Cases closed long ago are written in the past (recording_time, as
the demo does). On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

import pytest

from domain.cases import commands as c
from domain.errors import NotAuthorised
from domain.model import recording_time
from msafiri.demo.officers import ensure_demo_officers
from projections.retention import RetentionReview, years_before
from tests.factories import TODAY, registration
from tests.test_fund_cli import run


def closed_case(system, officer, closed_on: date, number: int, reopen: bool = False) -> str:
    """A case registered a month before `closed_on` and closed that day,
    recorded as it would have been then."""
    token = recording_time.set(datetime.combine(closed_on, time(15), UTC))
    try:
        migrant_id = system.cases.register(
            officer,
            registration(
                national_id=f"3{number:07d}",
                passport_number=f"AK{number:07d}",
                registered_on=closed_on - timedelta(days=30),
            ),
        )
        system.cases.execute(
            officer,
            c.CloseCase(migrant_id=migrant_id, reason="Did not travel.", closed_on=closed_on),
        )
        if reopen:  # re-migration: the case is open again
            system.cases.execute(
                officer, c.StartNewCycle(migrant_id=migrant_id, started_on=closed_on)
            )
    finally:
        recording_time.reset(token)
    return system.cases.get(migrant_id).case_number


@pytest.fixture
def history(system):
    actors = ensure_demo_officers(system)
    registrar = actors["registrar"]
    seven_years_ago = years_before(TODAY, 7)
    cases = {
        "eight_years": closed_case(system, registrar, years_before(TODAY, 8), 1),
        "seven_years_to_the_day": closed_case(system, registrar, seven_years_ago, 2),
        "a_day_short": closed_case(system, registrar, seven_years_ago + timedelta(days=1), 3),
        "reopened": closed_case(system, registrar, years_before(TODAY, 9), 4, reopen=True),
        "last_year": closed_case(system, registrar, years_before(TODAY, 1), 5),
    }
    # An open case registered long ago is not closed: never due.
    token = recording_time.set(datetime.combine(years_before(TODAY, 10), time(9), UTC))
    try:
        system.cases.register(
            registrar,
            registration(
                national_id="39999999",
                passport_number="AK9999999",
                registered_on=years_before(TODAY, 10),
            ),
        )
    finally:
        recording_time.reset(token)
    system.keep_current()
    return actors, cases


def test_closed_cases_past_the_period_are_due_and_nothing_is_erased(system, history):
    actors, cases = history
    head = system.store.recorder.max_notification_id()
    review = RetentionReview(system.read_models.queries.db, system.authz, years=7)
    due = review.due(actors["dpo"], today=TODAY)
    assert [d.case_number for d in due] == [cases["eight_years"], cases["seven_years_to_the_day"]]
    assert due[1].retention_ended_on == TODAY
    assert due[0].closed_at.startswith(years_before(TODAY, 8).isoformat())
    assert due[0].erase_command == (
        f'msafiri case erase {cases["eight_years"]} --reason "retention period ended"'
    )
    # A longer period: nothing due yet; a shorter one: last year's too.
    assert (
        RetentionReview(system.read_models.queries.db, system.authz, 10).due(
            actors["dpo"], today=TODAY
        )
        == []
    )
    shorter = RetentionReview(system.read_models.queries.db, system.authz, 1)
    assert cases["last_year"] in [d.case_number for d in shorter.due(actors["dpo"], TODAY)]
    # Only a data-protection officer reviews retention.
    with pytest.raises(NotAuthorised, match="data_protection_officer"):
        review.due(actors["registrar"], today=TODAY)
    assert system.store.recorder.max_notification_id() == head  # nothing written or erased


def test_retention_from_the_command_line(settings, system, history, monkeypatch, capsys):
    _, cases = history
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", "msafiri-demo")
    # The history is dated from TODAY, taken when the tests were collected; the
    # command asks for the real date. Pinned to TODAY, so a run that crosses
    # midnight UTC does not move a case across the line (seen in CI at 00:01).
    real_due = RetentionReview.due
    monkeypatch.setattr(
        RetentionReview,
        "due",
        lambda self, actor, today=None: real_due(self, actor, today or TODAY),
    )
    dpo = ("--officer", "demo.dpo", "--role", "data_protection_officer")
    code, out, err = run(capsys, *dpo, "case", "retention", "--json")
    assert code == 0, err
    items = [json.loads(line) for line in out.splitlines()]
    assert [i["case_number"] for i in items] == [
        cases["eight_years"],
        cases["seven_years_to_the_day"],
    ]
    assert items[0]["proposed"] == "erasure"
    assert items[0]["erase_command"].startswith(f"msafiri case erase {cases['eight_years']} ")

    code, out, err = run(capsys, *dpo, "case", "retention")
    assert code == 0, err
    assert f"->  {items[0]['erase_command']}" in out
    assert out.splitlines()[-1].startswith("2 closed case(s) past the 7-year retention period")
    assert "nothing was erased" in out

    # The period is a setting.
    monkeypatch.setenv("MSAFIRI_RETENTION_YEARS", "1")
    code, out, err = run(capsys, *dpo, "case", "retention", "--json")
    assert code == 0, err
    assert len(out.splitlines()) == 4  # and the two closed a year or more ago

    code, _, err = run(
        capsys, "--officer", "demo.registrar", "--role", "registration_officer", "case", "retention"
    )
    assert code == 1 and "data_protection_officer" in err


def test_an_erased_case_is_no_longer_proposed(system, history, monkeypatch, capsys, settings):
    """Erased cases are left out of the review, also when the erasure was
    approved but not finished (`case erase --reapply` finishes those)."""
    from domain.cases.commands import ApproveErasure, RequestErasure
    from msafiri.erasure import approve_and_erase

    actors, cases = history
    review = RetentionReview(system.read_models.queries.db, system.authz, years=7)
    due = review.due(actors["dpo"], today=TODAY)
    erased, interrupted = (UUID(d.migrant_id) for d in due)
    for migrant_id in (erased, interrupted):
        system.cases.request_erasure(
            actors["dpo"], RequestErasure(migrant_id=migrant_id, legal_basis="retention ended")
        )
    approve_and_erase(system, actors["dpo2"], erased)
    system.cases.approve_erasure(actors["dpo2"], ApproveErasure(migrant_id=interrupted))
    system.keep_current()
    assert review.due(actors["dpo"], today=TODAY) == []

    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", "msafiri-demo")
    monkeypatch.setenv("MSAFIRI_RETENTION_YEARS", "1")
    dpo = ("--officer", "demo.dpo", "--role", "data_protection_officer")
    code, out, err = run(capsys, *dpo, "case", "retention", "--json")
    assert code == 0, err
    listed = [json.loads(line)["case_number"] for line in out.splitlines()]
    assert listed == [cases["a_day_short"], cases["last_year"]]  # the erased two no longer
