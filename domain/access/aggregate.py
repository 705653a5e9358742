"""One grant or one break-glass access to one case for one officer."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain.access import commands as c
from domain.access import events as e
from domain.access.vocabulary import BREAK_GLASS_DURATION, GRANT_MAX, AccessKind
from domain.errors import IllegalTransition
from domain.model import Actor, Aggregate, recording_time
from domain.values import Role, utcnow

# Who reviews a break-glass: one of each.
REVIEWERS = (Role.SUPERVISOR, Role.AUDITOR)


def now() -> datetime:
    return recording_time.get() or utcnow()


class CaseAccess(Aggregate):
    def __init__(self, id: UUID):
        super().__init__(id)
        self.kind: AccessKind = AccessKind.GRANT
        self.migrant_id: UUID | None = None
        self.officer_id: UUID | None = None
        self.expires_at: datetime | None = None
        self.revoked_at: datetime | None = None
        self.reviews: dict[str, str] = {}  # reviewer role -> finding

    def begin(self, kind: AccessKind, migrant_id: UUID, officer_id: UUID, expires_at) -> None:
        self.kind, self.migrant_id, self.officer_id = kind, migrant_id, officer_id
        self.expires_at = expires_at

    @classmethod
    def grant(cls, actor: Actor, cmd: c.GrantCaseAccess) -> CaseAccess:
        if cmd.officer_id == actor.officer_id:
            # Need-to-know is decided by someone other than the reader.
            raise IllegalTransition(
                "officer_id: a supervisor cannot grant access to themself; ask another supervisor"
            )
        moment = now()
        if cmd.expires_at <= moment:
            raise IllegalTransition("expires_at: must be in the future")
        if cmd.expires_at > moment + GRANT_MAX:
            raise IllegalTransition(
                f"expires_at: at most {GRANT_MAX.days} days ahead; grant again for longer"
            )
        return cls.start(
            cmd.grant_id,
            e.AccessGranted,
            actor,
            migrant_id=cmd.migrant_id,
            officer_id=cmd.officer_id,
            reason=cmd.reason,
            expires_at=cmd.expires_at,
        )

    @classmethod
    def break_glass(cls, actor: Actor, cmd: c.TakeEmergencyAccess) -> CaseAccess:
        return cls.start(
            cmd.grant_id,
            e.EmergencyAccessTaken,
            actor,
            migrant_id=cmd.migrant_id,
            reason=cmd.reason,
            expires_at=now() + BREAK_GLASS_DURATION,
        )

    def is_active(self, at: datetime) -> bool:
        assert self.expires_at is not None
        return self.revoked_at is None and at < self.expires_at

    def revoke(self, actor: Actor, cmd: c.RevokeCaseAccess) -> None:
        if self.revoked_at is not None:
            raise IllegalTransition("the access was already revoked")
        if not self.is_active(now()):
            raise IllegalTransition("the access has already expired")
        self.trigger(e.AccessRevoked, actor, reason=cmd.reason)

    def review(self, actor: Actor, cmd: c.ReviewEmergencyAccess) -> None:
        if self.kind is not AccessKind.BREAK_GLASS:
            raise IllegalTransition("only a break-glass access is reviewed; this is a grant")
        if actor.officer_id == self.officer_id:
            raise IllegalTransition("an officer cannot review their own break-glass access")
        if actor.role.value in self.reviews:
            raise IllegalTransition(
                f"this break-glass was already reviewed by {actor.role.with_article}"
            )
        self.trigger(e.EmergencyAccessReviewed, actor, finding=cmd.finding, notes=cmd.notes)
