"""Use cases on a migrant's case. Each: check the role, load, decide, save."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid4

from domain.authz import Authoriser
from domain.cases import commands as c
from domain.cases.aggregate import Migrant
from domain.cases.identity import IdentityDocumentClaimed, IdentityDocumentIndex
from domain.cases.vocabulary import IdentityDocument
from domain.errors import AlreadyExists, ConcurrentUpdate
from domain.ids import identity_document_id
from domain.model import Actor
from domain.persistence import EventStore
from domain.values import Role

REGISTRATION = (Role.REGISTRATION_OFFICER,)
ATTACHE = (Role.LABOUR_ATTACHE,)
REINTEGRATION = (Role.REINTEGRATION_OFFICER,)
CASE_WORKERS = (Role.REGISTRATION_OFFICER, Role.LABOUR_ATTACHE, Role.REINTEGRATION_OFFICER)

# The routing table: which command, who may give it, what it does to the case.
CASE_HANDLERS: dict[type[c.CaseCommand], tuple[tuple[Role, ...], Callable]] = {
    c.CompleteOrientation: (REGISTRATION, Migrant.complete_orientation),
    c.AssessSkills: (REGISTRATION + REINTEGRATION, Migrant.assess_skills),
    c.RegisterContract: (REGISTRATION, Migrant.register_contract),
    c.StartMembership: (REGISTRATION + ATTACHE, Migrant.start_membership),
    c.RecordDeparture: (REGISTRATION, Migrant.depart),
    c.RecordArrival: (ATTACHE, Migrant.arrive),
    c.ChangeEmployer: (ATTACHE, Migrant.change_employer),
    c.RenewContract: (ATTACHE, Migrant.renew_contract),
    c.TerminateContract: (ATTACHE, Migrant.terminate_contract),
    c.RecordWelfareCheck: (ATTACHE, Migrant.record_welfare_check),
    c.RecordOnSiteTraining: (ATTACHE, Migrant.record_on_site_training),
    c.RecordReturn: (ATTACHE + REINTEGRATION, Migrant.record_return),
    c.CertifySkills: (REINTEGRATION, Migrant.certify_skills),
    c.MakeReferral: (REINTEGRATION, Migrant.make_referral),
    c.RecordReferralOutcome: (REINTEGRATION, Migrant.record_referral_outcome),
    c.CloseCase: (REGISTRATION + REINTEGRATION, Migrant.close),
    c.StartNewCycle: (REGISTRATION, Migrant.start_new_cycle),
    c.CorrectRegistration: (REGISTRATION, Migrant.correct_registration),
    c.AssignCaseOfficer: (CASE_WORKERS, Migrant.assign_officer),
}


def describe(command_class: type) -> str:
    """'RecordDeparture' -> 'record departure', for refusal messages."""
    name = command_class.__name__
    words = "".join(f" {ch.lower()}" if ch.isupper() else ch for ch in name).strip()
    return words


class CaseService:
    def __init__(self, store: EventStore, authz: Authoriser):
        self._store = store
        self._authz = authz

    def register(self, actor: Actor, command: c.RegisterMigrant) -> UUID:
        self._authz.require(actor, "register migrants", *REGISTRATION)
        migrant_id = uuid4()
        migrant = Migrant.register(migrant_id, actor, command)
        indexes = [
            IdentityDocumentIndex.start(
                identity_document_id(kind, number),
                IdentityDocumentClaimed,
                actor,
                kind=kind,
                migrant_id=migrant_id,
            )
            for kind, number in (
                (IdentityDocument.NATIONAL_ID, command.national_id),
                (IdentityDocument.PASSPORT, command.passport_number),
            )
            if number
        ]
        try:
            self._store.save_all(migrant, *indexes)
        except ConcurrentUpdate:
            raise AlreadyExists(self._who_holds(command)) from None
        return migrant_id

    def execute(self, actor: Actor, command: c.CaseCommand) -> Migrant:
        """Apply any lifecycle command on an existing case (see CASE_HANDLERS)."""
        roles, handler = CASE_HANDLERS[type(command)]
        self._authz.require(actor, describe(type(command)), *roles)
        migrant = self.get(command.migrant_id)
        if command.expected_version is not None and migrant.version != command.expected_version:
            raise ConcurrentUpdate(
                f"{migrant.case_number} changed since you opened it "
                f"(version {command.expected_version}, now {migrant.version}); reload and retry"
            )
        handler(migrant, actor, command)
        self._store.save_all(migrant)
        return migrant

    def get(self, migrant_id: UUID) -> Migrant:
        return self._store.get(migrant_id, "case")

    def find_by_document(self, kind: IdentityDocument, number: str) -> UUID | None:
        index_id = identity_document_id(kind, number)
        if not self._store.exists(index_id):
            return None
        return self._store.get(index_id).migrant_id

    def _who_holds(self, command: c.RegisterMigrant) -> str:
        for kind, number in (
            (IdentityDocument.NATIONAL_ID, command.national_id),
            (IdentityDocument.PASSPORT, command.passport_number),
        ):
            existing = number and self.find_by_document(kind, number)
            if existing:
                case = self.get(existing)
                return f"{kind.value} {number} is already registered to case {case.case_number}"
        return "this migrant is already registered"
