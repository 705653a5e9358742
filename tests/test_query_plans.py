"""Every paged query starts its index scan at the cursor, however deep the page.

A keyset condition written `a > ? OR (a = ? AND b > ?)` makes the database walk
the index from the start and filter (119 ms for a page 150k deep on
PostgreSQL); the row comparison `(a, b) > (?, ?)` is an index condition
(0.39 ms). This test asks each backend's planner for the plan of the second
page of every paged query and fails if the cursor is not part of an index
search. (PostgreSQL is told to avoid sequential scans and sorts: these tables
are small here, and the question is whether the index *can* start at the
cursor, not what the planner picks for 60 rows.)
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from domain.viewer import NOBODY
from projections.db import ReadModelDb
from projections.queries import Queries
from tests.test_projections_support import write_in_chunks

PAGED: dict[str, Callable[[Queries, str | None], object]] = {
    "search by text": lambda q, after: q.search_cases("a", after=after, limit=2),
    "browse by name": lambda q, after: q.search_cases("", after=after, limit=2),
    "browse a stage": lambda q, after: q.search_cases("", stage="on_site", after=after, limit=2),
    "open incidents": lambda q, after: q.list_incidents(
        open=True, after=after, limit=2, viewer=NOBODY
    ),
    "journal": lambda q, after: q.journal(after=after, limit=2),
    "activity": lambda q, after: q.activity(after=after, limit=2),
    "approval queue by age": lambda q, after: q.approval_queue(
        status="paid", after=after, limit=2, viewer=NOBODY
    ),
    "approval queue by amount": lambda q, after: q.approval_queue(
        status="paid", sort="amount", after=after, limit=2, viewer=NOBODY
    ),
}


def _second_page_statement(queries: Queries, call) -> tuple[str, tuple]:
    first = call(queries, None)
    assert first.after is not None, "the fixture data must fill more than one page"
    seen: list[tuple[str, tuple]] = []
    db = queries.db
    original = db.fetchall

    def recording(statement, params=()):
        seen.append((statement, tuple(params)))
        return original(statement, params)

    db.fetchall = recording  # type: ignore[method-assign]
    try:
        call(queries, first.after)
    finally:
        db.fetchall = original  # type: ignore[method-assign]
    paged = [item for item in seen if "LIMIT" in item[0]]
    assert paged, "no paged statement was run"
    return paged[-1]


def _postgres_plan_uses_cursor(db: ReadModelDb, statement: str, params: tuple) -> str:
    db.execute("SET enable_seqscan = off")
    db.execute("SET enable_sort = off")
    try:
        row = db.fetchone("EXPLAIN (FORMAT JSON) " + statement, params)
    finally:
        db.execute("RESET enable_seqscan")
        db.execute("RESET enable_sort")
    plan = row[0] if isinstance(row[0], list) else json.loads(row[0])
    text = json.dumps(plan)
    nodes = []

    def walk(node):
        nodes.append(node)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    conditions = " ".join(n.get("Index Cond", "") for n in nodes)
    filters = " ".join(n.get("Filter", "") for n in nodes)
    assert ">" in conditions or "<" in conditions, f"the cursor is not an index condition: {text}"
    assert " OR " not in filters, f"the cursor is filtered, not searched: {text}"
    return conditions


def _sqlite_plan_uses_cursor(db: ReadModelDb, statement: str, params: tuple) -> str:
    rows = db.fetchall("EXPLAIN QUERY PLAN " + statement, params)
    details = " | ".join(str(r[-1]) for r in rows)
    searched = [
        d for d in details.split(" | ") if d.startswith("SEARCH") and (">" in d or "<" in d)
    ]
    assert searched, f"the cursor is not part of an index search: {details}"
    return details


@pytest.mark.parametrize("name", sorted(PAGED))
def test_second_pages_start_at_the_cursor(system, name):
    # Enough cases for two pages of paid requests (the demo pays a few in 100 migrants).
    write_in_chunks(system, None, chunks=1, migrants=250)
    system.read_models.catch_up()
    queries = system.read_models.queries
    statement, params = _second_page_statement(queries, PAGED[name])
    db = queries.db
    if db.is_postgres:
        _postgres_plan_uses_cursor(db, db.sql(statement), params)
    else:
        _sqlite_plan_uses_cursor(db, statement, params)
