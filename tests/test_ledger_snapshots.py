"""The book keeps balances and open reservations only, is loaded from its
latest snapshot, and books stored before transfers had their own records
still load, export and reverse."""

from __future__ import annotations

import json
from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from domain.errors import NotFound
from domain.personal import SEALED_KEY
from domain.sealing import EventForged
from ledger import commands as c
from ledger import snapshot
from ledger.chart import APPROVED, BANK, CORRECTIONS, GRANTS
from ledger.errors import (
    LedgerRefusal,
    MakerCheckerViolation,
    OverdrawnByValueDate,
    RequestLapsed,
    ValueDateRefused,
)
from ledger.export import journal, to_beancount
from ledger.service import leg
from ledger.vocabulary import TransferKind
from msafiri.bootstrap import build_system
from tests.factories import days_ago
from tests.fund_helpers import (
    FUND_AGE_DAYS,
    approve,
    incident_abroad,
    kes,
    open_fund,
    pay,
    request,
    snapshotted_fund_with_a_request,
)
from tests.test_fund_cli import run


def state(book) -> dict:
    return {
        "version": book.version,
        "opened_on": book.opened_on,
        "accounts": book.accounts,
        "policy": book.policy,
        "pendings": book.pendings,
        "daily": dict(book.daily),
        "unreserved": book.unreserved,
    }


def test_a_fresh_process_loads_the_book_from_its_latest_snapshot(
    system, officers, settings, monkeypatch
):
    monkeypatch.setattr("ledger.service.SNAPSHOT_EVERY", 7)
    open_fund(system, officers)
    migrant_id, incident_id = incident_abroad(system, officers)
    paid = request(system, officers.attache, migrant_id, incident_id, 20_000)
    approve(system, officers.fund, paid)
    system.ledger.book()  # the process snapshots what it reads, when due
    pay(system, officers.fund, paid)
    waiting = request(system, officers.attache, migrant_id, incident_id, 5_000, "legal_aid")
    system.ledger.book()

    [latest] = system.ledger.snapshots.get(system.ledger.book_id, desc=True, limit=1)
    assert isinstance(latest, snapshot.BookSnapshot)
    assert 7 <= latest.originator_version <= system.ledger.book().version
    # The snapshot holds no transfers: its size does not follow the history.
    assert set(latest.state) == {
        "fund_code", "name", "opened_on", "created_on", "modified_on",
        "accounts", "policy", "pendings", "daily", "unreserved",
    }  # fmt: skip

    fresh = build_system(settings)
    try:
        loaded = fresh.ledger.book()
        replayed, _ = journal(system.store, system.ledger.book_id)
        assert state(loaded) == state(replayed)
        assert loaded.account(BANK, "KES").available == (100_000_000 - 2_000_000 - 500_000)
        assert any(p.disbursement_id == waiting for p in loaded.pendings.values())
        # And a money command in the fresh process works from it.
        approve(fresh, officers.fund, waiting)
    finally:
        fresh.close()


def test_a_cold_book_reads_the_data_keys_it_needs_in_one_query(
    system, officers, settings, monkeypatch
):
    """Each open reservation's memo is sealed under its own request's key: a
    fresh process read them one query each (32 on the fifty-officer
    workload); read together, one query however many are open."""
    monkeypatch.setattr("ledger.service.SNAPSHOT_EVERY", 7)
    open_fund(system, officers)
    migrant_id, incident_id = incident_abroad(system, officers)
    for n, kind in enumerate(("legal_aid", "shelter", "medical", "repatriation")):
        request(system, officers.attache, migrant_id, incident_id, 1_000 * (n + 1), kind)
    system.ledger.book()  # snapshotted: its reservations are read from the snapshot
    # Each memo (it names the payee) is under its request's key, made in the
    # same save as the reservation: an erasure reaches it.
    mapper = system.store.mapper
    reserved = [
        mapper._decoded(row)[1]
        for row in system.store.recorder.select_events(system.ledger.book_id)
        if row.topic.endswith(":TransferReserved")
    ]
    assert len(reserved) == 4 and all(SEALED_KEY in state for state in reserved)
    fresh = build_system(settings)
    try:
        keys = fresh.store.mapper.data_keys
        queries = []
        query = keys._query
        monkeypatch.setattr(keys, "_query", lambda *a, **k: queries.append(a) or query(*a, **k))
        book = fresh.ledger.book()
        assert len(book.pendings) == 4
        assert {p.memo for p in book.pendings.values()} == {
            p.memo for p in system.ledger.book().pendings.values()
        }
        assert len(queries) == 1
    finally:
        fresh.close()


