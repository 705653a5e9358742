"""Where the auditor's data is read and kept: raw rows of the event store and
the chain table beside it, in the same database, on SQLite or PostgreSQL.

The composition root hands in a `connect()` that opens a plain DB-API
connection (sqlite3 or psycopg) to the event store's database; nothing here
reads settings.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from projections.audit.authenticity import forgery
from projections.audit.chain import GENESIS, ChainLink, Finding, StoredRow, extend

log = logging.getLogger(__name__)

EVENT_TABLES = {
    "sqlite": ("stored_events", "rowid"),
    "postgresql": ("msafiri_events", "notification_id"),
}
# Any constant: the same in every Msafiri process ("MSAC"; the schema's is "MSAF").
_CHAIN_LOCK_KEY = 0x4D534143
CHAIN_TABLE = "rm_audit_chain"
CHAIN_COLUMNS = "position, originator_id, originator_version, link"


class AuditStore:
    def __init__(
        self,
        connect: Callable[[], Any],
        backend: str,
        page_size: int = 5000,
        *,
        checkpoint_every: timedelta | None = None,
        sign: Callable[[dict[str, Any]], str] | None = None,
        checkpoint_file: Path | None = None,
        authenticate: Callable[[StoredRow], str | None] | None = None,
    ):
        self._connect = connect
        self.backend = backend
        self.page_size = page_size
        # Periodic checkpoints (`keep_up`): how often, how they are signed,
        # and a file outside the database they are also appended to.
        self.checkpoint_every = checkpoint_every
        self.sign = sign
        self.checkpoint_file = checkpoint_file
        self.events_table, self.position_column = EVENT_TABLES[backend]
        self.mark = "?" if backend == "sqlite" else "%s"
        # Rows that fail it are never chained (projections/audit/authenticity.py):
        # the chain stops before the first, kept in `refused`.
        self.authenticate = authenticate
        self.refused: Finding | None = None

    def connect(self) -> Any:
        return self._connect()

    def sharing_one_connection(self) -> AuditStore:
        """This store bound to ONE connection, which every method below
        uses (and none closes) until `close_shared()`: `audit verify` runs a
        few dozen statements and must not pay a connect each (a TCP connect
        and authentication on PostgreSQL). Each page is fetched whole, so two
        walks (rows and chain) can take turns on it. On PostgreSQL it is in
        autocommit: between its statements it is never idle in a transaction."""
        conn = self.connect()
        if self.backend != "sqlite":
            conn.autocommit = True
        shared = copy.copy(self)
        kept = _Unclosed(conn)
        shared._connect = lambda: kept
        shared._shared = conn
        return shared

    def close_shared(self) -> None:
        conn = getattr(self, "_shared", None)
        if conn is not None:
            self._shared = None
            conn.close()

    # --- the event store, as stored -----------------------------------------

    def rows(
        self, after: int = 0, upto: int | None = None, conn: Any = None
    ) -> Iterator[StoredRow]:
        """Stored events in position order, read in keyset pages."""
        own = conn is None
        conn = conn or self.connect()
        try:
            while True:
                pos, m = self.position_column, self.mark
                sql = (
                    f"SELECT {pos}, originator_id, originator_version, topic, state "
                    f"FROM {self.events_table} WHERE {pos} > {m} "
                    + (f"AND {pos} <= {m} " if upto is not None else "")
                    + f"ORDER BY {pos} LIMIT {m}"
                )
                params = (
                    (after, upto, self.page_size) if upto is not None else (after, self.page_size)
                )
                page = conn.execute(sql, params).fetchall()
                if not page:
                    return
                for position, originator_id, version, topic, state in page:
                    yield StoredRow(position, _uuid(originator_id), version, topic, bytes(state))
                after = page[-1][0]
        finally:
            if own:
                conn.close()

    def rows_at(self, positions: list[int]) -> list[StoredRow]:
        """The stored events at these log positions, in position order (a
        page of an index's hits, e.g. who-did-what)."""
        if not positions:
            return []
        pos = self.position_column
        marks = ", ".join(self.mark for _ in positions)
        conn = self.connect()
        try:
            page = conn.execute(
                f"SELECT {pos}, originator_id, originator_version, topic, state "
                f"FROM {self.events_table} WHERE {pos} IN ({marks}) ORDER BY {pos}",
                tuple(positions),
            ).fetchall()
        finally:
            conn.close()
        return [StoredRow(p, _uuid(o), v, t, bytes(state)) for p, o, v, t, state in page]

    def max_position(self, conn: Any = None) -> int:
        own = conn is None
        conn = conn or self.connect()
        try:
            value = conn.execute(
                f"SELECT MAX({self.position_column}) FROM {self.events_table}"
            ).fetchone()[0]
            return int(value or 0)
        finally:
            if own:
                conn.close()

    # --- the chain ----------------------------------------------------------

    def chain(self, after: int = 0, conn: Any = None) -> Iterator[ChainLink]:
        own = conn is None
        conn = conn or self.connect()
        try:
            while True:
                page = conn.execute(
                    f"SELECT {CHAIN_COLUMNS} FROM {CHAIN_TABLE} "
                    f"WHERE position > {self.mark} ORDER BY position LIMIT {self.mark}",
                    (after, self.page_size),
                ).fetchall()
                if not page:
                    return
                for row in page:
                    yield _chain_link(row)
                after = page[-1][0]
        finally:
            if own:
                conn.close()

    def head(self, conn: Any = None) -> ChainLink | None:
        own = conn is None
        conn = conn or self.connect()
        try:
            row = conn.execute(
                f"SELECT {CHAIN_COLUMNS} FROM {CHAIN_TABLE} ORDER BY position DESC LIMIT 1"
            ).fetchone()
        finally:
            if own:
                conn.close()
        return None if row is None else _chain_link(row)

    def link_at(self, position: int) -> ChainLink | None:
        conn = self.connect()
        try:
            row = conn.execute(
                f"SELECT {CHAIN_COLUMNS} FROM {CHAIN_TABLE} WHERE position = {self.mark}",
                (position,),
            ).fetchone()
        finally:
            conn.close()
        return None if row is None else _chain_link(row)

    def links_at(self, positions: list[int]) -> dict[int, ChainLink]:
        """The chain's links at these positions (absent: no link there), in
        pages of one query each."""
        found: dict[int, ChainLink] = {}
        wanted = sorted(set(positions))
        conn = self.connect()
        try:
            for start in range(0, len(wanted), 500):
                page = wanted[start : start + 500]
                marks = ", ".join(self.mark for _ in page)
                for row in conn.execute(
                    f"SELECT {CHAIN_COLUMNS} FROM {CHAIN_TABLE} WHERE position IN ({marks})",
                    tuple(page),
                ).fetchall():
                    found[int(row[0])] = _chain_link(row)
        finally:
            conn.close()
        return found

    def record_checkpoint(self) -> dict[str, Any]:
        """Keep the head (position, hash, time, and a signature when a signing
        key is configured) in the checkpoints table, append it to the
        checkpoint file if one is set, and return it, for the auditor to keep
        outside Msafiri."""
        head = self.head()
        if head is None:
            return {"position": 0, "head": GENESIS.hex(), "taken_at": _now_iso()}
        record = {"position": head.position, "head": head.link.hex(), "taken_at": _now_iso()}
        if self.sign is not None:
            record["signature"] = self.sign(record)
        conn = self.connect()
        try:
            m = self.mark
            self._begin_alone(conn)
            kept = conn.execute(
                f"SELECT taken_at, signature FROM rm_audit_checkpoints WHERE position = {m}",
                (head.position,),
            ).fetchone()
            if kept is None:
                conn.execute(
                    f"INSERT INTO rm_audit_checkpoints (position, head, taken_at, signature) "
                    f"VALUES ({m}, {m}, {m}, {m})",
                    (
                        record["position"],
                        record["head"],
                        record["taken_at"],
                        record.get("signature"),
                    ),
                )
            elif kept[1] or "signature" not in record:
                # The chain has not moved: the checkpoint already kept stands.
                record["taken_at"] = kept[0]
                record.pop("signature", None)
                if kept[1]:
                    record["signature"] = kept[1]
            else:
                # Kept unsigned (before a signing key was configured): sign
                # it now, as of now, rather than hand back the unsigned one.
                conn.execute(
                    f"UPDATE rm_audit_checkpoints SET taken_at = {m}, signature = {m} "
                    f"WHERE position = {m}",
                    (record["taken_at"], record["signature"], head.position),
                )
            conn.execute("COMMIT") if self.backend == "sqlite" else conn.commit()
        finally:
            conn.close()
        written = kept is None or (not kept[1] and "signature" in record)
        if written and self.checkpoint_file is not None:
            with self.checkpoint_file.open("a") as file:
                file.write(json.dumps(record, sort_keys=True) + "\n")
        return record

    def checkpoints(self) -> list[dict[str, Any]]:
        """Every checkpoint kept in the database, oldest first."""
        conn = self.connect()
        try:
            rows = conn.execute(
                "SELECT position, head, taken_at, signature FROM rm_audit_checkpoints "
                "ORDER BY position"
            ).fetchall()
        finally:
            conn.close()
        records = []
        for position, head, taken_at, signature in rows:
            record = {"position": position, "head": head, "taken_at": taken_at}
            if signature:
                record["signature"] = signature
            records.append(record)
        return records

    def keep_up(self) -> int:
        """What the log's followers run: extend the chain, then take a
        checkpoint when the last one is older than `checkpoint_every` and the
        chain has moved since - so checkpoints are taken without anyone
        remembering to, and a quiet system does not pile up copies."""
        added = self.extend_chain()
        if self.checkpoint_every is None:
            return added
        conn = self.connect()
        try:
            head = self.head(conn)
            last = self.last_checkpoint(conn)
        finally:
            conn.close()
        if head is None:
            return added
        if last is not None:
            if last["position"] >= head.position:
                return added
            taken = datetime.fromisoformat(last["taken_at"])
            if datetime.now(UTC) - taken < self.checkpoint_every:
                return added
        self.record_checkpoint()
        return added

    def last_checkpoint(self, conn: Any = None) -> dict[str, Any] | None:
        own = conn is None
        conn = conn or self.connect()
        try:
            row = conn.execute(
                "SELECT position, taken_at FROM rm_audit_checkpoints ORDER BY position DESC LIMIT 1"
            ).fetchone()
        finally:
            if own:
                conn.close()
        return None if row is None else {"position": row[0], "taken_at": row[1]}

    def _begin_alone(self, conn: Any) -> None:
        """Begin a transaction no other chainer runs beside: every follower of
        the log (each TUI, each projection worker) extends the chain, and one
        racing another for the same page would fail on the position key and
        stop its follower thread. SQLite: the write lock; PostgreSQL: a
        transaction-scoped advisory lock, released by the commit or rollback."""
        if self.backend == "sqlite":
            conn.execute("BEGIN IMMEDIATE")
        else:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_CHAIN_LOCK_KEY,))

    def extend_chain(self, batch: int | None = None) -> int:
        """Chain the events stored since the head, one page per transaction.

        Exactly once: the page's links and the new head are one transaction
        (the head *is* the chain's last row), and the position is its primary
        key, so a crash rolls back and a racing second writer fails on the
        key instead of chaining twice."""
        batch = batch or self.page_size
        added = 0
        conn = self.connect()
        try:
            # Every follower calls this on each poll, and mostly nothing is
            # new: say so without taking the chain lock (on SQLite the write
            # lock, which officers' writes would queue behind).
            head = self.head(conn)
            if (head.position if head else 0) >= self.max_position(conn):
                return 0
            if self.backend != "sqlite":
                conn.rollback()  # the locked transaction below starts afresh
            while True:
                self._begin_alone(conn)
                head = self.head(conn)
                previous, after = (head.link, head.position) if head else (GENESIS, 0)
                rows, refused = [], False
                for row in self.rows(after=after, conn=conn):
                    if self._refuse(row):
                        refused = True
                        break
                    rows.append(row)
                    if len(rows) >= batch:
                        break
                if not rows:
                    conn.rollback() if self.backend != "sqlite" else conn.execute("ROLLBACK")
                    return added
                links = list(extend(previous, rows))
                self._insert_links(conn, [_chain_row(x) for x in links])
                if self.backend == "sqlite":
                    conn.execute("COMMIT")
                else:
                    conn.commit()
                added += len(links)
                if refused:
                    return added
        finally:
            conn.close()

    def _insert_links(self, conn: Any, rows: list[tuple]) -> None:
        """A page of links. PostgreSQL: one COPY (a page of 5,000 as one
        stream; `executemany` sent 5,000 INSERTs, most of the chain's time
        when the demo's catch-up chained 200k events); the position key
        still refuses a link chained twice. SQLite: executemany (a C loop)."""
        if self.backend == "sqlite":
            conn.executemany(
                f"INSERT INTO {CHAIN_TABLE} ({CHAIN_COLUMNS}) VALUES (?, ?, ?, ?)", rows
            )
            return
        with (
            conn.cursor() as cursor,
            cursor.copy(f"COPY {CHAIN_TABLE} ({CHAIN_COLUMNS}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def _refuse(self, row: StoredRow) -> bool:
        """Whether `row` fails authentication (then kept in `refused`)."""
        if self.authenticate is None or (reason := self.authenticate(row)) is None:
            return False
        refused = forgery(row, reason)
        if self.refused != refused:
            log.error("audit chain: not chaining %s", refused)
        self.refused = refused
        return True


class _Unclosed:
    """A connection whose `close()` does nothing (its owner closes it)."""

    def __init__(self, conn: Any):
        self._conn = conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def close(self) -> None:
        pass


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _chain_link(row: Any) -> ChainLink:
    return ChainLink(row[0], _uuid(row[1]), row[2], bytes.fromhex(row[3]))


def _chain_row(link: ChainLink) -> tuple:
    return (link.position, str(link.originator_id), link.originator_version, link.link.hex())


def _now_iso() -> str:
    return datetime.now(tz=UTC).isoformat()
