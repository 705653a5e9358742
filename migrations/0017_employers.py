"""Employer and agency registries (issue 16): one row per registered
employer or agency (`rm_parties`, with its licence and watchlist status and
the record it stands for after a merge, `canonical_id`), the placements made
with them (`rm_placements`, one per contract or change of employer), each
case's current employer and agency (`rm_party_contracts`) and the incidents
reported while a migrant worked for them (`rm_party_incidents`: category,
severity and status only - never the narrative).

Filled by the `employers` projection; it is set back to the log's start in
the same transaction, so a rollback and re-apply rebuilds the tables.
"""

from yoyo import step

__depends__ = {"0014_case_closed_at"}


def apply(conn) -> None:
    cursor = conn.cursor()
    cursor.execute(
        "CREATE TABLE rm_parties ("
        " party_id TEXT PRIMARY KEY,"
        " party_kind TEXT NOT NULL,"
        " name TEXT NOT NULL,"
        " name_key TEXT NOT NULL,"
        " kind TEXT,"
        " country TEXT NOT NULL,"
        " city TEXT,"
        " sector TEXT,"
        " registration_number TEXT,"
        " licence_number TEXT,"
        " licence_valid_from TEXT,"
        " licence_valid_until TEXT,"
        " licence_status TEXT,"
        " licence_reason TEXT,"
        " watchlist TEXT NOT NULL,"
        " listing_reason TEXT,"
        " proposed_by TEXT,"
        " proposal_reason TEXT,"
        " proposal_incidents TEXT,"
        " canonical_id TEXT NOT NULL,"
        " registered_at TEXT NOT NULL,"
        " version INTEGER NOT NULL)"
    )
    # Search: a kind's records in one country, surviving ones (canonical_id
    # = party_id), by name key.
    cursor.execute(
        "CREATE INDEX rm_parties_search ON rm_parties "
        "(party_kind, country, name_key, party_id, canonical_id)"
    )
    cursor.execute("CREATE INDEX rm_parties_name ON rm_parties (party_kind, name_key)")
    cursor.execute("CREATE INDEX rm_parties_canonical ON rm_parties (canonical_id)")
    cursor.execute("CREATE INDEX rm_parties_watchlist ON rm_parties (watchlist, party_kind)")
    cursor.execute(
        "CREATE TABLE rm_placements ("
        " placement_id TEXT PRIMARY KEY,"
        " migrant_id TEXT NOT NULL,"
        " employer_id TEXT,"
        " agency_id TEXT,"
        " destination TEXT NOT NULL,"
        " started_at TEXT NOT NULL)"
    )
    cursor.execute("CREATE INDEX rm_placements_employer ON rm_placements (employer_id, migrant_id)")
    cursor.execute("CREATE INDEX rm_placements_agency ON rm_placements (agency_id, migrant_id)")
    cursor.execute("CREATE INDEX rm_placements_migrant ON rm_placements (migrant_id)")
    cursor.execute(
        "CREATE TABLE rm_party_contracts ("
        " migrant_id TEXT PRIMARY KEY,"
        " employer_id TEXT,"
        " agency_id TEXT,"
        " placement_id TEXT NOT NULL)"
    )
    cursor.execute(
        "CREATE TABLE rm_party_incidents ("
        " incident_id TEXT PRIMARY KEY,"
        " migrant_id TEXT NOT NULL,"
        " employer_id TEXT,"
        " agency_id TEXT,"
        " category TEXT NOT NULL,"
        " severity TEXT NOT NULL,"
        " is_open INTEGER NOT NULL,"
        " reported_at TEXT NOT NULL)"
    )
    cursor.execute("CREATE INDEX rm_party_incidents_employer ON rm_party_incidents (employer_id)")
    cursor.execute("CREATE INDEX rm_party_incidents_agency ON rm_party_incidents (agency_id)")
    cursor.execute(
        "UPDATE rm_tracking SET position = 0, failed_id = NULL, error = NULL "
        "WHERE projection = 'employers'"
    )


def rollback(conn) -> None:
    cursor = conn.cursor()
    for table in ("rm_party_incidents", "rm_party_contracts", "rm_placements", "rm_parties"):
        cursor.execute(f"DROP TABLE {table}")


steps = [step(apply, rollback)]
