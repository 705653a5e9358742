"""Claims name their contract's registered agency (issue 16 item 6): the
claims statistics group by the registered agency's name - a merged
duplicate counted under the record it was merged into - and by the
contract's free text only where the contract is not linked.

The `claims` projection is emptied and set back to the log's start in the
same transaction; the runner rebuilds it (read models are disposable).
"""

from yoyo import step

__depends__ = {"0020_coverage"}


def apply(conn) -> None:
    cursor = conn.cursor()
    for table in ("rm_claim_entries", "rm_claims", "rm_claim_people"):
        cursor.execute(f"DELETE FROM {table}")
    cursor.execute("ALTER TABLE rm_claims ADD COLUMN agency_id TEXT")
    cursor.execute("ALTER TABLE rm_claim_people ADD COLUMN agency_id TEXT")
    cursor.execute(
        "UPDATE rm_tracking SET position = 0, failed_id = NULL, error = NULL "
        "WHERE projection = 'claims'"
    )


def rollback(conn) -> None:
    cursor = conn.cursor()
    cursor.execute("ALTER TABLE rm_claim_people DROP COLUMN agency_id")
    cursor.execute("ALTER TABLE rm_claims DROP COLUMN agency_id")


steps = [step(apply, rollback)]
