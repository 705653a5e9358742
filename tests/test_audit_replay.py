"""Replaying the log to an earlier position gives the state the read models
had when they were at that position; and verify catches a read model that
drifted from the log."""

from __future__ import annotations

from uuid import UUID

from ledger.demo import populate_fund
from projections.audit.consistency import all_cases, case_problems, fund_problems
from projections.audit.trail import state_as_of
from tui.demo.officers import ensure_demo_officers
from tui.demo.population import populate


def snapshot(queries):
    cases = {row.migrant_id: (row.stage, row.version, row.full_name) for row in all_cases(queries)}
    balances = {
        (b.account, b.currency): (b.posted_minor, b.pending_minor, b.available_minor)
        for b in queries.fund_balances()
    }
    return cases, balances


def test_the_log_replayed_to_a_position_equals_the_read_models_then(system):
    actors = ensure_demo_officers(system)
    rng = populate(system.store, actors, 120, 5, lambda n: None)
    populate_fund(system, rng, actors, progress=lambda n: None)
    system.read_models.catch_up()
    queries = system.read_models.queries
    position = system.store.recorder.max_notification_id()
    assert {s.position for s in queries.status()} == {position}
    cases_then, balances_then = snapshot(queries)

    # History moves on: more migrants, more money.
    rng = populate(system.store, actors, 80, 6, lambda n: None)
    populate_fund(system, rng, actors, progress=lambda n: None)
    system.read_models.catch_up()
    assert snapshot(queries) != (cases_then, balances_then)

    for migrant_id, (stage, version, name) in cases_then.items():
        migrant = state_as_of(system.store, system.audit, UUID(migrant_id), position=position)
        assert (migrant.stage.value, migrant.version, migrant.full_name) == (stage, version, name)
    book = state_as_of(system.store, system.audit, system.ledger.book_id, position=position)
    replayed = {
        (a.code, a.currency): (a.posted, a.pending, a.available) for a in book.accounts.values()
    }
    assert replayed == balances_then


def test_verify_catches_a_read_model_that_drifted(system):
    actors = ensure_demo_officers(system)
    rng = populate(system.store, actors, 40, 8, lambda n: None)
    populate_fund(system, rng, actors, progress=lambda n: None)
    system.read_models.catch_up()
    queries = system.read_models.queries
    checked, problems = case_problems(system.store, system.audit, queries)
    assert checked == 40 and problems == []
    assert fund_problems(system.store, system.audit, queries, system.ledger.book_id) == []
    victim = next(all_cases(queries))
    conn = system.audit.connect()
    try:
        mark = system.audit.mark
        conn.execute(
            f"UPDATE rm_cases SET stage = 'closed' WHERE migrant_id = {mark}", (victim.migrant_id,)
        )
        conn.execute(
            "UPDATE rm_fund_accounts SET debits_posted = debits_posted + 1 "
            "WHERE account = 'Assets:Bank:Operating'"
        )
        if system.audit.backend != "sqlite":
            conn.commit()
    finally:
        conn.close()
    _, problems = case_problems(system.store, system.audit, queries)
    assert len(problems) == 1 and victim.case_number in problems[0]
    fund = fund_problems(system.store, system.audit, queries, system.ledger.book_id)
    assert len(fund) == 1 and "Assets:Bank:Operating" in fund[0]
