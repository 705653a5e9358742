"""Do the read models tell the truth? Each is compared with a replay of the
log *to the position the read model has reached*, so a busy system (read
models a few events behind) is checked fairly, and a read model that skipped
or double-applied an event is caught."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

from domain.persistence import EventStore
from projections.audit.store import AuditStore
from projections.audit.trail import state_as_of, version_as_of
from projections.queries import CaseRow, Queries

EVERY_CASE_UP_TO = 10_000  # beyond this, a spread sample (reported as such)

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
    store: EventStore, audit: AuditStore, queries: Queries, sample: int = 2_000
) -> tuple[int, list[str]]:
    position = _positions(queries).get("cases", 0)
    total = queries.count_cases()
    step = 1 if total <= EVERY_CASE_UP_TO else max(1, total // sample)
    problems, checked = [], 0
    for index, row in enumerate(all_cases(queries)):
        if index % step:
            continue
        checked += 1
        migrant_id = UUID(row.migrant_id)
        try:
            version = version_as_of(store, audit, migrant_id, position=position)
            if version != row.version:
                problems.append(
                    f"case {row.case_number}: the read model is at version {row.version}, "
                    f"the log has version {version} at position {position}"
                )
                continue
            migrant = store.repository.get(migrant_id, version=version)
        except UNREADABLE as error:
            problems.append(unreadable(f"case {row.case_number}", error))
            continue
        if migrant.stage.value != row.stage or migrant.full_name != row.full_name:
            problems.append(
                f"case {row.case_number}: read model says {row.stage}/{row.full_name!r}, "
                f"the log says {migrant.stage.value}/{migrant.full_name!r}"
            )
    return checked, problems


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
