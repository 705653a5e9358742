"""Use cases on the employer and agency registries. Each: check the role,
load, decide, save. Who may do what (docs/domain.md, "Employers and agencies"):

- register an employer or agency, merge duplicates: registration officers
  and labour attachés;
- record a licence's renewal, revocation, suspension or reinstatement:
  registration officers and administrators;
- propose a listing or a delisting (maker): labour attachés;
- approve or reject it (checker): a supervisor or another labour attaché,
  never the proposer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from uuid import UUID, uuid5

from domain.authz import Authoriser
from domain.employers import commands as c
from domain.employers import events as e
from domain.employers.aggregate import Agency, Employer, Party, RegistryKey
from domain.employers.vocabulary import name_key
from domain.errors import AlreadyExists, ConcurrentUpdate, IllegalTransition, NotFound
from domain.ids import MSAFIRI_NAMESPACE
from domain.model import Actor
from domain.persistence import EventStore
from domain.values import Role

REGISTRARS = (Role.REGISTRATION_OFFICER, Role.LABOUR_ATTACHE)
LICENSING = (Role.REGISTRATION_OFFICER, Role.ADMINISTRATOR)
PROPOSERS = (Role.LABOUR_ATTACHE,)
CHECKERS = (Role.LABOUR_ATTACHE, Role.SUPERVISOR)
# History at a glance (item 2): who reads it.
HISTORY_READERS = (
    Role.LABOUR_ATTACHE,
    Role.REGISTRATION_OFFICER,
    Role.REINTEGRATION_OFFICER,
    Role.SUPERVISOR,
    Role.FUND_OFFICER,
    Role.AUDITOR,
)

PARTY_HANDLERS: dict[type[c.PartyCommand], tuple[str, tuple[Role, ...], Callable]] = {
    c.RenewAgencyLicence: ("renew an agency licence", LICENSING, Agency.renew_licence),
    c.RevokeAgencyLicence: ("revoke an agency licence", LICENSING, Agency.revoke_licence),
    c.ReinstateAgencyLicence: ("reinstate an agency licence", LICENSING, Agency.reinstate_licence),
    c.ProposeListing: ("propose a watchlist listing", PROPOSERS, Party.propose_listing),
    c.ProposeDelisting: ("propose a watchlist delisting", PROPOSERS, Party.propose_delisting),
    c.ApproveWatchlistChange: (
        "approve a watchlist change",
        CHECKERS,
        Party.approve_watchlist_change,
    ),
    c.RejectWatchlistChange: ("reject a watchlist change", CHECKERS, Party.reject_watchlist_change),
}


def registry_key(what: str, *parts: str) -> UUID:
    return uuid5(MSAFIRI_NAMESPACE, f"registry:{what}:" + ":".join(p.strip() for p in parts))


class EmployerService:
    def __init__(self, store: EventStore, authz: Authoriser):
        self._store = store
        self._authz = authz

    # -- registration --------------------------------------------------------------

    def register_employer(self, actor: Actor, cmd: c.RegisterEmployer) -> UUID:
        self._authz.require(actor, "register employers", *REGISTRARS)
        key = name_key(cmd.name)
        if not key:
            raise IllegalTransition("name: must hold at least one letter or digit")
        employer = Employer.register(actor, cmd)
        claims = [("employer name", registry_key("employer", cmd.country, name_key(cmd.city), key))]
        if cmd.registration_number:
            number = cmd.registration_number.upper()
            claims.append(("registration number", registry_key("employer-no", cmd.country, number)))
        self._save_claimed(actor, employer, claims, f"employer {cmd.name!r} in {cmd.city}")
        return employer.id

    def register_agency(self, actor: Actor, cmd: c.RegisterAgency) -> UUID:
        self._authz.require(actor, "register recruitment agencies", *REGISTRARS)
        key = name_key(cmd.name)
        if not key:
            raise IllegalTransition("name: must hold at least one letter or digit")
        agency = Agency.register(actor, cmd)
        claims = [
            ("agency name", registry_key("agency", cmd.licensing_country, key)),
            (
                "licence number",
                registry_key("agency-licence", cmd.licensing_country, cmd.licence_number.upper()),
            ),
        ]
        self._save_claimed(actor, agency, claims, f"agency {cmd.name!r}")
        return agency.id

    def _save_claimed(
        self, actor: Actor, party: Party, claims: list[tuple[str, UUID]], label: str
    ) -> None:
        for what, key in claims:
            if self._store.exists(key):
                holder = self._store.get(key).party_id
                raise AlreadyExists(
                    f"{label}: the same {what} is already registered ({holder}); "
                    "use that record, or merge if it is a duplicate"
                )
        indexes = [
            RegistryKey.start(key, e.RegistryKeyClaimed, actor, party_id=party.id, what=what)
            for what, key in claims
        ]
        try:
            self._store.save_all(party, *indexes)
        except ConcurrentUpdate:
            raise AlreadyExists(
                f"{label} was registered by someone else at the same moment"
            ) from None

    # -- commands on a record ------------------------------------------------------

    def execute(self, actor: Actor, cmd: c.PartyCommand) -> Party:
        if isinstance(cmd, c.MergeDuplicate):
            return self.merge(actor, cmd)
        action, roles, handler = PARTY_HANDLERS[type(cmd)]
        self._authz.require(actor, action, *roles)
        party = self.get(cmd.party_id)
        if handler.__qualname__.startswith("Agency.") and not isinstance(party, Agency):
            raise IllegalTransition(f"{party.label} is not a recruitment agency")
        handler(party, actor, cmd)
        self._store.save_all(party)
        return party

    def merge(self, actor: Actor, cmd: c.MergeDuplicate) -> Party:
        self._authz.require(actor, "merge duplicate records", *REGISTRARS)
        duplicate = self.get(cmd.party_id)
        survivor = self.get(cmd.into_id)
        duplicate.merge_into(actor, survivor, cmd)
        self._store.save_all(duplicate, survivor)
        return survivor

    # -- reading -------------------------------------------------------------------

    def get(self, party_id: UUID) -> Party:
        party = self._store.get(party_id, "employer or agency")
        if not isinstance(party, Party):
            raise NotFound(f"no employer or agency with id {party_id}")
        return party

    def resolve(self, party_id: UUID) -> Party:
        """The record that stands for `party_id`: itself, or the record it
        was merged into (followed to the end)."""
        party = self.get(party_id)
        seen = {party.id}
        while party.merged_into is not None:
            party = self.get(party.merged_into)
            if party.id in seen:  # pragma: no cover - merge refuses cycles
                break
            seen.add(party.id)
        return party

    def contract_warnings(
        self, employer_id: UUID | None, agency_id: UUID | None, on: date
    ) -> list[str]:
        """Why a contract naming these records needs a written justification:
        a listed employer or agency, an agency licence expired, suspended or revoked."""
        warnings: list[str] = []
        for party_id, kind in ((employer_id, Employer), (agency_id, Agency)):
            if party_id is None:
                continue
            party = self.resolve(party_id)
            if not isinstance(party, kind):
                raise IllegalTransition(f"{party_id} is not a registered {kind.party_kind.value}")
            warnings += party.warnings(on)
        return warnings
