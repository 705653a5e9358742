"""Money decisions read what they need before waiting for the fund and are
brought up to date once they hold it (ledger/service.py `Unit`), and an
import's contribution references are decided several in one hold
(`record_contribution_batches`): what changes between the early read and the
decision counts, and every reference is still its own idempotent command."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from domain.cases import commands as cc
from ledger import commands as c
from ledger.errors import LedgerRefusal
from msafiri.registry_import import contribution_batch_id, import_contributions
from tests.factories import days_ago, registration
from tests.fund_helpers import approve, incident_abroad, open_fund, pay, request


@pytest.fixture
def fund(system, officers):
    open_fund(system, officers, grant_shillings=1_000_000)
    return system


def events_count(system) -> int:
    return system.store.recorder.max_notification_id() or 0


def after_the_early_read(monkeypatch, ledger, meanwhile) -> None:
    """Run `meanwhile` once, between a command's reads before the fund and
    its decision holding it (as another officer's work would fall there)."""
    original = ledger._prefetched
    pending = [meanwhile]

    def prefetched(prefetch):
        unit = original(prefetch)
        if pending:
            pending.pop()()
        return unit

    monkeypatch.setattr(ledger, "_prefetched", prefetched)


def contribution_batch(migrant_id, number: str, reference: str, shillings: int = 3_000):
    return c.RecordContributionBatch(
        command_id=uuid4(),
        currency="KES",
        received_on=days_ago(5),
        reference=reference,
        lines=(
            c.ContributionItem(
                migrant_id=migrant_id, membership_number=number, amount_minor=shillings * 100
            ),
        ),
    )


def test_a_membership_started_after_the_early_read_counts(fund, officers, monkeypatch):
    migrant_id = fund.cases.register(officers.registrar, registration())

    def start_membership():
        fund.cases.execute(
            officers.registrar,
            cc.StartMembership(
                migrant_id=migrant_id,
                membership_number="MWF-000777",
                starts_on=days_ago(30),
                ends_on=days_ago(30) + timedelta(days=730),
            ),
        )

    after_the_early_read(monkeypatch, fund.ledger, start_membership)
    batch = contribution_batch(migrant_id, "MWF-000777", "NEA-LATE")
    result = fund.ledger.record_contributions(officers.fund, batch)
    assert result["amount_minor"] == 300_000
    assert fund.ledger.transfer(batch.command_id).kind.value == "contribution"


def test_a_payment_made_after_the_early_read_is_not_made_twice(fund, officers, monkeypatch):
    migrant_id, incident_id = incident_abroad(fund, officers)
    d = request(fund, officers.fund, migrant_id, incident_id, 5_000)
    approve(fund, officers.fund2, d)
    after_the_early_read(
        monkeypatch, fund.ledger, lambda: pay(fund, officers.fund2, d, payment_reference="EFT-A")
    )
    with pytest.raises(LedgerRefusal, match="pay"):
        pay(fund, officers.fund, d, payment_reference="EFT-B")
    disbursement = fund.ledger.disbursement(d)
    assert disbursement.paid_minor == 500_000 and disbursement.payments == 1


def test_an_approval_given_after_the_early_read_is_seen(fund, officers, monkeypatch):
    migrant_id, incident_id = incident_abroad(fund, officers)
    d = request(fund, officers.attache, migrant_id, incident_id, 5_000)
    after_the_early_read(monkeypatch, fund.ledger, lambda: approve(fund, officers.fund2, d))
    with pytest.raises(LedgerRefusal, match="approve"):
        approve(fund, officers.fund, d)
    assert len(fund.ledger.disbursement(d).approvals) == 1


def test_batches_decided_together_are_each_their_own_idempotent_command(fund, officers):
    migrant_id, _ = incident_abroad(fund, officers)
    good = contribution_batch(migrant_id, "MWF-000042", "NEA-1")
    bad = contribution_batch(migrant_id, "MWF-999999", "NEA-2")
    later = contribution_batch(migrant_id, "MWF-000042", "NEA-3", 1_000)

    first = fund.ledger.record_contribution_batches(officers.fund, [good, bad, later])
    assert first[0] == {"transfer_id": str(good.command_id), "amount_minor": 300_000}
    assert isinstance(first[1], LedgerRefusal) and "no welfare-fund membership" in str(first[1])
    assert first[2] is None  # after a refusal: not decided, as one call after another
    stored = events_count(fund)

    # Again, together or alone: answered from the receipts, nothing stored.
    again = fund.ledger.record_contribution_batches(officers.fund, [good, bad, later])
    assert again[0] == first[0] and str(again[1]) == str(first[1]) and again[2] is None
    assert fund.ledger.record_contributions(officers.fund, good) == first[0]
    with pytest.raises(LedgerRefusal, match="no welfare-fund membership"):
        fund.ledger.record_contributions(officers.fund, bad)
    assert events_count(fund) == stored

    alone = fund.ledger.record_contributions(officers.fund, later)
    assert fund.ledger.record_contribution_batches(officers.fund, [good, later]) == [
        first[0],
        alone,
    ]
    assert fund.ledger.recorded([good.command_id, bad.command_id, uuid4()]) == {
        good.command_id,
        bad.command_id,
    }


def test_the_import_decides_a_files_references_in_one_hold(
    fund, officers, monkeypatch, tmp_path: Path
):
    incident_abroad(fund, officers)
    path = tmp_path / "contributions.csv"
    lines = ["membership_number,amount,currency,received_on,reference"]
    lines += [f"MWF-000042,1000.00,KES,{days_ago(3)},REF-{n}" for n in range(3)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    holds = []
    original = fund.store.serialised

    def counted(key):
        holds.append(key)
        return original(key)

    monkeypatch.setattr(fund.store, "serialised", counted)
    report = import_contributions(fund, officers.fund, path)
    assert (report.imported, report.already_imported, len(holds)) == (3, 0, 1)
    for n in range(3):  # each reference its own transfer
        transfer_id = contribution_batch_id(f"REF-{n}", days_ago(3), "KES")
        assert fund.ledger.transfer(transfer_id).kind.value == "contribution"
    again = import_contributions(fund, officers.fund, path)
    assert (again.imported, again.already_imported, len(holds)) == (0, 3, 1)


def test_two_imports_racing_record_each_reference_once(fund, officers, monkeypatch):
    """Both read that nothing is recorded, then both decide: the second's
    receipts conflict, it reads the first's answers, and each reference is
    posted once."""
    migrant_id, _ = incident_abroad(fund, officers)
    batches = [contribution_batch(migrant_id, "MWF-000042", f"RACE-{n}") for n in range(3)]
    both_read = threading.Barrier(2, timeout=30)
    original = fund.ledger._prefetched

    def prefetched(prefetch):
        unit = original(prefetch)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()  # only the first round of each thread races
        return unit

    monkeypatch.setattr(fund.ledger, "_prefetched", prefetched)
    outcomes: list = []

    def run(actor):
        outcomes.append(fund.ledger.record_contribution_batches(actor, batches))

    threads = [threading.Thread(target=run, args=(a,)) for a in (officers.fund, officers.fund)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    both_read.abort()
    assert len(outcomes) == 2 and outcomes[0] == outcomes[1]
    assert all(isinstance(outcome, dict) for outcome in outcomes[0])
    posted = [
        event
        for event in fund.store.events.get(fund.ledger.book_id)
        if getattr(event, "reference", "").startswith("RACE-")
    ]
    assert sorted(event.reference for event in posted) == ["RACE-0", "RACE-1", "RACE-2"]


def test_the_catch_up_query_reads_each_record_by_its_key(fund):
    """The one-query catch-up is a primary-key range scan per record, whatever
    the planner's statistics say of the log (as a join it was planned as a scan
    of the whole log while `msafiri demo` wrote: 6.1 ms a call at 8,000 migrants
    against 0.46 ms). SQLite has no one-query form: each record is read by its key."""
    recorder = fund.store.recorder
    if fund.database.backend == "sqlite":
        assert not hasattr(recorder, "select_events_after")
        return
    with recorder.datastore.get_connection() as conn, conn.transaction():
        # A planner that would rather not loop (as one working from stale
        # statistics): the statement leaves it no other way than the key.
        conn.execute("SET LOCAL enable_nestloop = off")
        rows = conn.execute(
            "EXPLAIN " + recorder.events_after_query(),
            ([fund.ledger.book_id, uuid4()], [0, 0]),
            binary=True,
        ).fetchall()
    plan = "\n".join(row["QUERY PLAN"] if isinstance(row, dict) else row[0] for row in rows)
    assert "Nested Loop" in plan and "_pkey" in plan, plan
    assert "Hash Join" not in plan and "Merge Join" not in plan and "Seq Scan" not in plan, plan
