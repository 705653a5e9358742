"""`msafiri demo`: realistic, deterministic, batched."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from domain.cases.aggregate import Migrant
from domain.values import Role
from ledger.vocabulary import DisbursementStatus
from msafiri.cli.main import cli
from msafiri.demo.officers import ensure_demo_officers
from msafiri.demo.population import (
    DEMO_TODAY,
    history_end,
    history_start,
    populate,
    populate_with_fund,
)


def _topics(system) -> Counter:
    notifications = system.store.recorder.select_notifications(start=1, limit=1_000_000)
    return Counter(n.topic.rsplit(":", 1)[1] for n in notifications)


def test_the_same_seed_gives_the_same_population(tmp_path):
    from msafiri.bootstrap import build_system
    from msafiri.settings import Settings

    stories = []
    for run in ("a", "b"):
        system = build_system(Settings(database_url=f"sqlite:///{tmp_path / run}.db"))
        populate(system.store, ensure_demo_officers(system), 200, seed=11)
        notifications = system.store.recorder.select_notifications(start=1, limit=100_000)
        stories.append([(n.originator_id, n.originator_version, n.topic) for n in notifications])
        system.close()
    assert stories[0] == stories[1]


def test_the_demo_population_is_plausible(system):
    actors = ensure_demo_officers(system)
    populate(system.store, actors, 600, seed=3)
    topics = _topics(system)
    assert topics["MigrantRegistered"] == 600
    assert topics["Departed"] > 400 and topics["IncidentReported"] > 20
    assert topics["Returned"] > 50 and topics["AssistanceRequested"] > 5
    # Most are women (domestic work dominates), as the seeds describe.
    registered = [
        e
        for n in system.store.recorder.select_notifications(
            start=1, limit=100_000, topics=["domain.cases.events:MigrantRegistered"]
        )
        for e in [system.store.mapper.to_domain_event(n)]
    ]
    women = sum(e.sex == "female" for e in registered)
    assert 0.6 < women / len(registered) < 0.95
    # Every migrant's story went through the real aggregates' guards.
    one = system.store.get(registered[0].originator_id)
    assert isinstance(one, Migrant) and one.version >= 1


def test_the_demo_command_fills_an_empty_database_once(settings, monkeypatch):
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    first = runner.invoke(cli, ["demo", "--migrants", "150", "--json"])
    assert first.exit_code == 0, first.output
    result = json.loads(first.output.strip().splitlines()[-1])
    assert result["migrants"] == 150 and result["events"] > 150 * 4
    again = runner.invoke(cli, ["demo", "--migrants", "150", "--json"])
    assert json.loads(again.output.strip().splitlines()[-1])["already_populated"] is True
    more = runner.invoke(cli, ["demo", "--migrants", "50", "--add", "--json"])
    assert json.loads(more.output.strip().splitlines()[-1])["migrants"] == 50


# --- the history is believable in time (issue 11, item 10) -------------------


def _events(system) -> list:
    """Every stored event, in notification order, as domain events."""
    notifications = system.store.recorder.select_notifications(start=1, limit=1_000_000)
    return [system.store.mapper.to_domain_event(n) for n in notifications]


def _by(events, name: str) -> dict:
    """Events of one class by their aggregate (the first one of each)."""
    found: dict = {}
    for event in events:
        if type(event).__name__ == name:
            found.setdefault(event.originator_id, event)
    return found


def test_the_demo_history_is_recorded_in_its_own_time_and_order(system):
    actors = ensure_demo_officers(system)
    counts = populate_with_fund(system, actors, 1200, seed=5, workers=0)
    events = _events(system)
    end = history_end(DEMO_TODAY)

    # The log holds the history in the order it was recorded: cases and
    # fund interleaved, never going back, all of it before the demo's end.
    recorded = [event.timestamp for event in events]
    assert recorded == sorted(recorded)
    assert recorded[0] == history_start(DEMO_TODAY) and recorded[-1] <= end
    # Nothing is recorded before it happened.
    assert all(event.timestamp >= event.occurred_at for event in events)

    # A contract is registered before the departure that follows it.
    contracts, departures = _by(events, "ContractRegistered"), _by(events, "Departed")
    assert len(departures) > 800
    for migrant_id, departed in departures.items():
        assert contracts[migrant_id].timestamp < departed.timestamp

    # The fund's steps follow one another: requested, approved, paid (by
    # value date too), each after the one before.
    requested = _by(events, "DisbursementRequested")
    approved, paid = _by(events, "DisbursementApproved"), _by(events, "DisbursementPaid")
    assert counts["paid"] == len(paid) + counts["reversed"] and len(paid) > 10  # paid again
    for d_id, approval in approved.items():
        assert approval.timestamp.date() >= requested[d_id].timestamp.date()
    for d_id, payment in paid.items():
        assert payment.occurred_at.date() >= approved[d_id].timestamp.date()
        assert payment.timestamp > approved[d_id].timestamp > requested[d_id].timestamp

    # Incidents and requests are spread over the years, not made on one day.
    reports = [e.timestamp for e in _by(events, "IncidentReported").values()]
    asked = [e.timestamp for e in requested.values()]
    assert max(reports) - min(reports) > timedelta(days=3 * 365)
    assert max(asked) - min(asked) > timedelta(days=2 * 365)

    # Some requests still wait, a few close to their expiry; some lapsed
    # when the fund process swept past their expiry date.
    ledger = system.ledger
    waiting = [ledger.disbursement(d_id) for d_id in requested]
    waiting = [d for d in waiting if d.status is DisbursementStatus.REQUESTED]
    near = [d for d in waiting if end < d.expires_at <= end + timedelta(days=30)]
    assert waiting and near
    lapsed = _by(events, "DisbursementExpired")
    assert lapsed and all(e.actor_role is Role.SYSTEM for e in lapsed.values())
    for d_id, expiry in lapsed.items():
        assert expiry.timestamp >= ledger.disbursement(d_id).expires_at


def test_the_same_seed_gives_the_same_history_with_its_fund(tmp_path):
    from msafiri.bootstrap import build_system
    from msafiri.settings import Settings

    stories = []
    for run in ("a", "b"):
        system = build_system(Settings(database_url=f"sqlite:///{tmp_path / run}.db"))
        populate_with_fund(system, ensure_demo_officers(system), 300, seed=4, workers=0)
        stories.append(
            [(e.originator_id, e.originator_version, e.timestamp) for e in _events(system)]
        )
        system.close()
    assert stories[0] == stories[1]


def test_the_demo_command_ends_its_history_before_today(settings, monkeypatch):
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    tomorrow = (datetime.now(tz=UTC) + timedelta(days=1)).date()
    refused = runner.invoke(cli, ["demo", "--migrants", "5", "--today", str(tomorrow)])
    assert refused.exit_code == 2 and "--today" in refused.output
    assert "Traceback" not in refused.output


# --- money claims and social-protection coverage (issue 16) -----------------


CLAIM_EVENTS = ("ClaimOpened", "ClaimStepRecorded", "ClaimRecoveryRecorded", "ClaimClosed")
COVERAGE_EVENTS = ("InsuranceRecorded", "SocialSecurityRegistrationRecorded")


def _claim_rows(system) -> list[tuple]:
    return system.read_models.queries.db.fetchall(
        "SELECT claim_id, migrant_id, incident_id, basis, kind, currency, claimed_minor,"
        " recovered_minor, status, outcome, steps FROM rm_claims ORDER BY claim_id"
    )


def test_the_demo_writes_claims_coverage_and_agreements(system):
    actors = ensure_demo_officers(system)
    populate_with_fund(system, actors, 500, seed=8, workers=0)
    system.keep_current()
    queries = system.read_models.queries

    # The administrator's table of agreements, set at the start of the history.
    agreements = {(a.country, a.kind): a for a in queries.claims.agreements()}
    assert ("SA", "bla") in agreements and ("JO", "ssa") in agreements
    assert agreements[("LB", "bla")].in_force_until is not None  # one has lapsed

    # Claims on incidents and owed on return, older ones closed with an outcome.
    claims = _claim_rows(system)
    assert {row[3] for row in claims} == {"incident", "return"}
    assert {row[8] for row in claims} == {"open", "closed"}
    assert any(row[9] == "recovered_in_full" for row in claims)
    for _, _, incident_id, basis, kind, _, claimed, recovered, status, outcome, _ in claims:
        assert claimed > 0 and 0 <= recovered <= claimed
        assert (incident_id is None) == (basis == "return")
        if kind == "social_security_contributions":  # owed by the scheme on return
            assert basis == "return"
        assert (status == "closed") == (outcome is not None)
        if outcome == "not_recovered":
            assert recovered == 0
    # Claimed in the contract's currency, on the incidents the demo claims for.
    currencies = dict(queries.db.fetchall("SELECT migrant_id, wage_currency FROM rm_cases"))
    categories = dict(queries.db.fetchall("SELECT incident_id, category FROM rm_incidents"))
    for row in claims:
        if row[2] is not None:
            assert categories[row[2]] in ("unpaid_or_delayed_wages", "document_confiscation")
        assert currencies[row[1]] == row[5]
    entries = queries.db.fetchall(
        "SELECT entry, step, amount_minor FROM rm_claim_entries ORDER BY entry_id"
    )
    steps = {step for entry, step, _ in entries if entry == "step"}
    assert {"employer", "labour_office", "social_security_scheme"} <= steps
    recoveries = [amount for entry, _, amount in entries if entry == "recovery"]
    assert recoveries and all(amount > 0 for amount in recoveries)

    # Coverage: insured, registered, some under an SSA in force.
    figures = queries.claims.coverage_figures()
    assert sum(f["insured"] for f in figures) > 0.5 * sum(f["placements"] for f in figures)
    assert 0 < sum(f["registered"] for f in figures) < sum(f["insured"] for f in figures)
    assert sum(f["under_ssa"] for f in figures) > 0

    # An employer's history at a glance shows claims with money recovered.
    recovered_on = queries.db.fetchall(
        "SELECT DISTINCT p.employer_id FROM rm_party_incidents p"
        " JOIN rm_claims c ON c.incident_id = p.incident_id"
        " WHERE c.recovered_minor > 0 AND p.employer_id IS NOT NULL ORDER BY p.employer_id"
    )
    assert recovered_on
    history = queries.party_history(recovered_on[0][0])
    assert history.recovered_claims >= 1 and sum(history.recovered.values()) > 0

    # Recorded by the roles that may record them, each in its own time.
    events = _events(system)
    roles = {
        "AgreementSet": {Role.ADMINISTRATOR},
        "InsuranceRecorded": {Role.REGISTRATION_OFFICER},
        "SocialSecurityRegistrationRecorded": {Role.LABOUR_ATTACHE},
    }
    reports = _by(events, "IncidentReported")
    for event in events:
        name = type(event).__name__
        if name in CLAIM_EVENTS:
            assert event.actor_role in (Role.LABOUR_ATTACHE, Role.REINTEGRATION_OFFICER)
        elif name in roles:
            assert event.actor_role in roles[name], event
        if name == "ClaimOpened" and event.incident_id is not None:
            assert event.timestamp > reports[event.incident_id].timestamp
        if name in CLAIM_EVENTS + COVERAGE_EVENTS:
            assert event.timestamp <= history_end(DEMO_TODAY)


def test_the_same_seed_gives_the_same_claims(tmp_path):
    from msafiri.bootstrap import build_system
    from msafiri.settings import Settings

    runs = []
    for run in ("a", "b"):
        system = build_system(Settings(database_url=f"sqlite:///{tmp_path / run}.db"))
        populate(system.store, ensure_demo_officers(system), 250, seed=9, workers=0)
        system.keep_current()
        runs.append(
            (
                _claim_rows(system),
                system.read_models.queries.db.fetchall(
                    "SELECT coverage_id, insured, insurer, registered, scheme FROM rm_coverage"
                    " ORDER BY coverage_id"
                ),
            )
        )
        system.close()
    assert runs[0] == runs[1]
    claims, coverage = runs[0]
    assert claims and coverage


def test_claims_and_coverage_leave_the_people_of_a_seed_as_they_were():
    """They draw from a generator of their own: whatever they draw, the
    migrants' stories (and so every older demo database's people) are the
    ones the seed gave before claims and coverage existed."""
    import random
    from uuid import uuid4

    from domain.claims.aggregate import Claim
    from domain.coverage.aggregate import Coverage
    from domain.model import Actor, recording_time
    from msafiri.demo.officers import DEMO_OFFICERS
    from msafiri.demo.population import PopulationBuilder, registration_day

    actors = {key: Actor(officer_id=uuid4(), role=o[3]) for key, o in DEMO_OFFICERS.items()}
    actors["admin"] = Actor(officer_id=uuid4(), role=Role.ADMINISTRATOR)
    stories, money = [], []
    token = recording_time.set(None)  # the builder sets it: not for later tests
    try:
        for money_seed in (1, 2):
            builder = PopulationBuilder(
                random.Random("people"), actors, money_rng=random.Random(money_seed)
            )
            people, other = [], []
            for index in range(300):
                for aggregate in builder.build(registration_day(DEMO_TODAY, index, 300)):
                    kept = other if isinstance(aggregate, Claim | Coverage) else people
                    kept += [
                        (e.originator_id, e.originator_version, e.timestamp, type(e).__name__)
                        for e in aggregate.collect_events()
                    ]
            stories.append(people)
            money.append(other)
    finally:
        recording_time.reset(token)
    assert stories[0] == stories[1]
    assert money[0] and money[1] and money[0] != money[1]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_read_models_follow_the_demo_from_a_process_of_their_own(system):
    """PostgreSQL (SQLite has one writer): while the demo writes, a follower
    process brings the read models and the audit chain to the log's head,
    so the catch-up after the demo is only its tail."""
    import multiprocessing
    import time

    from msafiri.cli.demo import following

    actors = ensure_demo_officers(system)
    models = system.read_models
    with following(system):
        assert [p.name for p in multiprocessing.active_children()] == ["demo-follower"]
        populate(system.store, actors, 20, seed=5)
        head = system.store.recorder.max_notification_id()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status = models.status()
            chained = system.audit.head()
            if all(s.position == head for s in status) and chained and chained.position >= head:
                break
            time.sleep(0.2)
        # Nothing in this process applied a page: the follower did it all.
        assert "runner" not in vars(models._runners)
        assert all(s.position == head and s.failed_id is None for s in models.status())
        assert system.audit.head().position >= head
    assert models.catch_up() == 0
    assert multiprocessing.active_children() == []  # stopped and joined
