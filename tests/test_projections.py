"""Projections on SQLite and PostgreSQL: incremental equals rebuilt, a failing
projection stops at its event, search finds what officers type."""

from __future__ import annotations

import json
from collections import Counter
from typing import ClassVar
from uuid import UUID

import pytest
from click.testing import CliRunner

from domain.viewer import NOBODY
from msafiri.cli.main import cli
from msafiri.demo.claims import AGREEMENTS as DEMO_AGREEMENTS
from msafiri.settings import Settings, parse_database_url
from projections import open_read_models
from projections.cases import CasesProjection
from projections.db import ReadModelDb
from projections.officers import COLUMNS
from projections.readmodels import ReadModels, all_projections
from projections.schema import SchemaBehind, ensure_schema, pending_migrations, upgrade
from projections.terms import case_terms
from tests import pg_server
from tests.test_projections_support import assert_same, dump, write_in_chunks


@pytest.fixture
def read_models(system):
    upgrade(system.database)
    # A tiny page size so pages cut through every story: the incremental
    # build meets every boundary case a 2,000-event page would hide.
    settings = Settings(database_url=system.settings.database_url, projection_batch_size=7)
    models = open_read_models(settings, system.database, system.store)
    yield models
    models.close()


def test_incremental_equals_rebuild(system, read_models):
    # Demo data written in three chunks, read models caught up after each,
    # plus corrections, a new cycle and the fund's requests and payments.
    write_in_chunks(system, read_models, chunks=3, migrants=50)
    read_models.catch_up()
    incremental = dump(system.database)
    assert all(s.lag == 0 and s.error is None for s in read_models.status())

    # A rebuild from scratch in big pages gives the same rows.
    rebuilt = ReadModels(system.settings, system.database, system.store)
    events = rebuilt.rebuild()
    rebuilt.close()
    assert events >= incremental["rm_tracking"][0][1]
    assert_same(incremental, dump(system.database))

    # And the rows agree with the log itself.
    q = read_models.queries
    topics = Counter(
        n.topic.rsplit(":", 1)[1]
        for n in system.store.recorder.select_notifications(start=1, limit=1_000_000)
    )
    assert q.count_cases() == topics["MigrantRegistered"] == 152
    by_stage = {r["stage"]: r["migrants"] for r in q.migrant_statistics(by=("stage",))}
    assert sum(by_stage.values()) == 152
    assert by_stage == dict(Counter(c.stage for c in q.search_cases(limit=500).rows))
    [totals] = q.incident_statistics(by=())
    assert totals["incidents"] == topics["IncidentReported"]
    open_rows = q.list_incidents(open=True, limit=500, viewer=NOBODY).rows
    assert totals["open_incidents"] == len(open_rows)
    assert sum(c.open_incidents for c in q.search_cases(limit=500).rows) == len(open_rows)
    assert len(incremental["rm_timeline"]) >= topics["MigrantRegistered"] + topics["Departed"]
    # The registries (issue 16): every demo contract names registered records.
    assert len(incremental["rm_parties"]) == (
        topics["EmployerRegistered"] + topics["AgencyRegistered"]
    )
    assert len(incremental["rm_placements"]) == (
        topics["ContractRegistered"] + topics["EmployerChanged"]
    )
    # All but the one free-text contract the corrections story writes.
    assert len([r for r in incremental["rm_placements"] if r[2] is None]) == 1
    # Issue 16: the claims and coverage read models hold the demo's rows and
    # the story's (2 claims, 3 entries, 1 coverage; SA's agreements set, QA's removed).
    assert len(incremental["rm_claims"]) == topics["ClaimOpened"] > 2
    assert len(incremental["rm_claim_entries"]) == (
        topics["ClaimStepRecorded"] + topics["ClaimRecoveryRecorded"]
    )
    assert len(incremental["rm_claim_people"]) == topics["MigrantRegistered"]
    covered = {
        n.originator_id
        for n in system.store.recorder.select_notifications(start=1, limit=1_000_000)
        if n.topic.endswith(("InsuranceRecorded", "SocialSecurityRegistrationRecorded"))
    }
    assert len(incremental["rm_coverage"]) == len(covered) > 1
    demo_table = {f"{country}:{kind}" for country, kind, *_ in DEMO_AGREEMENTS}
    assert sorted(r[0] for r in incremental["rm_agreements"]) == sorted(
        demo_table - {"QA:bla"} | {"SA:ssa"}
    )


