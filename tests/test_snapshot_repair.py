"""`msafiri ledger repair-snapshots`, on SQLite and PostgreSQL: a snapshot row
forged, altered or copied by SQL stops the fund in a fresh process; an
auditor or a fund officer may not repair it and nothing is deleted; an
administrator's repair names the bad row, deletes it and nothing else, takes
a fresh snapshot and is kept in the access log with its reason; then money
moves again, `audit verify` passes, and a second run finds nothing bad."""

from __future__ import annotations

import json
from uuid import UUID

import pytest

from domain.errors import NotAuthorised
from domain.ids import officer_id
from domain.officers.commands import SetPassword
from domain.sealing import EventForged
from ledger import snapshot
from ledger.chart import BANK
from msafiri.bootstrap import build_system
from msafiri.snapshot_repair import repair_snapshots
from projections.access_log.store import LogFilter
from tests.conftest import ADMIN_PASSWORD
from tests.fund_helpers import request, snapshotted_fund_with_a_request
from tests.test_fund_cli import run
from tests.test_ledger_snapshots import as_stored, snapshot_sql, verify

ADMIN = ("--officer", "admin", "--role", "administrator")
AUDITOR = ("--officer", "auditor", "--role", "auditor")
FUND = ("--officer", "fund", "--role", "fund_officer")
REASON = "audit verify named a bad snapshot row (incident 2026-14)"


# Real argon2 at its cheapest: these tests sign in many times.
pytestmark = pytest.mark.usefixtures("cheap_password_hashing")


@pytest.fixture
def fund(system, officers, monkeypatch):
    """An open fund with a request, snapshotted after every event, and the
    CLI pointed at it (every officer signs in with the admin's password)."""
    migrant_id, incident_id = snapshotted_fund_with_a_request(system, officers, monkeypatch)
    for username in ("auditor", "fund"):
        system.officers.set_password(
            getattr(officers, username), SetPassword(username=username, password=ADMIN_PASSWORD)
        )
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", system.settings.database_url)
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", ADMIN_PASSWORD)
    for name in ("MSAFIRI_OFFICER", "MSAFIRI_ROLE"):
        monkeypatch.delenv(name, raising=False)
    return migrant_id, incident_id


def rows_of(system) -> dict[int, bytes]:
    """The book's snapshot rows as stored: version -> sealed state."""
    rows = snapshot_sql(
        system,
        "SELECT originator_version, state FROM {table} WHERE originator_id = {m}",
        as_stored(system, system.ledger.book_id),
    )
    return {int(version): bytes(state) for version, state in rows}


def damage(system, how: str) -> int:
    """Spoil the book's latest snapshot row by SQL, as someone with database
    access would; returns the version of the bad row."""
    book_id = as_stored(system, system.ledger.book_id)
    rows = rows_of(system)
    latest, first = max(rows), min(rows)
    if how == "forged":  # a new latest row of bytes never sealed with the key
        snapshot_sql(
            system,
            "INSERT INTO {table} (originator_id, originator_version, topic, state) "
            "VALUES ({m}, {m}, {m}, {m})",
            book_id,
            latest + 1,
            topic_of(system),
            b"\x00" * 64,
        )
        return latest + 1
    if how == "altered":  # one byte of the latest row flipped
        state = bytearray(rows[latest])
        state[len(state) // 2] ^= 0x01
        new = bytes(state)
    else:  # "copied": the first (genuine) row's bytes under the latest version
        new = rows[first]
    snapshot_sql(
        system,
        "UPDATE {table} SET state = {m} WHERE originator_id = {m} AND originator_version = {m}",
        new,
        book_id,
        latest,
    )
    return latest


def topic_of(system) -> str:
    [(topic,)] = snapshot_sql(
        system,
        "SELECT topic FROM {table} WHERE originator_id = {m} ORDER BY originator_version LIMIT 1",
        as_stored(system, system.ledger.book_id),
    )
    return topic


def repair_entries(system) -> list[dict]:
    system.access_log.recorder.flush()
    rows = system.access_log.store.entries(LogFilter(officer_id=str(officer_id("admin"))), 1000)
    return [row for row in rows if row["action"] == "snapshot_repair"]


@pytest.mark.parametrize("how", ["forged", "altered", "copied"])
def test_an_administrator_repairs_a_bad_latest_snapshot_and_money_moves_again(
    system, officers, settings, fund, capsys, monkeypatch, how
):
    migrant_id, incident_id = fund
    book_id = system.ledger.book_id
    before = rows_of(system)
    bad = damage(system, how)
    good = {v: state for v, state in before.items() if v != bad}

    # A fresh process refuses money commands: it meets the bad row first.
    fresh = build_system(settings)
    try:
        with pytest.raises(EventForged, match=rf"{book_id}/{bad} \(BookSnapshot\) fails"):
            request(fresh, officers.attache, migrant_id, incident_id, 5_000)
    finally:
        fresh.close()

    # Neither an auditor nor a fund officer may repair it: nothing is deleted.
    for who, role in ((AUDITOR, "an auditor"), (FUND, "a fund_officer")):
        code, out, err = run(capsys, *who, "ledger", "repair-snapshots", "--reason", REASON)
        assert code == 1 and out == ""
        assert err == (
            f"error: {role} may not repair the book's snapshots (needs: administrator)\n"
        )
    with pytest.raises(NotAuthorised):
        repair_snapshots(system, "fund", officers.fund, REASON)
    assert set(rows_of(system)) == set(good) | {bad}
    assert repair_entries(system) == []

    # The administrator's repair names the row, why, and the fresh snapshot.
    code, out, err = run(capsys, *ADMIN, "ledger", "repair-snapshots", "--reason", REASON)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"dropped book snapshot {book_id}/{bad}: cannot be read back (")
    assert "fails authentication" in lines[0] and lines[0].endswith("; it was forged")
    assert len(lines) == 2
    head = max(before)
    if how == "forged":  # the row at the head was good: kept, not taken again
        assert lines[1] == f"the book's latest snapshot, at version {head}, is good and was kept"
    else:
        assert lines[1] == f"fresh snapshot taken at book version {head}"

    # Only the bad row went (its version holds a fresh snapshot if at the head).
    after = rows_of(system)
    assert {v: after[v] for v in good} == good
    assert set(after) == set(good) | ({head} if how != "forged" else set())

    # Money moves again in a fresh process, and audit verify passes.
    fresh = build_system(settings)
    try:
        request(fresh, officers.attache, migrant_id, incident_id, 5_000)
    finally:
        fresh.close()
    code, result = verify(capsys, monkeypatch, system)
    assert code == 0 and result["ok"], result["problems"]

    # The act is in the access log: who, in which role, why, which row.
    [entry] = repair_entries(system)
    assert (entry["username"], entry["role"], entry["reason"]) == ("admin", "administrator", REASON)
    assert (entry["subject_kind"], entry["subject_id"]) == ("fund", str(book_id))
    assert entry["detail"].startswith("deleting 1 bad book snapshot row(s): ")
    assert f"book snapshot {book_id}/{bad}: cannot be read back" in entry["detail"]

    # Again: nothing is bad, nothing is deleted (and that run is logged too).
    kept = rows_of(system)
    code, out, err = run(capsys, *ADMIN, "ledger", "repair-snapshots", "--reason", REASON)
    assert (code, out) == (0, "no book snapshot row is bad; nothing deleted\n"), err
    assert rows_of(system) == kept
    newest, _first = repair_entries(system)  # newest first
    assert newest["detail"] == "no book snapshot row was bad; nothing deleted"


