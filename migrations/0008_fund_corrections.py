"""Corrections and reversals that move money out of the fund wait for
approval (maker-checker): one row per proposal, so the fund officers' queue
shows what is waiting, who proposed it and who approved it so far.

Filled by the `fund` projection from CorrectionProposed / ...ApprovalGiven /
...Approved / ...Rejected. The `fund` projection's other tables are emptied
and it is set back to the log's start in the same transaction (as 0006 and
0014 do): a new table is filled from the first event, and a rollback and
re-apply rebuilds it rather than leaving it empty behind an "up to date"
position.
"""

from yoyo import step

__depends__ = {"0007_queue_by_amount"}


def apply(conn) -> None:
    cursor = conn.cursor()
    cursor.execute(
        "CREATE TABLE rm_fund_corrections ("
        " proposal_id TEXT PRIMARY KEY,"
        " kind TEXT NOT NULL,"
        " reverses TEXT,"
        " legs TEXT NOT NULL,"
        " reason TEXT NOT NULL,"
        " value_at TEXT NOT NULL,"
        " moves_out_minor BIGINT NOT NULL,"
        " currency TEXT NOT NULL,"
        " proposed_by TEXT NOT NULL,"
        " proposed_at TEXT NOT NULL,"
        " approvers_needed INTEGER NOT NULL,"
        " approvals TEXT NOT NULL,"
        " approvals_given INTEGER NOT NULL,"
        " status TEXT NOT NULL,"
        " decision_reason TEXT,"
        " last_activity_at TEXT NOT NULL)"
    )
    cursor.execute(
        "CREATE INDEX rm_fund_corrections_status "
        "ON rm_fund_corrections (status, proposed_at, proposal_id)"
    )
    # The fund projection's tables made by 0003_fund (this migration's
    # ancestor); the runner refills them all from the log's start.
    for table in (
        "rm_fund_accounts",
        "rm_fund_pendings",
        "rm_fund_journal",
        "rm_fund_contributions",
        "rm_fund_members",
        "rm_disbursements",
        "rm_stats_disbursements",
    ):
        cursor.execute(f"DELETE FROM {table}")
    cursor.execute(
        "UPDATE rm_tracking SET position = 0, failed_id = NULL, error = NULL "
        "WHERE projection = 'fund'"
    )


def rollback(conn) -> None:
    conn.cursor().execute("DROP TABLE rm_fund_corrections")


steps = [step(apply, rollback)]
