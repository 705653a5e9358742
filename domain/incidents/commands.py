from __future__ import annotations

from typing import Self
from uuid import UUID, uuid4

from pydantic import Field, model_validator

from domain.cases.consent import LegalBasis
from domain.commands import Command, LongText, Reason, Text
from domain.fields import Amount, Counter, Instant
from domain.incidents.vocabulary import (
    MONEY_ASSISTANCE,
    AssistanceKind,
    GbvSubtype,
    IncidentCategory,
    ReferralTarget,
    ReporterChannel,
    Severity,
)
from domain.values import CountryCode, utcnow


class ReportIncident(Command):
    """Report an incident abroad: category, severity, when it happened and what was told."""

    migrant_id: UUID
    incident_id: UUID = Field(default_factory=uuid4)
    category: IncidentCategory
    gbv_subtype: GbvSubtype | None = None
    severity: Severity
    occurred_at: Instant
    reported_at: Instant = Field(default_factory=utcnow)
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
    expected_version: Counter | None = Field(default=None, ge=1)


class AssessIncident(IncidentCommand):
    """Assess a reported incident: its severity and the officer's notes."""

    severity: Severity
    notes: LongText


class ReferIncident(IncidentCommand):
    """Refer an incident to a service provider (shelter, legal aid, police, health)."""

    referred_to: ReferralTarget
    organisation: Text
    notes: LongText = ""
    # Without the migrant's consent to share with the organisation: why it
    # may go ahead anyway (often vital interests, for a shelter or hospital).
    legal_basis: LegalBasis | None = None


class RequestAssistance(IncidentCommand):
    """Ask the welfare fund for emergency assistance for an incident (repatriation, shelter,
    legal aid, ...)."""

    request_id: UUID = Field(default_factory=uuid4)
    kind: AssistanceKind
    estimate: Amount | None = None
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
    """Record that requested assistance was provided."""

    request_id: UUID
    notes: LongText = ""


class AddIncidentNote(IncidentCommand):
    """Add a follow-up note to an incident."""

    note: Text


class ResolveIncident(IncidentCommand):
    """Resolve an incident, stating the outcome."""

    outcome: Reason


class CloseIncident(IncidentCommand):
    """Close an incident, with the reason."""

    reason: Reason