def test_an_authentic_snapshot_unequal_to_the_log_is_dropped_and_json_says_so(
    system, officers, settings, fund, capsys, monkeypatch
):
    """Written with the key (an insider, or a bug): it authenticates, so a
    fresh process would start from a bank holding a million more. The repair
    drops it, and the process that ran it forgets the book it read from it."""
    book_id = system.ledger.book_id
    book = system.ledger.book()
    bank = book.account(BANK, "KES").debits_posted
    book.account(BANK, "KES").debits_posted += 100_000_000
    snapshot_sql(  # in place of the genuine snapshot at the head
        system,
        "DELETE FROM {table} WHERE originator_id = {m} AND originator_version = {m}",
        as_stored(system, book_id),
        book.version,
    )
    system.ledger.snapshots.put([snapshot.BookSnapshot.take(book)])
    system.ledger.forget_book()
    assert system.ledger.book().account(BANK, "KES").debits_posted == bank + 100_000_000

    done = repair_snapshots(system, "admin", officers.admin, REASON)
    assert [(r.originator_id, r.originator_version) for r in done.dropped] == [
        (book_id, book.version)
    ]
    assert done.dropped[0].reason.startswith("accounts")
    assert "differ from the book replayed from the log" in done.dropped[0].reason
    assert (done.snapshot_version, done.fresh) == (book.version, True)
    # This process reads the book from the log again, not from the dropped row.
    assert system.ledger.book().account(BANK, "KES").debits_posted == bank
    fresh = build_system(settings)
    try:
        assert fresh.ledger.book().account(BANK, "KES").debits_posted == bank
    finally:
        fresh.close()

    # --json: the same, as data; nothing bad the second time.
    code, out, err = run(capsys, *ADMIN, "ledger", "repair-snapshots", "--reason", REASON, "--json")
    assert code == 0, err
    assert json.loads(out) == {"dropped": [], "fresh_snapshot": False, "snapshot_version": None}
    code, result = verify(capsys, monkeypatch, system)
    assert code == 0 and result["ok"], result["problems"]


def test_a_repair_needs_a_reason_and_json_lists_the_dropped_rows(system, officers, fund, capsys):
    book_id = system.ledger.book_id
    bad = damage(system, "altered")
    code, out, err = run(capsys, *ADMIN, "ledger", "repair-snapshots")
    assert code == 2 and "Missing option '--reason'" in err
    code, out, err = run(capsys, *ADMIN, "ledger", "repair-snapshots", "--reason", "  ")
    assert code == 2 and err.startswith("error: reason: ")
    assert bad in rows_of(system) and repair_entries(system) == []

    code, out, err = run(capsys, *ADMIN, "ledger", "repair-snapshots", "--reason", REASON, "--json")
    assert code == 0, err
    data = json.loads(out)
    [dropped] = data["dropped"]
    assert (UUID(dropped["originator_id"]), dropped["originator_version"]) == (book_id, bad)
    assert dropped["reason"].startswith("cannot be read back (")
    assert (data["snapshot_version"], data["fresh_snapshot"]) == (bad, True)
