"""The history of corrections: every reversal and amendment, with what it
corrected and why. Nothing in Msafiri is edited; a mistake is answered by a
new event that points at what it corrects."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.cases.events import RegistrationCorrected
from domain.persistence import EventStore
from ledger.export import decimal_text, journal


def corrections(store: EventStore, book_id: UUID | None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    topic = get_topic(RegistrationCorrected)
    start = 1
    while True:
        page = store.recorder.select_notifications(start=start, limit=2000, topics=[topic])
        if not page:
            break
        for notification in page:
            event = store.mapper.to_domain_event(notification)
            found.append(
                {
                    "position": notification.id,
                    "kind": "registration corrected",
                    "record": str(event.originator_id),
                    "corrected": event.corrections,
                    "why": event.reason,
                    "by": str(event.actor_id),
                    "role": event.actor_role.value,
                    "recorded_at": event.timestamp.isoformat(),
                }
            )
        start = page[-1].id + 1
    if book_id is not None and store.exists(book_id):
        _, entries = journal(store, book_id)
        posted = {entry.transfer_id: entry for entry in entries if entry.status == "posted"}
        for entry in entries:
            if entry.reverses is None:
                continue
            original = posted.get(entry.reverses)
            found.append(
                {
                    "event_id": entry.event_id,
                    "kind": "transfer reversed",
                    "record": str(entry.reverses),
                    "corrected": {
                        "kind": original.kind if original else None,
                        "memo": original.memo if original else None,
                        "value_date": str(original.day) if original else None,
                        "amount": (
                            decimal_text(
                                sum(line.debit_minor for line in original.lines),
                                original.lines[0].currency,
                            )
                            + f" {original.lines[0].currency}"
                            if original
                            else None
                        ),
                    },
                    "why": entry.memo.removeprefix("reversal: "),
                    "by": str(entry.actor_id),
                    "role": entry.actor_role,
                    "recorded_at": entry.recorded_at,
                }
            )
    return found
