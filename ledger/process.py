"""The fund process: the link between cases and the fund.

It follows the one notification log and reacts:
- an attaché's `AssistanceRequested` (with an estimate) becomes a pending
  disbursement request, made on the attaché's behalf;
- a disbursement paid, rejected or expired is written back on the incident,
  so the case shows what the fund did.

Each reaction is stored with the process's tracking position in the same
transaction (the event store's process recorder), so after a crash it resumes
exactly where it stopped and never reacts twice. Commands are also keyed on
ids derived from the events they answer, so even a second runner racing on
the same event loses cleanly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from uuid import UUID, uuid5

from eventsourcing.persistence import Tracking
from eventsourcing.utils import get_topic

from domain.errors import ConcurrentUpdate, InvalidCommand, MsafiriError, NotFound
from domain.ids import SYSTEM_ACTOR_ID
from domain.incidents.events import AssistanceRequested
from domain.model import Actor
from domain.persistence import EventStore
from domain.values import Role, utcnow
from ledger import commands as c
from ledger import events as e
from ledger.errors import LedgerRefusal
from ledger.service import LedgerService
from ledger.vocabulary import BENEFIT_FOR_ASSISTANCE

log = logging.getLogger(__name__)

SYSTEM = Actor(officer_id=SYSTEM_ACTOR_ID, role=Role.SYSTEM)
UPSTREAM = EventStore.name  # the process follows its own application's log

FOLLOWED = (
    AssistanceRequested,
    e.DisbursementPaid,
    e.DisbursementRejected,
    e.DisbursementExpired,
)
FOLLOWED_TOPICS = tuple(get_topic(cls) for cls in FOLLOWED)


class FundProcess:
    def __init__(self, store: EventStore, ledger: LedgerService, page_size: int = 500):
        self._store = store
        self._ledger = ledger
        self._page_size = page_size

    def position(self) -> int:
        return self._store.recorder.max_tracking_id(UPSTREAM) or 0

    def lag(self) -> int:
        """Followed events not yet reacted to."""
        position = self.position()
        pending = self._store.recorder.select_notifications(
            start=position + 1, limit=100_000, topics=FOLLOWED_TOPICS
        )
        return len(pending)

    def run_once(self) -> int:
        """React to every followed event after the position; return how many."""
        handled = 0
        while True:
            position = self.position()
            page = self._store.recorder.select_notifications(
                start=position + 1, limit=self._page_size, topics=FOLLOWED_TOPICS
            )
            if not page:
                return handled
            for notification in page:
                event = self._store.mapper.to_domain_event(notification)
                tracking = Tracking(notification_id=notification.id, application_name=UPSTREAM)
                try:
                    self.react(event, tracking)
                except ConcurrentUpdate:
                    # Another runner took this event (or the incident moved):
                    # start again from the stored position.
                    break
                handled += 1

    def expire_overdue(self, now=None, among: Iterable[UUID] | None = None) -> int:
        """Lapse every open request or approval past its expiry date. The
        command id is derived from the disbursement, so two sweeps racing
        expire it once. `among`: only these disbursements are looked at,
        for a caller that knows which may be overdue (the demo, whose
        sweeps would otherwise load every open request each time)."""
        now = now or utcnow()
        expired = 0
        if among is not None:
            open_ids = set(among)
        else:
            try:
                book = self._ledger.book()
            except NotFound:  # no fund opened yet (`fund_exists` first replays the book twice)
                return 0
            open_ids = book.open_requests()
        for disbursement_id in sorted(open_ids):
            d = self._ledger.disbursement(disbursement_id)
            if not d.is_open or d.expires_at is None or d.expires_at > now:
                continue
            command = c.ExpireDisbursement(
                command_id=uuid5(disbursement_id, f"expire:{d.payments}"),
                disbursement_id=disbursement_id,
            )
            try:
                self._ledger.expire(SYSTEM, command, now=now)
                expired += 1
            except LedgerRefusal:
                continue
        return expired

    def react(self, event: object, tracking: Tracking) -> None:
        if isinstance(event, AssistanceRequested):
            self._request(event, tracking)
        elif isinstance(event, e.DisbursementPaid | e.DisbursementRejected | e.DisbursementExpired):
            self._write_back(event, tracking)
        else:  # pragma: no cover - only followed topics are selected
            self._store.save_all(tracking=tracking)

    def _request(self, event: AssistanceRequested, tracking: Tracking) -> None:
        category = BENEFIT_FOR_ASSISTANCE.get(event.kind)
        if event.estimate is None or event.estimate.amount_minor == 0 or category is None:
            self._store.save_all(tracking=tracking)  # nothing for the fund to pay
            return
        try:
            command = c.RequestDisbursement.parse(
                {
                    "command_id": event.request_id,
                    "migrant_id": event.migrant_id,
                    "incident_id": event.originator_id,
                    "category": category,
                    "amount": event.estimate,
                    "payee": event.payee or "the migrant",
                    "justification": event.justification,
                }
            )
        except InvalidCommand as error:
            # A request the fund cannot take as it stands: say so on the
            # incident instead of stopping every later payment.
            self._decline(event, tracking, f"the fund cannot take this request: {error}")
            return
        requester = Actor(officer_id=event.actor_id, role=event.actor_role)
        try:
            self._ledger.request_disbursement(SYSTEM, command, requester, tracking=tracking)
        except LedgerRefusal as refusal:
            self._decline(event, tracking, str(refusal))
        except ConcurrentUpdate:
            raise  # the caller starts again from the stored position
        except MsafiriError as error:
            # Not the fund's rule but a broken link (e.g. the case is gone):
            # record it on the incident rather than stop every later payment.
            log.warning("assistance request %s not forwarded: %s", event.request_id, error)
            self._decline(event, tracking, str(error))

    def _decline(self, event: AssistanceRequested, tracking: Tracking, reason: str) -> None:
        incident = self._store.get(event.originator_id, "incident")
        incident.record_declined(SYSTEM, event.request_id, "refused", reason)
        self._store.save_all(incident, tracking=tracking)

    def _write_back(self, event: object, tracking: Tracking) -> None:
        disbursement = self._ledger.disbursement(event.originator_id)  # type: ignore[attr-defined]
        if not disbursement.assistance_request or disbursement.incident_id is None:
            self._store.save_all(tracking=tracking)
            return
        incident = self._store.get(disbursement.incident_id, "incident")
        request_id: UUID = disbursement.id
        if isinstance(event, e.DisbursementPaid):
            incident.record_payment(SYSTEM, request_id, event.amount, event.payment_reference)
        else:
            outcome = "rejected" if isinstance(event, e.DisbursementRejected) else "expired"
            incident.record_declined(SYSTEM, request_id, outcome, event.reason)  # type: ignore[attr-defined]
        self._store.save_all(incident, tracking=tracking)
