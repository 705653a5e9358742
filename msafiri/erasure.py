"""Erasing a person: the approval (second data-protection officer), then
their data keys destroyed, the book snapshots that still name them dropped,
and their identifying values scrubbed from every read model. Read models are
mutable: the scrub replaces values by "erased" (a rebuild gives the same, the
events' personal fields reading "erased").

The approval is recorded first (`PersonalDataErased`), the rest follows. If
the process stops in between (a crash, a kill, a restore of a backup taken
before the erasure), `msafiri case erase --reapply` finishes every erasure
the log records, and `msafiri case erase CASE --reapply` one: each step is
idempotent (a destroyed key stays destroyed, a rebuild gives the same read
models), so running it again is harmless (docs/encryption.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import orjson
from eventsourcing.utils import get_topic

from domain.cases.commands import ApproveErasure
from domain.cases.events import PersonalDataErased
from domain.errors import IllegalTransition
from domain.model import Actor
from domain.personal import SEALED_KEY
from domain.values import Role
from msafiri.bootstrap import System, connector
from msafiri.data_keys import vacuum_postgres, wipe_sqlite
from msafiri.snapshot_check import delete_snapshot_rows

# Tables that held the person's values (vacuumed on PostgreSQL afterwards);
# table -> (columns that held them, the WHERE clause naming the migrant)
SCRUB: dict[str, tuple[tuple[str, ...], str]] = {
    "rm_cases": (
        (
            "full_name",
            "name_key",
            "date_of_birth",
            "national_id",
            "passport_number",
            "phone",
            "membership_number",
        ),
        "migrant_id = ?",
    ),
    "rm_incidents": (("full_name",), "migrant_id = ?"),
    "rm_timeline": (("summary",), "migrant_id = ?"),
    "rm_fund_members": (("full_name",), "migrant_id = ?"),
    "rm_disbursements": (
        ("full_name", "payee", "justification", "decision_reason", "payment_reference"),
        "migrant_id = ?",
    ),
    "rm_fund_journal": (
        ("memo",),
        "disbursement_id IN (SELECT disbursement_id FROM rm_disbursements WHERE migrant_id = ?)",
    ),
    "rm_fund_contributions": (("membership_number",), "migrant_id = ?"),
    # Issue 16: words typed on claims; policy and social-security numbers.
    "rm_claims": (("notes", "closing_notes"), "migrant_id = ?"),
    "rm_claim_entries": (
        ("notes",),
        "claim_id IN (SELECT claim_id FROM rm_claims WHERE migrant_id = ?)",
    ),
    "rm_coverage": (("policy_number", "social_security_number"), "migrant_id = ?"),
}

ERASED_TOPIC = get_topic(PersonalDataErased)
SCAN_PAGE = 1000


def _snapshot_table(system: System) -> str | None:
    snapshots = system.ledger.snapshots
    return None if snapshots is None else snapshots.recorder.events_table_name


def drop_snapshots_naming(system: System, refs: set[str]) -> int:
    """Delete the book snapshots holding an open reservation of one of these
    data keys (the person's disbursements) with its memo in the clear: those
    stored before memos were sealed (ledger/snapshot.py). Snapshots are a
    cache of the log: a later load replays from an older one, or from the
    start. Returns how many were deleted."""
    snapshots = system.ledger.snapshots
    if snapshots is None or not refs:
        return 0
    book_id = system.ledger.book_id
    mapper = system.store.mapper
    naming: list[int] = []
    for stored in snapshots.recorder.select_events(book_id):
        state = orjson.loads(mapper.open(stored))
        for pending in state.get("state", {}).get("pendings", ()):
            if SEALED_KEY not in pending and str(pending.get("disbursement_id")) in refs:
                naming.append(stored.originator_version)
                break
    if not naming:
        return 0
    delete_snapshot_rows(system, ((book_id, version) for version in naming))
    system.ledger.snapshot_now()  # a fresh one (its memos sealed) for the next load
    return len(naming)


def destroy_and_scrub(system: System, *migrant_ids: UUID) -> int:
    """Destroy the people's keys, drop the book snapshots naming them, scrub
    the read models, and make the old bytes unrecoverable from the database
    files where the backend allows. Idempotent. Returns how many keys were
    destroyed now (0 when a previous run already had)."""
    keys = system.store.mapper.data_keys
    destroyed = 0
    refs: set[str] = set()
    for migrant_id in migrant_ids:
        if keys is not None:
            destroyed += keys.destroy(str(migrant_id))
            refs.update(keys.destroyed_refs(str(migrant_id)))
    drop_snapshots_naming(system, refs)
    # Rebuilt from the log, whose personal fields now read "erased": the
    # read models end exactly as a replay gives them (audit verify compares).
    system.read_models.rebuild()
    connect = connector(system.settings, system.database)
    if system.database.backend == "sqlite":
        wipe_sqlite(connect)
    else:
        tables = ["data_keys", *SCRUB, "rm_case_search"]
        snapshot_table = _snapshot_table(system)
        vacuum_postgres(connect, tables + ([snapshot_table] if snapshot_table else []))
    return destroyed


def approve_and_erase(system: System, actor: Actor, migrant_id: UUID) -> int:
    system.cases.approve_erasure(actor, ApproveErasure(migrant_id=migrant_id))
    return destroy_and_scrub(system, migrant_id)


def erased_in_log(system: System) -> list[UUID]:
    """Every person whose erasure the log records (PersonalDataErased), in
    log order."""
    recorder = system.store.recorder
    found: list[UUID] = []
    start = 1
    while True:
        page = recorder.select_notifications(start=start, limit=SCAN_PAGE, topics=[ERASED_TOPIC])
        found += [UUID(str(n.originator_id)) for n in page]
        if len(page) < SCAN_PAGE:
            return list(dict.fromkeys(found))
        start = page[-1].id + 1


def reapply(system: System, actor: Actor, migrant_ids: Iterable[UUID] | None = None) -> list[UUID]:
    """Finish recorded erasures: after an interrupted `case erase --approve`
    or a restore of a backup taken before an erasure. A data-protection
    officer only; each person named must have an approved erasure in the log
    (nothing here decides an erasure). Returns the people done."""
    system.authz.require(actor, "re-apply erasures", Role.DATA_PROTECTION_OFFICER)
    if migrant_ids is None:
        people = erased_in_log(system)
    else:
        people = list(migrant_ids)
        for migrant_id in people:
            migrant = system.cases.get(migrant_id)
            if not migrant.erased:
                raise IllegalTransition(
                    f"no erasure of {migrant.case_number} was approved: request one with "
                    "--reason, and a second data-protection officer approves it"
                )
    if people:
        destroy_and_scrub(system, *people)
    return people
