from __future__ import annotations

from uuid import UUID, uuid4

from pydantic import Field

from domain.access.vocabulary import ReviewFinding
from domain.commands import Command, Reason
from domain.fields import Instant


class GrantCaseAccess(Command):
    """Let an officer read a case's restricted records, for a reason, until a time."""

    migrant_id: UUID
    officer_id: UUID = Field(description="The officer given access")
    grant_id: UUID = Field(default_factory=uuid4)
    reason: Reason
    expires_at: Instant = Field(description="When the access ends (at most 30 days ahead)")


class TakeEmergencyAccess(Command):
    """Break-glass: read a case's restricted records now, for a few hours; it is reviewed."""

    migrant_id: UUID
    grant_id: UUID = Field(default_factory=uuid4)
    reason: Reason


class RevokeCaseAccess(Command):
    """End a grant or a break-glass access before it expires."""

    grant_id: UUID
    reason: Reason


class ReviewEmergencyAccess(Command):
    """Review a break-glass access: was it justified?"""

    grant_id: UUID
    finding: ReviewFinding
    notes: Reason
