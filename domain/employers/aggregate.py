"""The Employer and Agency aggregates (one registry record each) and the
index that keeps names and numbers unique.

Both share the watchlist's maker-checker and the merge of duplicates:
a labour attaché proposes listing or delisting (with the reason and, for a
listing, the incidents behind it); a *different* officer - a supervisor, or
another labour attaché - approves or rejects it (docs/domain.md).
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from domain.employers import commands as c
from domain.employers import events as e
from domain.employers.vocabulary import (
    EmployerKind,
    LicenceStatus,
    PartyKind,
    WatchlistStatus,
)
from domain.errors import IllegalTransition
from domain.model import Actor, Aggregate


class Party(Aggregate):
    """What an employer and an agency have in common."""

    party_kind: PartyKind

    def __init__(self, id: UUID):
        super().__init__(id)
        self.name = ""
        self.country = ""
        self.merged_into: UUID | None = None
        self.absorbed: list[UUID] = []
        self.watchlist = WatchlistStatus.NOT_LISTED
        self.listing_reason = ""
        self.proposed_by: UUID | None = None
        self.proposal_reason = ""

    @property
    def label(self) -> str:
        return f"{self.party_kind.value} {self.name}"

    @property
    def listed(self) -> bool:
        return self.watchlist in (WatchlistStatus.LISTED, WatchlistStatus.DELISTING_PROPOSED)

    def check_not_merged(self, action: str) -> None:
        if self.merged_into is not None:
            raise IllegalTransition(
                f"cannot {action}: {self.label} was merged into {self.merged_into}; "
                "act on that record"
            )

    # -- merge of duplicates ---------------------------------------------------

    def merge_into(self, actor: Actor, survivor: Party, cmd: c.MergeDuplicate) -> None:
        """Record on both sides that this record is a duplicate of `survivor`."""
        self.check_not_merged("merge")
        survivor.check_not_merged("merge into it")
        if survivor.id == self.id:
            raise IllegalTransition("a record cannot be merged into itself")
        if survivor.party_kind is not self.party_kind:
            raise IllegalTransition("an employer and an agency cannot be merged")
        if survivor.country != self.country:
            raise IllegalTransition(
                f"{self.label} is in {self.country}, {survivor.label} in {survivor.country}: "
                "only duplicates in the same country are merged"
            )
        for party in (self, survivor):
            if party.proposed_by is not None:
                raise IllegalTransition(
                    f"{party.label} has a watchlist proposal waiting: decide it before merging"
                )
        if self.listed and not survivor.listed:
            raise IllegalTransition(
                f"{self.label} is on the watchlist and {survivor.label} is not: "
                "list the record that stays first (or merge the other way)"
            )
        self.trigger(
            e.MergedIntoRecord,
            actor,
            party_kind=self.party_kind,
            into_id=survivor.id,
            reason=cmd.reason,
        )
        survivor.trigger(
            e.DuplicateAbsorbed, actor, party_kind=self.party_kind, duplicate_id=self.id
        )

    # -- watchlist (maker-checker) -----------------------------------------------

    def propose_listing(self, actor: Actor, cmd: c.ProposeListing) -> None:
        self.check_not_merged("propose a listing")
        if self.watchlist is not WatchlistStatus.NOT_LISTED:
            raise IllegalTransition(
                f"{self.label} is {self.watchlist.value.replace('_', ' ')}: "
                "nothing to propose listing"
            )
        self.trigger(
            e.WatchlistListingProposed,
            actor,
            party_kind=self.party_kind,
            reason=cmd.reason,
            incident_ids=cmd.incident_ids,
        )

    def propose_delisting(self, actor: Actor, cmd: c.ProposeDelisting) -> None:
        self.check_not_merged("propose a delisting")
        if self.watchlist is not WatchlistStatus.LISTED:
            raise IllegalTransition(
                f"{self.label} is {self.watchlist.value.replace('_', ' ')}: "
                "only a listed record can be proposed for delisting"
            )
        self.trigger(
            e.WatchlistDelistingProposed, actor, party_kind=self.party_kind, reason=cmd.reason
        )

    def check_checker(self, actor: Actor) -> UUID:
        if self.proposed_by is None:
            raise IllegalTransition(f"{self.label} has no watchlist proposal waiting")
        if self.proposed_by == actor.officer_id:
            raise IllegalTransition(
                f"you proposed this change to {self.label}: a supervisor or another "
                "labour attaché must decide it"
            )
        return self.proposed_by

    def approve_watchlist_change(self, actor: Actor, cmd: c.ApproveWatchlistChange) -> None:
        proposer = self.check_checker(actor)
        event = (
            e.WatchlistListed
            if self.watchlist is WatchlistStatus.LISTING_PROPOSED
            else e.WatchlistDelisted
        )
        self.trigger(
            event,
            actor,
            party_kind=self.party_kind,
            proposed_by=proposer,
            reason=self.proposal_reason,
        )

    def reject_watchlist_change(self, actor: Actor, cmd: c.RejectWatchlistChange) -> None:
        proposer = self.check_checker(actor)
        self.trigger(
            e.WatchlistChangeRejected,
            actor,
            party_kind=self.party_kind,
            proposed_by=proposer,
            reason=cmd.reason,
        )

    def warnings(self, on: date) -> list[str]:
        """Why a contract with this record needs a written justification."""
        if self.listed:
            return [f"{self.label} is on the watchlist: {self.listing_reason}"]
        return []


class Employer(Party):
    party_kind = PartyKind.EMPLOYER

    def __init__(self, id: UUID):
        super().__init__(id)
        self.kind: EmployerKind | None = None
        self.city = ""
        self.sector = None
        self.registration_number: str | None = None

    @classmethod
    def register(cls, actor: Actor, cmd: c.RegisterEmployer) -> Employer:
        names = (
            {"company_name": cmd.name}
            if cmd.kind is EmployerKind.COMPANY
            else {"household_name": cmd.name}
        )
        return cls.start(
            cmd.employer_id,
            e.EmployerRegistered,
            actor,
            kind=cmd.kind,
            country=cmd.country,
            city=cmd.city,
            sector=cmd.sector,
            registration_number=cmd.registration_number,
            **names,
        )


class Agency(Party):
    party_kind = PartyKind.AGENCY

    def __init__(self, id: UUID):
        super().__init__(id)
        self.licence_number = ""
        self.licence_valid_from: date | None = None
        self.licence_valid_until: date | None = None
        self.licence_status = LicenceStatus.ACTIVE
        self.licence_reason = ""

    @classmethod
    def register(cls, actor: Actor, cmd: c.RegisterAgency) -> Agency:
        return cls.start(
            cmd.agency_id,
            e.AgencyRegistered,
            actor,
            agency_name=cmd.name,
            licence_number=cmd.licence_number,
            licensing_country=cmd.licensing_country,
            licence_valid_from=cmd.licence_valid_from,
            licence_valid_until=cmd.licence_valid_until,
        )

    def renew_licence(self, actor: Actor, cmd: c.RenewAgencyLicence) -> None:
        self.check_not_merged("renew the licence")
        if self.licence_status is LicenceStatus.REVOKED:
            raise IllegalTransition(
                f"the licence of {self.label} was revoked: a new licence is a new registration"
            )
        assert self.licence_valid_until is not None
        if cmd.valid_until <= self.licence_valid_until:
            raise IllegalTransition(
                f"a renewal must end after the current end date {self.licence_valid_until}"
            )
        self.trigger(e.AgencyLicenceRenewed, actor, valid_until=cmd.valid_until)

    def revoke_licence(self, actor: Actor, cmd: c.RevokeAgencyLicence) -> None:
        from domain.commands import at_noon_utc

        self.check_not_merged("revoke the licence")
        if self.licence_status is LicenceStatus.REVOKED:
            raise IllegalTransition(f"the licence of {self.label} is already revoked")
        status = LicenceStatus.SUSPENDED if cmd.suspended else LicenceStatus.REVOKED
        if status is self.licence_status:
            raise IllegalTransition(f"the licence of {self.label} is already suspended")
        self.trigger(
            e.AgencyLicenceRevoked,
            actor,
            at_noon_utc(cmd.revoked_on),
            status=status,
            reason=cmd.reason,
        )

    def reinstate_licence(self, actor: Actor, cmd: c.ReinstateAgencyLicence) -> None:
        self.check_not_merged("reinstate the licence")
        if self.licence_status is not LicenceStatus.SUSPENDED:
            raise IllegalTransition(
                f"only a suspended licence is reinstated ({self.label}: {self.licence_status})"
            )
        self.trigger(e.AgencyLicenceReinstated, actor, reason=cmd.reason)

    def licence_problem(self, on: date) -> str | None:
        if self.licence_status is not LicenceStatus.ACTIVE:
            return (
                f"the licence of {self.label} ({self.licence_number}) is "
                f"{self.licence_status.value}: {self.licence_reason}"
            )
        assert self.licence_valid_until is not None and self.licence_valid_from is not None
        if on > self.licence_valid_until:
            return (
                f"the licence of {self.label} ({self.licence_number}) expired on "
                f"{self.licence_valid_until}"
            )
        if on < self.licence_valid_from:
            return (
                f"the licence of {self.label} ({self.licence_number}) is valid only from "
                f"{self.licence_valid_from}"
            )
        return None

    def warnings(self, on: date) -> list[str]:
        problem = self.licence_problem(on)
        return super().warnings(on) + ([problem] if problem else [])


class RegistryKey(Aggregate):
    def __init__(self, id: UUID):
        super().__init__(id)
        self.party_id: UUID | None = None