def test_a_correction_moves_the_case_its_terms_and_its_statistics(system, read_models):
    write_in_chunks(system, read_models, chunks=1, migrants=5)
    read_models.catch_up()
    q = read_models.queries
    [case] = q.search_cases("wanjiku njeri").rows
    assert case.sex == "male" and case.stage == "pre_departure" and case.cycle == 2
    assert case.destination == "" and case.open_incidents == 0 and case.incidents == 1
    assert q.search_cases("+254 722 000 111").rows == [case]
    assert q.search_cases("0712345678").rows == []  # the old phone no longer finds it
    [incident] = q.list_incidents(migrant_id=case.migrant_id, viewer=NOBODY).rows
    assert incident.full_name == "Wanjiku Njeri Mwangi" and incident.sex == "male"
    assert not incident.is_open
    # The statistics moved the incident to the corrected sex with its migrant.
    wages = q.list_incidents(category="unpaid_or_delayed_wages", limit=500, viewer=NOBODY).rows
    by_sex = q.incident_statistics(by=("sex",), category="unpaid_or_delayed_wages")
    assert {r["sex"]: r["incidents"] for r in by_sex} == dict(Counter(i.sex for i in wages))
    assert {r["sex"]: r["open_incidents"] for r in by_sex if r["open_incidents"]} == dict(
        Counter(i.sex for i in wages if i.is_open)
    )
    timeline = q.case_timeline(case.migrant_id, viewer=NOBODY).rows
    kinds = [e.event_type for e in timeline]
    assert kinds[0] == "MigrantRegistered" and "RegistrationCorrected" in kinds
    assert "IncidentReported" in kinds and kinds[-2:] == ["CaseOfficerAssigned", "IncidentResolved"]
    assert [e.notification_id for e in timeline] == sorted(e.notification_id for e in timeline)
    corrected = timeline[kinds.index("RegistrationCorrected")]
    assert "sex: female -> male" in corrected.summary and corrected.actor_name == "Grace Wanjiru"
    auditor = next(o for o in q.officers() if o.username == "demo.auditor")
    assert auditor.roles == ("auditor",)


class Boom(CasesProjection):
    """The cases projection, broken on one chosen event."""

    name = "cases"
    fail_on: ClassVar[int] = 0

    def apply(self, db, records):
        for record in records:
            if record.id == self.fail_on:
                raise ValueError(f"cannot apply {record.type}")
        super().apply(db, records)


def test_a_failing_projection_stops_at_its_event_and_does_not_advance(system):
    upgrade(system.database)
    write_in_chunks(system, None, chunks=1, migrants=20)
    head = system.store.recorder.max_notification_id()
    registrations = system.store.recorder.select_notifications(
        start=1, limit=100, topics=["domain.cases.events:MigrantRegistered"]
    )
    Boom.fail_on = registrations[10].id
    projections = [p if p.name != "cases" else Boom() for p in all_projections()]
    broken = ReadModels(system.settings, system.database, system.store, projections)
    broken.catch_up()
    status = {s.name: s for s in broken.status()}
    # Stopped exactly there: everything before is applied, nothing after.
    assert status["cases"].failed_id == Boom.fail_on
    assert status["cases"].position == Boom.fail_on - 1
    assert "ValueError: cannot apply MigrantRegistered" in status["cases"].error
    assert broken.queries.count_cases() == 10
    # The others went on to the head of the log.
    assert all(status[n].position == head for n in ("officers", "timeline", "statistics"))
    broken.close()

    # Fixed code (the real projection) resumes from the event it stopped at.
    fixed = ReadModels(system.settings, system.database, system.store)
    fixed.catch_up()
    assert all(s.lag == 0 and s.failed_id is None for s in fixed.status())
    assert fixed.queries.count_cases() == len(
        system.store.recorder.select_notifications(
            start=1, limit=10_000, topics=["domain.cases.events:MigrantRegistered"]
        )
    )
    fixed.close()


