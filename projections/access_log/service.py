"""The access log for those who oversee: who viewed a case, what an officer
viewed between two dates, which break-glass uses wait for review, and the
chain's verification. Roles are checked here (domain/officers/access.py),
and every question asked of the log is itself logged.

Break-glass has one source of truth: its events (domain/access:
EmergencyAccessTaken, EmergencyAccessReviewed), read through the
`rm_case_access` read model. Taking and reviewing one go through this
service, which saves the event (AccessService) and writes the matching
access-log entry ("break_glass", "break_glass_reviewed") at once, so the log
tells who took and who reviewed it while "which uses are not yet reviewed"
is answered from the events alone - the same answer in the CLI (`access
break-glass`, `case access --to-review`) and the TUI (F4), whichever of them
the review was made in.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.access import commands as ac
from domain.access.aggregate import REVIEWERS, CaseAccess
from domain.access.service import AccessService
from domain.authz import Authoriser
from domain.errors import InvalidCommand
from domain.ids import officer_id
from domain.model import Actor
from domain.officers import access
from domain.values import Role
from projections.access_log.chain import Verification, verify
from projections.access_log.recorder import AccessRecorder
from projections.access_log.store import AccessLogStore, LogFilter


class AccessLogService:
    def __init__(
        self,
        store: AccessLogStore,
        recorder: AccessRecorder,
        authz: Authoriser,
        access_service: AccessService | None = None,
        queries: Any = None,
    ):
        """`access_service` and `queries` (the read models' Queries) serve
        break-glass; without them only the log itself is read."""
        self.store = store
        self.recorder = recorder
        self._authz = authz
        self._access = access_service
        self._queries = queries

    def record_read(
        self,
        username: str,
        actor: Actor,
        action: str,
        *,
        interface: str,
        connection: str = "terminal",
        **about: Any,
    ) -> None:
        """Note one read (buffered). A read of a case or an incident that the
        officer may make only through a grant or a break-glass is also noted
        as a grant use (issue 14 item 4): who used which access, and when.
        Which it was is asked when the batch is written (grant_uses.py), not
        here: the read waits on no query for its log."""
        kind = about.get("subject_kind")
        self.recorder.record(
            username,
            actor,
            action,
            interface=interface,
            connection=connection,
            check_grant_use=kind in ("case", "incident") and about.get("subject_id") is not None,
            **about,
        )

    def _asked(self, username: str, actor: Actor, what: str, interface: str, **subject) -> None:
        self._authz.require(actor, "read the access log", *access.LOG_READERS)
        self.recorder.record(
            username, actor, access.ACCESS_LOG_QUERY, detail=what, interface=interface, **subject
        )
        # The answer must include what other processes flushed and what this
        # one still holds: write our own tail first.
        self.recorder.flush()

    def who_viewed(
        self,
        username: str,
        actor: Actor,
        subject_id: str,
        *,
        interface: str = "cli",
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """Every entry about one record (a case, an incident), newest first."""
        self._asked(
            username, actor, "who viewed", interface, subject_kind="case", subject_id=subject_id
        )
        return self.store.entries(LogFilter(subject_id=subject_id), limit)

    def viewed_by(
        self,
        username: str,
        actor: Actor,
        officer: str,
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        interface: str = "cli",
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """What one officer (by username) did in the log between two times."""
        if since is not None and until is not None and since > until:
            raise InvalidCommand([("since", "must not be after until")])
        officer = officer.strip().lower()
        self._asked(username, actor, f"viewed by {officer}", interface)
        wanted = LogFilter(officer_id=str(officer_id(officer)), since=since, until=until)
        return self.store.entries(wanted, limit)

    # --- break-glass: the events are the truth, the log the trace --------------

    def take_break_glass(
        self,
        username: str,
        actor: Actor,
        command: ac.TakeEmergencyAccess,
        *,
        interface: str = "cli",
        connection: str = "terminal",
    ) -> UUID:
        """Emergency access (AccessService.break_glass), and its entry in the
        log: the case, the reason, the access's id; written before returning."""
        assert self._access is not None, "built without the access service"
        grant_id = self._access.break_glass(actor, command)
        self.recorder.record(
            username,
            actor,
            access.BREAK_GLASS,
            subject_kind="case",
            subject_id=command.migrant_id,
            reason=command.reason,
            detail=f"access {grant_id}",
            interface=interface,
            connection=connection,
        )
        self.recorder.flush()
        return grant_id

    def review_break_glass(
        self,
        username: str,
        actor: Actor,
        command: ac.ReviewEmergencyAccess,
        *,
        interface: str = "cli",
        connection: str = "terminal",
    ) -> CaseAccess:
        """A supervisor's or an auditor's review (AccessService.review: one of
        each, never one's own), and its entry in the log."""
        assert self._access is not None, "built without the access service"
        reviewed = self._access.review(actor, command)
        self.recorder.record(
            username,
            actor,
            access.BREAK_GLASS_REVIEWED,
            subject_kind=access.REVIEWED_ACCESS,
            subject_id=command.grant_id,
            reason=command.notes,
            detail=f"{command.finding.value} (case {reviewed.migrant_id})",
            interface=interface,
            connection=connection,
        )
        self.recorder.flush()
        return reviewed

    def unreviewed_break_glass(
        self, username: str, actor: Actor, *, interface: str = "cli", limit: int = 500
    ) -> list[dict[str, Any]]:
        """Break-glass uses waiting for a review, oldest first, from the events
        (rm_case_access): a supervisor or an auditor is shown those their role
        has not reviewed yet; the data protection officer every one that is
        not reviewed by both."""
        self._asked(username, actor, "break-glass not reviewed", interface)
        assert self._queries is not None, "built without the read models"
        roles = [actor.role] if actor.role in REVIEWERS else list(REVIEWERS)
        rows = {
            row.grant_id: row
            for role in roles
            for row in self._queries.break_glass_to_review(role.value, limit)
        }
        names = {o.officer_id: o.username for o in self._queries.officers()}
        listed = sorted(rows.values(), key=lambda r: (r.given_at, r.grant_id))[:limit]
        return [_waiting(row, names, self._queries) for row in listed]

    def verify(self, username: str, actor: Actor, *, interface: str = "cli") -> Verification:
        """Recompute the chain over every stored entry."""
        self._asked(username, actor, "verify the chain", interface)
        return verify(self.store.chain_rows())


def _waiting(row: Any, names: dict[str, str], queries: Any) -> dict[str, Any]:
    case = queries.get_case(row.migrant_id)
    reviews = {Role.SUPERVISOR: row.supervisor_review, Role.AUDITOR: row.auditor_review}
    return asdict(row) | {
        "username": names.get(row.officer_id, row.officer_id),
        "case_number": case.case_number if case else None,
        "waiting_for": [role.value for role, done in reviews.items() if done is None],
    }
