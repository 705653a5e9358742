"""The audit hash chain: one link per stored event, in notification order.

Lives beside the event log in the same database. Append-only: nothing in
Msafiri updates or deletes a link.
"""

from yoyo import step

__depends__: set[str] = set()


def _is_sqlite(conn) -> bool:
    return type(conn).__module__.startswith("sqlite3")


def apply(conn):
    link_type = "TEXT" if _is_sqlite(conn) else "CHAR(64)"
    position_type = "INTEGER" if _is_sqlite(conn) else "BIGINT"
    cursor = conn.cursor()
    cursor.execute(
        f"CREATE TABLE rm_audit_chain ("
        f" position {position_type} PRIMARY KEY,"
        " originator_id TEXT NOT NULL,"
        " originator_version INTEGER NOT NULL,"
        f" link {link_type} NOT NULL)"
    )
    cursor.execute(
        "CREATE TABLE rm_audit_checkpoints ("
        f" position {position_type} PRIMARY KEY,"
        f" head {link_type} NOT NULL,"
        " taken_at TEXT NOT NULL,"
        " signature TEXT)"
    )


def rollback(conn):
    cursor = conn.cursor()
    cursor.execute("DROP TABLE rm_audit_checkpoints")
    cursor.execute("DROP TABLE rm_audit_chain")


steps = [step(apply, rollback)]
