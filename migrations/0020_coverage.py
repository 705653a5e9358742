"""Social-protection coverage per contract (one row per migrant and cycle)
and the BLA / SSA agreements table (issue 16). The `coverage` projection is
set back to the log's start in the same transaction."""

from yoyo import step

__depends__ = {"0019_claims"}

TABLES = (
    "CREATE TABLE rm_coverage ("
    " coverage_id TEXT PRIMARY KEY,"
    " migrant_id TEXT NOT NULL,"
    " cycle INTEGER NOT NULL,"
    " destination TEXT NOT NULL,"
    " insured INTEGER NOT NULL,"
    " insurer TEXT,"
    " policy_number TEXT,"
    " valid_from TEXT,"
    " valid_until TEXT,"
    " registered INTEGER NOT NULL,"
    " scheme TEXT,"
    " social_security_number TEXT,"
    " registered_on TEXT,"
    " last_activity_at TEXT)",
    "CREATE INDEX rm_coverage_migrant ON rm_coverage (migrant_id, cycle)",
    "CREATE TABLE rm_agreements ("
    " agreement_key TEXT PRIMARY KEY,"
    " country TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " title TEXT NOT NULL,"
    " in_force_from TEXT NOT NULL,"
    " in_force_until TEXT,"
    " set_by TEXT NOT NULL,"
    " set_at TEXT NOT NULL)",
)


def apply(conn) -> None:
    cursor = conn.cursor()
    for statement in TABLES:
        cursor.execute(statement)
    cursor.execute(
        "UPDATE rm_tracking SET position = 0, failed_id = NULL, error = NULL "
        "WHERE projection = 'coverage'"
    )


def rollback(conn) -> None:
    cursor = conn.cursor()
    for table in ("rm_agreements", "rm_coverage"):
        cursor.execute(f"DROP TABLE {table}")


steps = [step(apply, rollback)]
