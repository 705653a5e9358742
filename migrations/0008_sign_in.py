"""Sign-in: failed-attempt counters and the access log's first entries.

Not read models (no `rm_` prefix, nothing rebuilds them from the event log):
`sign_in_failures` holds each username's failures since its last success
(known usernames or not, so a lock says nothing about who exists);
`access_log` is the seed of issue 14's access log - every sign-in, failure,
lockout, password change and sign-out, append-only (triggers refuse UPDATE
and DELETE). It stands alone: rolling back the read models leaves it be, and
it is not rolled back while it holds entries (that would erase the record).
"""

from yoyo import step

__depends__: set[str] = set()


def _is_sqlite(conn) -> bool:
    return type(conn).__module__.startswith("sqlite3")


def apply(conn) -> None:
    sqlite = _is_sqlite(conn)
    cursor = conn.cursor()
    cursor.execute(
        "CREATE TABLE sign_in_failures ("
        " username TEXT PRIMARY KEY,"
        " failures INTEGER NOT NULL,"
        " first_failed_at TEXT NOT NULL,"  # ISO 8601 UTC, as every time we store
        " locked_until TEXT)"
    )
    entry_id = (
        "INTEGER PRIMARY KEY AUTOINCREMENT"
        if sqlite
        else "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
    )
    cursor.execute(
        "CREATE TABLE access_log ("
        f" entry_id {entry_id},"
        " recorded_at TEXT NOT NULL,"
        " username TEXT NOT NULL,"
        " officer_id TEXT,"
        " role TEXT,"
        " action TEXT NOT NULL,"
        " outcome TEXT NOT NULL,"
        " interface TEXT NOT NULL,"
        " connection TEXT NOT NULL,"
        " detail TEXT)"
    )
    cursor.execute("CREATE INDEX access_log_officer ON access_log (officer_id, entry_id)")
    cursor.execute("CREATE INDEX access_log_recorded ON access_log (recorded_at, entry_id)")
    if sqlite:
        for verb in ("UPDATE", "DELETE"):
            cursor.execute(
                f"CREATE TRIGGER access_log_no_{verb.lower()} BEFORE {verb} ON access_log "
                "BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END"
            )
    else:
        cursor.execute(
            "CREATE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'the access log is append-only'; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
            "ON access_log FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only()"
        )


def rollback(conn) -> None:
    cursor = conn.cursor()
    cursor.execute("SELECT count(*) FROM access_log")
    if cursor.fetchone()[0]:
        raise RuntimeError(
            "the access log holds entries: rolling back 0008_sign_in would erase them"
        )
    cursor.execute("DROP TABLE access_log")
    if not _is_sqlite(conn):
        cursor.execute("DROP FUNCTION access_log_append_only()")
    cursor.execute("DROP TABLE sign_in_failures")


steps = [step(apply, rollback)]
