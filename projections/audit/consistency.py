"""Do the read models tell the truth? Each is compared with a replay of the
log *to the position the read model has reached*, so a busy system (read
models a few events behind) is checked fairly, and a read model that skipped
or double-applied an event is caught."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

from domain.persistence import EventStore
from projections.audit.store import AuditStore
from projections.audit.trail import state_as_of
from projections.queries import CASE_COLS, CaseRow, Queries

# Up to this many cases every one is replayed; beyond it, a spread sample of
# this size. Fixed, so the case check costs the same at 50k and at 1M cases
# (issue 17: it walked every case and grew worse than linearly).
CASE_SAMPLE = 2_000

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


def case_problems(
    store: EventStore, audit: AuditStore, queries: Queries, sample: int | None = None
) -> tuple[int, list[str]]:
    """Every case (above CASE_SAMPLE, a spread of that many), or a spread of
    `sample` cases, against its aggregate replayed to the read model's
    position."""
    position = _positions(queries).get("cases", 0)
    rows = spread_cases(queries, sample or CASE_SAMPLE)
    versions = _versions_at(audit, [UUID(row.migrant_id) for row in rows], position)
    problems = []
    for row in rows:
        migrant_id = UUID(row.migrant_id)
        version = versions.get(migrant_id, 0)
        if version != row.version:
            problems.append(
                f"case {row.case_number}: the read model is at version {row.version}, "
                f"the log has version {version} at position {position}"
            )
            continue
        try:
            migrant = store.repository.get(migrant_id, version=version)
        except UNREADABLE as error:
            problems.append(unreadable(f"case {row.case_number}", error))
            continue
        if migrant.stage.value != row.stage or migrant.full_name != row.full_name:
            problems.append(
                f"case {row.case_number}: read model says {row.stage}/{row.full_name!r}, "
                f"the log says {migrant.stage.value}/{migrant.full_name!r}"
            )
    return len(rows), problems


def spread_cases(queries: Queries, size: int) -> list[CaseRow]:
    """Every case if there are at most `size`; else `size` cases spread over
    the id space, each found by one index lookup (the first case at or after
    an evenly spaced id): no walk over every case. Case ids are random UUIDs,
    whose text sorts as their numbers do, so the spread is even."""
    if queries.count_cases() <= size:
        return list(all_cases(queries))
    columns = ", ".join(CASE_COLS)
    found: list[CaseRow] = []
    last = ""  # the case found for the previous point: never the same one twice
    for index in range(size):
        point = str(UUID(int=index * (1 << 128) // size))
        row = queries.db.fetchone(
            f"SELECT {columns} FROM rm_cases WHERE migrant_id >= ? AND migrant_id > ? "
            "ORDER BY migrant_id LIMIT 1",
            (point, last),
        )
        if row is None:
            break
        found.append(CaseRow(*row))
        last = found[-1].migrant_id
    return found


def _versions_at(audit: AuditStore, ids: list[UUID], position: int) -> dict[UUID, int]:
    """Each aggregate's last version at a log position, in a few queries on
    one connection (not a connection and a query per case)."""
    versions: dict[UUID, int] = {}
    conn = audit.connect()
    try:
        m = audit.mark
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            params = [i.hex if audit.backend == "sqlite" else i for i in chunk]
            marks = ", ".join([m] * len(chunk))
            for originator_id, version in conn.execute(
                f"SELECT originator_id, MAX(originator_version) FROM {audit.events_table} "
                f"WHERE originator_id IN ({marks}) AND {audit.position_column} <= {m} "
                "GROUP BY originator_id",
                (*params, position),
            ).fetchall():
                versions[UUID(str(originator_id))] = int(version)
    finally:
        conn.close()
    return versions


def fund_problems(
    store: EventStore, audit: AuditStore, queries: Queries, book_id: UUID
) -> list[str]:
    position = _positions(queries).get("fund", 0)
    try:
        book = state_as_of(store, audit, book_id, position=position)
    except UNREADABLE as error:
        return [unreadable("the fund's book", error)]
    if book is None:
        return []
    problems = []
    shown = {(b.account, b.currency): b for b in queries.fund_balances()}
    for account in book.accounts.values():
        row = shown.get((account.code, account.currency))
        replayed = (account.posted, account.pending, account.available)
        if row is None:
            problems.append(f"fund account {account.code} ({account.currency}) is missing")
        elif (row.posted_minor, row.pending_minor, row.available_minor) != replayed:
            problems.append(
                f"fund account {account.code} ({account.currency}): read model "
                f"{(row.posted_minor, row.pending_minor, row.available_minor)}, "
                f"replay {replayed} (posted, pending, available) at position {position}"
            )
    return problems
