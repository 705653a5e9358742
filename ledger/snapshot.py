"""Snapshots of the fund's book, so a fresh process never replays the
book's whole history: it reads the latest snapshot and the events after it.

A snapshot is stored through the event store's own mapper (sealed like every
event) in the library's snapshot table, beside the log, never in it: it is a
cache of what the events say, so the audit chain, the projections and NATS
never see it, and losing every snapshot loses nothing (the book replays).
The book's state is small and bounded (balances, open reservations, daily
net movements of the never-negative accounts) since it keeps no transfers.

Open reservations carry memos that name a payee ("payable to ..."): personal
data of the migrant the disbursement is for. In the stored snapshot each
one's memo is sealed under that disbursement's data key, exactly as in its
`TransferReserved` event (domain/personal.py), so erasing the migrant erases
it here too (it reads "erased"); the mapper calls `seal_nested` /
`open_nested`. Snapshots stored before this still hold plain memos under the
master key: an erasure deletes those that name the person (msafiri/erasure.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.personal import SEALED_KEY, DataKeys, open_personal, seal_personal
from domain.values import UtcDatetime, utcnow
from ledger import events as e
from ledger.book import AccountState, Book
from ledger.policy import ApprovalPolicy
from ledger.vocabulary import AccountType

# How many book events may follow the latest snapshot before a new one is
# taken: a cold start replays at most this many (a few tens of milliseconds).
SNAPSHOT_EVERY = 500


class BookSnapshot(BaseModel):
    """The book's state at `originator_version` (plain JSON in `state`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    class_version: ClassVar[int] = 1

    originator_id: UUID
    originator_version: int = Field(ge=1)
    timestamp: UtcDatetime
    state: dict[str, Any]

    @classmethod
    def take(cls, book: Book) -> BookSnapshot:
        state = {
            "fund_code": book.fund_code,
            "name": book.name,
            "opened_on": book.opened_on.isoformat() if book.opened_on else None,
            "created_on": book.created_on.isoformat() if book.created_on else None,
            "modified_on": book.modified_on.isoformat() if book.modified_on else None,
            "accounts": [
                [a.code, a.currency, a.type.value, a.debits_posted, a.credits_posted]
                + [a.debits_pending, a.credits_pending, a.closed]
                for a in book.accounts.values()
            ],
            "policy": book.policy.model_dump(mode="json"),
            "pendings": [p.model_dump(mode="json") for p in book.pendings.values()],
            "daily": {
                key: {day.isoformat(): net for day, net in days.items()}
                for key, days in book.daily.items()
            },
            "unreserved": sorted(str(d) for d in book.unreserved),
        }
        return cls(
            originator_id=book.id,
            originator_version=book.version,
            timestamp=utcnow(),
            state=state,
        )

    @classmethod
    def seal_nested(cls, state: dict[str, Any], keys: DataKeys) -> dict[str, Any]:
        """The stored JSON with each open reservation's memo sealed under its
        disbursement's data key (none: left as it is, like its event)."""
        book = state["state"]
        book["pendings"] = [
            seal_personal(e.TransferReserved, dict(p), keys) for p in book["pendings"]
        ]
        return state

    @classmethod
    def nested_key_refs(cls, state: dict[str, Any]) -> list[str]:
        """The data keys `open_nested` will need (read together beforehand)."""
        return [p[SEALED_KEY]["k"] for p in state["state"]["pendings"] if SEALED_KEY in p]

    @classmethod
    def open_nested(cls, state: dict[str, Any], keys: DataKeys | None) -> dict[str, Any]:
        """The memos back, or "erased" where the key is gone."""
        book = state["state"]
        book["pendings"] = [open_personal(e.TransferReserved, p, keys) for p in book["pendings"]]
        return state

    def mutate(self, _: Any = None) -> Book:
        """The book as it was at this version (the library's projector calls this)."""
        s = self.state
        book = Book(self.originator_id)
        book.version = self.originator_version
        book.fund_code, book.name = s["fund_code"], s["name"]
        book.opened_on = date.fromisoformat(s["opened_on"]) if s["opened_on"] else None
        for when in ("created_on", "modified_on"):
            setattr(book, when, datetime.fromisoformat(s[when]) if s[when] else None)
        for code, currency, type_, dp, cp, dpe, cpe, closed in s["accounts"]:
            book.open_account_state(code, currency, AccountType(type_))
            account: AccountState = book.account(code, currency)
            account.debits_posted, account.credits_posted = dp, cp
            account.debits_pending, account.credits_pending = dpe, cpe
            account.closed = closed
        book.policy = ApprovalPolicy.model_validate(s["policy"])
        for raw in s["pendings"]:
            pending = e.TransferReserved.model_validate(raw)
            book.pendings[pending.pending_id] = pending
        for key, days in s["daily"].items():
            book.daily[key] = {date.fromisoformat(day): net for day, net in days.items()}
        book.unreserved = {UUID(d) for d in s["unreserved"]}
        return book
