"""Do the read models tell the truth? Each is compared with a replay of the
log *to the position the read model has reached*, so a busy system (read
models a few events behind) is checked fairly, and a read model that skipped
or double-applied an event is caught."""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.persistence import EventStore, project_events
from projections.audit.store import AuditStore
from projections.audit.trail import state_as_of
from projections.queries import CASE_COLS, CaseRow, Queries

# Up to this many cases every one is replayed; beyond it, a random sample of
# this size (`audit verify --sample N`). Fixed, so the case check costs the
# same at 50k and at 1M cases (issue 17: it walked every case and grew worse
# than linearly).
CASE_SAMPLE = 200

# What reading back an altered stored event raises (pydantic's ValidationError
# and orjson's decode error are ValueErrors; a missing or reordered version
# trips the aggregate's version check). The auditor gets a finding, not a crash.
UNREADABLE = (ValueError, TypeError, KeyError, AssertionError)


def unreadable(what: str, error: Exception) -> str:
    reason = " ".join(str(error).split())[:200] or type(error).__name__
    return f"{what}: its stored events cannot be read back ({reason}); the log was altered"


def _positions(queries: Queries) -> dict[str, int]:
    return {s.name: s.position for s in queries.status()}


def all_cases(queries: Queries) -> Iterator[CaseRow]:
    after = None
    while True:
        page = queries.search_cases("", after=after, limit=500)
        yield from page.rows
        if page.after is None:
            return
        after = page.after


@dataclass
class CaseCheck:
    checked: int = 0  # cases replayed and compared
    of: int = 0  # cases in the read model
    seed: int | None = None  # None: every case was checked
    problems: list[str] = field(default_factory=list)


def new_seed() -> int:
    return secrets.randbelow(1_000_000_000)


def case_problems(
    store: EventStore,
    audit: AuditStore,
    queries: Queries,
    sample: int | None = None,
    seed: int | None = None,
) -> CaseCheck:
    """Every case if there are at most `sample` (default CASE_SAMPLE), else
    a random sample of that many drawn with `seed` (a new one when None;
    reported, so a finding can be reproduced): each replayed from its own
    events up to the read model's position and compared with its row.

    The sampled cases' events are read in a few queries (not one load per
    case), and their data keys in one batch before they are opened."""
    position = _positions(queries).get("cases", 0)
    size = sample or CASE_SAMPLE
    result = CaseCheck(of=queries.count_cases())
    if result.of <= size:
        rows = list(all_cases(queries))
    else:
        result.seed = new_seed() if seed is None else seed
        rows = random_cases(queries, size, result.seed)
    result.checked = len(rows)
    stored = _stored_events(audit, [UUID(row.migrant_id) for row in rows], position)
    load_many = getattr(store.mapper.data_keys, "load_many", None)
    if load_many is not None:  # a migrant's case events are sealed under its id
        load_many({row.migrant_id for row in rows})
    for row in rows:
        events = stored.get(UUID(row.migrant_id), [])
        version = events[-1].originator_version if events else 0
        if version != row.version:
            result.problems.append(
                f"case {row.case_number}: the read model is at version {row.version}, "
                f"the log has version {version} at position {position}"
            )
            continue
        try:
            migrant = project_events(None, (store.mapper.to_domain_event(e) for e in events))
        except UNREADABLE as error:
            result.problems.append(unreadable(f"case {row.case_number}", error))
            continue
        if migrant.stage.value != row.stage or migrant.full_name != row.full_name:
            result.problems.append(
                f"case {row.case_number}: read model says {row.stage}/{row.full_name!r}, "
                f"the log says {migrant.stage.value}/{migrant.full_name!r}"
            )
    return result


def random_cases(queries: Queries, size: int, seed: int) -> list[CaseRow]:
    """`size` cases drawn at random with `seed`, without walking them all:
    for each of `size` random points in the id space (sorted), the first
    case at or after it that was not drawn already - one index lookup each.
    Case ids are random UUIDs, whose text sorts as their numbers do, so every
    case is about as likely to be drawn. The same seed over the same cases
    draws the same sample."""
    draw = random.Random(seed)
    points = sorted(draw.getrandbits(128) for _ in range(size))
    columns = ", ".join(CASE_COLS)
    found: list[CaseRow] = []
    last = ""  # the case drawn for the previous point: never the same one twice
    for point in points:
        row = queries.db.fetchone(
            f"SELECT {columns} FROM rm_cases WHERE migrant_id >= ? AND migrant_id > ? "
            "ORDER BY migrant_id LIMIT 1",
            (str(UUID(int=point)), last),
        )
        if row is None:  # the remaining points are past the last case
            break
        found.append(CaseRow(*row))
        last = found[-1].migrant_id
    if len(found) < size:  # ... so wrap around to the first cases
        drawn = {row.migrant_id for row in found}
        for row in queries.db.fetchall(
            f"SELECT {columns} FROM rm_cases ORDER BY migrant_id LIMIT ?", (size,)
        ):
            if len(found) < size and row[0] not in drawn:
                found.append(CaseRow(*row))
    return found


def _stored_events(
    audit: AuditStore, ids: list[UUID], position: int
) -> dict[UUID, list[StoredEvent]]:
    """Each aggregate's stored events up to a log position, in version
    order, in one query per 500 aggregates on the audit store's connection."""
    found: dict[UUID, list[StoredEvent]] = {i: [] for i in ids}
    conn = audit.connect()
    try:
        m = audit.mark
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            params = [i.hex if audit.backend == "sqlite" else i for i in chunk]
            marks = ", ".join([m] * len(chunk))
            for originator_id, version, topic, state in conn.execute(
                f"SELECT originator_id, originator_version, topic, state "
                f"FROM {audit.events_table} "
                f"WHERE originator_id IN ({marks}) AND {audit.position_column} <= {m} "
                "ORDER BY originator_id, originator_version",
                (*params, position),
            ).fetchall():
                aggregate_id = UUID(str(originator_id))
                found[aggregate_id].append(
                    StoredEvent(
                        originator_id=aggregate_id,
                        originator_version=int(version),
                        topic=topic,
                        state=bytes(state),
                    )
                )
    finally:
        conn.close()
    return found


def fund_problems(
    store: EventStore, audit: AuditStore, queries: Queries, book_id: UUID
) -> list[str]:
    position = fund_position(queries)
    try:
        book = state_as_of(store, audit, book_id, position=position)
    except UNREADABLE as error:
        return [unreadable("the fund's book", error)]
    if book is None:
        return []
    return balance_problems(balances(book), queries, position)


def fund_position(queries: Queries) -> int:
    return _positions(queries).get("fund", 0)


Balances = dict[tuple[str, str], tuple[int, int, int]]


def balances(book: Any) -> Balances:
    """(account, currency) -> (posted, pending, available) of a book, copied
    (the book replayed further changes in place)."""
    return {
        (a.code, a.currency): (a.posted, a.pending, a.available) for a in book.accounts.values()
    }


def balance_problems(replayed: Balances, queries: Queries, position: int) -> list[str]:
    """The fund's accounts read model against the book replayed to its position."""
    problems = []
    shown = {(b.account, b.currency): b for b in queries.fund_balances()}
    for (code, currency), sums in replayed.items():
        row = shown.get((code, currency))
        if row is None:
            problems.append(f"fund account {code} ({currency}) is missing")
        elif (row.posted_minor, row.pending_minor, row.available_minor) != sums:
            problems.append(
                f"fund account {code} ({currency}): read model "
                f"{(row.posted_minor, row.pending_minor, row.available_minor)}, "
                f"replay {sums} (posted, pending, available) at position {position}"
            )
    return problems
