"""What happens to an employer or a recruitment agency, in the past tense.

Names: a company's or an agency's name is public-register data and is
published (`company_name`, `agency_name`); a household's name is a private
person's and is not (`household_name` is in integration/payloads.py's
DROPPED). The name-index aggregate's id is a hash of the name, so its
events are never published either (UNPUBLISHED there).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.cases.vocabulary import Sector
from domain.employers.vocabulary import EmployerKind, LicenceStatus, PartyKind, WatchlistStatus
from domain.model import DomainEvent
from domain.values import CountryCode

if TYPE_CHECKING:
    from domain.employers.aggregate import Agency, Employer, Party, RegistryKey


class EmployerRegistered(DomainEvent):
    """An employer entered the registry. Exactly one of company_name and
    household_name is set, by `kind`."""

    kind: EmployerKind
    company_name: str | None = None
    household_name: str | None = None
    country: CountryCode
    city: str
    sector: Sector
    registration_number: str | None = None

    def new_aggregate(self) -> Any:
        from domain.employers.aggregate import Employer

        return Employer(self.originator_id)

    def apply(self, employer: Employer) -> None:
        employer.name = self.company_name or self.household_name or ""
        employer.kind = self.kind
        employer.country = self.country
        employer.city = self.city
        employer.sector = self.sector
        employer.registration_number = self.registration_number


class AgencyRegistered(DomainEvent):
    agency_name: str
    licence_number: str
    licensing_country: CountryCode
    licence_valid_from: date
    licence_valid_until: date

    def new_aggregate(self) -> Any:
        from domain.employers.aggregate import Agency

        return Agency(self.originator_id)

    def apply(self, agency: Agency) -> None:
        agency.name = self.agency_name
        agency.country = self.licensing_country
        agency.licence_number = self.licence_number
        agency.licence_valid_from = self.licence_valid_from
        agency.licence_valid_until = self.licence_valid_until
        agency.licence_status = LicenceStatus.ACTIVE


class AgencyLicenceRenewed(DomainEvent):
    valid_until: date

    def apply(self, agency: Agency) -> None:
        agency.licence_valid_until = self.valid_until
        agency.licence_status = LicenceStatus.ACTIVE
        agency.licence_reason = ""


class AgencyLicenceRevoked(DomainEvent):
    """The licensing authority revoked or suspended the licence (`status`)."""

    status: LicenceStatus
    reason: str

    def apply(self, agency: Agency) -> None:
        agency.licence_status = self.status
        agency.licence_reason = self.reason


class AgencyLicenceReinstated(DomainEvent):
    reason: str

    def apply(self, agency: Agency) -> None:
        agency.licence_status = LicenceStatus.ACTIVE
        agency.licence_reason = ""


class MergedIntoRecord(DomainEvent):
    """This record was a duplicate of `into_id`; its id keeps resolving to it."""

    party_kind: PartyKind
    into_id: UUID
    reason: str

    def apply(self, party: Party) -> None:
        party.merged_into = self.into_id


class DuplicateAbsorbed(DomainEvent):
    """The record that stays took in the duplicate `duplicate_id`."""

    party_kind: PartyKind
    duplicate_id: UUID

    def apply(self, party: Party) -> None:
        party.absorbed.append(self.duplicate_id)


class WatchlistListingProposed(DomainEvent):
    """An attaché proposed listing (the maker); the reason is published
    only as the incidents' ids and the record's status, not the words."""

    party_kind: PartyKind
    reason: str
    incident_ids: tuple[UUID, ...]

    def apply(self, party: Party) -> None:
        party.watchlist = WatchlistStatus.LISTING_PROPOSED
        party.proposed_by = self.actor_id
        party.proposal_reason = self.reason


class WatchlistDelistingProposed(DomainEvent):
    party_kind: PartyKind
    reason: str

    def apply(self, party: Party) -> None:
        party.watchlist = WatchlistStatus.DELISTING_PROPOSED
        party.proposed_by = self.actor_id
        party.proposal_reason = self.reason


class WatchlistListed(DomainEvent):
    """A second officer approved the listing: the record is on the watchlist."""

    party_kind: PartyKind
    proposed_by: UUID
    reason: str

    def apply(self, party: Party) -> None:
        party.watchlist = WatchlistStatus.LISTED
        party.listing_reason = self.reason
        party.proposed_by = None
        party.proposal_reason = ""


class WatchlistDelisted(DomainEvent):
    party_kind: PartyKind
    proposed_by: UUID
    reason: str

    def apply(self, party: Party) -> None:
        party.watchlist = WatchlistStatus.NOT_LISTED
        party.listing_reason = ""
        party.proposed_by = None
        party.proposal_reason = ""


class WatchlistChangeRejected(DomainEvent):
    party_kind: PartyKind
    proposed_by: UUID
    reason: str

    def apply(self, party: Party) -> None:
        was_delisting = party.watchlist is WatchlistStatus.DELISTING_PROPOSED
        party.watchlist = WatchlistStatus.LISTED if was_delisting else WatchlistStatus.NOT_LISTED
        party.proposed_by = None
        party.proposal_reason = ""


class RegistryKeyClaimed(DomainEvent):
    """Index: one record per name (per country and city) and per
    registration or licence number. Never published (its id hashes the name)."""

    party_id: UUID
    what: str

    def new_aggregate(self) -> Any:
        from domain.employers.aggregate import RegistryKey

        return RegistryKey(self.originator_id)

    def apply(self, index: RegistryKey) -> None:
        index.party_id = self.party_id
