"""`msafiri ledger repair-snapshots`: delete the bad rows of the book's
snapshot table, then take a fresh snapshot.

A bad row (written or changed by SQL, copied, or authentic but not what the
log says) stops the fund: a process that meets it as the book's latest
snapshot refuses every money command (EventForged), and `audit verify` names
it (msafiri/snapshot_check.py). Snapshots are a cache of the log, so the
remedy loses nothing: exactly the rows audit verify names are deleted, the
book is read again from its latest good snapshot (or its first event), and a
fresh snapshot is taken at its head.

An administrator does it, with a reason. The access log records who, when,
why and which rows before any row is deleted: if that entry cannot be
written, nothing is deleted. It is not an event of the book: the log of
money is unchanged, only its cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from domain.commands import Reason, explain
from domain.errors import InvalidCommand
from domain.model import Actor
from domain.officers.access import SNAPSHOT_REPAIR
from domain.values import Role
from msafiri.bootstrap import System
from msafiri.snapshot_check import (
    BadSnapshot,
    SnapshotCheck,
    delete_snapshot_rows,
    stored_snapshots,
)

REASON = TypeAdapter(Reason)


@dataclass(frozen=True)
class Repair:
    """What a repair did: the rows it deleted, and the version of the book
    its latest snapshot now holds (None: no fund, or none could be stored),
    `fresh` when that snapshot was taken now rather than a good one kept."""

    dropped: list[BadSnapshot]
    snapshot_version: int | None = None
    fresh: bool = False


def bad_snapshots(system: System) -> list[BadSnapshot]:
    """The bad rows of the snapshot table, found as `audit verify` finds them:
    each row read back and compared with the book replayed from the log."""
    book_id = system.ledger.book_id
    check = SnapshotCheck(system, book_id)
    compare = check.each()
    book: Any = None
    for event in system.store.events.get(book_id):  # the log, not a snapshot
        book = event.mutate(book)
        compare(book)
    check.finish(book.version if book is not None else 0)
    return check.bad


def repair_snapshots(
    system: System,
    username: str,
    actor: Actor,
    reason: str,
    *,
    interface: str = "cli",
    connection: str = "terminal",
) -> Repair:
    """Delete the bad snapshot rows and take a fresh snapshot (an
    administrator only; a reason is required). With no bad row, nothing is
    deleted or taken; the run is logged all the same."""
    system.authz.require(actor, "repair the book's snapshots", Role.ADMINISTRATOR)
    try:
        reason = REASON.validate_python(reason)
    except ValidationError as error:
        raise InvalidCommand([("reason", rule) for _, rule in explain(error)]) from None
    bad = bad_snapshots(system)
    recorder = system.access_log.recorder
    recorder.record(
        username,
        actor,
        SNAPSHOT_REPAIR,
        subject_kind="fund",
        subject_id=system.ledger.book_id,
        reason=reason,
        detail=describe(bad),
        interface=interface,
        connection=connection,
    )
    recorder.flush()  # written before any row goes; a failure here deletes nothing
    if not bad:
        return Repair(dropped=[])
    delete_snapshot_rows(system, ((row.originator_id, row.originator_version) for row in bad))
    # This process may hold a book read from a row just deleted (one that
    # authenticated but differed from the log): read it again.
    system.ledger.forget_book()
    if not system.ledger.fund_exists():
        return Repair(dropped=bad)
    book_id = system.ledger.book_id
    kept = {
        row.originator_version for row in stored_snapshots(system) if row.originator_id == book_id
    }
    system.ledger.snapshot_now()
    version = latest_snapshot_version(system)
    fresh = version is not None and version not in kept
    return Repair(dropped=bad, snapshot_version=version, fresh=fresh)


def describe(bad: list[BadSnapshot]) -> str:
    """The access log's detail: every row deleted, and why."""
    if not bad:
        return "no book snapshot row was bad; nothing deleted"
    rows = "; ".join(str(row) for row in bad)
    return f"deleting {len(bad)} bad book snapshot row(s): {rows}"


def latest_snapshot_version(system: System) -> int | None:
    """The version of the book's latest snapshot, read back through the mapper
    (so it authenticates); None when there is none."""
    snapshots = system.ledger.snapshots
    assert snapshots is not None
    rows = snapshots.recorder.select_events(system.ledger.book_id, desc=True, limit=1)
    found = snapshots.mapper.to_domain_events(rows)
    return found[0].originator_version if found else None
