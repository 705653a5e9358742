"""What keeps `msafiri demo` linear in time and bounded in memory at a
million migrants (docs/benchmarks.md, issue 17 item 8): the data-key cache
is bounded, a sweep looks only at the requests it is told may be overdue,
and a first catch-up defers the read models' query-only indexes."""

from __future__ import annotations

from uuid import uuid4

import msafiri.data_keys as data_keys_module
from msafiri.demo.officers import ensure_demo_officers
from tests.fund_helpers import incident_abroad, open_fund, report_injury, request_assistance
from tests.test_data_keys_batch import fresh, same_key


def test_the_data_key_cache_is_bounded_and_a_dropped_key_is_read_again(system, monkeypatch):
    monkeypatch.setattr(data_keys_module, "MAX_CACHED_KEYS", 20)
    subject = str(uuid4())
    refs = [str(uuid4()) for _ in range(50)]
    other = fresh(system)
    try:
        other.prepare(dict.fromkeys(refs, subject))
        assert len(other._cache) <= 20
        # The first ones were dropped from memory, not from the table.
        first = other.for_reading(refs[0])
        assert first is not None
        assert same_key(first, fresh(system).for_reading(refs[0]))
        assert len(other._cache) <= 20
    finally:
        other.close()


def test_a_first_catch_up_builds_the_query_only_indexes_once_at_the_end(system):
    ensure_demo_officers(system)  # a log to catch up with
    read_models = system.read_models
    runner = read_models.runner
    assert "cases" in runner.defer_fresh_indexes()  # nothing applied yet
    deferred = {row[0] for row in runner.db.fetchall("SELECT index_name FROM rm_deferred_indexes")}
    assert "rm_cases_name" in deferred
    assert "rm_cases_name" not in {i[0] for i in runner.db.plain_indexes(["rm_cases"])}
    read_models.catch_up(bulk=True)
    assert runner.db.fetchall("SELECT index_name FROM rm_deferred_indexes") == []
    assert "rm_cases_name" in {i[0] for i in runner.db.plain_indexes(["rm_cases"])}
    # At the head: nothing is fresh any more, nothing is dropped.
    assert runner.defer_fresh_indexes() == []


def test_a_sweep_told_which_requests_may_be_overdue_lapses_only_those(system, officers):
    open_fund(system, officers, grant_shillings=1_000_000)
    migrant_id, incident_id = incident_abroad(system, officers)
    requests = [
        request_assistance(system, officers, incident, "shelter", 20_000)
        for incident in (incident_id, report_injury(system, officers, migrant_id))
    ]
    system.fund_process.run_once()
    first, second = requests
    later = system.ledger.disbursement(second).expires_at
    # Both are overdue; the sweep lapses the one it is given.
    assert system.fund_process.expire_overdue(now=later, among=[first]) == 1
    assert system.ledger.disbursement(first).status.value == "expired"
    assert system.ledger.disbursement(second).is_open
    assert system.fund_process.expire_overdue(now=later, among=[first]) == 0
    assert system.fund_process.expire_overdue(now=later) == 1  # every open one
