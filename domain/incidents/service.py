"""Use cases on incidents. Labour attachés work incidents abroad."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from domain.authz import Authoriser
from domain.cases.service import describe
from domain.errors import AlreadyExists, ConcurrentUpdate
from domain.incidents import commands as c
from domain.incidents.aggregate import Incident
from domain.model import Actor
from domain.persistence import EventStore
from domain.values import Role

ATTACHE = (Role.LABOUR_ATTACHE,)

INCIDENT_HANDLERS: dict[type[c.IncidentCommand], tuple[tuple[Role, ...], Callable]] = {
    c.AssessIncident: (ATTACHE, Incident.assess),
    c.ReferIncident: (ATTACHE, Incident.refer),
    c.RequestAssistance: (ATTACHE, Incident.request_assistance),
    c.RecordAssistanceProvided: (ATTACHE, Incident.record_assistance_provided),
    c.AddIncidentNote: (ATTACHE + (Role.REINTEGRATION_OFFICER,), Incident.add_note),
    c.ResolveIncident: (ATTACHE, Incident.resolve),
    c.CloseIncident: (ATTACHE, Incident.close),
}


class IncidentService:
    def __init__(self, store: EventStore, authz: Authoriser):
        self._store = store
        self._authz = authz

    def report(self, actor: Actor, command: c.ReportIncident) -> UUID:
        self._authz.require(actor, "report incidents", *ATTACHE)
        migrant = self._store.get(command.migrant_id, "case")
        migrant.check_not_erased()
        incident = Incident.report(actor, migrant, command)
        try:
            self._store.save_all(incident)
        except ConcurrentUpdate:
            raise AlreadyExists(f"incident {command.incident_id} was already reported") from None
        return incident.id

    def execute(self, actor: Actor, command: c.IncidentCommand) -> Incident:
        roles, handler = INCIDENT_HANDLERS[type(command)]
        self._authz.require(actor, describe(type(command)), *roles)
        incident = self.get(command.incident_id)
        if command.expected_version is not None and incident.version != command.expected_version:
            raise ConcurrentUpdate("the incident changed since you opened it; reload and retry")
        handler(incident, actor, command)
        if isinstance(command, c.ReferIncident):
            # A referral shares the migrant's case: their consent rules it
            # (checked after the incident's own guards, whose refusals say
            # more; a refusal here drops the pending event unsaved).
            migrant = self._store.get(incident.migrant_id, "case")
            migrant.check_may_share_with(command.organisation, command.legal_basis)
        self._store.save_all(incident)
        return incident

    def get(self, incident_id: UUID) -> Incident:
        return self._store.get(incident_id, "incident")
