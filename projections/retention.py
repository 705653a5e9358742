"""Retention: the cases closed longer ago than the retention period
(MSAFIRI_RETENTION_YEARS, default 7), for a data-protection officer to
review and erase (`msafiri case erase`). Nothing here erases anything: the
list proposes, an officer decides (docs/privacy.md, "Retention").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from domain.authz import Authoriser
from domain.model import Actor
from domain.values import Role
from projections.db import ReadModelDb

REVIEWERS = (Role.DATA_PROTECTION_OFFICER,)
ERASE_REASON = "retention period ended"


@dataclass(frozen=True)
class RetentionDue:
    migrant_id: str
    case_number: str
    closed_at: str  # ISO 8601 UTC, as in the read models
    retention_ended_on: date

    @property
    def erase_command(self) -> str:
        return f'msafiri case erase {self.case_number} --reason "{ERASE_REASON}"'


def years_before(day: date, years: int) -> date:
    """The same day `years` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def years_after(day: date, years: int) -> date:
    return years_before(day, -years)


class RetentionReview:
    def __init__(self, db: ReadModelDb, authz: Authoriser, years: int):
        self._db = db
        self._authz = authz
        self.years = years

    def due(self, actor: Actor, today: date | None = None) -> list[RetentionDue]:
        """Closed cases whose retention period ended on or before `today`,
        the longest-closed first, leaving out those already erased (an
        erasure approved but interrupted is finished with `case erase
        --reapply`, not proposed again). Only a data-protection officer may ask."""
        self._authz.require(actor, "list cases past their retention period", *REVIEWERS)
        today = today or datetime.now(UTC).date()
        # Closed on or before this day, the period ran out by today: so
        # closed before the start of the next day.
        next_day = years_before(today, self.years) + timedelta(days=1)
        rows = self._db.fetchall(
            "SELECT migrant_id, case_number, closed_at FROM rm_cases "
            "WHERE stage = 'closed' AND closed_at < ? AND erased_at IS NULL "
            "ORDER BY closed_at, migrant_id",
            (f"{next_day.isoformat()}T00:00:00.000000Z",),
        )
        return [
            RetentionDue(
                migrant_id=migrant_id,
                case_number=case_number,
                closed_at=closed_at,
                retention_ended_on=years_after(date.fromisoformat(closed_at[:10]), self.years),
            )
            for migrant_id, case_number, closed_at in rows
        ]
