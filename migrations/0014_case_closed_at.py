"""Retention (docs/privacy.md, "Retention") counts from the day a case was
closed: each case row keeps it, and an index serves "closed before ..."
among the closed cases only.

The cases projection is emptied and set back to the log's start; the runner
rebuilds it on its next pass (read models are disposable).
"""

from yoyo import step

__depends__ = {"0004_search_filters"}


def apply(conn) -> None:
    cursor = conn.cursor()
    for table in ("rm_case_search", "rm_incidents", "rm_cases"):
        cursor.execute(f"DELETE FROM {table}")
    cursor.execute("ALTER TABLE rm_cases ADD COLUMN closed_at TEXT")
    cursor.execute(
        "CREATE INDEX rm_cases_closed ON rm_cases (closed_at, migrant_id) WHERE stage = 'closed'"
    )
    cursor.execute(
        "UPDATE rm_tracking SET position = 0, failed_id = NULL, error = NULL "
        "WHERE projection = 'cases'"
    )


def rollback(conn) -> None:
    cursor = conn.cursor()
    cursor.execute("DROP INDEX rm_cases_closed")
    cursor.execute("ALTER TABLE rm_cases DROP COLUMN closed_at")


steps = [step(apply, rollback)]
