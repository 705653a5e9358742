"""Money claims (issue 16): one row per claim, one per step or recovery, and
the claims projection's private table of who the claims are for (sex, and the
current contract's destination, sector, employer and agency).

The `claims` projection is set back to the log's start in the same
transaction, so a rollback and re-apply rebuilds the tables.
"""

from yoyo import step

__depends__ = {"0014_case_closed_at"}

TABLES = (
    "CREATE TABLE rm_claims ("
    " claim_id TEXT PRIMARY KEY,"
    " migrant_id TEXT NOT NULL,"
    " incident_id TEXT,"
    " basis TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " currency TEXT NOT NULL,"
    " claimed_minor BIGINT NOT NULL,"
    " recovered_minor BIGINT NOT NULL,"
    " outstanding_minor BIGINT NOT NULL,"
    " above_claimed INTEGER NOT NULL,"
    " status TEXT NOT NULL,"
    " outcome TEXT,"
    " steps INTEGER NOT NULL,"
    " last_step TEXT,"
    " destination TEXT NOT NULL,"
    " sector TEXT NOT NULL,"
    " employer TEXT NOT NULL,"
    " agency TEXT NOT NULL,"
    " opened_on TEXT NOT NULL,"
    " opened_by TEXT NOT NULL,"
    " notes TEXT NOT NULL,"
    " closing_notes TEXT,"
    " last_activity_at TEXT NOT NULL)",
    "CREATE INDEX rm_claims_migrant ON rm_claims (migrant_id, opened_on)",
    "CREATE INDEX rm_claims_incident ON rm_claims (incident_id)",
    "CREATE TABLE rm_claim_entries ("
    " entry_id TEXT PRIMARY KEY,"
    " claim_id TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " entry TEXT NOT NULL,"
    " step TEXT,"
    " channel TEXT,"
    " day TEXT NOT NULL,"
    " amount_minor BIGINT,"
    " notes TEXT NOT NULL,"
    " recorded_by TEXT NOT NULL,"
    " recorded_at TEXT NOT NULL)",
    "CREATE INDEX rm_claim_entries_claim ON rm_claim_entries (claim_id, version)",
    "CREATE TABLE rm_claim_people ("
    " migrant_id TEXT PRIMARY KEY,"
    " sex TEXT NOT NULL,"
    " destination TEXT NOT NULL,"
    " sector TEXT NOT NULL,"
    " employer TEXT NOT NULL,"
    " agency TEXT NOT NULL)",
)


def apply(conn) -> None:
    cursor = conn.cursor()
    for statement in TABLES:
        cursor.execute(statement)
    cursor.execute(
        "UPDATE rm_tracking SET position = 0, failed_id = NULL, error = NULL "
        "WHERE projection = 'claims'"
    )


def rollback(conn) -> None:
    cursor = conn.cursor()
    for table in ("rm_claim_people", "rm_claim_entries", "rm_claims"):
        cursor.execute(f"DROP TABLE {table}")


steps = [step(apply, rollback)]
