"""Use cases on a migrant's case. Each: check the role, load, decide, save."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

from domain.authz import Authoriser
from domain.cases import commands as c
from domain.cases import consent as cs
from domain.cases.aggregate import Migrant
from domain.cases.identity import IdentityDocumentClaimed, IdentityDocumentIndex
from domain.cases.vocabulary import IdentityDocument
from domain.errors import AlreadyExists, ConcurrentUpdate, IllegalTransition, NeedsJustification
from domain.ids import identity_document_id
from domain.model import Actor, recording_time
from domain.persistence import EventStore
from domain.values import Role, utcnow

REGISTRATION = (Role.REGISTRATION_OFFICER,)
ATTACHE = (Role.LABOUR_ATTACHE,)
REINTEGRATION = (Role.REINTEGRATION_OFFICER,)
CASE_WORKERS = (Role.REGISTRATION_OFFICER, Role.LABOUR_ATTACHE, Role.REINTEGRATION_OFFICER)
DATA_PROTECTION = (Role.DATA_PROTECTION_OFFICER,)

# The routing table: which command, who may give it, what it does to the case.
CASE_HANDLERS: dict[type[c.CaseCommand], tuple[tuple[Role, ...], Callable]] = {
    c.CompleteOrientation: (REGISTRATION, Migrant.complete_orientation),
    c.AssessSkills: (REGISTRATION + REINTEGRATION, Migrant.assess_skills),
    # Attachés register contracts too (verified at the mission, issue 16).
    c.RegisterContract: (REGISTRATION + ATTACHE, Migrant.register_contract),
    c.StartMembership: (REGISTRATION + ATTACHE, Migrant.start_membership),
    c.RecordDeparture: (REGISTRATION, Migrant.depart),
    c.RecordArrival: (ATTACHE, Migrant.arrive),
    c.ChangeEmployer: (ATTACHE, Migrant.change_employer),
    c.RenewContract: (ATTACHE, Migrant.renew_contract),
    c.TerminateContract: (ATTACHE, Migrant.terminate_contract),
    c.LinkContractParties: (REGISTRATION + ATTACHE, Migrant.link_contract_parties),
    c.RecordWelfareCheck: (ATTACHE, Migrant.record_welfare_check),
    c.RecordOnSiteTraining: (ATTACHE, Migrant.record_on_site_training),
    c.RecordReturn: (ATTACHE + REINTEGRATION, Migrant.record_return),
    c.CertifySkills: (REINTEGRATION, Migrant.certify_skills),
    c.MakeReferral: (REINTEGRATION, Migrant.make_referral),
    c.RecordReferralOutcome: (REINTEGRATION, Migrant.record_referral_outcome),
    c.CloseCase: (REGISTRATION + REINTEGRATION, Migrant.close),
    cs.RecordConsent: (CASE_WORKERS, Migrant.record_consent),
    cs.WithdrawConsent: (CASE_WORKERS + DATA_PROTECTION, Migrant.withdraw_consent),
    c.StartNewCycle: (REGISTRATION, Migrant.start_new_cycle),
    c.CorrectRegistration: (REGISTRATION, Migrant.correct_registration),
    c.AssignCaseOfficer: (CASE_WORKERS, Migrant.assign_officer),
}

# Contract steps that name an employer or agency: registry names and warnings.
CONTRACT_STEPS = (c.RegisterContract, c.ChangeEmployer, c.RenewContract)


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
        migrant.check_not_erased()
        if isinstance(command, CONTRACT_STEPS):
            command = self._check_contract_parties(actor, migrant, command)
        handler(migrant, actor, command)
        self._store.save_all(migrant)
        return migrant

    def _check_contract_parties(self, actor: Actor, migrant: Migrant, command: Any) -> Any:
        """A contract step naming registered records: take their names from
        the registry (a merged duplicate's id stands for the record it was
        merged into), refuse an employer in another country, and warn - a
        NeedsJustification refusal unless a justification is given, then
        recorded with it - for a watchlisted employer or agency or an agency
        licence that is not valid (issue 16 item 3)."""
        from domain.employers.aggregate import Agency, Employer
        from domain.employers.service import EmployerService

        registry = EmployerService(self._store, self._authz)
        update: dict[str, Any] = {}
        contract = migrant.contract
        employer_id = getattr(command, "employer_id", None)
        agency_id = getattr(command, "agency_id", None)
        destination = getattr(command, "destination_country", None)
        if contract is not None and isinstance(command, (c.RenewContract, c.ChangeEmployer)):
            destination = contract.destination_country
            agency_id = contract.agency_id
            if isinstance(command, c.RenewContract):
                employer_id = contract.employer_id
        if employer_id is not None:
            employer = registry.resolve(employer_id)
            if not isinstance(employer, Employer):
                raise IllegalTransition(f"employer_id: {employer_id} is not a registered employer")
            if destination is not None and employer.country != destination:
                raise IllegalTransition(
                    f"employer_id: {employer.name} is in {employer.country}, "
                    f"the contract's destination is {destination}"
                )
            employer_id = employer.id
            if hasattr(command, "employer_id"):
                update |= {"employer_id": employer.id, "employer_name": employer.name}
        if agency_id is not None:
            agency = registry.resolve(agency_id)
            if not isinstance(agency, Agency):
                raise IllegalTransition(f"agency_id: {agency_id} is not a registered agency")
            agency_id = agency.id
            if isinstance(command, c.RegisterContract):
                update |= {"agency_id": agency.id, "recruitment_agency": agency.name}
        on = (recording_time.get() or utcnow()).date()
        warnings = registry.contract_warnings(employer_id, agency_id, on)
        if warnings:
            if not command.justification:
                raise NeedsJustification(warnings)
            step = describe(type(command))
            migrant.justify_contract_warnings(
                actor, step, warnings, command.justification, employer_id, agency_id
            )
        return command.model_copy(update=update) if update else command

    def request_erasure(self, actor: Actor, command: c.RequestErasure) -> Migrant:
        """First half of an erasure (maker); the keys go at the approval."""
        self._authz.require(actor, "request an erasure", *DATA_PROTECTION)
        migrant = self.get(command.migrant_id)
        migrant.request_erasure(actor, command)
        self._store.save_all(migrant)
        return migrant

    def approve_erasure(self, actor: Actor, command: c.ApproveErasure) -> Migrant:
        """Second half (checker), by a different data-protection officer:
        records PersonalDataErased. Destroying the keys and scrubbing the
        read models follow it (msafiri/erasure.py, which calls this)."""
        self._authz.require(actor, "approve an erasure", *DATA_PROTECTION)
        migrant = self.get(command.migrant_id)
        migrant.approve_erasure(actor, command)
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
