"""Use cases on money claims. Labour attachés (abroad) and reintegration
officers (after return) record; every other role only reads."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from domain.authz import Authoriser
from domain.cases.service import describe
from domain.claims import commands as c
from domain.claims.aggregate import Claim
from domain.errors import AlreadyExists, ConcurrentUpdate
from domain.model import Actor
from domain.persistence import EventStore
from domain.values import Role

RECORDERS = (Role.LABOUR_ATTACHE, Role.REINTEGRATION_OFFICER)

CLAIM_HANDLERS: dict[type[c.ClaimCommand], tuple[tuple[Role, ...], Callable]] = {
    c.RecordClaimStep: (RECORDERS, Claim.record_step),
    c.RecordRecovery: (RECORDERS, Claim.record_recovery),
    c.CloseClaim: (RECORDERS, Claim.close),
}


class ClaimService:
    def __init__(self, store: EventStore, authz: Authoriser):
        self._store = store
        self._authz = authz

    def open(self, actor: Actor, command: c.OpenClaim) -> UUID:
        self._authz.require(actor, "open money claims", *RECORDERS)
        migrant = self._store.get(command.migrant_id, "case")
        migrant.check_not_erased()
        incident = None
        if command.incident_id is not None:
            incident = self._store.get(command.incident_id, "incident")
        claim = Claim.open(actor, migrant, incident, command)
        try:
            self._store.save_all(claim)
        except ConcurrentUpdate:
            raise AlreadyExists(f"claim {command.claim_id} was already opened") from None
        return claim.id

    def execute(self, actor: Actor, command: c.ClaimCommand) -> Claim:
        roles, handler = CLAIM_HANDLERS[type(command)]
        self._authz.require(actor, describe(type(command)), *roles)
        claim = self.get(command.claim_id)
        if command.expected_version is not None and claim.version != command.expected_version:
            raise ConcurrentUpdate("the claim changed since you opened it; reload and retry")
        handler(claim, actor, command)
        self._store.save_all(claim)
        return claim

    def get(self, claim_id: UUID) -> Claim:
        return self._store.get(claim_id, "claim")
