"""Need-to-know: one row per grant or break-glass access to a case, so a read
decides in one index lookup whether its viewer may see a case's restricted
records (projections/disclosure.py), and supervisors and auditors list the
break-glass accesses still waiting for their review.

Filled by the `access` projection from AccessGranted, EmergencyAccessTaken,
AccessRevoked and EmergencyAccessReviewed. Case assignment and the reporter
of an incident are already in rm_cases / rm_incidents. The projection is set
back to the log's start in the same transaction (as 0006 does), so a
rollback and re-apply rebuilds the table rather than keeping it empty.
"""

from yoyo import step

__depends__ = {"0008_fund_corrections"}


def apply(conn) -> None:
    cursor = conn.cursor()
    cursor.execute(
        "CREATE TABLE rm_case_access ("
        " grant_id TEXT PRIMARY KEY,"
        " migrant_id TEXT NOT NULL,"
        " officer_id TEXT NOT NULL,"
        " kind TEXT NOT NULL,"
        " reason TEXT NOT NULL,"
        " given_by TEXT NOT NULL,"
        " given_by_role TEXT NOT NULL,"
        " given_at TEXT NOT NULL,"
        " expires_at TEXT NOT NULL,"
        " revoked_at TEXT,"
        " revoked_by TEXT,"
        " supervisor_review TEXT,"
        " auditor_review TEXT)"
    )
    # The question every read asks: does this officer hold access to this case now?
    cursor.execute(
        "CREATE INDEX rm_case_access_officer ON rm_case_access (officer_id, migrant_id, expires_at)"
    )
    cursor.execute("CREATE INDEX rm_case_access_case ON rm_case_access (migrant_id, given_at)")
    cursor.execute(
        "UPDATE rm_tracking SET position = 0, failed_id = NULL, error = NULL "
        "WHERE projection = 'access'"
    )


def rollback(conn) -> None:
    conn.cursor().execute("DROP TABLE rm_case_access")


steps = [step(apply, rollback)]
