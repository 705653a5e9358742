"""Replaying the log to an earlier position gives the state the read models
had when they were at that position; and verify catches a read model that
drifted from the log."""

from __future__ import annotations

from uuid import UUID

from msafiri.demo.officers import ensure_demo_officers
from msafiri.demo.population import populate_with_fund
from projections.audit.consistency import all_cases, case_problems, fund_problems, random_cases
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
    cases = case_problems(system.store, system.audit, queries)
    assert cases.checked == 40 and cases.problems == [] and cases.seed is None
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
    problems = case_problems(system.store, system.audit, queries).problems
    assert len(problems) == 1 and victim.case_number in problems[0]
    fund = fund_problems(system.store, system.audit, queries, system.ledger.book_id)
    assert len(fund) == 1 and "Assets:Bank:Operating" in fund[0]


def test_a_random_sample_of_cases_repeats_with_its_seed_without_repeats(system):
    # Issue 17, item 3: verify checked a sample by walking every case; now each
    # sampled case is one index lookup, drawn at random with a seed the
    # command prints, and a drifted sampled case is found.
    actors = ensure_demo_officers(system)
    populate_with_fund(system, actors, 60, 9)
    system.read_models.catch_up()
    queries = system.read_models.queries
    every = sorted(row.migrant_id for row in all_cases(queries))
    sample = [row.migrant_id for row in random_cases(queries, 12, seed=41)]
    assert len(sample) == 12 == len(set(sample)) and set(sample) <= set(every)
    assert [row.migrant_id for row in random_cases(queries, 12, seed=41)] == sample
    assert {row.migrant_id for row in random_cases(queries, 12, seed=42)} != set(sample)
    # Asked for more than there are: every case, once.
    assert sorted(row.migrant_id for row in random_cases(queries, 60, seed=41)) == every

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
    cases = case_problems(system.store, system.audit, queries, sample=12, seed=41)
    case_number = queries.get_case(victim).case_number
    assert cases.checked == 12 and cases.seed == 41 and cases.of == 60
    assert len(cases.problems) == 1 and case_number in cases.problems[0]
