"""Grants, break-glass and their reviews: every change of who may read a
case's restricted records is an event (nothing is updated in place)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.access.vocabulary import AccessKind, ReviewFinding
from domain.model import DomainEvent
from domain.values import UtcDatetime

if TYPE_CHECKING:
    from domain.access.aggregate import CaseAccess


class AccessGranted(DomainEvent):
    """A supervisor (the actor) let `officer_id` read one case's restricted
    records until `expires_at`, for `reason`."""

    migrant_id: UUID
    officer_id: UUID
    reason: str
    expires_at: UtcDatetime

    def new_aggregate(self) -> Any:
        from domain.access.aggregate import CaseAccess

        return CaseAccess(self.originator_id)

    def apply(self, access: CaseAccess) -> None:
        access.begin(AccessKind.GRANT, self.migrant_id, self.officer_id, self.expires_at)


class EmergencyAccessTaken(DomainEvent):
    """Break-glass: the actor gave themself access at once, for a few hours,
    with a written reason; a supervisor and an auditor review it."""

    migrant_id: UUID
    reason: str
    expires_at: UtcDatetime

    def new_aggregate(self) -> Any:
        from domain.access.aggregate import CaseAccess

        return CaseAccess(self.originator_id)

    def apply(self, access: CaseAccess) -> None:
        access.begin(AccessKind.BREAK_GLASS, self.migrant_id, self.actor_id, self.expires_at)


class AccessRevoked(DomainEvent):
    """A supervisor ended a grant or a break-glass access before it expired."""

    reason: str

    def apply(self, access: CaseAccess) -> None:
        access.revoked_at = self.timestamp


class EmergencyAccessReviewed(DomainEvent):
    """A supervisor or an auditor (the actor's role) reviewed a break-glass."""

    finding: ReviewFinding
    notes: str

    def apply(self, access: CaseAccess) -> None:
        access.reviews[self.actor_role.value] = self.finding
