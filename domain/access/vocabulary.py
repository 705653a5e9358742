from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class AccessKind(StrEnum):
    GRANT = "grant"  # given by a supervisor for a stated reason and time
    BREAK_GLASS = "break_glass"  # taken by an officer in an emergency, reviewed after


class ReviewFinding(StrEnum):
    JUSTIFIED = "justified"
    NOT_JUSTIFIED = "not_justified"


# A grant is for a piece of work, not a standing permission: a longer need is
# granted again (and so seen again by a supervisor).
GRANT_MAX = timedelta(days=30)
# Break-glass is for the emergency at hand: a few hours, then a grant is asked for.
BREAK_GLASS_DURATION = timedelta(hours=4)
