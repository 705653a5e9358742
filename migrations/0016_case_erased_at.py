"""Erasure (docs/encryption.md): each case row keeps when its person's
personal data was erased (null while it is not), so the retention review
(`msafiri case retention`) leaves erased cases out and `case erase
--reapply` can be checked against the read models.

The cases projection is emptied and set back to the log's start; the runner
rebuilds it on its next pass (read models are disposable).
"""

from yoyo import step

__depends__ = {"0014_case_closed_at"}


def apply(conn) -> None:
    cursor = conn.cursor()
    for table in ("rm_case_search", "rm_incidents", "rm_cases"):
        cursor.execute(f"DELETE FROM {table}")
    cursor.execute("ALTER TABLE rm_cases ADD COLUMN erased_at TEXT")
    cursor.execute(
        "UPDATE rm_tracking SET position = 0, failed_id = NULL, error = NULL "
        "WHERE projection = 'cases'"
    )


def rollback(conn) -> None:
    conn.cursor().execute("ALTER TABLE rm_cases DROP COLUMN erased_at")


steps = [step(apply, rollback)]
