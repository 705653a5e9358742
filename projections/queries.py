"""The read API every screen and report uses. Reads read models only.

All lists are keyset-paged: a call returns `Page(rows, after)`; pass `after`
back to get the next page (None when there is no more). `after` is an opaque
string. `limit` is bounded (1..500). Ids are UUID strings; times are ISO 8601
UTC text ("2026-11-01T08:00:00.000000Z"), dates "YYYY-MM-DD"; money is
integer minor units with its currency.

    q = read_models.queries
    page = q.search_cases("wanjiru", stage="on_site")
    case = q.get_case(page.rows[0].migrant_id)       # or q.get_case("MS-K3F2Q-7XWPA")
    q.case_timeline(case.migrant_id).rows            # oldest first
    q.list_incidents(open=True, country="SA")        # newest first
    q.migrant_statistics(by=("sex", "destination"))  # [{sex, destination, migrants}]
    q.approval_queue().rows                          # pending fund requests, oldest first
    q.fund_balances()                                # posted / pending / available
    q.status()                                       # position and lag per projection
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from domain.viewer import Viewer
from projections.claims_queries import ClaimReads
from projections.db import ReadModelDb
from projections.disclosure import Disclosure
from projections.replica import ReplicaRouting
from projections.terms import compact, prefix_range, query_prefixes

T = TypeVar("T")
SEP = "\x1f"
LIMIT_MAX = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    after: str | None  # pass back for the next page; None: this was the last


@dataclass(frozen=True)
class CaseRow:
    migrant_id: str
    case_number: str
    full_name: str
    sex: str
    date_of_birth: str
    age_band: str  # at registration
    county: str
    national_id: str | None
    passport_number: str | None
    phone: str
    education: str
    stage: str  # pre_departure, departed, on_site, returned, reintegration, closed
    cycle: int
    destination: str  # ISO country code, "" before a contract
    employer: str
    sector: str
    job_title: str
    wage_minor: int | None
    wage_currency: str | None
    membership_number: str | None
    open_incidents: int
    incidents: int
    assigned_officer_id: str
    registered_at: str
    last_activity_at: str  # latest 'occurred' time of the case or its incidents
    version: int
    # The contract's registered employer and agency (issue 16), if linked.
    employer_id: str | None = None
    agency_id: str | None = None


@dataclass(frozen=True)
class TimelineEntry:
    notification_id: int  # position in the log: the order of the timeline
    subject: str  # "case", "incident" or "fund"
    subject_id: str
    event_type: str
    actor_id: str
    actor_role: str
    actor_name: str | None  # from the officers read model; None for the system
    recorded_at: str
    occurred_at: str
    summary: str


@dataclass(frozen=True)
class IncidentRow:
    incident_id: str
    migrant_id: str
    case_number: str
    full_name: str
    sex: str
    category: str
    gbv_subtype: str | None
    severity: str
    status: str
    is_open: bool
    country: str
    channel: str
    occurred_at: str
    reported_at: str
    recorded_at: str
    assistance_status: str  # none, requested, provided, paid, rejected, expired
    assistance_requests: int
    closed_at: str | None
    last_activity_at: str
    reported_by: str


@dataclass(frozen=True)
class Officer:
    officer_id: str
    username: str
    full_name: str
    station: str
    roles: tuple[str, ...]
    active: bool


@dataclass(frozen=True)
class ActivityRow:
    """One stored event as the auditor's who-did-what lists it."""

    position: int
    recorded_at: str
    occurred_at: str
    actor_id: str
    actor_role: str
    username: str | None  # None: not an officer (e.g. the fund process)
    event_type: str
    aggregate_id: str


@dataclass(frozen=True)
class AccessRow:
    """A grant or a break-glass access to a case (docs/privacy.md)."""

    grant_id: str
    migrant_id: str
    officer_id: str
    kind: str  # grant, break_glass
    reason: str
    given_by: str
    given_by_role: str
    given_at: str
    expires_at: str
    revoked_at: str | None
    revoked_by: str | None
    supervisor_review: str | None  # justified, not_justified; None: not yet
    auditor_review: str | None


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    head: int  # the log's last notification id
    lag: int  # head - position
    failed_id: int | None  # the event it stopped at, if it failed
    error: str | None