def test_each_posted_transfer_has_its_own_record(system, officers):
    open_fund(system, officers)
    migrant_id, incident_id = incident_abroad(system, officers)
    d = request(system, officers.attache, migrant_id, incident_id, 20_000)
    approve(system, officers.fund, d)
    payment = pay(system, officers.fund, d, amount_minor=1_500_000)
    payment_id = UUID(payment["transfer_id"])
    record = system.ledger.transfer(payment_id)
    assert record.transfer_id == payment_id
    assert record.kind is TransferKind.PAYMENT and record.disbursement_id == d
    assert [(x.account, x.debit_minor, x.credit_minor) for x in record.legs][1] == (
        BANK,
        0,
        1_500_000,
    )
    with pytest.raises(NotFound):
        system.ledger.transfer(uuid4())


def test_a_book_stored_before_transfer_records_still_loads_exports_and_reverses(
    system, officers, settings
):
    open_fund(system, officers)
    # As the earlier code stored it: the book's event only, no record.
    book = system.ledger.book()
    old = uuid4()
    book.post(
        officers.fund,
        old,
        TransferKind.CORRECTION,
        (leg(GRANTS, "KES", debit=10_000), leg(CORRECTIONS, "KES", credit=10_000)),
        "correction: misfiled grant",
    )
    system.store.save_all(book)
    assert not system.store.exists(book.records[old].id)

    fresh = build_system(settings)
    try:
        assert f'transfer_id: "{old}"' in to_beancount(fresh.store, fresh.ledger.book_id)
        assert fresh.ledger.transfer(old).kind is TransferKind.CORRECTION
        reverse = c.ReverseTransfer(command_id=uuid4(), transfer_id=old, reason="filed twice")
        assert fresh.ledger.reverse(officers.fund, reverse)["status"] == "posted"
        assert fresh.ledger.transfer(old).reversed_by == reverse.command_id
        with pytest.raises(LedgerRefusal, match="already reversed"):
            fresh.ledger.reverse(
                officers.fund,
                c.ReverseTransfer(command_id=uuid4(), transfer_id=old, reason="again"),
            )
        assert fresh.ledger.book().account(CORRECTIONS, "KES").posted == 0
    finally:
        fresh.close()


# --- issue 12's edges with a book loaded from its snapshot -----------------------------

EXCEPTION = "Stranded after surgery; board guidance."