def test_search_finds_cases_by_what_officers_type(system, read_models):
    write_in_chunks(system, read_models, chunks=1, migrants=150)
    read_models.catch_up()
    q = read_models.queries
    everyone = []
    page = q.search_cases(limit=37)
    while True:
        everyone += page.rows
        if page.after is None:
            break
        page = q.search_cases(limit=37, after=page.after)
    assert len(everyone) == len({c.migrant_id for c in everyone}) == q.count_cases() == 152
    assert [c.full_name.lower() for c in everyone] == sorted(c.full_name.lower() for c in everyone)

    case = everyone[42]
    first, *_, last = case.full_name.split()
    digits = case.phone.removeprefix("+254")
    for typed in (
        case.full_name.upper(),
        f"{first} {last[:3]}",
        last,
        case.case_number,
        case.case_number.lower().replace("-", " "),
        case.case_number[3:8],
        case.national_id,
        f"0{digits[:3]} {digits[3:6]}",
        case.phone,
    ):
        assert case.migrant_id in {c.migrant_id for c in q.search_cases(typed, limit=500).rows}, (
            typed
        )

    # Every case whose terms start with the prefix, page after page, once each.
    prefix = last[:2].lower()
    expected = {
        c.migrant_id
        for c in everyone
        if any(
            t.startswith(prefix)
            for t in case_terms(c.full_name, c.case_number, c.phone, c.national_id, None)
        )
    }
    found, after = [], None
    while True:
        page = q.search_cases(prefix, limit=5, after=after)
        found += [c.migrant_id for c in page.rows]
        if page.after is None:
            break
        after = page.after
    assert set(found) == expected and len(found) == len(set(found))

    # Filters narrow the search.
    abroad = q.search_cases(prefix, stage="on_site", limit=500).rows
    assert {c.migrant_id for c in abroad} == {
        m for m in expected if q.get_case(m).stage == "on_site"
    }
    with_incidents = q.search_cases("", open_incidents=True, limit=500).rows
    assert with_incidents and all(c.open_incidents > 0 for c in with_incidents)
    assert q.get_case(case.case_number) == case
    assert q.search_cases("zzzz-nobody").rows == []


def test_schema_on_postgresql_refuses_until_upgraded(system, request):
    if system.database.backend == "sqlite":
        ensure_schema(system.database)  # SQLite upgrades itself
        assert pending_migrations(system.database) == []
        return
    server = request.getfixturevalue("pg_server_url")
    url = pg_server.create_database(server)  # a new database, never upgraded
    try:
        with pytest.raises(SchemaBehind, match="msafiri db upgrade"):
            ensure_schema(parse_database_url(url))
        env = {"MSAFIRI_DATABASE_URL": url}
        result = CliRunner().invoke(cli, ["projections", "status"], env=env)
        assert result.exit_code != 0 and "msafiri db upgrade" in str(result.exception)
        result = CliRunner().invoke(cli, ["db", "upgrade"], env=env)
        assert result.exit_code == 0 and "0001_read_models" in result.output
        ensure_schema(parse_database_url(url))
    finally:
        pg_server.drop_database(server, url)


