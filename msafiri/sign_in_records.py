"""Sign-in counters and the sign-in part of the access log, in the event
store's own database (tables of migrations/0008_sign_in.py).

One short transaction per attempt, on a connection of its own: sign-ins are
rare, and a failed attempt must be counted whatever the caller's connection
is doing. SQLite: BEGIN IMMEDIATE takes the write lock first, so two
processes' increments never interleave; PostgreSQL: the counter's row is
locked (SELECT ... FOR UPDATE) after an INSERT ... ON CONFLICT DO NOTHING
made sure it exists.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain.officers.sign_in import LOCKED, LOCKOUT, AccessEntry, LockoutRule
from projections.access_log.store import append_chained

_ENTRY_COLUMNS = (
    "recorded_at, username, officer_id, role, action, outcome, interface, connection, detail"
)


class SqlSignInRecords:
    def __init__(
        self,
        connect: Callable[[], Any],
        backend: str,
        before_write: Callable[[], Any] | None = None,
    ):
        self._connect = connect
        self._sqlite = backend == "sqlite"
        # Writes the process's buffered reads first, so the log keeps this
        # process's order (a read is never chained after the sign-out).
        self._before_write = before_write

    def _sql(self, statement: str) -> str:
        return statement if self._sqlite else statement.replace("?", "%s")

    def _run(self, work: Callable[[Callable[..., Any]], Any]) -> Any:
        """`work(execute)` in one write transaction; its result."""
        if self._before_write is not None:
            self._before_write()
        conn = self._connect()
        try:

            def execute(statement: str, params: tuple = ()) -> Any:
                return conn.execute(self._sql(statement), params)

            if self._sqlite:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = work(execute)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                return result
            with conn.transaction():
                return work(execute)
        finally:
            conn.close()

    def _append(self, execute: Callable[..., Any], entry: AccessEntry) -> None:
        # Chained like every entry of the access log (projections/access_log/).
        append_chained(execute, [entry], self._sqlite)

    def locked_until(self, username: str, now: datetime) -> datetime | None:
        conn = self._connect()
        try:
            row = conn.execute(
                self._sql("SELECT locked_until FROM sign_in_failures WHERE username = ?"),
                (username,),
            ).fetchone()
        finally:
            conn.close()
        if row is None or row[0] is None:
            return None
        until = datetime.fromisoformat(row[0])
        return until if until > now else None

    def record_failure(self, entry: AccessEntry, rule: LockoutRule) -> datetime | None:
        now = entry.at

        def work(execute) -> datetime | None:
            execute(
                "INSERT INTO sign_in_failures (username, failures, first_failed_at, locked_until) "
                "VALUES (?, 0, ?, NULL) ON CONFLICT (username) DO NOTHING",
                (entry.username, now.isoformat()),
            )
            lock = "" if self._sqlite else " FOR UPDATE"
            failures, first_text, locked_text = execute(
                "SELECT failures, first_failed_at, locked_until FROM sign_in_failures "
                f"WHERE username = ?{lock}",
                (entry.username,),
            ).fetchone()
            locked_until = datetime.fromisoformat(locked_text) if locked_text else None
            if locked_until is not None and locked_until > now:
                # Another attempt locked it while this one checked its password.
                self._append(execute, entry)
                return locked_until
            first = datetime.fromisoformat(first_text)
            if failures == 0 or locked_until is not None or now - first >= rule.period:
                failures, first = 1, now  # a new run of failures
            else:
                failures += 1
            locked_until = now + rule.period if failures >= rule.max_failures else None
            execute(
                "UPDATE sign_in_failures SET failures = ?, first_failed_at = ?, locked_until = ? "
                "WHERE username = ?",
                (
                    failures,
                    first.isoformat(),
                    locked_until.isoformat() if locked_until else None,
                    entry.username,
                ),
            )
            self._append(execute, entry)
            if locked_until is not None:
                self._append(
                    execute,
                    AccessEntry(
                        username=entry.username,
                        action=LOCKOUT,
                        outcome=LOCKED,
                        at=now,
                        officer_id=entry.officer_id,
                        interface=entry.interface,
                        connection=entry.connection,
                        detail=f"{failures} failed attempts; locked until {locked_until:%H:%M} UTC",
                    ),
                )
            return locked_until

        return self._run(work)

    def record_success(self, entry: AccessEntry) -> None:
        def work(execute) -> None:
            execute("DELETE FROM sign_in_failures WHERE username = ?", (entry.username,))
            self._append(execute, entry)

        self._run(work)

    def append(self, entry: AccessEntry) -> None:
        self._run(lambda execute: self._append(execute, entry))

    def entries(self, username: str | None = None) -> list[dict[str, Any]]:
        """The log, oldest first (for tests and, later, the access-log queries)."""
        where, params = ("WHERE username = ?", (username,)) if username else ("", ())
        conn = self._connect()
        try:
            cursor = conn.execute(
                self._sql(
                    f"SELECT entry_id, {_ENTRY_COLUMNS} FROM access_log {where} ORDER BY entry_id"
                ),
                params,
            )
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            conn.close()
