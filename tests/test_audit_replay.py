"""Replaying the log to an earlier position gives the state the read models
had when they were at that position; and verify catches a read model that
drifted from the log."""

from __future__ import annotations

from uuid import UUID

from msafiri.demo.officers import ensure_demo_officers
from msafiri.demo.population import populate_with_fund
from projections.audit.consistency import all_cases, case_problems, fund_problems, spread_cases
from projections.audit.trail import state_as_of


def snapshot(queries):
    cases = {row.migrant_id: (row.stage, row.version, row.full_name) for row in all_cases(queries)}
    balances = {
        (b.account, b.currency): (b.posted_minor, b.pending_minor, b.available_minor)
        for b in queries.fund_balances()
    }
    return cases, balances


def test_the_log_replayed_to_a_position_equals_the_read_models_then(system):
    actors = ensure_demo_officers(system)
    populate_with_fund(system, actors, 120, 5)
    system.read_models.catch_up()
    queries = system.read_models.queries
    position = system.store.recorder.max_notification_id()
    assert {s.position for s in queries.status()} == {position}
    cases_then, balances_then = snapshot(queries)

    # History moves on: more migrants, more money.
    populate_with_fund(system, actors, 80, 6)
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
    populate_with_fund(system, actors, 40, 8)
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


def test_a_sample_of_cases_is_spread_over_them_without_repeats(system):
    # Issue 17, item 3: verify checked a sample by walking every case; now each
    # sampled case is one index lookup, and a drifted sampled case is found.
    actors = ensure_demo_officers(system)
    populate_with_fund(system, actors, 60, 9)
    system.read_models.catch_up()
    queries = system.read_models.queries
    every = sorted(row.migrant_id for row in all_cases(queries))
    sample = [row.migrant_id for row in spread_cases(queries, 12)]
    assert len(sample) == 12 == len(set(sample)) and sample == sorted(sample)
    assert set(sample) <= set(every)
    # Spread: the sample reaches both halves of the id space.
    assert sample[0] < every[len(every) // 2] < sample[-1]

    victim = sample[5]
    conn = system.audit.connect()
    try:
        mark = system.audit.mark
        conn.execute(
            f"UPDATE rm_cases SET full_name = full_name || ' Tampered' WHERE migrant_id = {mark}",
            (victim,),
        )
        if system.audit.backend != "sqlite":
            conn.commit()
    finally:
        conn.close()
    checked, problems = case_problems(system.store, system.audit, queries, sample=12)
    case_number = queries.get_case(victim).case_number
    assert checked == 12 and len(problems) == 1 and case_number in problems[0]
