"""One posted transfer as its own record: what it moved and whether it was
reversed. The book keeps only balances and open reservations; lookups of a
single transfer (to reverse it, to refuse a duplicate id) read this record."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from domain.ids import MSAFIRI_NAMESPACE
from domain.model import Actor, Aggregate
from ledger import events as e
from ledger.vocabulary import TransferKind


def transfer_record_id(transfer_id: UUID) -> UUID:
    """The record's own id: transfer ids are shared with other records (a
    correction's proposal posts under its own id), so the record derives one."""
    return uuid5(MSAFIRI_NAMESPACE, f"transfer:{transfer_id}")


class Transfer(Aggregate):
    def __init__(self, id: UUID):
        super().__init__(id)
        self.book_id: UUID | None = None
        self.transfer_id: UUID | None = None
        self.kind = TransferKind.CORRECTION
        self.legs: tuple[e.Leg, ...] = ()
        self.disbursement_id: UUID | None = None
        self.reverses: UUID | None = None
        self.reversed_by: UUID | None = None

    @classmethod
    def record(
        cls,
        actor: Actor,
        book_id: UUID,
        transfer_id: UUID,
        kind: TransferKind,
        legs: tuple[e.Leg, ...],
        occurred_at: datetime | None,
        disbursement_id: UUID | None = None,
        reverses: UUID | None = None,
    ) -> Transfer:
        return cls.start(
            transfer_record_id(transfer_id),
            e.TransferRecorded,
            actor,
            occurred_at=occurred_at,
            book_id=book_id,
            transfer_id=transfer_id,
            kind=kind,
            legs=legs,
            disbursement_id=disbursement_id,
            reverses=reverses,
        )

    def apply_recorded(self, event: e.TransferRecorded) -> None:
        self.book_id = event.book_id
        self.transfer_id = event.transfer_id
        self.kind = event.kind
        self.legs = event.legs
        self.disbursement_id = event.disbursement_id
        self.reverses = event.reverses

    def reversed(self, actor: Actor, reversal_id: UUID) -> None:
        self.trigger(e.TransferReversed, actor, reversal_id=reversal_id)
