"""Need to know: the ONE place that decides what a viewer sees of a case's
restricted records. Every read that can show free text - the queries, the
case view and timeline, replay, who-did-what, the exports, every CLI command
- passes its `Viewer` (domain/viewer.py) through here; no screen decides.

The rule (docs/privacy.md, "Who sees what"): an incident whose category is
restricted (domain/incidents/sensitivity.py) has its free text - narrative,
notes, assessment and referral notes, resolution and closing words, and the
justification and decision words of any fund request made for it - read
only by

- the officer assigned to the case (rm_cases.assigned_officer_id),
- the officer who reported that incident (rm_incidents.reported_by),
- an officer holding an unexpired, unrevoked grant or break-glass access to
  the case (rm_case_access, migration 0010).

Everyone else sees the record exist with its category, dates, status and
amounts, and MASK where the text was. The role does not widen the rule: an
auditor or a fund officer without a grant sees masked text like anyone else.

When the read models cannot tell (an incident's later event before the
incident's row exists), the text is masked: this fails closed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from domain.incidents.sensitivity import is_restricted
from domain.values import utcnow
from domain.viewer import NOBODY, Viewer
from projections.cases import INCIDENT_TYPES
from projections.claims import CLAIM_TYPES
from projections.db import ReadModelDb
from projections.fund import DISBURSEMENT_TYPES
from projections.summaries import masked_summary

__all__ = ["MASK", "NOBODY", "Disclosure", "SubjectFacts", "Viewer", "may_read"]

MASK = "[restricted — ask for access]"

# Fields of an event's payload that hold what an officer typed (the same
# names integration/payloads.py never publishes), plus the sub-type of a
# sexual-violence incident: its category group is shown, the detail is not.
FREE_TEXT = frozenset(
    {
        "description",
        "notes",
        "note",
        "details",
        "justification",
        "reason",
        "outcome",
        "message",
        "memo",
        "gbv_subtype",
        "reason_above_claimed",  # issue 16: why recoveries exceed a claim
    }
)


@dataclass(frozen=True)
class SubjectFacts:
    """What the rule needs of one record: its case, its reporter, whether restricted."""

    migrant_id: str | None  # None: not known yet (masked unless granted nothing)
    reported_by: str | None
    restricted: bool


UNKNOWN = SubjectFacts(None, None, True)
ORDINARY = SubjectFacts(None, None, False)


def may_read(viewer: Viewer, facts: SubjectFacts, case_access: str | None) -> bool:
    """The rule itself: may `viewer` read this record's free text? `case_access`
    is how the viewer holds the case ("assigned", "grant", "break_glass") or None."""
    if not facts.restricted:
        return True
    if viewer.anonymous:
        return False
    if facts.reported_by is not None and facts.reported_by == viewer.officer_id:
        return True
    return facts.migrant_id is not None and case_access is not None


def incident_counts(rows: list[tuple[str, str, int, int]]) -> list[dict[str, Any]]:
    """An employer's or agency's incidents as its history shows them
    (issue 16 item 2): counts by category and severity, never a record.
    Every viewer gets the same counts; a restricted category is marked so,
    and its sub-type, narrative and the cases behind it are not reachable
    from the history (open the case, where the rule above applies)."""
    return [
        {
            "category": category,
            "severity": severity,
            "incidents": count,
            "open": open_count,
            "restricted": is_restricted(category),
        }
        for category, severity, count, open_count in rows
    ]


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def held_through(
    fetchone: Callable[[str, tuple], Any], officer_id: str, migrant_id: str, at: datetime
) -> str | None:
    """How an officer holds a case at `at`: "assigned", "grant",
    "break_glass", or None - the one rule for masking and for the access
    log's grant uses (access_log/grant_uses.py). `fetchone(sql, params)`
    with ? placeholders."""
    row = fetchone("SELECT assigned_officer_id FROM rm_cases WHERE migrant_id = ?", (migrant_id,))
    if row is not None and row[0] == officer_id:
        return "assigned"
    row = fetchone(
        "SELECT kind FROM rm_case_access WHERE officer_id = ? AND migrant_id = ? "
        "AND expires_at > ? AND revoked_at IS NULL ORDER BY kind DESC LIMIT 1",
        (officer_id, migrant_id, utc_text(at)),
    )
    return row[0] if row else None


class Disclosure:
    """The rule applied to read-model rows and stored events. `db` gives the
    calling thread's connection; `clock` the time grants expire against."""

    def __init__(self, db: Callable[[], ReadModelDb], clock: Callable[[], datetime] = utcnow):
        self._db = db
        self.clock = clock

    # --- facts ----------------------------------------------------------------

    def case_access(self, viewer: Viewer, migrant_id: str | None) -> str | None:
        """How the viewer holds the case now: "assigned", "grant",
        "break_glass", or None."""
        if viewer.anonymous or migrant_id is None:
            return None
        return held_through(self._db().fetchone, viewer.officer_id, migrant_id, self.clock())

    def access_by(self, viewer: Viewer, subject_kind: str, subject_id: str) -> str | None:
        """How the viewer holds the case of a case or incident record (for the
        access log's grant uses): as `case_access`, None when not known."""
        migrant_id: str | None = subject_id
        if subject_kind == "incident":
            row = self._db().fetchone(
                "SELECT migrant_id FROM rm_incidents WHERE incident_id = ?", (subject_id,)
            )
            migrant_id = row[0] if row else None
        return self.case_access(viewer, migrant_id)

    def incident_facts(self, incident_ids: list[str]) -> dict[str, SubjectFacts]:
        found = {}
        for incident_id, migrant_id, reported_by, category in self._db().select_in(
            "SELECT incident_id, migrant_id, reported_by, category FROM rm_incidents "
            "WHERE incident_id IN ({})",
            sorted(set(incident_ids)),
        ):
            found[incident_id] = SubjectFacts(migrant_id, reported_by, is_restricted(category))
        return found

    def case_subjects(self, migrant_id: str) -> dict[str, SubjectFacts]:
        """Facts of every incident and fund request of a case, by id."""
        db = self._db()
        incidents = {
            incident_id: SubjectFacts(migrant_id, reported_by, is_restricted(category))
            for incident_id, reported_by, category in db.fetchall(
                "SELECT incident_id, reported_by, category FROM rm_incidents WHERE migrant_id = ?",
                (migrant_id,),
            )
        }
        subjects = dict(incidents)
        for disbursement_id, incident_id in db.fetchall(
            "SELECT disbursement_id, incident_id FROM rm_disbursements WHERE migrant_id = ?",
            (migrant_id,),
        ):
            subjects[disbursement_id] = (
                incidents.get(incident_id, UNKNOWN) if incident_id else ORDINARY
            )
        return subjects

    # --- rows -------------------------------------------------------------------

    def timeline(self, viewer: Viewer, migrant_id: str, entries: list) -> list:
        """A case's timeline entries with restricted summaries masked."""
        if not any(e.subject != "case" for e in entries):
            return entries
        subjects = self.case_subjects(migrant_id)
        access = self.case_access(viewer, migrant_id)
        out = []
        for entry in entries:
            if entry.subject != "case":
                facts = subjects.get(entry.subject_id, UNKNOWN)
                if not may_read(viewer, facts, access):
                    entry = replace(
                        entry, summary=masked_summary(entry.event_type, entry.summary, MASK)
                    )
            out.append(entry)
        return out

    def incidents(self, viewer: Viewer, rows: list) -> list:
        """Incident rows: a restricted one's sub-type masked for a viewer without access."""
        out, access = [], {}
        for row in rows:
            facts = SubjectFacts(row.migrant_id, row.reported_by, is_restricted(row.category))
            if facts.restricted and row.migrant_id not in access:
                access[row.migrant_id] = self.case_access(viewer, row.migrant_id)
            if row.gbv_subtype and not may_read(viewer, facts, access.get(row.migrant_id)):
                row = replace(row, gbv_subtype=MASK)
            out.append(row)
        return out

    def disbursements(self, viewer: Viewer, rows: list) -> list:
        """Fund requests: for one made for a restricted incident, the
        justification and the words of each decision masked; category,
        eligibility and amounts stay (a fund officer's work needs them)."""
        return self._mask_by_incident(
            viewer,
            rows,
            lambda row: replace(
                row,
                justification=MASK,
                decision_reason=MASK if row.decision_reason else row.decision_reason,
                approvals=[{**a, "reason": MASK} if a.get("reason") else a for a in row.approvals],
            ),
        )

    def claims(self, viewer: Viewer, rows: list) -> list:
        """Money claims (issue 16): for a claim on a restricted incident, the
        words typed on it (notes, closing notes) masked; kind, amounts, steps
        and status stay, as on a fund request."""
        return self._mask_by_incident(
            viewer,
            rows,
            lambda row: replace(
                row,
                notes=MASK,
                closing_notes=MASK if row.closing_notes else row.closing_notes,
            ),
        )

    def _mask_by_incident(self, viewer: Viewer, rows: list, masked: Callable[[Any], Any]) -> list:
        """Rows made for an incident (`incident_id`, `migrant_id`): `masked(row)`
        where the viewer may not read that incident's free text."""
        linked = [row.incident_id for row in rows if row.incident_id]
        facts = self.incident_facts(linked) if linked else {}
        out, access = [], {}
        for row in rows:
            fact = facts.get(row.incident_id, UNKNOWN) if row.incident_id else ORDINARY
            if fact.restricted and row.migrant_id not in access:
                access[row.migrant_id] = self.case_access(viewer, row.migrant_id)
            out.append(row if may_read(viewer, fact, access.get(row.migrant_id)) else masked(row))
        return out

    def reader(self, viewer: Viewer) -> EventReader:
        """For many stored events read in turn (an export, a page of who-did-what)."""
        return EventReader(self, viewer)