@dataclass(frozen=True)
class AccountBalance:
    account: str
    currency: str
    type: str
    posted_minor: int  # on the account's normal side (assets: debits - credits)
    pending_minor: int
    available_minor: int  # posted less every reservation against it
    closed: bool


@dataclass(frozen=True)
class JournalLine:
    notification_id: int
    line: int
    transfer_id: str
    kind: str
    account: str
    currency: str
    debit_minor: int
    credit_minor: int
    memo: str
    value_at: str
    recorded_at: str
    disbursement_id: str | None
    reference: str | None
    reverses: str | None
    actor_id: str


@dataclass(frozen=True)
class DisbursementRow:
    disbursement_id: str
    migrant_id: str
    incident_id: str | None
    case_number: str
    full_name: str
    sex: str
    category: str
    amount_minor: int
    currency: str
    payee: str
    justification: str
    requested_by: str
    requested_by_role: str
    assistance_request: bool
    requested_at: str
    expires_at: str
    eligibility: list  # [{"rule", "passed", "reason"}], latest check
    eligible: bool
    approvers_needed: int
    approvals: list  # [{"officer_id", "amount_minor", "humanitarian_exception", "reason", "at"}]
    approvals_given: int
    status: str  # requested, approved, paid, rejected, expired
    approved_minor: int | None
    paid_minor: int | None
    payment_reference: str | None
    decision_reason: str | None
    last_activity_at: str


@dataclass(frozen=True)
class CorrectionRow:
    """A correction or reversal that moves money out of the fund, proposed
    by one fund officer and approved by others (maker-checker)."""

    proposal_id: str
    kind: str  # correction, reversal
    reverses: str | None
    legs: list  # [{"account", "currency", "debit_minor", "credit_minor"}]
    reason: str
    value_at: str
    moves_out_minor: int
    currency: str
    proposed_by: str
    proposed_at: str
    approvers_needed: int
    approvals: list  # [{"officer_id", "at"}]
    approvals_given: int
    status: str  # proposed, approved, rejected
    decision_reason: str | None
    last_activity_at: str