def test_cli_rebuild_and_status(system, read_models):
    write_in_chunks(system, None, chunks=1, migrants=20)
    env = {"MSAFIRI_DATABASE_URL": system.settings.database_url}
    runner = CliRunner()
    result = runner.invoke(cli, ["projections", "status", "--json"], env=env)
    assert result.exit_code == 0, result.output
    # Status also lists the log's other followers (fund process, audit
    # chain, NATS publisher); the read models are the projections.
    names = set(read_models.names)
    behind = [r for r in json.loads(result.output) if r["name"] in names]
    assert {r["name"] for r in behind} == names >= {"cases", "timeline", "statistics", "officers"}
    assert all(r["lag"] > 0 for r in behind)
    result = runner.invoke(cli, ["projections", "rebuild", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["events"] > 0
    result = runner.invoke(cli, ["projections", "status", "--json"], env=env)
    after = [r for r in json.loads(result.output) if r["name"] in names]
    assert len(after) == len(behind) and all(r["lag"] == 0 for r in after)
    result = runner.invoke(cli, ["projections", "rebuild", "nope"], env=env)
    assert result.exit_code != 0 and "no projection 'nope'" in result.output


def test_cli_shadow_rebuild_in_two_processes(system, read_models):
    """`--processes 2`: PostgreSQL splits the shadow build; SQLite (one
    writer at a time) and a plain rebuild refuse it, naming the rule."""
    write_in_chunks(system, None, chunks=1, migrants=10)
    env = {"MSAFIRI_DATABASE_URL": system.settings.database_url}
    runner = CliRunner()
    result = runner.invoke(cli, ["projections", "rebuild", "--processes", "2"], env=env)
    assert result.exit_code == 2 and "--processes: only with --shadow" in result.output
    result = runner.invoke(cli, ["projections", "rebuild", "--shadow", "--processes", "0"], env=env)
    assert result.exit_code == 2 and "--processes" in result.output
    args = ["projections", "rebuild", "--shadow", "--processes", "2", "--json"]
    result = runner.invoke(cli, args, env=env)
    if system.database.backend == "sqlite":
        assert result.exit_code == 2 and "PostgreSQL only" in result.output
        return
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    head = system.store.recorder.max_notification_id()
    assert report["shadow"] is True and 0 < report["events"] <= head, (result.output, head)
    names = set(read_models.names)
    result = runner.invoke(cli, ["projections", "status", "--json"], env=env)
    status = [r for r in json.loads(result.output) if r["name"] in names]
    assert {r["name"] for r in status} == names and all(r["lag"] == 0 for r in status)


def test_fund_read_models_agree_with_the_book(system, read_models):
    write_in_chunks(system, read_models, chunks=2, migrants=120)
    read_models.catch_up()
    q = read_models.queries
    book = system.store.get(system.ledger.book_id)
    # Balances equal the Book aggregate's, account by account.
    balances = {(b.account, b.currency): b for b in q.fund_balances()}
    assert balances and set(balances) == {(a.code, a.currency) for a in book.accounts.values()}
    for account in book.accounts.values():
        mine = balances[(account.code, account.currency)]
        assert (mine.posted_minor, mine.pending_minor, mine.available_minor) == (
            account.posted,
            account.pending,
            account.available,
        ), account.code
    # Every journal line balances per transfer.
    lines, after = [], None
    while True:
        page = q.journal(after=after, limit=500)
        lines += page.rows
        if page.after is None:
            break
        after = page.after
    per_transfer = Counter()
    for line in lines:
        per_transfer[line.transfer_id] += line.debit_minor - line.credit_minor
    assert lines and set(per_transfer.values()) == {0}
    # The approval queue holds exactly the requests still waiting.
    queue = q.approval_queue(limit=500, viewer=NOBODY).rows
    for row in queue:
        assert system.store.get(UUID(row.disbursement_id)).status == "requested"
        assert row.eligibility and row.approvals_given < row.approvers_needed
    by_status = {s["status"]: s["disbursements"] for s in q.disbursement_statistics(by=("status",))}
    assert by_status.get("requested", 0) == len(queue)
    assert sum(by_status.values()) == len(
        system.store.recorder.select_notifications(
            start=1, limit=100_000, topics=["ledger.events:DisbursementRequested"]
        )
    )
    members = {c.migrant_id for c in q.search_cases(limit=500).rows if c.membership_number}
    paid = [m for m in members if q.contributions(m)]
    assert paid and all(q.contributions(m)[0]["amount_minor"] > 0 for m in paid)


def test_bulk_writes_keep_awkward_text_exactly(database_url):
    """The bulk paths a page is written with (COPY or executemany inserts,
    multi-row upserts, DELETE by keys) store every value as it was: tabs,
    newlines, backslashes, a literal \\N, NULL, accents."""
    upgrade(parse_database_url(database_url))
    _check_bulk_writes(ReadModelDb(parse_database_url(database_url)))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_bulk_writes_keep_awkward_text_exactly_through_own_copy_text(database_url):
    """PostgreSQL's other COPY path: our own COPY text encoding, used when
    the driver cannot copy Python rows in C (psycopg's pure-Python build)."""
    upgrade(parse_database_url(database_url))
    db = ReadModelDb(parse_database_url(database_url))
    db.copy_rows_in_c = False
    _check_bulk_writes(db)


def _check_bulk_writes(db: ReadModelDb) -> None:
    awkward = [
        "tab\there",
        "line\nbreak",
        "carriage\rreturn",
        "back\\slash",
        "\\N",
        "",
        "Njeri Wanjikũ — café",
    ]
    try:
        with db.transaction():
            db.insert_many(
                "rm_officers",
                COLUMNS,
                [(f"o{i}", text, text, "station", "", i % 2) for i, text in enumerate(awkward)],
            )
            db.executemany(
                "INSERT INTO rm_stats_incidents (category, country, sex, incidents, "
                "open_incidents) VALUES (?, ?, ?, ?, ?) ON CONFLICT (category, country, sex) "
                "DO UPDATE SET incidents = rm_stats_incidents.incidents + excluded.incidents, "
                "open_incidents = excluded.open_incidents",
                [(text, "KE", "female", 1, 0) for text in awkward],
            )
            db.executemany(
                "INSERT INTO rm_stats_incidents (category, country, sex, incidents, "
                "open_incidents) VALUES (?, ?, ?, ?, ?) ON CONFLICT (category, country, sex) "
                "DO UPDATE SET incidents = rm_stats_incidents.incidents + excluded.incidents, "
                "open_incidents = excluded.open_incidents",
                [(text, "KE", "female", 2, 1) for text in awkward[:2]],
            )
            db.delete_keys("rm_officers", "officer_id", ["o0", "o4"])
        stored = dict(db.fetchall("SELECT officer_id, username FROM rm_officers"))
        assert stored == {f"o{i}": t for i, t in enumerate(awkward) if i not in (0, 4)}
        names = dict(db.fetchall("SELECT officer_id, full_name FROM rm_officers"))
        assert names == stored
        counts = {
            row[0]: (row[1], row[2])
            for row in db.fetchall(
                "SELECT category, incidents, open_incidents FROM rm_stats_incidents"
            )
        }
        assert counts == {t: (3, 1) if t in awkward[:2] else (1, 0) for t in awkward}
    finally:
        db.close()