def test_the_edges_hold_for_a_book_loaded_from_its_snapshot(
    system, officers, settings, monkeypatch, capsys
):
    """Expiry, maker-checker on money out, ineligible requests and value dates
    read what the snapshot kept (reservations, the opening day, the bank by
    value date, the unreserved requests) in a fresh process."""
    monkeypatch.setattr("ledger.service.SNAPSHOT_EVERY", 1)
    open_fund(system, officers)  # 1,000,000 received 30 days ago
    migrant_id, incident_id = incident_abroad(system, officers)
    waiting = request(system, officers.attache, migrant_id, incident_id, 30_000)
    ineligible = request(system, officers.attache, migrant_id, incident_id, 10_000)
    approved = request(system, officers.attache, migrant_id, incident_id, 20_000, "shelter")
    approve(system, officers.fund, approved)
    grant = c.RecordGrant(
        command_id=uuid4(), donor="IOM", amount=kes(500), received_on=days_ago(2), reference="I-1"
    )
    system.ledger.record_grant(officers.fund, grant)
    out = c.PostCorrection.parse(
        {
            "command_id": uuid4(),
            "legs": [
                {"account": CORRECTIONS, "currency": "KES", "debit_minor": 500_000},
                {"account": BANK, "currency": "KES", "credit_minor": 500_000},
            ],
            "value_date": days_ago(0),
            "reason": "Bank charges.",
        }
    )
    assert system.ledger.post_correction(officers.fund, out)["status"] == "proposed"
    head = system.ledger.book().version  # snapshots it

    fresh = build_system(settings)
    try:
        [latest] = fresh.ledger.snapshots.get(fresh.ledger.book_id, desc=True, limit=1)
        assert latest.originator_version == head  # the fresh book starts from it
        book = fresh.ledger.book()
        assert ineligible in book.unreserved and book.opened_on == days_ago(FUND_AGE_DAYS)
        # Money out: proposed by one officer, posted on another's approval.
        reverse = c.ReverseTransfer(command_id=uuid4(), transfer_id=grant.command_id, reason="Dup")
        assert fresh.ledger.reverse(officers.fund, reverse)["status"] == "proposed"
        for proposal in (out.command_id, reverse.command_id):
            approval = c.ApproveCorrection(command_id=uuid4(), proposal_id=proposal)
            with pytest.raises(MakerCheckerViolation):
                fresh.ledger.approve_correction(officers.fund, approval)
            approval = c.ApproveCorrection(command_id=uuid4(), proposal_id=proposal)
            assert fresh.ledger.approve_correction(officers.fund2, approval)["status"] == "approved"
        assert fresh.ledger.transfer(grant.command_id).reversed_by == reverse.command_id
        # By value date: 40 days ago the bank was empty (the daily movements
        # came from the snapshot).
        early = c.PostCorrection.parse(
            {
                "command_id": uuid4(),
                "legs": out.model_dump()["legs"],
                "value_date": days_ago(40),
                "reason": "Bank charges.",
            }
        )
        with pytest.raises(OverdrawnByValueDate):
            fresh.ledger.post_correction(officers.fund, early)
        late_grant = grant.model_copy(update={"command_id": uuid4(), "received_on": days_ago(500)})
        with pytest.raises(ValueDateRefused, match="before the fund opened"):
            fresh.ledger.record_grant(officers.fund, late_grant)
        # The ineligible request reserves only when its exception is approved.
        available = fresh.ledger.book().account(BANK, "KES").available
        for officer in (officers.fund, officers.fund2):
            approve(fresh, officer, ineligible, humanitarian_exception=True, reason=EXCEPTION)
        assert fresh.ledger.book().account(BANK, "KES").available == available - 1_000_000
        assert ineligible not in fresh.ledger.book().unreserved
        # Past expiry, without the sweep: decisions lapse what the snapshot reserved.
        later = fresh.ledger.disbursement(waiting).expires_at + timedelta(minutes=1)
        fresh.ledger.clock = lambda: later
        with pytest.raises(RequestLapsed):
            approve(fresh, officers.fund, waiting)
        with pytest.raises(RequestLapsed):
            pay(fresh, officers.fund, approved)
        book = fresh.ledger.book()
        assert book.account(APPROVED, "KES").posted == 1_000_000  # the exception's only
        assert book.account(BANK, "KES").available == book.account(BANK, "KES").posted - 1_000_000
        replayed, _ = journal(fresh.store, fresh.ledger.book_id)
        assert state(book) == state(replayed)
        fresh.keep_current()
    finally:
        fresh.close()
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    code, out_, _ = run(capsys, "audit", "verify", "--json")
    result = json.loads(out_)
    assert code == 0 and result["ok"], result["problems"]
    assert result["book_snapshots_checked"] >= 10


