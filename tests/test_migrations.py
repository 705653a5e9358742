"""Every migration can be rolled back and applied again, on SQLite and on
PostgreSQL, and afterwards the read models (and the audit chain) equal a
clean rebuild from the log.

A migration that (re)creates a projection's tables must set that
projection back to the log's start; one that kept the position left the new
table empty and "up to date" for ever (0006 and `activity` did). On SQLite
the re-apply happens by itself on the next start; on PostgreSQL by
`msafiri db upgrade`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from domain.access import commands as ac
from domain.errors import MsafiriError
from ledger import commands as lc
from ledger.chart import BANK, CORRECTIONS
from msafiri.bootstrap import build_system, upgrade_schema
from projections.db import ReadModelDb
from projections.schema import (
    _migrations,
    dependents,
    migration_hashes,
    migration_ids,
    pending_migrations,
    rollback,
)
from tests.factories import days_ago
from tests.test_projections_support import assert_same, dump, write_in_chunks

# Tables a small demo population fills; the test is vacuous if one is empty.
MUST_HAVE_ROWS = (
    "rm_officers",
    "rm_cases",
    "rm_case_search",
    "rm_incidents",
    "rm_timeline",
    "rm_stats_migrants",
    "rm_stats_incident_keys",
    "rm_fund_accounts",
    "rm_fund_journal",
    "rm_disbursements",
    "rm_activity",
    "rm_case_access",  # 0010_need_to_know
    "rm_fund_corrections",  # 0008_fund_corrections
)


def need_to_know_and_a_correction(system, actors) -> None:
    """What the demo population does not write: a supervisor's grant and
    its revocation, a break-glass access and its review, and a correction
    proposal waiting for a second fund officer."""
    db = ReadModelDb(system.database)
    try:
        migrant_id = UUID(str(db.fetchall("SELECT migrant_id FROM rm_cases LIMIT 1")[0][0]))
    finally:
        db.close()
    supervisor = actors["supervisor"]
    granted = system.access.grant(
        supervisor,
        ac.GrantCaseAccess(
            migrant_id=migrant_id,
            officer_id=actors["fund"].officer_id,
            reason="Medical claim review",
            expires_at=datetime.now(UTC) + timedelta(days=3),
        ),
    )
    system.access.revoke(supervisor, ac.RevokeCaseAccess(grant_id=granted, reason="Claim done"))
    glass = system.access.break_glass(
        actors["attache"], ac.TakeEmergencyAccess(migrant_id=migrant_id, reason="Hospital called")
    )
    system.access.review(
        supervisor,
        ac.ReviewEmergencyAccess(grant_id=glass, finding="justified", notes="Hospital confirmed"),
    )
    system.ledger.post_correction(
        actors["fund"],
        lc.PostCorrection(
            command_id=uuid4(),
            legs=(
                {"account": CORRECTIONS, "currency": "KES", "debit_minor": 500_000},
                {"account": BANK, "currency": "KES", "credit_minor": 500_000},
            ),
            value_date=days_ago(0),
            reason="Bank charges booked twice.",
        ),
    )


def dump_all(database) -> dict[str, list[tuple]]:
    """The read models, their positions and the audit chain's links."""
    out = dump(database)
    db = ReadModelDb(database)
    try:
        out["rm_audit_chain"] = db.fetchall(
            "SELECT position, originator_id, originator_version, link FROM rm_audit_chain "
            "ORDER BY position"
        )
    finally:
        db.close()
    return out


# 0013_data_keys holds migrants' data keys, not a read model: its rollback
# is refused while keys exist (it would destroy every migrant's data).
@pytest.mark.parametrize("migration", [m for m in migration_ids() if m != "0013_data_keys"])
def test_rollback_and_reapply_rebuilds_what_the_migration_made(settings, migration):
    system = build_system(settings)
    try:
        actors = write_in_chunks(system, system.read_models, chunks=1, migrants=12)
        system.keep_current()
        need_to_know_and_a_correction(system, actors)
        system.keep_current()
        before = dump_all(system.database)
    finally:
        system.close()
    for table in MUST_HAVE_ROWS:
        assert before[table], f"{table} is empty: the scenario proves nothing"
    assert before["rm_audit_chain"]

    database = system.database
    rolled_back = rollback(database, [migration])
    assert set(rolled_back) == set(dependents([migration]))
    assert migration in pending_migrations(database)

    if database.backend == "postgresql":
        # Refused until the operator upgrades; then the workers catch up.
        upgrade_schema(settings)
    system = build_system(settings)  # SQLite: this start re-applies it
    try:
        assert pending_migrations(database) == []
        system.keep_current()
        after = dump_all(database)
        system.read_models.rebuild()
        rebuilt = dump_all(database)
    finally:
        system.close()
    assert_same(after, rebuilt)
    assert_same(after, before)


def test_the_pending_check_reads_the_same_migrations_and_hashes_as_yoyo():
    # Every command's "is the schema behind?" lists migrations/ and hashes
    # the ids itself (no yoyo import); yoyo applies and records them. If the
    # two ever disagreed, an up-to-date database would be called behind, or
    # a behind one current.
    yoyo = {m.id: m.hash for m in _migrations()}
    assert migration_hashes() == yoyo
    assert len(yoyo) >= 20 and "0021_claims_agency_id" in yoyo


def test_dependents_of_the_first_migration_are_all_read_model_migrations():
    # Rolling back 0001 (rm_tracking itself) takes every read model with it;
    # the audit chain's migration and the access log's tables (not read
    # models: nothing rebuilds them) stand apart.
    ids = migration_ids()
    alone = {"0100.audit-chain", "0008_sign_in", "0011_access_log_chain", "0013_data_keys"}
    assert set(dependents(["0001_read_models"])) == {i for i in ids if i[0:2] == "00"} - alone
    for migration in alone - {"0008_sign_in"}:
        assert dependents([migration]) == [migration]
    # The access log's chain is built on sign-in's table.
    assert set(dependents(["0008_sign_in"])) == {"0008_sign_in", "0011_access_log_chain"}


# The migrations that hold what nothing rebuilds (the access log and its
# chain, the data keys) refuse to roll back while they hold it - rolling
# back would erase it - and roll back and re-apply when empty.
GUARDED = {
    "0008_sign_in": "the access log holds entries",
    "0011_access_log_chain": "the access log holds entries",
    "0013_data_keys": "data_keys holds rows",
}


@pytest.mark.parametrize("migration", sorted(GUARDED))
def test_a_migration_holding_what_nothing_rebuilds_is_rolled_back_only_empty(settings, migration):
    system = build_system(settings)
    try:
        database = system.database
        # Empty (a new database): rolled back and applied again.
        rolled_back = rollback(database, [migration])
        assert migration in rolled_back and migration in pending_migrations(database)
        upgrade_schema(settings)
        assert pending_migrations(database) == []
        # Holding entries: refused, and nothing was rolled back.
        write_in_chunks(system, system.read_models, chunks=1, migrants=3)
        with pytest.raises(MsafiriError):  # every attempt is logged, failed ones too
            system.officers.sign_in("nobody", "not the password at all")
        before = dump_all(database)
        with pytest.raises(Exception, match=GUARDED[migration]):
            rollback(database, [migration])
        assert pending_migrations(database) == []
        assert_same(before, dump_all(database))
    finally:
        system.close()
