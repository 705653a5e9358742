"""Use cases of need-to-know access: supervisors grant and revoke, any
officer may break the glass, supervisors and auditors review. Roles are
checked here (the UI only hides)."""

from __future__ import annotations

from uuid import UUID

from domain.access import commands as c
from domain.access.aggregate import REVIEWERS, CaseAccess
from domain.authz import Authoriser
from domain.errors import AlreadyExists, ConcurrentUpdate, IllegalTransition
from domain.model import Actor
from domain.persistence import EventStore
from domain.values import Role

SUPERVISOR = (Role.SUPERVISOR,)
# Anyone who works cases or the fund, or audits, may meet an emergency; an
# administrator configures, and never reads case records.
BREAK_GLASS_ROLES = (
    Role.REGISTRATION_OFFICER,
    Role.LABOUR_ATTACHE,
    Role.REINTEGRATION_OFFICER,
    Role.FUND_OFFICER,
    Role.AUDITOR,
    Role.SUPERVISOR,
)


class AccessService:
    def __init__(self, store: EventStore, authz: Authoriser):
        self._store = store
        self._authz = authz

    def grant(self, actor: Actor, command: c.GrantCaseAccess) -> UUID:
        self._authz.require(actor, "grant access to a case", *SUPERVISOR)
        self._store.get(command.migrant_id, "case")
        grantee = self._store.get(command.officer_id, "officer")
        if not grantee.active:
            raise IllegalTransition(f"officer_id: {grantee.username} is deactivated")
        return self._save_new(CaseAccess.grant(actor, command))

    def break_glass(self, actor: Actor, command: c.TakeEmergencyAccess) -> UUID:
        self._authz.require(actor, "take emergency access", *BREAK_GLASS_ROLES)
        self._store.get(command.migrant_id, "case")
        return self._save_new(CaseAccess.break_glass(actor, command))

    def revoke(self, actor: Actor, command: c.RevokeCaseAccess) -> CaseAccess:
        self._authz.require(actor, "revoke access to a case", *SUPERVISOR)
        access = self.get(command.grant_id)
        access.revoke(actor, command)
        self._store.save_all(access)
        return access

    def review(self, actor: Actor, command: c.ReviewEmergencyAccess) -> CaseAccess:
        self._authz.require(actor, "review a break-glass access", *REVIEWERS)
        access = self.get(command.grant_id)
        access.review(actor, command)
        self._store.save_all(access)
        return access

    def get(self, grant_id: UUID) -> CaseAccess:
        return self._store.get(grant_id, "access grant")

    def _save_new(self, access: CaseAccess) -> UUID:
        try:
            self._store.save_all(access)
        except ConcurrentUpdate:
            raise AlreadyExists(f"access {access.id} was already recorded") from None
        return access.id
