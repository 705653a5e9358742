"""The access log of issue 14 item 4: what was read, and a hash chain.

Adds to `access_log` (migrations/0008_sign_in.py) what a read needs beside
who and when - the record read (`subject_kind`, `subject_id`) and the reason
given (`reason`) - and the chain: `seq`, the entry's place in the chain
(1, 2, 3 ... with no gaps, unlike the identity column, which skips on a
rolled-back insert), and `link`, SHA-256 over the previous link and the
entry (projections/access_log/chain.py). Entries already there (sign-ins)
are chained here, in entry order, so the chain covers the whole log.

Not a read model: nothing rebuilds it, and it is not rolled back while it
holds chained entries (that would erase the chain).
"""

from yoyo import step

__depends__ = {"0008_sign_in"}

_COLUMNS = (
    ("subject_kind", "TEXT"),
    ("subject_id", "TEXT"),
    ("reason", "TEXT"),
    ("seq", "BIGINT"),
    ("link", "TEXT"),
)


def _is_sqlite(conn) -> bool:
    return type(conn).__module__.startswith("sqlite3")


def apply(conn) -> None:
    from projections.access_log.chain import GENESIS, entry_link

    sqlite = _is_sqlite(conn)
    mark = "?" if sqlite else "%s"
    cursor = conn.cursor()
    for name, kind in _COLUMNS:
        cursor.execute(f"ALTER TABLE access_log ADD COLUMN {name} {kind}")
    cursor.execute("CREATE UNIQUE INDEX access_log_seq ON access_log (seq)")
    cursor.execute("CREATE INDEX access_log_subject ON access_log (subject_id, entry_id)")
    cursor.execute("CREATE INDEX access_log_action ON access_log (action, entry_id)")
    cursor.execute(
        "SELECT entry_id, recorded_at, username, officer_id, role, action, outcome, "
        "interface, connection, detail FROM access_log ORDER BY entry_id"
    )
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    if not rows:
        return
    # The log refuses UPDATE; chaining the entries already there is the one
    # update it ever gets, with the guard lifted inside this transaction.
    if sqlite:
        cursor.execute("DROP TRIGGER access_log_no_update")
    else:
        cursor.execute("ALTER TABLE access_log DISABLE TRIGGER access_log_append_only")
    previous = GENESIS
    for seq, row in enumerate(rows, start=1):
        row.update(seq=seq, subject_kind=None, subject_id=None, reason=None)
        previous = entry_link(previous, row)
        cursor.execute(
            f"UPDATE access_log SET seq = {mark}, link = {mark} WHERE entry_id = {mark}",
            (seq, previous.hex(), row["entry_id"]),
        )
    if sqlite:
        cursor.execute(
            "CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log "
            "BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END"
        )
    else:
        cursor.execute("ALTER TABLE access_log ENABLE TRIGGER access_log_append_only")


def rollback(conn) -> None:
    cursor = conn.cursor()
    cursor.execute("SELECT count(*) FROM access_log WHERE seq IS NOT NULL")
    if cursor.fetchone()[0]:
        raise RuntimeError(
            "the access log holds entries: rolling back 0011_access_log_chain "
            "would erase them (and their chain)"
        )
    for index in ("access_log_seq", "access_log_subject", "access_log_action"):
        cursor.execute(f"DROP INDEX {index}")
    for name, _kind in _COLUMNS:
        cursor.execute(f"ALTER TABLE access_log DROP COLUMN {name}")


steps = [step(apply, rollback)]
