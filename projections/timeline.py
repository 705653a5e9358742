"""The case timeline: every event of a case, its incidents and its fund
requests, in log order, ready to show (actor, both times, one-line summary).

Events of incidents and disbursements after their first do not carry the
migrant's id: `rm_timeline_subjects` maps those aggregates to their case.
"""

from __future__ import annotations

from collections.abc import Sequence

from projections.base import Projection, ts
from projections.cases import CASE_TYPES, INCIDENT_TYPES
from projections.db import ReadModelDb
from projections.fund import DISBURSEMENT_TYPES
from projections.log import Record
from projections.summaries import summary

# Events that start a subject and name its migrant.
STARTS = {"IncidentReported": "incident", "DisbursementRequested": "fund"}

COLUMNS = (
    "migrant_id",
    "notification_id",
    "subject_id",
    "subject",
    "version",
    "event_type",
    "actor_id",
    "actor_role",
    "recorded_at",
    "occurred_at",
    "summary",
)


class TimelineProjection(Projection):
    name = "timeline"
    rebuild_weight = 2.5
    tables = ("rm_timeline", "rm_timeline_subjects")
    types = CASE_TYPES | INCIDENT_TYPES | DISBURSEMENT_TYPES

    def apply(self, db: ReadModelDb, records: Sequence[Record]) -> None:
        subjects: dict[str, str] = {}
        new_subjects: list[tuple[str, str]] = []
        started_now = {r.originator_id for r in records if r.type in STARTS}
        unknown = {
            r.originator_id for r in records if r.type not in CASE_TYPES and r.type not in STARTS
        } - started_now
        for subject_id, migrant_id in db.select_in(
            "SELECT subject_id, migrant_id FROM rm_timeline_subjects WHERE subject_id IN ({})",
            sorted(unknown),
        ):
            subjects[subject_id] = migrant_id
        rows = []
        for record in records:
            d, kind = record.data, record.type
            subject_id = d["originator_id"]
            if kind in CASE_TYPES:
                migrant_id, subject = subject_id, "case"
            elif kind in STARTS:
                migrant_id, subject = d["migrant_id"], STARTS[kind]
                subjects[subject_id] = migrant_id
                new_subjects.append((subject_id, migrant_id))
            else:
                migrant_id = subjects.get(subject_id)
                if migrant_id is None:
                    raise LookupError(f"{kind} for unknown incident or request {subject_id}")
                subject = "fund" if kind in DISBURSEMENT_TYPES else "incident"
            rows.append(
                (
                    migrant_id,
                    record.id,
                    subject_id,
                    subject,
                    d["originator_version"],
                    kind,
                    d["actor_id"],
                    d["actor_role"],
                    ts(d["timestamp"]),
                    ts(d["occurred_at"]),
                    summary(kind, d),
                )
            )
        db.insert_many("rm_timeline_subjects", ("subject_id", "migrant_id"), new_subjects)
        db.insert_many("rm_timeline", COLUMNS, rows)
