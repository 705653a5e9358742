from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from domain.cases.consent import LegalBasis
from domain.incidents.vocabulary import (
    AssistanceKind,
    GbvSubtype,
    IncidentCategory,
    IncidentStatus,
    ReferralTarget,
    ReporterChannel,
    Severity,
)
from domain.model import DomainEvent
from domain.values import CountryCode, Money, UtcDatetime

if TYPE_CHECKING:
    from domain.incidents.aggregate import Incident


class IncidentReported(DomainEvent):
    personal: ClassVar[tuple[str, ...]] = ("description",)
    data_subject_field: ClassVar[str | None] = "migrant_id"

    # occurred_at (inherited) is when it happened; reported_at when it was
    # told to the attaché; timestamp when it was typed into Msafiri.
    migrant_id: UUID
    category: IncidentCategory
    gbv_subtype: GbvSubtype | None
    severity: Severity
    reported_at: UtcDatetime
    channel: ReporterChannel
    country: CountryCode
    description: str

    def new_aggregate(self) -> Any:
        from domain.incidents.aggregate import Incident

        return Incident(self.originator_id)

    def apply(self, incident: Incident) -> None:
        incident.migrant_id = self.migrant_id
        incident.category = self.category
        incident.severity = self.severity
        incident.country = self.country
        incident.occurred_at = self.occurred_at
        incident.status = IncidentStatus.REPORTED


class IncidentAssessed(DomainEvent):
    personal: ClassVar[tuple[str, ...]] = ("notes",)

    severity: Severity
    notes: str

    def apply(self, incident: Incident) -> None:
        incident.severity = self.severity
        if incident.status is IncidentStatus.REPORTED:
            incident.status = IncidentStatus.ASSESSED


class IncidentReferred(DomainEvent):
    """legal_basis: set when the migrant had not consented to sharing with
    the organisation (v2; v1 referrals predate the consent rule)."""

    class_version = 2
    personal: ClassVar[tuple[str, ...]] = ("notes",)

    referred_to: ReferralTarget
    organisation: str
    notes: str
    legal_basis: LegalBasis | None = None

    @staticmethod
    def upcast_v1_v2(state: dict) -> dict:
        state["legal_basis"] = None
        return state

    def apply(self, incident: Incident) -> None:
        incident.status = IncidentStatus.REFERRED


class AssistanceRequested(DomainEvent):
    """What the fund will be asked to pay: the fund's process turns it into a
    pending disbursement."""

    personal: ClassVar[tuple[str, ...]] = ("payee", "justification")

    request_id: UUID
    migrant_id: UUID
    kind: AssistanceKind
    estimate: Money | None
    payee: str | None
    justification: str

    def apply(self, incident: Incident) -> None:
        incident.assistance[self.request_id] = "requested"


class AssistanceProvided(DomainEvent):
    personal: ClassVar[tuple[str, ...]] = ("notes",)

    request_id: UUID
    notes: str

    def apply(self, incident: Incident) -> None:
        incident.assistance[self.request_id] = "provided"
        incident.status = IncidentStatus.ASSISTED


class AssistancePaid(DomainEvent):
    """Recorded on the incident by the fund's process when the fund paid."""

    # The fund's transaction id leads to the person paid: hers to erase.
    personal: ClassVar[tuple[str, ...]] = ("payment_reference",)

    request_id: UUID
    amount: Money
    payment_reference: str

    def apply(self, incident: Incident) -> None:
        incident.assistance[self.request_id] = "paid"
        incident.status = IncidentStatus.ASSISTED


class AssistanceDeclined(DomainEvent):
    """Recorded on the incident by the fund's process: rejected or expired."""

    personal: ClassVar[tuple[str, ...]] = ("reason",)

    request_id: UUID
    outcome: str
    reason: str

    def apply(self, incident: Incident) -> None:
        incident.assistance[self.request_id] = self.outcome


class IncidentNoteAdded(DomainEvent):
    personal: ClassVar[tuple[str, ...]] = ("note",)

    note: str


class IncidentResolved(DomainEvent):
    personal: ClassVar[tuple[str, ...]] = ("outcome",)

    outcome: str

    def apply(self, incident: Incident) -> None:
        incident.status = IncidentStatus.RESOLVED


class IncidentClosed(DomainEvent):
    personal: ClassVar[tuple[str, ...]] = ("reason",)

    reason: str

    def apply(self, incident: Incident) -> None:
        incident.status = IncidentStatus.CLOSED
