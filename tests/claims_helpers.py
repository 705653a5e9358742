"""Builders for the claims and coverage tests (issue 16)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from domain.cases import commands as c
from domain.claims import commands as cc
from domain.incidents import commands as ic
from tests.factories import days_ago


def wage_incident(system, officers, migrant_id: UUID, category: str = "unpaid_or_delayed_wages"):
    fields: dict[str, Any] = {
        "migrant_id": migrant_id,
        "category": category,
        "severity": "high",
        "occurred_at": datetime.now(UTC) - timedelta(days=60),
        "reported_at": datetime.now(UTC) - timedelta(days=50),
        "channel": "walk_in",
        "description": "Four months of wages unpaid.",
    }
    if category == "sexual_harassment_or_violence":
        fields["gbv_subtype"] = "sexual_harassment"
    return system.incidents.report(officers.attache, ic.ReportIncident.parse(fields))


def open_claim(system, actor, migrant_id, incident_id, amount_minor=600_000, **overrides):
    fields: dict[str, Any] = {
        "migrant_id": migrant_id,
        "incident_id": incident_id,
        "kind": "unpaid_wages",
        "amount_claimed": {"amount_minor": amount_minor, "currency": "SAR"},
        "opened_on": days_ago(45),
        "notes": "Claimed four months at 1,500 SAR.",
    }
    fields.update(overrides)
    return system.claims.open(actor, cc.OpenClaim.parse(fields))


def recover(system, actor, claim_id, amount_minor, **overrides):
    fields: dict[str, Any] = {
        "claim_id": claim_id,
        "amount": {"amount_minor": amount_minor, "currency": "SAR"},
        "channel": "mission",
        "received_on": days_ago(10),
    }
    fields.update(overrides)
    return system.claims.execute(actor, cc.RecordRecovery.parse(fields))


def bring_home(system, officers, migrant_id: UUID) -> None:
    system.cases.execute(
        officers.attache,
        c.RecordReturn(
            migrant_id=migrant_id, returned_on=days_ago(20), assisted=False, reason="deportation"
        ),
    )
