"""The fund's read models: balances, journal, contributions, disbursement
requests (the approval queue) and disbursements by benefit x sex.

Balances keep TigerBeetle's four counters per account, as the Book does;
posted / pending / available are computed from them by the queries with the
Book's own rules (ledger/book.py AccountState). The projection keeps a small
private table of members (case number, name, sex) so a request row and the
statistics show who it is for without reading another projection.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import orjson

from projections.base import Projection, RowCache, ts, upsert_sql
from projections.db import ReadModelDb
from projections.log import Record

BOOK_TYPES = frozenset(
    {
        "AccountOpened",
        "AccountClosed",
        "TransferPosted",
        "TransferReserved",
        "ReservationPosted",
        "ReservationVoided",
    }
)
# Events that settle a reservation (TransferReserved) one way or the other.
SETTLEMENTS = frozenset({"ReservationPosted", "ReservationVoided"})
DISBURSEMENT_TYPES = frozenset(
    {
        "DisbursementRequested",
        "DisbursementApprovalGiven",
        "DisbursementApproved",
        "DisbursementRejected",
        "DisbursementExpired",
        "DisbursementPaid",
        "DisbursementPaymentReversed",
    }
)
MEMBER_TYPES = frozenset({"MigrantRegistered", "RegistrationCorrected"})
# Corrections and reversals moving money out, waiting for approval.
CORRECTION_TYPES = frozenset(
    {"CorrectionProposed", "CorrectionApprovalGiven", "CorrectionApproved", "CorrectionRejected"}
)
CORRECTION_COLUMNS = (
    "proposal_id",
    "kind",
    "reverses",
    "legs",
    "reason",
    "value_at",
    "moves_out_minor",
    "currency",
    "proposed_by",
    "proposed_at",
    "approvers_needed",
    "approvals",
    "approvals_given",
    "status",
    "decision_reason",
    "last_activity_at",
)

ACCOUNT_COLUMNS = (
    "account",
    "currency",
    "type",
    "debits_posted",
    "credits_posted",
    "debits_pending",
    "credits_pending",
    "closed",
)
JOURNAL_COLUMNS = (
    "notification_id",
    "line",
    "transfer_id",
    "kind",
    "account",
    "currency",
    "debit_minor",
    "credit_minor",
    "memo",
    "value_at",
    "recorded_at",
    "disbursement_id",
    "reference",
    "reverses",
    "actor_id",
)
CONTRIBUTION_COLUMNS = (
    "transfer_id",
    "line",
    "migrant_id",
    "membership_number",
    "currency",
    "amount_minor",
    "paid_at",
    "reversed",
)
DISBURSEMENT_COLUMNS = (
    "disbursement_id",
    "migrant_id",
    "incident_id",
    "case_number",
    "full_name",
    "sex",
    "category",
    "amount_minor",
    "currency",
    "payee",
    "justification",
    "requested_by",
    "requested_by_role",
    "assistance_request",
    "requested_at",
    "expires_at",
    "eligibility",
    "eligible",
    "approvers_needed",
    "approvals",
    "approvals_given",
    "status",
    "approved_minor",
    "paid_minor",
    "payment_reference",
    "decision_reason",
    "last_activity_at",
)
MEMBER_COLUMNS = ("migrant_id", "case_number", "full_name", "sex")


class FundProjection(Projection):
    name = "fund"
    rebuild_weight = 1.0
    tables = (
        "rm_fund_accounts",
        "rm_fund_pendings",
        "rm_fund_journal",
        "rm_fund_contributions",
        "rm_fund_members",
        "rm_disbursements",
        "rm_stats_disbursements",
        "rm_fund_corrections",
    )
    types = BOOK_TYPES | DISBURSEMENT_TYPES | MEMBER_TYPES | CORRECTION_TYPES

    def apply(self, db: ReadModelDb, records: Sequence[Record]) -> None:
        members = RowCache(db, "rm_fund_members", MEMBER_COLUMNS, "migrant_id")
        requests = RowCache(db, "rm_disbursements", DISBURSEMENT_COLUMNS, "disbursement_id")
        # Rows whose first event is in this page cannot be stored yet.
        registered_now = {r.originator_id for r in records if r.type == "MigrantRegistered"}
        requested_now = {r.originator_id for r in records if r.type == "DisbursementRequested"}
        members.load(
            (
                {r.originator_id for r in records if r.type == "RegistrationCorrected"}
                | {r.data["migrant_id"] for r in records if r.type == "DisbursementRequested"}
            )
            - registered_now
        )
        requests.load(
            {r.originator_id for r in records if r.type in DISBURSEMENT_TYPES} - requested_now
        )
        corrected = {r.originator_id for r in records if r.type == "RegistrationCorrected"}
        requests.load_where("migrant_id", corrected)
        before = {k: _cell(row) for k, row in requests.rows.items()}
        book = Book(db, records) if any(r.type in BOOK_TYPES for r in records) else None
        corrections = RowCache(db, "rm_fund_corrections", CORRECTION_COLUMNS, "proposal_id")
        corrections.load(
            {r.originator_id for r in records if r.type in CORRECTION_TYPES}
            - {r.originator_id for r in records if r.type == "CorrectionProposed"}
        )
        for record in records:
            if record.type in CORRECTION_TYPES:
                self.apply_correction(corrections, record)
            elif record.type in MEMBER_TYPES:
                self.apply_member(members, requests, record)
            elif record.type in DISBURSEMENT_TYPES:
                self.apply_request(members, requests, record)
            else:
                assert book is not None
                book.apply(record)
        cells: Counter = Counter()
        for key in requests.dirty:
            old, new = before.get(key), _cell(requests.rows[key])
            if old != new:
                if old:
                    cells[old[0]] -= 1
                    cells[(*old[0], "amount")] -= old[1]
                cells[new[0]] += 1
                cells[(*new[0], "amount")] += new[1]
        members.flush()
        requests.flush()
        corrections.flush()
        if book:
            book.flush()
        self.add(db, cells)

    @staticmethod
    def apply_member(members: RowCache, requests: RowCache, record: Record) -> None:
        d, migrant_id = record.data, record.originator_id
        if record.type == "MigrantRegistered":
            members.put(
                migrant_id,
                {
                    "migrant_id": migrant_id,
                    "case_number": d["case_number"],
                    "full_name": d["full_name"],
                    "sex": d["sex"],
                },
            )
            return
        member = members.get(migrant_id)
        if member is None:
            raise LookupError(f"correction of unknown migrant {migrant_id}")
        members.touch(migrant_id)
        for name in ("full_name", "sex"):
            change = d["corrections"].get(name)
            if change and change["now"] is not None:
                member[name] = change["now"]
        for key, row in requests.rows.items():
            if row["migrant_id"] == migrant_id:
                row["full_name"], row["sex"] = member["full_name"], member["sex"]
                requests.touch(key)

    @staticmethod
    def apply_request(members: RowCache, requests: RowCache, record: Record) -> None:
        d, kind, key = record.data, record.type, record.originator_id
        if kind == "DisbursementRequested":
            member = members.get(d["migrant_id"])
            if member is None:
                raise LookupError(f"request {key} for unknown migrant {d['migrant_id']}")
            requests.put(key, _new_request(d, member))
            return
        row = requests.get(key)
        if row is None:
            raise LookupError(f"{kind} for unknown disbursement {key}")
        requests.touch(key)
        row["last_activity_at"] = ts(d["timestamp"])
        if kind == "DisbursementApprovalGiven":
            approvals = orjson.loads(row["approvals"])
            approvals.append(
                {
                    "officer_id": d["actor_id"],
                    "amount_minor": d["amount"]["amount_minor"],
                    "humanitarian_exception": d["humanitarian_exception"],
                    "reason": d["reason"],
                    "at": ts(d["timestamp"]),
                }
            )
            row["approvals"] = orjson.dumps(approvals).decode()
            row["approvals_given"] = len(approvals)
            row["approvers_needed"] = d["approvers_needed"]
            row["eligibility"] = orjson.dumps(d["eligibility"]).decode()
            row["eligible"] = int(all(c["passed"] for c in d["eligibility"]))
        elif kind == "DisbursementApproved":
            row["status"] = "approved"
            row["approved_minor"] = d["amount"]["amount_minor"]
        elif kind in ("DisbursementRejected", "DisbursementExpired"):
            row["status"] = "rejected" if kind == "DisbursementRejected" else "expired"
            row["decision_reason"] = d["reason"]
        elif kind == "DisbursementPaid":
            row["status"] = "paid"
            row["paid_minor"] = d["amount"]["amount_minor"]
            row["payment_reference"] = d["payment_reference"]
        elif kind == "DisbursementPaymentReversed":
            row["status"] = "approved"
            row["paid_minor"] = None
            row["payment_reference"] = None
            row["decision_reason"] = d["reason"]

    @staticmethod
    def apply_correction(corrections: RowCache, record: Record) -> None:
        d, kind, key = record.data, record.type, record.originator_id
        if kind == "CorrectionProposed":
            corrections.put(
                key,
                {
                    "proposal_id": key,
                    "kind": "reversal" if d.get("reverses") else "correction",
                    "reverses": d.get("reverses"),
                    "legs": orjson.dumps(d["legs"]).decode(),
                    "reason": d["reason"],
                    "value_at": ts(d["occurred_at"]),
                    "moves_out_minor": d["moves_out"]["amount_minor"],
                    "currency": d["moves_out"]["currency"],
                    "proposed_by": d["actor_id"],
                    "proposed_at": ts(d["timestamp"]),
                    "approvers_needed": d["approvers_needed"],
                    "approvals": "[]",
                    "approvals_given": 0,
                    "status": "proposed",
                    "decision_reason": None,
                    "last_activity_at": ts(d["timestamp"]),
                },
            )
            return
        row = corrections.get(key)
        if row is None:
            raise LookupError(f"{kind} for unknown correction {key}")
        corrections.touch(key)
        row["last_activity_at"] = ts(d["timestamp"])
        if kind == "CorrectionApprovalGiven":
            approvals = orjson.loads(row["approvals"])
            approvals.append({"officer_id": d["actor_id"], "at": ts(d["timestamp"])})
            row["approvals"] = orjson.dumps(approvals).decode()
            row["approvals_given"] = len(approvals)
        elif kind == "CorrectionApproved":
            row["status"] = "approved"
        else:
            row["status"] = "rejected"
            row["decision_reason"] = d["reason"]

    @staticmethod
    def add(db: ReadModelDb, cells: Counter) -> None:
        keys = sorted({k for k in cells if k[-1] != "amount"})
        rows = [(*k, cells[k], cells[(*k, "amount")]) for k in keys]
        rows = [r for r in rows if r[4] or r[5]]
        db.executemany(
            "INSERT INTO rm_stats_disbursements "
            "(category, sex, status, currency, disbursements, amount_minor) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (category, sex, status, currency) DO UPDATE "
            "SET disbursements = rm_stats_disbursements.disbursements + excluded.disbursements, "
            "amount_minor = rm_stats_disbursements.amount_minor + excluded.amount_minor",
            rows,
        )
        if rows:
            db.execute("DELETE FROM rm_stats_disbursements WHERE disbursements = 0")


def _new_request(d: dict, member: dict) -> dict:
    return {
        "disbursement_id": d["originator_id"],
        "migrant_id": d["migrant_id"],
        "incident_id": d["incident_id"],
        "case_number": member["case_number"],
        "full_name": member["full_name"],
        "sex": member["sex"],
        "category": d["category"],
        "amount_minor": d["amount"]["amount_minor"],
        "currency": d["amount"]["currency"],
        "payee": d["payee"],
        "justification": d["justification"],
        "requested_by": d["requested_by"],
        "requested_by_role": d["requested_by_role"],
        "assistance_request": int(d["assistance_request"]),
        "requested_at": ts(d["timestamp"]),
        "expires_at": ts(d["expires_at"]),
        "eligibility": orjson.dumps(d["eligibility"]).decode(),
        "eligible": int(all(c["passed"] for c in d["eligibility"])),
        "approvers_needed": d["approvers_needed"],
        "approvals": "[]",
        "approvals_given": 0,
        "status": "requested",
        "approved_minor": None,
        "paid_minor": None,
        "payment_reference": None,
        "decision_reason": None,
        "last_activity_at": ts(d["timestamp"]),
    }


def _cell(row: dict) -> tuple[tuple, int]:
    """The statistics cell of a request and the amount it counts there: paid,
    else approved, else requested."""
    amount = row["paid_minor"] or row["approved_minor"] or row["amount_minor"]
    return (row["category"], row["sex"], row["status"], row["currency"]), amount


class Book:
    """Accounts (a few dozen rows, all loaded), pending legs, journal lines."""

    def __init__(self, db: ReadModelDb, records: Sequence[Record]):
        self.db = db
        self.accounts = {
            (row[0], row[1]): dict(zip(ACCOUNT_COLUMNS, row, strict=True))
            for row in db.fetchall(f"SELECT {', '.join(ACCOUNT_COLUMNS)} FROM rm_fund_accounts")
        }
        self.dirty: set[tuple[str, str]] = set()
        self.pendings = RowCache(db, "rm_fund_pendings", ("pending_id", "legs"), "pending_id")
        # The page's settled reservations in one read (reservations made in
        # this page cannot be stored yet), not one read per settlement.
        self.pendings.load(
            {r.data["pending_id"] for r in records if r.type in SETTLEMENTS}
            - {r.data["pending_id"] for r in records if r.type == "TransferReserved"}
        )
        self.journal: list[tuple] = []
        self.contributions: list[tuple] = []
        self.reversed: list[str] = []

    def apply(self, record: Record) -> None:
        d, kind = record.data, record.type
        if kind == "AccountOpened":
            key = (d["account"], d["currency"])
            self.accounts[key] = {
                "account": d["account"],
                "currency": d["currency"],
                "type": d["type"],
                "debits_posted": 0,
                "credits_posted": 0,
                "debits_pending": 0,
                "credits_pending": 0,
                "closed": 0,
            }
            self.dirty.add(key)
        elif kind == "AccountClosed":
            key = (d["account"], d["currency"])
            self.accounts[key]["closed"] = 1
            self.dirty.add(key)
        elif kind == "TransferPosted":
            self.post(record, d["transfer_id"], d["kind"], d["legs"], d)
            for line, c in enumerate(d.get("contributions") or ()):
                self.contributions.append(
                    (
                        d["transfer_id"],
                        line,
                        c["migrant_id"],
                        c["membership_number"],
                        d["legs"][0]["currency"],
                        c["amount_minor"],
                        ts(d["occurred_at"]),
                        0,
                    )
                )
            if d.get("reverses"):
                self.reversed.append(d["reverses"])
        elif kind == "TransferReserved":
            self.move(d["legs"], "pending", +1)
            self.pendings.put(
                d["pending_id"],
                {"pending_id": d["pending_id"], "legs": orjson.dumps(d["legs"]).decode()},
            )
        elif kind in SETTLEMENTS:
            pending = self.pendings.get(d["pending_id"])
            if pending is None:
                raise LookupError(f"{kind} of unknown reservation {d['pending_id']}")
            legs = orjson.loads(pending["legs"])
            self.move(legs, "pending", -1)
            self.pendings.delete(d["pending_id"])
            if kind == "ReservationPosted":
                amount = d["amount_minor"]
                posted = [
                    {
                        **leg,
                        "debit_minor": amount if leg["debit_minor"] else 0,
                        "credit_minor": amount if leg["credit_minor"] else 0,
                    }
                    for leg in legs
                ]
                links = {"memo": "", "reference": d["reference"]}
                self.post(record, d["transfer_id"], "payment", posted, links)

    def move(self, legs: list[dict], which: str, sign: int) -> None:
        for leg in legs:
            key = (leg["account"], leg["currency"])
            account = self.accounts.get(key)
            if account is None:
                raise LookupError(f"movement on unknown account {key}")
            account[f"debits_{which}"] += sign * leg["debit_minor"]
            account[f"credits_{which}"] += sign * leg["credit_minor"]
            self.dirty.add(key)

    def post(self, record: Record, transfer_id: str, kind: str, legs: list, links: dict) -> None:
        d = record.data
        self.move(legs, "posted", +1)
        for line, leg in enumerate(legs):
            self.journal.append(
                (
                    record.id,
                    line,
                    transfer_id,
                    kind,
                    leg["account"],
                    leg["currency"],
                    leg["debit_minor"],
                    leg["credit_minor"],
                    links.get("memo") or "",
                    ts(d["occurred_at"]),
                    ts(d["timestamp"]),
                    links.get("disbursement_id"),
                    links.get("reference"),
                    links.get("reverses"),
                    d["actor_id"],
                )
            )

    def flush(self) -> None:
        db = self.db
        db.executemany(
            upsert_sql("rm_fund_accounts", ACCOUNT_COLUMNS, ("account", "currency")),
            [tuple(self.accounts[k][c] for c in ACCOUNT_COLUMNS) for k in sorted(self.dirty)],
        )
        self.pendings.flush()
        db.insert_many("rm_fund_journal", JOURNAL_COLUMNS, self.journal)
        db.insert_many("rm_fund_contributions", CONTRIBUTION_COLUMNS, self.contributions)
        db.executemany(
            "UPDATE rm_fund_contributions SET reversed = 1 WHERE transfer_id = ?",
            [(t,) for t in self.reversed],
        )
