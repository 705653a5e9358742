from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from domain.coverage.vocabulary import AgreementKind
from domain.model import DomainEvent
from domain.values import CountryCode

if TYPE_CHECKING:
    from domain.coverage.aggregate import AgreementTable, Coverage


def _new_coverage(event: DomainEvent) -> Any:
    from domain.coverage.aggregate import Coverage

    return Coverage(event.originator_id)


class InsuranceRecorded(DomainEvent):
    """Insurance of one migrant's contract (one migration cycle). The policy
    number is personal: sealed under the coverage's data key, pseudonymised
    on NATS."""

    personal: ClassVar[tuple[str, ...]] = ("policy_number",)
    data_subject_field: ClassVar[str | None] = "migrant_id"

    migrant_id: UUID
    cycle: int
    destination: CountryCode

    insurer: str
    policy_number: str
    valid_from: date
    valid_until: date

    def new_aggregate(self) -> Any:
        return _new_coverage(self)

    def apply(self, coverage: Coverage) -> None:
        coverage.migrant_id = self.migrant_id
        coverage.insured_until = self.valid_until


class SocialSecurityRegistrationRecorded(DomainEvent):
    personal: ClassVar[tuple[str, ...]] = ("social_security_number",)
    data_subject_field: ClassVar[str | None] = "migrant_id"

    migrant_id: UUID
    cycle: int
    destination: CountryCode

    scheme: str
    social_security_number: str
    registered_on: date

    def new_aggregate(self) -> Any:
        return _new_coverage(self)

    def apply(self, coverage: Coverage) -> None:
        coverage.migrant_id = self.migrant_id
        coverage.registered = True


class AgreementSet(DomainEvent):
    """A row of the agreements table (public information, no personal data)."""

    country: CountryCode
    kind: AgreementKind
    title: str
    in_force_from: date
    in_force_until: date | None

    def new_aggregate(self) -> Any:
        from domain.coverage.aggregate import AgreementTable

        return AgreementTable(self.originator_id)

    def apply(self, table: AgreementTable) -> None:
        table.rows[(self.country, self.kind)] = self.title


class AgreementRemoved(DomainEvent):
    country: CountryCode
    kind: AgreementKind
    reason: str

    def apply(self, table: AgreementTable) -> None:
        table.rows.pop((self.country, self.kind), None)
