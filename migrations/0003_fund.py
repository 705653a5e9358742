"""The fund's read models: account balances (TigerBeetle's four counters),
journal lines, contributions per member, disbursement requests (the approval
queue) and disbursements by benefit x sex.

The `fund` projection is set back to the log's start in the same
transaction: after a rollback and a re-apply its tables are new and empty,
and a kept position would leave them so for ever ("up to date", 0 rows).
On a new installation there is no row to reset yet.
"""

from yoyo import step

__depends__ = {"0002_stats_incident_migrant"}

TABLES = """
CREATE TABLE rm_fund_accounts (
    account TEXT NOT NULL,
    currency TEXT NOT NULL,
    type TEXT NOT NULL,
    debits_posted BIGINT NOT NULL,
    credits_posted BIGINT NOT NULL,
    debits_pending BIGINT NOT NULL,
    credits_pending BIGINT NOT NULL,
    closed INTEGER NOT NULL,
    PRIMARY KEY (account, currency)
);

CREATE TABLE rm_fund_pendings (
    pending_id TEXT PRIMARY KEY,
    legs TEXT NOT NULL
);

CREATE TABLE rm_fund_journal (
    notification_id BIGINT NOT NULL,
    line INTEGER NOT NULL,
    transfer_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    account TEXT NOT NULL,
    currency TEXT NOT NULL,
    debit_minor BIGINT NOT NULL,
    credit_minor BIGINT NOT NULL,
    memo TEXT NOT NULL,
    value_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    disbursement_id TEXT,
    reference TEXT,
    reverses TEXT,
    actor_id TEXT NOT NULL,
    PRIMARY KEY (notification_id, line)
);
CREATE INDEX rm_fund_journal_account ON rm_fund_journal (account, currency, notification_id);

CREATE TABLE rm_fund_contributions (
    transfer_id TEXT NOT NULL,
    line INTEGER NOT NULL,
    migrant_id TEXT NOT NULL,
    membership_number TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    paid_at TEXT NOT NULL,
    reversed INTEGER NOT NULL,
    PRIMARY KEY (transfer_id, line)
);
CREATE INDEX rm_fund_contributions_member ON rm_fund_contributions (migrant_id);

CREATE TABLE rm_fund_members (
    migrant_id TEXT PRIMARY KEY,
    case_number TEXT NOT NULL,
    full_name TEXT NOT NULL,
    sex TEXT NOT NULL
);

CREATE TABLE rm_disbursements (
    disbursement_id TEXT PRIMARY KEY,
    migrant_id TEXT NOT NULL,
    incident_id TEXT,
    case_number TEXT NOT NULL,
    full_name TEXT NOT NULL,
    sex TEXT NOT NULL,
    category TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    payee TEXT NOT NULL,
    justification TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_by_role TEXT NOT NULL,
    assistance_request INTEGER NOT NULL,
    requested_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    eligibility TEXT NOT NULL,
    eligible INTEGER NOT NULL,
    approvers_needed INTEGER NOT NULL,
    approvals TEXT NOT NULL,
    approvals_given INTEGER NOT NULL,
    status TEXT NOT NULL,
    approved_minor BIGINT,
    paid_minor BIGINT,
    payment_reference TEXT,
    decision_reason TEXT,
    last_activity_at TEXT NOT NULL
);
CREATE INDEX rm_disbursements_status ON rm_disbursements (status, requested_at, disbursement_id);
CREATE INDEX rm_disbursements_migrant ON rm_disbursements (migrant_id);

CREATE TABLE rm_stats_disbursements (
    category TEXT NOT NULL,
    sex TEXT NOT NULL,
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    disbursements BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    PRIMARY KEY (category, sex, status, currency)
)
"""

DROPS = """
DROP TABLE rm_stats_disbursements;
DROP TABLE rm_disbursements;
DROP TABLE rm_fund_members;
DROP TABLE rm_fund_contributions;
DROP TABLE rm_fund_journal;
DROP TABLE rm_fund_pendings;
DROP TABLE rm_fund_accounts
"""


def run(conn, text: str) -> None:
    cursor = conn.cursor()
    for statement in text.split(";"):
        if statement.strip():
            cursor.execute(statement)


RESET = """
UPDATE rm_tracking SET position = 0, failed_id = NULL, error = NULL WHERE projection = 'fund'
"""

steps = [step(lambda conn: run(conn, TABLES + ";" + RESET), lambda conn: run(conn, DROPS))]
