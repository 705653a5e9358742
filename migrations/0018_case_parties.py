"""Each case row names its contract's registered employer and agency
(issue 16: contracts refer to the registries; the claims and coverage work
reads them from here). The cases projection is emptied and set back to the
log's start; the runner rebuilds it (read models are disposable).
"""

from yoyo import step

__depends__ = {"0017_employers"}


def apply(conn) -> None:
    cursor = conn.cursor()
    for table in ("rm_case_search", "rm_incidents", "rm_cases"):
        cursor.execute(f"DELETE FROM {table}")
    cursor.execute("ALTER TABLE rm_cases ADD COLUMN employer_id TEXT")
    cursor.execute("ALTER TABLE rm_cases ADD COLUMN agency_id TEXT")
    cursor.execute("CREATE INDEX rm_cases_employer_id ON rm_cases (employer_id)")
    cursor.execute("CREATE INDEX rm_cases_agency_id ON rm_cases (agency_id)")
    cursor.execute(
        "UPDATE rm_tracking SET position = 0, failed_id = NULL, error = NULL "
        "WHERE projection = 'cases'"
    )


def rollback(conn) -> None:
    cursor = conn.cursor()
    cursor.execute("DROP INDEX rm_cases_agency_id")
    cursor.execute("DROP INDEX rm_cases_employer_id")
    cursor.execute("ALTER TABLE rm_cases DROP COLUMN agency_id")
    cursor.execute("ALTER TABLE rm_cases DROP COLUMN employer_id")


steps = [step(apply, rollback)]
