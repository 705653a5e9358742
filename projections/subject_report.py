"""The data subject's report (issue 14 item 7): everything held about one
person - profile, events, incidents, payments and who viewed the case - as
JSON and as a Markdown document a person can read.

Who may have it made is decided in the service that calls `build_report`
(domain/officers/access.py SUBJECT_REPORTERS: the data protection officer).
"""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.viewer import NOBODY
from projections.access_log.store import AccessLogStore, LogFilter
from projections.audit.trail import case_filter, export_lines, state_fields


def _whole(line: dict[str, Any]) -> dict[str, Any]:
    return line


def _plain(row: Any) -> dict[str, Any]:
    return asdict(row) if is_dataclass(row) else dict(row)


def build_report(system: Any, migrant_id: UUID, made_by: str, made_at: datetime) -> dict[str, Any]:
    """Everything about one migrant, as JSON-ready data."""
    queries = system.read_models.queries
    case = system.cases.get(migrant_id)
    system.audit.extend_chain()  # link the newest events before listing them
    # The data subject's own report holds their own words in full (DPA 2019
    # s. 26): the events unmasked; the read-model lists below only index them.
    events = list(
        export_lines(system.store, system.audit, case_filter(migrant_id), disclose=_whole)
    )
    incidents = queries.list_incidents(migrant_id=str(migrant_id), limit=500, viewer=NOBODY).rows
    store: AccessLogStore = system.access_log.store
    viewed = store.entries(LogFilter(subject_id=str(migrant_id)), limit=10_000)
    for incident in incidents:
        viewed += store.entries(LogFilter(subject_id=incident.incident_id), limit=10_000)
    viewed.sort(key=lambda e: (e["recorded_at"], e["entry_id"]))
    return {
        "report": "everything Msafiri holds about one person",
        "made_by": made_by,
        "made_at": made_at.isoformat(),
        "case_number": case.case_number,
        "migrant_id": str(migrant_id),
        "profile": state_fields(case),
        "incidents": [_plain(i) for i in incidents],
        "payments": {
            "requests_and_disbursements": [
                _plain(d) for d in queries.case_disbursements(str(migrant_id), viewer=NOBODY)
            ],
            "contributions": queries.contributions(str(migrant_id)),
        },
        "events": events,
        "viewed_by": [
            {
                k: e[k]
                for k in (
                    "recorded_at",
                    "username",
                    "role",
                    "action",
                    "subject_kind",
                    "subject_id",
                    "reason",
                    "detail",
                    "interface",
                )
            }
            for e in viewed
        ],
    }


def _table(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    if not rows:
        return ["(none)", ""]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [
            str(row.get(c, "") if row.get(c) is not None else "").replace("|", "\\|")
            for c in columns
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def to_markdown(report: dict[str, Any]) -> str:
    profile = report["profile"]
    lines = [
        f"# What Msafiri holds about case {report['case_number']}",
        "",
        f"Made {report['made_at']} by {report['made_by']} at the person's request "
        "(the right of access). The JSON file beside this one holds the same, in full.",
        "",
        "## Profile",
        "",
        *(
            f"- **{key.replace('_', ' ')}**: {json.dumps(value, ensure_ascii=False)}"
            for key, value in profile.items()
        ),
        "",
        "## Incidents",
        "",
        *_table(
            report["incidents"],
            ["incident_id", "category", "severity", "status", "country", "occurred_at"],
        ),
        "## Payments",
        "",
        "### Requests and disbursements",
        "",
        *_table(
            report["payments"]["requests_and_disbursements"],
            [
                "disbursement_id",
                "category",
                "amount_minor",
                "currency",
                "status",
                "paid_minor",
                "requested_at",
            ],
        ),
        "### Contributions",
        "",
        *_table(
            report["payments"]["contributions"],
            sorted({k for row in report["payments"]["contributions"] for k in row}),
        ),
        f"## Events ({len(report['events'])})",
        "",
        *_table(
            [
                {
                    "position": e.get("position"),
                    "recorded_at": e.get("recorded_at"),
                    "event": e.get("type"),
                    "by role": e.get("actor_role"),
                }
                for e in report["events"]
            ],
            ["position", "recorded_at", "event", "by role"],
        ),
        f"## Who viewed the case ({len(report['viewed_by'])})",
        "",
        *_table(
            report["viewed_by"], ["recorded_at", "username", "role", "action", "reason", "detail"]
        ),
    ]
    return "\n".join(lines)