class EventReader:
    """Masks stored events' payloads (trail lines, projections/audit/trail.py)
    for one viewer, remembering what it learnt: an export reads the log in
    order, so an incident's first event tells its case, category and reporter
    before its later events need them."""

    def __init__(self, disclosure: Disclosure, viewer: Viewer):
        self.disclosure = disclosure
        self.viewer = viewer
        self._facts: dict[str, SubjectFacts] = {}
        self._request_incident: dict[str, str | None] = {}
        self._access: dict[str, str | None] = {}

    def facts(self, line: dict[str, Any]) -> SubjectFacts:
        kind, aggregate, payload = line["type"], line["aggregate_id"], line["payload"]
        if kind == "IncidentReported":
            facts = SubjectFacts(
                payload["migrant_id"], line["actor_id"], is_restricted(payload["category"])
            )
            self._facts[aggregate] = facts
            return facts
        if kind in INCIDENT_TYPES:
            return self._incident(aggregate)
        if kind in DISBURSEMENT_TYPES:
            if kind == "DisbursementRequested":
                self._request_incident[aggregate] = payload.get("incident_id")
            if aggregate not in self._request_incident:
                row = self.disclosure._db().fetchone(
                    "SELECT incident_id FROM rm_disbursements WHERE disbursement_id = ?",
                    (aggregate,),
                )
                if row is None:
                    return UNKNOWN
                self._request_incident[aggregate] = row[0]
            incident_id = self._request_incident[aggregate]
            return self._incident(incident_id) if incident_id else ORDINARY
        if kind in CLAIM_TYPES:
            return self._claim(kind, aggregate, payload)
        return ORDINARY

    def _claim(self, kind: str, aggregate: str, payload: dict[str, Any]) -> SubjectFacts:
        """A claim's events follow its incident (none: owed on return, ordinary)."""
        if kind == "ClaimOpened":
            self._request_incident[aggregate] = payload.get("incident_id")
        if aggregate not in self._request_incident:
            row = self.disclosure._db().fetchone(
                "SELECT incident_id FROM rm_claims WHERE claim_id = ?", (aggregate,)
            )
            if row is None:
                return UNKNOWN
            self._request_incident[aggregate] = row[0]
        incident_id = self._request_incident[aggregate]
        return self._incident(incident_id) if incident_id else ORDINARY

    def _incident(self, incident_id: str) -> SubjectFacts:
        if incident_id not in self._facts:
            found = self.disclosure.incident_facts([incident_id])
            self._facts[incident_id] = found.get(incident_id, UNKNOWN)
        return self._facts[incident_id]

    def may_read(self, line: dict[str, Any]) -> bool:
        facts = self.facts(line)
        if not facts.restricted:
            return True
        if facts.migrant_id is not None and facts.migrant_id not in self._access:
            self._access[facts.migrant_id] = self.disclosure.case_access(
                self.viewer, facts.migrant_id
            )
        return may_read(self.viewer, facts, self._access.get(facts.migrant_id or ""))

    def line(self, line: dict[str, Any]) -> dict[str, Any]:
        """The trail line as this viewer may see it (a copy if masked)."""
        if self.may_read(line):
            return line
        masked = sorted(
            key
            for key, value in line["payload"].items()
            if key in FREE_TEXT and value not in (None, "")
        )
        if not masked:
            return line
        payload = {**line["payload"], **dict.fromkeys(masked, MASK)}
        # The stored bytes hold the text: left out, as a secret field's are
        # (docs/verify_chain.py takes such a line's link as given).
        shown = {**line, "payload": payload, "restricted": True}
        if "stored_state_b64" in line:
            shown["stored_state_b64"] = None
            shown["stored_state_withheld"] = sorted(
                {*line.get("stored_state_withheld", ()), *masked}
            )
        return shown
