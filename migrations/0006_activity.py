"""Who did what: one row per stored event with its actor, role, type and both
times, so an auditor's query by officer, role, event type or time range reads
an index instead of decoding the whole log (20 million events by design).

Filled by the `activity` projection; a new installation's runner builds it
from the log's start like any other read model. The projection is set back
to the log's start in the same transaction, so that after a rollback and a
re-apply the new, empty table is rebuilt rather than kept "up to date" and empty.
"""

from yoyo import step

__depends__ = {"0005_deferred_indexes"}


def apply(conn) -> None:
    cursor = conn.cursor()
    cursor.execute(
        "CREATE TABLE rm_activity ("
        " position BIGINT PRIMARY KEY,"
        " actor_id TEXT NOT NULL,"
        " actor_role TEXT NOT NULL,"
        " event_type TEXT NOT NULL,"
        " aggregate_id TEXT NOT NULL,"
        " recorded_at TEXT NOT NULL,"
        " occurred_at TEXT NOT NULL)"
    )
    # Each filter leads with its own column and ends with the position, so a
    # page (keyset on position) is a range scan whichever filter is chosen.
    for name, columns in (
        ("actor", "actor_id, position"),
        ("role", "actor_role, position"),
        ("type", "event_type, position"),
        ("recorded", "recorded_at, position"),
    ):
        cursor.execute(f"CREATE INDEX rm_activity_{name} ON rm_activity ({columns})")
    cursor.execute(
        "UPDATE rm_tracking SET position = 0, failed_id = NULL, error = NULL "
        "WHERE projection = 'activity'"
    )


def rollback(conn) -> None:
    conn.cursor().execute("DROP TABLE rm_activity")


steps = [step(apply, rollback)]
