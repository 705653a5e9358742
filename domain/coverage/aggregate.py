"""Coverage of a contract, and the agreements table (one aggregate)."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid5

from domain.cases.aggregate import Migrant
from domain.coverage import commands as c
from domain.coverage import events as e
from domain.coverage.vocabulary import AgreementKind
from domain.errors import IllegalTransition, NotFound
from domain.ids import MSAFIRI_NAMESPACE
from domain.model import Actor, Aggregate

AGREEMENT_TABLE_ID = uuid5(MSAFIRI_NAMESPACE, "agreements")


def coverage_id(migrant_id: UUID, cycle: int) -> UUID:
    """One coverage record per migrant and migration cycle (its contract)."""
    return uuid5(MSAFIRI_NAMESPACE, f"coverage:{migrant_id}:{cycle}")


class Coverage(Aggregate):
    def __init__(self, id: UUID):
        super().__init__(id)
        self.migrant_id: UUID | None = None
        self.insured_until: date | None = None
        self.registered = False

    @classmethod
    def check_contract(cls, migrant: Migrant) -> str:
        if migrant.contract is None:
            raise IllegalTransition(
                f"{migrant.case_number} has no contract: coverage is recorded per contract"
            )
        return migrant.contract.destination_country

    def record_insurance(self, actor: Actor, migrant: Migrant, cmd: c.RecordInsurance) -> None:
        destination = self.check_contract(migrant)
        self.trigger(
            e.InsuranceRecorded,
            actor,
            migrant_id=migrant.id,
            cycle=migrant.cycle,
            destination=destination,
            insurer=cmd.insurer,
            policy_number=cmd.policy_number,
            valid_from=cmd.valid_from,
            valid_until=cmd.valid_until,
        )

    def record_registration(
        self, actor: Actor, migrant: Migrant, cmd: c.RecordSocialSecurityRegistration
    ) -> None:
        destination = self.check_contract(migrant)
        if self.registered:
            raise IllegalTransition(
                f"{migrant.case_number} is already registered with social security "
                "under this contract"
            )
        self.trigger(
            e.SocialSecurityRegistrationRecorded,
            actor,
            migrant_id=migrant.id,
            cycle=migrant.cycle,
            destination=destination,
            scheme=cmd.scheme,
            social_security_number=cmd.social_security_number,
            registered_on=cmd.registered_on,
        )


class AgreementTable(Aggregate):
    """The BLA / SSA reference table: (country, kind) -> title."""

    def __init__(self, id: UUID):
        super().__init__(id)
        self.rows: dict[tuple[str, AgreementKind], str] = {}

    def set(self, actor: Actor, cmd: c.SetAgreement) -> None:
        self.trigger(
            e.AgreementSet,
            actor,
            country=cmd.country,
            kind=cmd.kind,
            title=cmd.title,
            in_force_from=cmd.in_force_from,
            in_force_until=cmd.in_force_until,
        )

    def remove(self, actor: Actor, cmd: c.RemoveAgreement) -> None:
        if (cmd.country, cmd.kind) not in self.rows:
            raise NotFound(f"no {cmd.kind.value.upper()} with {cmd.country} in the table")
        self.trigger(
            e.AgreementRemoved, actor, country=cmd.country, kind=cmd.kind, reason=cmd.reason
        )
