"""Search filters served by an index: each search term carries its case's
stage and destination, so "wa" among the closed cases is one range scan of
(stage, term), not a scan of every "wa..." term filtered afterwards.

The cases projection is emptied and set back to the log's start; the runner
rebuilds it on its next pass.
"""

from yoyo import step

__depends__ = {"0003_fund"}


def apply(conn) -> None:
    cursor = conn.cursor()
    for table in ("rm_case_search", "rm_incidents", "rm_cases"):
        cursor.execute(f"DELETE FROM {table}")
    cursor.execute("ALTER TABLE rm_case_search ADD COLUMN stage TEXT NOT NULL DEFAULT ''")
    cursor.execute("ALTER TABLE rm_case_search ADD COLUMN destination TEXT NOT NULL DEFAULT ''")
    cursor.execute("CREATE INDEX rm_case_search_stage ON rm_case_search (stage, term, migrant_id)")
    cursor.execute(
        "CREATE INDEX rm_case_search_destination ON rm_case_search (destination, term, migrant_id)"
    )
    cursor.execute(
        "UPDATE rm_tracking SET position = 0, failed_id = NULL, error = NULL "
        "WHERE projection = 'cases'"
    )


def rollback(conn) -> None:
    cursor = conn.cursor()
    cursor.execute("DROP INDEX rm_case_search_destination")
    cursor.execute("DROP INDEX rm_case_search_stage")
    cursor.execute("ALTER TABLE rm_case_search DROP COLUMN destination")
    cursor.execute("ALTER TABLE rm_case_search DROP COLUMN stage")


steps = [step(apply, rollback)]
