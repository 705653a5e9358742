from __future__ import annotations

from typing import Self
from uuid import UUID, uuid4

from pydantic import Field, model_validator

from domain.commands import Command, LongText, Reason, Text
from domain.incidents.vocabulary import (
    MONEY_ASSISTANCE,
    AssistanceKind,
    GbvSubtype,
    IncidentCategory,
    ReferralTarget,
    ReporterChannel,
    Severity,
)
from domain.values import CountryCode, Money, UtcDatetime, utcnow


class ReportIncident(Command):
    migrant_id: UUID
    incident_id: UUID = Field(default_factory=uuid4)
    category: IncidentCategory
    gbv_subtype: GbvSubtype | None = None
    severity: Severity
    occurred_at: UtcDatetime
    reported_at: UtcDatetime = Field(default_factory=utcnow)
    channel: ReporterChannel
    country: CountryCode | None = Field(
        default=None, description="Where it happened; defaults to the contract's destination"
    )
    description: LongText

    @model_validator(mode="after")
    def check_times_and_subtype(self) -> Self:
        if self.occurred_at > self.reported_at:
            raise ValueError("occurred_at must not be after reported_at")
        if self.reported_at > utcnow():
            raise ValueError("reported_at cannot be in the future")
        sexual = self.category is IncidentCategory.SEXUAL_HARASSMENT_OR_VIOLENCE
        if sexual and self.gbv_subtype is None:
            raise ValueError("gbv_subtype is required for sexual harassment or violence")
        if not sexual and self.gbv_subtype is not None:
            raise ValueError("gbv_subtype applies only to sexual harassment or violence")
        return self


class IncidentCommand(Command):
    incident_id: UUID
    expected_version: int | None = Field(default=None, ge=1)


class AssessIncident(IncidentCommand):
    severity: Severity
    notes: LongText


class ReferIncident(IncidentCommand):
    referred_to: ReferralTarget
    organisation: Text
    notes: LongText = ""


class RequestAssistance(IncidentCommand):
    request_id: UUID = Field(default_factory=uuid4)
    kind: AssistanceKind
    estimate: Money | None = None
    payee: Text | None = None
    justification: Reason

    @model_validator(mode="after")
    def check_estimate(self) -> Self:
        if self.kind in MONEY_ASSISTANCE:
            if self.estimate is None or self.estimate.amount_minor == 0:
                raise ValueError(f"estimate: {self.kind.value} needs an amount estimate")
            if not self.payee:
                raise ValueError(f"payee: {self.kind.value} needs a payee")
        return self


class RecordAssistanceProvided(IncidentCommand):
    request_id: UUID
    notes: LongText = ""


class AddIncidentNote(IncidentCommand):
    note: Text


class ResolveIncident(IncidentCommand):
    outcome: Reason


class CloseIncident(IncidentCommand):
    reason: Reason