# --- a snapshot row written by SQL ---------------------------------------------------------


def snapshot_sql(system, statement: str, *params) -> list[tuple]:
    """Run SQL on the snapshot table ({table}), as someone with database access would."""
    table = system.ledger.snapshots.recorder.events_table_name
    mark = "?" if system.database.backend == "sqlite" else "%s"
    conn = system.audit.connect()
    try:
        cursor = conn.execute(statement.format(table=table, m=mark), params)
        rows = cursor.fetchall() if cursor.description else []
        conn.commit()
        return rows
    finally:
        conn.close()


def as_stored(system, uuid: UUID):
    return uuid.hex if system.database.backend == "sqlite" else str(uuid)


def verify(capsys, monkeypatch, system) -> tuple[int, dict]:
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", system.settings.database_url)
    code, out, _ = run(capsys, "audit", "verify", "--json")
    return code, json.loads(out)


def test_a_snapshot_row_forged_altered_or_copied_is_named(
    system, officers, settings, monkeypatch, capsys
):
    snapshotted_fund_with_a_request(system, officers, monkeypatch)
    book_id = system.ledger.book_id
    rows = snapshot_sql(
        system,
        "SELECT originator_version, topic, state FROM {table} WHERE originator_id = {m} "
        "ORDER BY originator_version",
        as_stored(system, book_id),
    )
    code, result = verify(capsys, monkeypatch, system)
    assert code == 0 and result["book_snapshots_checked"] == len(rows) >= 2, result
    (_, topic, genuine), (latest, _, _) = rows[0], rows[-1]

    # Altered: one byte of the latest snapshot flipped.
    altered = bytearray(bytes(rows[-1][2]))
    altered[len(altered) // 2] ^= 0x01
    snapshot_sql(
        system,
        "UPDATE {table} SET state = {m} WHERE originator_id = {m} AND originator_version = {m}",
        bytes(altered),
        as_stored(system, book_id),
        latest,
    )
    # Inserted: a genuine snapshot's bytes under a later version, and random bytes.
    for version, state_ in ((latest + 50, bytes(genuine)), (latest + 60, b"\x00" * 64)):
        snapshot_sql(
            system,
            "INSERT INTO {table} (originator_id, originator_version, topic, state) "
            "VALUES ({m}, {m}, {m}, {m})",
            as_stored(system, book_id),
            version,
            topic,
            state_,
        )
    code, result = verify(capsys, monkeypatch, system)
    assert code == 3
    for version in (latest, latest + 50, latest + 60):
        assert any(
            p.startswith(f"book snapshot {book_id}/{version}: cannot be read back")
            and "fails authentication" in p
            for p in result["problems"]
        ), (version, result["problems"])
    # A fresh process does not start from a forged snapshot: money commands
    # refuse, naming the row (the same error a forged event gives).
    fresh = build_system(settings)
    try:
        with pytest.raises(EventForged, match=rf"{book_id}/{latest + 60} \(BookSnapshot\) fails"):
            fresh.ledger.book()
    finally:
        fresh.close()
    # Snapshots are a cache: deleting the bad rows loses nothing.
    snapshot_sql(
        system,
        "DELETE FROM {table} WHERE originator_id = {m} AND originator_version >= {m}",
        as_stored(system, book_id),
        latest,
    )
    code, result = verify(capsys, monkeypatch, system)
    assert code == 0, result["problems"]

    # Written with the key (an insider, or a bug): authentic, but not what
    # the log says - the bank holds a million more. Named too.
    book = system.ledger.book()
    book.account(BANK, "KES").debits_posted += 100_000_000
    system.ledger.snapshots.put([snapshot.BookSnapshot.take(book)])
    code, result = verify(capsys, monkeypatch, system)
    assert code == 3
    assert f"book snapshot {book_id}/{book.version}: accounts differ from the book replayed" in (
        " ".join(result["problems"])
    ), result["problems"]
