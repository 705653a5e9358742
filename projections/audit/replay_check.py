"""Does every read model tell the truth? Rebuild each one from the log into
a shadow copy and compare them row by row.

The shadow copies are TEMP tables of the same name on one connection: on
both SQLite and PostgreSQL a temporary table hides the permanent one of the
same name for that connection only, so the projections' own code writes the
shadows (nothing is replayed by a second implementation that could agree
with a wrong one), and nobody else sees them. Everything happens in one
read snapshot (PostgreSQL REPEATABLE READ; a SQLite read transaction), so
the log, the read models and their positions are seen as of one moment
while officers go on writing; each projection is replayed to the position
it has reached. The transaction is rolled back at the end, which drops the
shadows.

This costs a full rebuild: `msafiri audit verify --full` runs it (nightly);
the default verify checks the read models' counts, the fund's balances and a
sample of cases instead (projections/audit/tally.py, consistency.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from projections.base import Projection
from projections.db import ReadModelDb
from projections.log import Decoder, read_page

PAGE = 5_000


@dataclass
class ReplayCheck:
    tables: int = 0  # tables compared
    rows: int = 0  # rows compared (the read models' side)
    problems: list[str] = field(default_factory=list)


def check_read_models(
    database: Any,
    projections: Sequence[Projection],
    decoder: Decoder,
    connect_timeout_seconds: int = 3,
    limit: int = 20,
) -> ReplayCheck:
    """Rebuild every projection from the log (to its own position) into
    shadow tables and name the table and row wherever the read model differs."""
    db = ReadModelDb(database, connect_timeout_seconds)
    result = ReplayCheck()
    try:
        if not db.is_postgres:
            # The shadows live in SQLite's temp store: in memory they rebuild
            # several times faster than in a temp file (and vanish with the
            # connection either way).
            db.conn.execute("PRAGMA temp_store = MEMORY")
            db.conn.execute("PRAGMA cache_size = -262144")  # 256 MiB, this connection only
        db.conn.execute(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ WRITE" if db.is_postgres else "BEGIN"
        )
        positions = {
            str(name): int(position)
            for name, position in db.fetchall("SELECT projection, position FROM rm_tracking")
        }
        real = _real_schema(db)
        for projection in projections:
            for table in projection.tables:
                _shadow(db, real, table)
        failed = _replay(db, projections, decoder, positions, result)
        for projection in projections:
            if projection.name in failed:
                continue
            for table in projection.tables:
                _compare(db, real, table, result, limit)
    finally:
        try:
            db.conn.execute("ROLLBACK")
        finally:
            db.close()
    return result


def _real_schema(db: ReadModelDb) -> str:
    if db.is_postgres:
        return str(db.fetchone("SELECT current_schema()")[0])  # type: ignore[index]
    return "main"


def _shadow(db: ReadModelDb, real: str, table: str) -> None:
    """A TEMP table like `table` (keys, constraints and indexes: the
    projections upsert on them)."""
    if db.is_postgres:
        db.execute(
            f"CREATE TEMP TABLE {table} (LIKE {real}.{table} "
            "INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)"
        )
        return
    found = db.fetchall(
        "SELECT type, sql FROM main.sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
        "ORDER BY type = 'index'",
        (table,),
    )
    for kind, sql in found:
        if kind == "table":
            pattern, replacement = (
                r"^\s*CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?",
                "CREATE TEMP TABLE ",
            )
        elif kind == "index":
            pattern = r"^(\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(IF\s+NOT\s+EXISTS\s+)?)"
            replacement = r"\1temp."
        else:
            continue
        shadow, replaced = re.subn(pattern, replacement, sql, count=1, flags=re.IGNORECASE)
        assert replaced == 1, f"cannot shadow {table}: {sql[:80]}"
        db.execute(shadow)


def _pages(db: ReadModelDb, head: int) -> Iterator[list[tuple[int, str, bytes]]]:
    after = 0
    while after < head:
        rows = read_page(db, after, min(PAGE, head - after))
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def _replay(
    db: ReadModelDb,
    projections: Sequence[Projection],
    decoder: Decoder,
    positions: dict[str, int],
    result: ReplayCheck,
) -> set[str]:
    """Apply the log to the shadows, each projection up to its position, in
    pages as the runner does. Returns the projections the log would not
    replay into (each named in the problems)."""
    failed: set[str] = set()
    head = max((positions.get(p.name, 0) for p in projections), default=0)
    needed = frozenset().union(*(p.types for p in projections))
    for rows in _pages(db, head):
        records = decoder.decode_page(rows, needed)
        for projection in projections:
            if projection.name in failed:
                continue
            until = positions.get(projection.name, 0)
            todo = [r for r in records if r.id <= until and r.type in projection.types]
            if not todo:
                continue
            db.execute("SAVEPOINT replay")
            try:
                projection.apply(db, todo)
            except Exception as error:  # the log itself does not replay: say where
                db.execute("ROLLBACK TO SAVEPOINT replay")
                failed.add(projection.name)
                reason = " ".join(f"{type(error).__name__}: {error}".split())[:200]
                result.problems.append(
                    f"read model {projection.name}: the log does not replay into it "
                    f"(between positions {todo[0].id} and {todo[-1].id}: {reason})"
                )
            db.execute("RELEASE SAVEPOINT replay")
    return failed


def _columns(db: ReadModelDb, real: str, table: str) -> tuple[list[str], list[str]]:
    """(every column, the primary key's columns) of the permanent table."""
    if db.is_postgres:
        columns = [
            r[0]
            for r in db.fetchall(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                (real, table),
            )
        ]
        key = [
            r[0]
            for r in db.fetchall(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = ?::regclass AND i.indisprimary ORDER BY a.attnum",
                (f"{real}.{table}",),
            )
        ]
    else:
        info = db.fetchall(f"PRAGMA main.table_info({table})")
        columns = [r[1] for r in info]
        key = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]]
    return columns, key or columns


def _compare(
    db: ReadModelDb,
    real: str,
    table: str,
    result: ReplayCheck,
    limit: int,
) -> None:
    columns, key = _columns(db, real, table)
    shadow = f"pg_temp.{table}" if db.is_postgres else f"temp.{table}"
    permanent = f"{real}.{table}"
    listed = ", ".join(columns)
    result.tables += 1
    counted = db.fetchone(f"SELECT COUNT(*) FROM {permanent}")
    result.rows += int(counted[0]) if counted else 0

    def only_in(first: str, second: str) -> dict[tuple, dict[str, Any]]:
        rows = db.fetchall(
            f"SELECT {listed} FROM {first} EXCEPT SELECT {listed} FROM {second} LIMIT {limit}"
        )
        found = {}
        for row in rows:
            values = dict(zip(columns, row, strict=True))
            found[tuple(values[k] for k in key)] = values
        return found

    shown, replayed = only_in(permanent, shadow), only_in(shadow, permanent)
    for ident in sorted(set(shown) | set(replayed), key=str)[:limit]:
        name = ", ".join(f"{k}={v}" for k, v in zip(key, ident, strict=True))
        mine, theirs = shown.get(ident), replayed.get(ident)
        if mine is None:
            result.problems.append(f"read model {table}, row {name}: missing (the log has it)")
        elif theirs is None:
            result.problems.append(
                f"read model {table}, row {name}: not in the log (no event makes this row)"
            )
        else:
            differ = [
                f"{column} is {_short(mine[column])}, the log gives {_short(theirs[column])}"
                for column in columns
                if mine[column] != theirs[column]
            ]
            result.problems.append(f"read model {table}, row {name}: " + "; ".join(differ))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