def _columns(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


CASE_COLS = _columns(CaseRow)
ACCESS_COLS = _columns(AccessRow)
JOURNAL_COLS = _columns(JournalLine)
DISBURSEMENT_COLS = _columns(DisbursementRow)
CORRECTION_COLS = _columns(CorrectionRow)
DISBURSEMENT_DIMENSIONS = ("category", "sex", "status", "currency")
DEBIT_NORMAL = ("asset", "expense")
INCIDENT_COLS = _columns(IncidentRow)
OFFICER_SELECT = ", ".join(_columns(Officer))
MIGRANT_DIMENSIONS = ("sex", "destination", "sector", "stage")
INCIDENT_DIMENSIONS = ("category", "country", "sex")
# The approval queue's orders: the keyset columns (each order's index, after
# `status`) and their direction.
QUEUE_SORTS = {
    "age": (("requested_at", "disbursement_id"), "ASC"),
    "amount": (("currency", "amount_minor", "disbursement_id"), "DESC"),
}


def _bounded(limit: int) -> int:
    return max(1, min(int(limit), LIMIT_MAX))


def _split(after: str | None) -> tuple[str, str] | None:
    if not after:
        return None
    key, _, ident = after.partition(SEP)
    return key, ident


class Queries:
    """Thread-safe: each thread gets its own connection."""

    def __init__(
        self,
        connect: Callable[[], ReadModelDb],
        projection_names: Sequence[str] = (),
        *,
        primary: Callable[[], ReadModelDb] | None = None,
        routing: ReplicaRouting | None = None,
    ):
        # `connect` opens the database reads go to: the primary, or a
        # streaming replica; then `primary` opens the primary and `routing`
        # sends a read there while a write of this process is not yet
        # replayed on the replica (projections/replica.py).
        self._connect = connect
        self._connect_primary = primary
        self.routing = routing
        self._local = threading.local()
        self._all: list[ReadModelDb] = []
        self._lock = threading.Lock()
        self.projection_names = tuple(projection_names)
        # Need to know: every read that can show a restricted record's text
        # takes its viewer and goes through this one policy.
        self.disclosure = Disclosure(lambda: self.db)
        # Money claims, coverage and agreements (issue 16): their own small read API.
        self.claims = ClaimReads(self)

    @property
    def db(self) -> ReadModelDb:
        db = self._thread_db("db", self._connect)
        routing = self.routing
        if routing is not None and self._connect_primary is not None and routing.use_primary(db):
            return self.primary_db
        return db

    @property
    def primary_db(self) -> ReadModelDb:
        """This thread's connection to the primary (the same as `db` without
        a replica)."""
        if self._connect_primary is None:
            return self._thread_db("db", self._connect)
        return self._thread_db("primary", self._connect_primary)

    @property
    def replica_db(self) -> ReadModelDb | None:
        """This thread's connection to the replica; None without one."""
        if self._connect_primary is None:
            return None
        return self._thread_db("db", self._connect)

    def _thread_db(self, name: str, connect: Callable[[], ReadModelDb]) -> ReadModelDb:
        db = getattr(self._local, name, None)
        if db is None:
            db = connect()
            setattr(self._local, name, db)
            with self._lock:
                self._all.append(db)
        return db

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                db.close()
            self._all.clear()
        self._local = threading.local()

    # --- employers and agencies (projections/employer_queries.py) ------------

    def search_parties(
        self, party_kind: str, text: str, country: str | None = None, limit: int = 10
    ) -> list[Any]:
        from projections import employer_queries

        return employer_queries.search_parties(self.db, party_kind, text, country, limit)

    def get_party(self, party_id: str) -> Any:
        from projections import employer_queries

        return employer_queries.get_party(self.db, party_id)

    def party_history(self, party_id: str) -> Any:
        from projections import employer_queries

        return employer_queries.party_history(self.db, party_id)

    def watchlist_proposals(self) -> list[Any]:
        from projections import employer_queries

        return employer_queries.watchlist_proposals(self.db)

    # --- cases --------------------------------------------------------------

    def search_cases(
        self,
        text: str = "",
        stage: str | None = None,
        destination: str | None = None,
        open_incidents: bool | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> Page[CaseRow]:
        """Cases whose name (from any word on), case number, national id,
        passport or phone starts with `text`; all cases by name when empty.
        Filters narrow it; ordered by the matched term (by name when empty)."""
        limit = _bounded(limit)
        prefixes = query_prefixes(text)
        if not prefixes:
            filters, params = self._case_filters(stage, destination, open_incidents, "c")
            return self._browse(filters, params, after, limit)
        # Stage and destination are on the search terms themselves (indexed).
        filters, params = self._case_filters(stage, destination, open_incidents, "s")
        cursor = _split(after)
        found: list[tuple[str, str, tuple]] = []
        # Entries beyond the last one fetched by a query that had more are unknown.
        boundary: tuple[str, str] | None = None
        cols = ", ".join(f"c.{c}" for c in CASE_COLS)
        for prefix in prefixes:
            low, high = prefix_range(prefix)
            where = ["s.term >= ?", "s.term < ?", *filters]
            args: list[Any] = [low, high, *params]
            if cursor:
                where.append("(s.term, s.migrant_id) > (?, ?)")
                args += [cursor[0], cursor[1]]
            rows = self.db.fetchall(
                f"SELECT s.term, {cols} FROM rm_case_search s "
                "JOIN rm_cases c ON c.migrant_id = s.migrant_id "
                f"WHERE {' AND '.join(where)} ORDER BY s.term, s.migrant_id LIMIT ?",
                (*args, limit + 1),
            )
            found += [(row[0], row[1], row[1:]) for row in rows]
            if len(rows) > limit:
                end = (rows[-1][0], rows[-1][1])
                boundary = end if boundary is None else min(boundary, end)
        found.sort(key=lambda item: (item[0], item[1]))
        seen: set[str] = set()
        out: list[CaseRow] = []
        last: tuple[str, str] | None = None
        consumed = 0
        for term, migrant_id, row in found:
            if len(out) == limit or (boundary is not None and (term, migrant_id) >= boundary):
                break
            consumed += 1
            last = (term, migrant_id)
            if migrant_id not in seen:
                seen.add(migrant_id)
                out.append(CaseRow(*row))
        more = boundary is not None or consumed < len(found)
        return Page(out, f"{last[0]}{SEP}{last[1]}" if more and last else None)

    def _case_filters(self, stage, destination, open_incidents, table) -> tuple[list[str], list]:
        filters: list[str] = []
        params: list[Any] = []
        if stage:
            filters.append(f"{table}.stage = ?")
            params.append(stage)
        if destination:
            filters.append(f"{table}.destination = ?")
            params.append(destination.upper())
        if open_incidents is True:
            filters.append("c.open_incidents > 0")
        elif open_incidents is False:
            filters.append("c.open_incidents = 0")
        return filters, params

    def _browse(self, filters, params, after, limit) -> Page[CaseRow]:
        where, args = list(filters), list(params)
        cursor = _split(after)
        if cursor:
            where.append("(c.name_key, c.migrant_id) > (?, ?)")
            args += [cursor[0], cursor[1]]
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        cols = ", ".join(f"c.{c}" for c in CASE_COLS)
        rows = self.db.fetchall(
            f"SELECT c.name_key, {cols} FROM rm_cases c {clause} "
            "ORDER BY c.name_key, c.migrant_id LIMIT ?",
            (*args, limit + 1),
        )
        more = len(rows) > limit
        rows = rows[:limit]
        after_next = f"{rows[-1][0]}{SEP}{rows[-1][1]}" if more else None
        return Page([CaseRow(*r[1:]) for r in rows], after_next)

    def get_case(self, migrant_id_or_case_number: str) -> CaseRow | None:
        key = migrant_id_or_case_number.strip()
        cols = ", ".join(CASE_COLS)
        row = self.db.fetchone(f"SELECT {cols} FROM rm_cases WHERE migrant_id = ?", (key,))
        if row is None and compact(key).startswith("ms"):
            row = self.db.fetchone(
                f"SELECT {cols} FROM rm_cases WHERE migrant_id = "
                "(SELECT migrant_id FROM rm_case_search WHERE term = ? LIMIT 1)",
                (compact(key),),
            )
        return CaseRow(*row) if row else None

    def count_cases(self, stage: str | None = None) -> int:
        if stage:
            row = self.db.fetchone("SELECT COUNT(*) FROM rm_cases WHERE stage = ?", (stage,))
        else:
            row = self.db.fetchone("SELECT COUNT(*) FROM rm_cases")
        return int(row[0]) if row else 0

    def case_timeline(
        self, migrant_id: str, after: str | None = None, limit: int = 200, *, viewer: Viewer
    ) -> Page[TimelineEntry]:
        """Every event of the case, its incidents and fund requests, oldest
        first; restricted free text masked unless `viewer` may read it."""
        limit = _bounded(limit)
        start = int(after) if after else 0
        rows = self.db.fetchall(
            "SELECT t.notification_id, t.subject, t.subject_id, t.event_type, t.actor_id, "
            "t.actor_role, o.full_name, t.recorded_at, t.occurred_at, t.summary "
            "FROM rm_timeline t LEFT JOIN rm_officers o ON o.officer_id = t.actor_id "
            "WHERE t.migrant_id = ? AND t.notification_id > ? "
            "ORDER BY t.notification_id LIMIT ?",
            (migrant_id, start, limit + 1),
        )
        more = len(rows) > limit
        rows = rows[:limit]
        entries = self.disclosure.timeline(viewer, migrant_id, [TimelineEntry(*r) for r in rows])
        return Page(entries, str(rows[-1][0]) if more else None)

    # --- incidents ----------------------------------------------------------

    def list_incidents(
        self,
        open: bool | None = None,
        migrant_id: str | None = None,
        country: str | None = None,
        category: str | None = None,
        after: str | None = None,
        limit: int = 50,
        *,
        viewer: Viewer,
    ) -> Page[IncidentRow]:
        """Incidents, most recently occurred first (a restricted one's
        sub-type masked unless `viewer` may read it)."""
        limit = _bounded(limit)
        where: list[str] = []
        args: list[Any] = []
        for clause, value in (
            ("is_open = ?", None if open is None else int(open)),
            ("migrant_id = ?", migrant_id),
            ("country = ?", country.upper() if country else None),
            ("category = ?", category),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        cursor = _split(after)
        if cursor:
            where.append("(occurred_at, incident_id) < (?, ?)")
            args += [cursor[0], cursor[1]]
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self.db.fetchall(
            f"SELECT {', '.join(INCIDENT_COLS)} FROM rm_incidents {clause} "
            "ORDER BY occurred_at DESC, incident_id DESC LIMIT ?",
            (*args, limit + 1),
        )
        more = len(rows) > limit
        rows = rows[:limit]
        items = self.disclosure.incidents(viewer, [_incident(r) for r in rows])
        last = items[-1] if items else None
        return Page(items, f"{last.occurred_at}{SEP}{last.incident_id}" if more and last else None)

    def get_incident(self, incident_id: str, *, viewer: Viewer) -> IncidentRow | None:
        row = self.db.fetchone(
            f"SELECT {', '.join(INCIDENT_COLS)} FROM rm_incidents WHERE incident_id = ?",
            (incident_id,),
        )
        return self.disclosure.incidents(viewer, [_incident(row)])[0] if row else None

    # --- statistics ---------------------------------------------------------

    def migrant_statistics(
        self, by: Sequence[str] = MIGRANT_DIMENSIONS, **where: str
    ) -> list[dict[str, Any]]:
        """Migrants counted by any of sex, destination, sector, stage, e.g.
        by=("sex", "stage"), destination="SA"."""
        return self._grouped("rm_stats_migrants", MIGRANT_DIMENSIONS, ("migrants",), by, where)

    def incident_statistics(
        self, by: Sequence[str] = INCIDENT_DIMENSIONS, **where: str
    ) -> list[dict[str, Any]]:
        """Incidents (and those still open) by any of category, country, sex."""
        return self._grouped(
            "rm_stats_incidents",
            INCIDENT_DIMENSIONS,
            ("incidents", "open_incidents"),
            by,
            where,
        )

    def incidents_by_person(
        self, by: Sequence[str], categories: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Incidents by any of category, country, sex and the migrant's age band
        and county (from the case list), optionally of some categories only:
        [{by..., incidents}]. Age band and county are read from rm_cases, so a
        figure counts the incident under its migrant's current case row."""
        columns = {
            "category": "k.category",
            "country": "k.country",
            "sex": "k.sex",
            "age_band": "c.age_band",
            "county": "c.county",
        }
        unknown = [d for d in by if d not in columns]
        if unknown:
            raise ValueError(f"unknown dimension {unknown[0]!r}; choose from {tuple(columns)}")
        picked = ", ".join(columns[d] for d in by)
        where, params = "", ()
        if categories is not None:
            where = f" WHERE k.category IN ({', '.join('?' for _ in categories)})"
            params = tuple(categories)
            if not categories:
                return []
        rows = self.db.fetchall(
            f"SELECT {picked + ', ' if by else ''}COUNT(*) FROM rm_stats_incident_keys k "
            f"JOIN rm_cases c ON c.migrant_id = k.migrant_id{where}"
            + (f" GROUP BY {picked} ORDER BY {picked}" if by else ""),
            params,
        )
        return [dict(zip((*by, "incidents"), r, strict=True)) for r in rows if r[-1]]

    def _grouped(self, table, dimensions, measures, by, where) -> list[dict[str, Any]]:
        by = tuple(by)
        unknown = [d for d in (*by, *where) if d not in dimensions]
        if unknown:
            raise ValueError(f"unknown dimension {unknown[0]!r}; choose from {dimensions}")
        sums = ", ".join(f"SUM({m})" for m in measures)
        select = ", ".join((*by, sums)) if by else sums
        clause = " AND ".join(f"{d} = ?" for d in where)
        group = f" GROUP BY {', '.join(by)} ORDER BY {', '.join(by)}" if by else ""
        rows = self.db.fetchall(
            f"SELECT {select} FROM {table}{' WHERE ' + clause if clause else ''}{group}",
            tuple(where.values()),
        )
        names = (*by, *measures)
        return [
            {n: (int(v or 0) if n in measures else v) for n, v in zip(names, r, strict=True)}
            for r in rows
            if not all(v is None for v in r)
        ]

    def disbursement_statistics(
        self, by: Sequence[str] = DISBURSEMENT_DIMENSIONS, **where: str
    ) -> list[dict[str, Any]]:
        """Disbursement requests and their amounts (paid, else approved, else
        requested; minor units) by any of category, sex, status, currency."""
        return self._grouped(
            "rm_stats_disbursements",
            DISBURSEMENT_DIMENSIONS,
            ("disbursements", "amount_minor"),
            by,
            where,
        )

    # --- the fund -----------------------------------------------------------

    def fund_balances(self, currency: str | None = None) -> list[AccountBalance]:
        """Every account with posted, pending and available balances."""
        where = " WHERE currency = ?" if currency else ""
        rows = self.db.fetchall(
            "SELECT account, currency, type, debits_posted, credits_posted, debits_pending, "
            f"credits_pending, closed FROM rm_fund_accounts{where} ORDER BY account, currency",
            (currency,) if currency else (),
        )
        out = []
        for account, cur, type_, dp, cp, dpend, cpend, closed in rows:
            sign = 1 if type_ in DEBIT_NORMAL else -1
            available = dp - cp - cpend if sign == 1 else cp - dp - dpend
            out.append(
                AccountBalance(
                    account,
                    cur,
                    type_,
                    sign * (dp - cp),
                    sign * (dpend - cpend),
                    available,
                    bool(closed),
                )
            )
        return out

    def journal(
        self,
        account: str | None = None,
        currency: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Page[JournalLine]:
        """Posted journal lines in log order, optionally of one account."""
        limit = _bounded(limit)
        where, args = [], []
        if account:
            where.append("account = ?")
            args.append(account)
        if currency:
            where.append("currency = ?")
            args.append(currency)
        cursor = _split(after)
        if cursor:
            where.append("(notification_id, line) > (?, ?)")
            args += [int(cursor[0]), int(cursor[1])]
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self.db.fetchall(
            f"SELECT {', '.join(JOURNAL_COLS)} FROM rm_fund_journal{clause} "
            "ORDER BY notification_id, line LIMIT ?",
            (*args, limit + 1),
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(
            [JournalLine(*r) for r in rows], f"{rows[-1][0]}{SEP}{rows[-1][1]}" if more else None
        )

    def monthly_flows(
        self, accounts: Sequence[str], since_month: str | None = None
    ) -> list[dict[str, Any]]:
        """Posted movement per month of value date on the given accounts (e.g.
        the benefit expense accounts): [{month "YYYY-MM", account, currency,
        debit_minor, credit_minor}], oldest month first. A reversal is a
        credit in its own month."""
        if not accounts:
            return []
        # Exact account names: the (account, currency, ...) index serves it
        # under any collation.
        where = [f"account IN ({', '.join('?' for _ in accounts)})"]
        args: list[Any] = list(accounts)
        if since_month:
            where.append("value_at >= ?")
            args.append(since_month)
        rows = self.db.fetchall(
            "SELECT substr(value_at, 1, 7), account, currency, SUM(debit_minor), "
            f"SUM(credit_minor) FROM rm_fund_journal WHERE {' AND '.join(where)} "
            "GROUP BY substr(value_at, 1, 7), account, currency ORDER BY 1, 2, 3",
            tuple(args),
        )
        names = ("month", "account", "currency", "debit_minor", "credit_minor")
        return [dict(zip(names, (*r[:3], int(r[3]), int(r[4])), strict=True)) for r in rows]

    def contributions(self, migrant_id: str) -> list[dict[str, Any]]:
        """A member's contributions per membership and currency (reversed ones excluded)."""
        rows = self.db.fetchall(
            "SELECT membership_number, currency, SUM(amount_minor), COUNT(*), MAX(paid_at) "
            "FROM rm_fund_contributions WHERE migrant_id = ? AND reversed = 0 "
            "GROUP BY membership_number, currency ORDER BY membership_number, currency",
            (migrant_id,),
        )
        return [
            {
                "membership_number": r[0],
                "currency": r[1],
                "amount_minor": int(r[2]),
                "payments": int(r[3]),
                "last_paid_at": r[4],
            }
            for r in rows
        ]

    def approval_queue(
        self,
        status: str = "requested",
        after: str | None = None,
        limit: int = 50,
        *,
        text: str = "",
        category: str | None = None,
        eligible: bool | None = None,
        sort: str = "age",
        viewer: Viewer,
    ) -> Page[DisbursementRow]:
        """Disbursement requests in a status: "requested" is the approval
        queue, "approved" the payment queue.

        `text`: every word must be found in the migrant's name or the case
        number (dashes optional: "2mnmc", "ms-2mnmc"); `category` a benefit;
        `eligible` the latest eligibility check. `sort`: "age" oldest first
        (the default), or "amount" largest first within each currency (minor
        units of two currencies do not compare). Pages are keyset row
        comparisons on the columns of an index (rm_disbursements_status,
        rm_disbursements_amount), so a page starts where its index does."""
        if sort not in QUEUE_SORTS:
            raise ValueError(f"sort: one of {', '.join(QUEUE_SORTS)}, not {sort!r}")
        limit = _bounded(limit)
        keys, direction = QUEUE_SORTS[sort]
        where, args = ["status = ?"], [status]
        for word in text.lower().split():
            pattern = "%" + _like_escaped(word) + "%"
            number = "%" + _like_escaped(word.replace("-", "")) + "%"
            where.append(
                "(lower(full_name) LIKE ? ESCAPE '\\' "
                "OR lower(replace(case_number, '-', '')) LIKE ? ESCAPE '\\')"
            )
            args += [pattern, number]
        if category:
            where.append("category = ?")
            args.append(category)
        if eligible is not None:
            where.append("eligible = ?")
            args.append(1 if eligible else 0)
        if after:
            cursor = after.split(SEP)
            if len(cursor) != len(keys):
                raise ValueError("after: not a page of this sort")
            if "amount_minor" in keys:
                cursor[keys.index("amount_minor")] = int(cursor[keys.index("amount_minor")])
            marks = ", ".join("?" for _ in keys)
            where.append(f"({', '.join(keys)}) {'<' if direction == 'DESC' else '>'} ({marks})")
            args += cursor
        order = ", ".join(f"{key} {direction}" for key in keys)
        rows = self.db.fetchall(
            f"SELECT {', '.join(DISBURSEMENT_COLS)} FROM rm_disbursements "
            f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?",
            (*args, limit + 1),
        )
        more = len(rows) > limit
        items = self.disclosure.disbursements(viewer, [_disbursement(r) for r in rows[:limit]])
        if not (more and items):
            return Page(items, None)
        last = items[-1]
        return Page(items, SEP.join(str(getattr(last, key)) for key in keys))

    def correction_queue(self, status: str = "proposed", limit: int = 50) -> list[CorrectionRow]:
        """Corrections and reversals moving money out, in a status, oldest
        first: "proposed" is what waits for a second officer's approval."""
        rows = self.db.fetchall(
            f"SELECT {', '.join(CORRECTION_COLS)} FROM rm_fund_corrections "
            "WHERE status = ? ORDER BY proposed_at, proposal_id LIMIT ?",
            (status, _bounded(limit)),
        )
        return [_correction(row) for row in rows]

    def get_disbursement(self, disbursement_id: str, *, viewer: Viewer) -> DisbursementRow | None:
        row = self.db.fetchone(
            f"SELECT {', '.join(DISBURSEMENT_COLS)} FROM rm_disbursements "
            "WHERE disbursement_id = ?",
            (disbursement_id,),
        )
        return self.disclosure.disbursements(viewer, [_disbursement(row)])[0] if row else None

    def case_disbursements(self, migrant_id: str, *, viewer: Viewer) -> list[DisbursementRow]:
        rows = self.db.fetchall(
            f"SELECT {', '.join(DISBURSEMENT_COLS)} FROM rm_disbursements "
            "WHERE migrant_id = ? ORDER BY requested_at, disbursement_id",
            (migrant_id,),
        )
        return self.disclosure.disbursements(viewer, [_disbursement(r) for r in rows])

    # --- officers -----------------------------------------------------------

    def officers(self) -> list[Officer]:
        rows = self.db.fetchall(f"SELECT {OFFICER_SELECT} FROM rm_officers ORDER BY username")
        return [_officer(r) for r in rows]

    def officer(self, officer_id: str) -> Officer | None:
        row = self.db.fetchone(
            f"SELECT {OFFICER_SELECT} FROM rm_officers WHERE officer_id = ?", (officer_id,)
        )
        return _officer(row) if row else None

    # --- need to know ----------------------------------------------------------

    def case_access(self, migrant_id: str) -> list[AccessRow]:
        """Every grant and break-glass access to a case, newest first."""
        rows = self.db.fetchall(
            f"SELECT {', '.join(ACCESS_COLS)} FROM rm_case_access WHERE migrant_id = ? "
            "ORDER BY given_at DESC, grant_id",
            (migrant_id,),
        )
        return [AccessRow(*r) for r in rows]

    def access(self, grant_id: str) -> AccessRow | None:
        row = self.db.fetchone(
            f"SELECT {', '.join(ACCESS_COLS)} FROM rm_case_access WHERE grant_id = ?",
            (grant_id,),
        )
        return AccessRow(*row) if row else None

    def break_glass_to_review(self, role: str, limit: int = 200) -> list[AccessRow]:
        """Break-glass accesses not yet reviewed by `role` (supervisor or
        auditor), oldest first."""
        column = {"supervisor": "supervisor_review", "auditor": "auditor_review"}[role]
        rows = self.db.fetchall(
            f"SELECT {', '.join(ACCESS_COLS)} FROM rm_case_access "
            f"WHERE kind = 'break_glass' AND {column} IS NULL ORDER BY given_at, grant_id LIMIT ?",
            (_bounded(limit),),
        )
        return [AccessRow(*r) for r in rows]

    # --- who did what -------------------------------------------------------

    def activity(
        self,
        *,
        officer_id: str | None = None,
        role: str | None = None,
        event_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: str | None = None,
        limit: int = 200,
    ) -> Page[ActivityRow]:
        """Events of the whole log by officer, role, type and recorded time
        (`since` and `until` inclusive, aware datetimes), in log order."""
        limit = _bounded(limit)
        where, params = ["a.position > ?"], [int(after) if after else 0]
        for column, value in (
            ("a.actor_id", officer_id),
            ("a.actor_role", role),
            ("a.event_type", event_type),
        ):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            where.append("a.recorded_at >= ?")
            params.append(_utc_text(since))
        if until is not None:
            where.append("a.recorded_at <= ?")
            params.append(_utc_text(until))
        rows = self.db.fetchall(
            "SELECT a.position, a.recorded_at, a.occurred_at, a.actor_id, a.actor_role, "
            "o.username, a.event_type, a.aggregate_id "
            "FROM rm_activity a LEFT JOIN rm_officers o ON o.officer_id = a.actor_id "
            f"WHERE {' AND '.join(where)} ORDER BY a.position LIMIT ?",
            (*params, limit + 1),
        )
        more = len(rows) > limit
        rows = rows[:limit]
        found = [ActivityRow(int(r[0]), *r[1:]) for r in rows]
        return Page(found, str(found[-1].position) if more else None)

    # --- projections --------------------------------------------------------

    def status(self) -> list[ProjectionStatus]:
        """Position and lag of every projection (lag 0: up to date)."""
        head = self.db.max_notification_id()
        rows = {
            r[0]: r
            for r in self.db.fetchall(
                "SELECT projection, position, failed_id, error FROM rm_tracking"
            )
        }
        names = self.projection_names or tuple(sorted(rows))
        out = []
        for name in names:
            _, position, failed_id, error = rows.get(name, (name, 0, None, None))
            position = int(position)
            out.append(ProjectionStatus(name, position, head, head - position, failed_id, error))
        return out


def _incident(row: tuple) -> IncidentRow:
    values = dict(zip(INCIDENT_COLS, row, strict=True))
    values["is_open"] = bool(values["is_open"])
    return IncidentRow(**values)


def _correction(row: tuple) -> CorrectionRow:
    data = dict(zip(CORRECTION_COLS, row, strict=True))
    data["legs"] = json.loads(data["legs"])
    data["approvals"] = json.loads(data["approvals"])
    return CorrectionRow(**data)


def _disbursement(row: tuple) -> DisbursementRow:
    values = dict(zip(DISBURSEMENT_COLS, row, strict=True))
    values["eligibility"] = json.loads(values["eligibility"])
    values["approvals"] = json.loads(values["approvals"])
    values["eligible"] = bool(values["eligible"])
    values["assistance_request"] = bool(values["assistance_request"])
    return DisbursementRow(**values)


def _officer(row: tuple) -> Officer:
    return Officer(
        row[0], row[1], row[2], row[3], tuple(filter(None, row[4].split(","))), bool(row[5])
    )


def _like_escaped(text: str) -> str:
    """`text` matched literally by LIKE ... ESCAPE '\\' (no wildcards of its own)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _utc_text(moment: datetime) -> str:
    """The read models' fixed-width UTC text, so times compare as text."""
    if moment.tzinfo is None:
        raise ValueError("a time to compare must carry its zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
