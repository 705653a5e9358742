"""Whose events partner agencies may receive: a migrant who withdrew consent
to partner sharing (domain/cases/consent.py) has none of their events
published from then on.

The publisher asks `withheld(...)` for every event it is about to send. An
event is withheld when its person's partner sharing is withdrawn at the
event's place in the log *or* now (at the log's head, as last scanned): so
events recorded before a withdrawal but not yet published when it came are
withheld too, and a consent given again does not release what was recorded
while it was withdrawn.

Whose an event is:
- a case event: the case's (its aggregate is the migrant);
- an event with a `migrant_id` (an incident reported, a disbursement
  requested): that migrant's;
- any other event of an aggregate whose first event names a migrant (the
  rest of an incident's or a disbursement's life): that migrant's;
- a contribution batch names many members: only the withdrawn members'
  lines are left out of it.

An erased person (`PersonalDataErased`, docs/encryption.md) is treated as
a withdrawal that is never given back: from the erasure on, nothing about
them is published, not even the erasure itself, nor anything recorded
before it and not yet published.

Withheld events are skipped and counted (`Progress.withheld`), not replaced
by a placeholder: a placeholder would still say when something happened to
someone. docs/nats.md, "Consent".
"""

from __future__ import annotations

import bisect
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.cases.consent import CONSENT_EVENTS, ConsentScope, ConsentWithdrawn
from domain.cases.events import PersonalDataErased

CASES_MODULE = "domain.cases."
ERASED_TOPIC = get_topic(PersonalDataErased)
WATCHED_TOPICS = (*(get_topic(cls) for cls in CONSENT_EVENTS), ERASED_TOPIC)
SCAN_PAGE = 1000


class PartnerSharing:
    def __init__(self, store: Any):
        self.store = store
        # migrant -> [(log position, withdrawn?)], in log order.
        self.changes: dict[UUID, list[tuple[int, bool]]] = {}
        # People whose personal data was erased: withheld for good.
        self.erased: set[UUID] = set()
        # Aggregate id -> the migrant its first event names (None: nobody).
        self._owners: dict[UUID, UUID | None] = {}
        self.scanned = 0

    # -- following the consents ------------------------------------------------------

    def refresh(self) -> None:
        """Read the partner-sharing consents recorded since the last scan, up
        to the log's head (called before each page is built)."""
        recorder = self.store.recorder
        head = recorder.max_notification_id() or 0
        while self.scanned < head:
            found = recorder.select_notifications(
                start=self.scanned + 1, limit=SCAN_PAGE, stop=head, topics=WATCHED_TOPICS
            )
            for notification in found:
                if notification.topic == ERASED_TOPIC:  # an erasure
                    migrant = UUID(str(notification.originator_id))
                    self.erased.add(migrant)
                    self.changes.setdefault(migrant, []).append((notification.id, True))
                    continue
                event_class, state = self.store.mapper.to_state(notification)
                if state.get("scope") != ConsentScope.PARTNER_SHARING.value:
                    continue
                migrant = UUID(str(state["originator_id"]))
                withdrawn = event_class is ConsentWithdrawn
                self.changes.setdefault(migrant, []).append((notification.id, withdrawn))
            if len(found) < SCAN_PAGE:
                self.scanned = head
            else:
                self.scanned = found[-1].id

    def withdrawn(self, migrant: UUID, position: int) -> bool:
        if migrant in self.erased:
            return True
        changes = self.changes.get(migrant)
        if not changes:
            return False
        if changes[-1][1]:
            return True  # withdrawn now
        at = bisect.bisect_right(changes, (position, True)) - 1
        return at >= 0 and changes[at][1]

    # -- deciding one event ---------------------------------------------------------

    def withheld(self, event_class: type, state: dict[str, Any], position: int) -> bool:
        """True when the event must not be published; may also drop withdrawn
        members' lines from a batch event's state (in place)."""
        if not self.changes:
            return False  # nobody ever withdrew: the common, free case
        owner = self.owner(event_class, state)
        if owner is not None:
            return self.withdrawn(owner, position)
        lines = state.get("contributions")
        if lines:
            state["contributions"] = [
                line
                for line in lines
                if not self.withdrawn(UUID(str(line["migrant_id"])), position)
            ]
        return False

    def owner(self, event_class: type, state: dict[str, Any]) -> UUID | None:
        aggregate_id = UUID(str(state["originator_id"]))
        if event_class.__module__.startswith(CASES_MODULE):
            return aggregate_id
        if state.get("migrant_id"):
            return UUID(str(state["migrant_id"]))
        if aggregate_id not in self._owners:
            self._owners[aggregate_id] = self._first_event_owner(aggregate_id)
        return self._owners[aggregate_id]

    def _first_event_owner(self, aggregate_id: UUID) -> UUID | None:
        first = self.store.recorder.select_events(aggregate_id, lte=1)
        if not first:
            return None
        _, state = self.store.mapper.to_state(first[0])
        migrant = state.get("migrant_id")
        return UUID(str(migrant)) if migrant else None
