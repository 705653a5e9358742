"""The Incident aggregate: its own lifecycle, linked to a migrant's case."""

from __future__ import annotations

from uuid import UUID

from domain.cases.aggregate import Migrant
from domain.errors import IllegalTransition, NotFound
from domain.incidents import commands as c
from domain.incidents import events as e
from domain.incidents.vocabulary import OPEN_STATUSES, IncidentStatus
from domain.model import Actor, Aggregate
from domain.values import Money


class Incident(Aggregate):
    def __init__(self, id: UUID):
        super().__init__(id)
        self.migrant_id: UUID | None = None
        self.category = None
        self.severity = None
        self.country = None
        self.occurred_at = None
        self.status = IncidentStatus.REPORTED
        self.assistance: dict[UUID, str] = {}

    @classmethod
    def report(cls, actor: Actor, migrant: Migrant, cmd: c.ReportIncident) -> Incident:
        if not migrant.has_departed_in_this_cycle():
            raise IllegalTransition(
                f"cannot report an incident for {migrant.case_number}: the migrant has not "
                "departed in the current migration cycle"
            )
        assert migrant.departed_at is not None
        if cmd.occurred_at.date() < migrant.departed_at.date():
            raise IllegalTransition(
                f"the incident date {cmd.occurred_at.date()} is before the departure "
                f"date {migrant.departed_at.date()}"
            )
        country = cmd.country or (
            migrant.contract.destination_country if migrant.contract else None
        )
        return cls.start(
            cmd.incident_id,
            e.IncidentReported,
            actor,
            occurred_at=cmd.occurred_at,
            migrant_id=migrant.id,
            category=cmd.category,
            gbv_subtype=cmd.gbv_subtype,
            severity=cmd.severity,
            reported_at=cmd.reported_at,
            channel=cmd.channel,
            country=country,
            description=cmd.description,
        )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def assess(self, actor: Actor, cmd: c.AssessIncident) -> None:
        self.check_is_open("assess")
        self.trigger(e.IncidentAssessed, actor, severity=cmd.severity, notes=cmd.notes)

    def refer(self, actor: Actor, cmd: c.ReferIncident) -> None:
        self.check_is_open("refer")
        if self.status is IncidentStatus.REPORTED:
            raise IllegalTransition("assess the incident before referring it")
        self.trigger(
            e.IncidentReferred,
            actor,
            referred_to=cmd.referred_to,
            organisation=cmd.organisation,
            notes=cmd.notes,
            legal_basis=cmd.legal_basis,
        )

    def request_assistance(self, actor: Actor, cmd: c.RequestAssistance) -> None:
        self.check_is_open("request assistance for")
        if cmd.request_id in self.assistance:
            raise IllegalTransition(f"assistance request {cmd.request_id} already exists")
        self.trigger(
            e.AssistanceRequested,
            actor,
            request_id=cmd.request_id,
            migrant_id=self.migrant_id,
            kind=cmd.kind,
            estimate=cmd.estimate,
            payee=cmd.payee,
            justification=cmd.justification,
        )

    def record_assistance_provided(self, actor: Actor, cmd: c.RecordAssistanceProvided) -> None:
        self.check_request(cmd.request_id)
        self.trigger(e.AssistanceProvided, actor, request_id=cmd.request_id, notes=cmd.notes)

    def record_payment(self, actor: Actor, request_id: UUID, amount: Money, reference: str) -> None:
        self.check_request(request_id)
        self.trigger(
            e.AssistancePaid,
            actor,
            request_id=request_id,
            amount=amount,
            payment_reference=reference,
        )

    def record_declined(self, actor: Actor, request_id: UUID, outcome: str, reason: str) -> None:
        self.check_request(request_id)
        self.trigger(
            e.AssistanceDeclined, actor, request_id=request_id, outcome=outcome, reason=reason
        )

    def add_note(self, actor: Actor, cmd: c.AddIncidentNote) -> None:
        if self.status is IncidentStatus.CLOSED:
            raise IllegalTransition("cannot add a note to a closed incident")
        self.trigger(e.IncidentNoteAdded, actor, note=cmd.note)

    def resolve(self, actor: Actor, cmd: c.ResolveIncident) -> None:
        self.check_is_open("resolve")
        self.trigger(e.IncidentResolved, actor, outcome=cmd.outcome)

    def close(self, actor: Actor, cmd: c.CloseIncident) -> None:
        if self.status is IncidentStatus.CLOSED:
            raise IllegalTransition("the incident is already closed")
        self.trigger(e.IncidentClosed, actor, reason=cmd.reason)

    def check_is_open(self, action: str) -> None:
        if not self.is_open:
            raise IllegalTransition(f"cannot {action} an incident that is {self.status.value}")

    def check_request(self, request_id: UUID) -> None:
        if request_id not in self.assistance:
            raise NotFound(f"the incident has no assistance request {request_id}")
