"""The access log's table (migrations 0008 and 0011), in the event store's
own database: chained appends, the auditors' queries and the rows the
chain is verified over.

Appending is serialised across every process, because each entry's link
covers the one before it: SQLite by the transaction's write lock (BEGIN
IMMEDIATE), PostgreSQL by a transaction-scoped advisory lock taken before
the chain's head is read. One batch of entries is one transaction and one
lock, whatever its size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.officers.sign_in import AccessEntry
from projections.access_log.chain import CHAINED, GENESIS, entry_link
from projections.access_log.grant_uses import with_grant_uses

# Any constant: only the same in every Msafiri process (the schema lock is 0x4D534146).
_CHAIN_LOCK_KEY = 0x4D534143  # "MSAC"

COLUMNS = ("entry_id", *CHAINED, "link")
_INSERTED = (*CHAINED, "link")


def entry_row(entry: AccessEntry) -> dict[str, Any]:
    """An entry as the chain and the table hold it (text, UTC ISO times)."""
    return {
        "recorded_at": entry.at.isoformat(),
        "username": entry.username,
        "officer_id": str(entry.officer_id) if entry.officer_id else None,
        "role": entry.role,
        "action": entry.action,
        "outcome": entry.outcome,
        "interface": entry.interface,
        "connection": entry.connection,
        "subject_kind": entry.subject_kind,
        "subject_id": entry.subject_id,
        "reason": entry.reason,
        "detail": entry.detail,
    }


def append_chained(
    execute: Callable[..., Any], entries: Sequence[AccessEntry], sqlite: bool
) -> None:
    """Chain and insert `entries` inside the caller's write transaction
    (`execute(sql, params)` with ? placeholders). SQLite's caller must have
    begun it with BEGIN IMMEDIATE."""
    if not entries:
        return
    # Before the chain's lock: these reads need no lock and must not hold it.
    entries = with_grant_uses(execute, entries)
    if not sqlite:
        execute("SELECT pg_advisory_xact_lock(?)", (_CHAIN_LOCK_KEY,))
    head = execute(
        "SELECT seq, link FROM access_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    seq, previous = (head[0], bytes.fromhex(head[1])) if head else (0, GENESIS)
    marks = ", ".join("?" for _ in _INSERTED)
    statement = f"INSERT INTO access_log ({', '.join(_INSERTED)}) VALUES ({marks})"
    for entry in entries:
        seq += 1
        row = entry_row(entry) | {"seq": seq}
        previous = entry_link(previous, row)
        row["link"] = previous.hex()
        execute(statement, tuple(row[name] for name in _INSERTED))


@dataclass(frozen=True)
class LogFilter:
    """Which entries an auditor asks for (all given conditions hold)."""

    subject_id: str | None = None
    officer_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AccessLogStore:
    def __init__(self, connect: Callable[[], Any], backend: str):
        self._connect = connect
        self._sqlite = backend == "sqlite"

    def _sql(self, statement: str) -> str:
        return statement if self._sqlite else statement.replace("?", "%s")

    def append(self, entries: Sequence[AccessEntry]) -> None:
        """One transaction for the whole batch."""
        if not entries:
            return
        conn = self._connect()
        try:

            def execute(statement: str, params: tuple = ()) -> Any:
                return conn.execute(self._sql(statement), params)

            if self._sqlite:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    append_chained(execute, entries, True)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            else:
                with conn.transaction():
                    append_chained(execute, entries, False)
        finally:
            conn.close()

    def _select(self, where: str, params: tuple, order: str, limit: int | None) -> list[dict]:
        conn = self._connect()
        try:
            sql = f"SELECT {', '.join(COLUMNS)} FROM access_log {where} ORDER BY {order}"
            if limit is not None:
                sql += f" LIMIT {int(limit)}"
            cursor = conn.execute(self._sql(sql), params)
            return [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
        finally:
            conn.close()

    def entries(self, wanted: LogFilter, limit: int = 200) -> list[dict[str, Any]]:
        """The matching entries, newest first."""
        conditions, params = [], []
        for column in ("subject_id", "officer_id", "action"):
            value = getattr(wanted, column)
            if value is not None:
                conditions.append(f"{column} = ?")
                params.append(value)
        if wanted.since is not None:
            conditions.append("recorded_at >= ?")
            params.append(wanted.since.isoformat())
        if wanted.until is not None:
            conditions.append("recorded_at <= ?")
            params.append(wanted.until.isoformat())
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        return self._select(where, tuple(params), "entry_id DESC", limit)

    def entry(self, seq: int) -> dict[str, Any] | None:
        rows = self._select("WHERE seq = ?", (seq,), "seq", 1)
        return rows[0] if rows else None

    def chain_rows(self, chunk: int = 5000) -> Iterator[dict[str, Any]]:
        """Every entry in chain order (unchained ones last), a chunk at a time."""
        after = 0
        while True:
            rows = self._select("WHERE seq > ?", (after,), "seq", chunk)
            yield from rows
            if len(rows) < chunk:
                break
            after = rows[-1]["seq"]
        yield from self._select("WHERE seq IS NULL", (), "entry_id", None)
