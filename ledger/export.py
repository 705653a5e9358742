"""Books out: the fund's journal as Beancount, CSV, and a trial balance.

Everything is read from the book's own events - the authoritative log - not
from a read model, so an auditor's independent check (`bean-check`) checks
what was really recorded. Amounts are exact decimals of the integer minor
units; balance assertions are written with `~ 0` so Beancount's default
tolerance cannot hide a difference of a cent.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

from domain.errors import NotFound
from domain.persistence import EventStore
from domain.values import format_minor
from ledger import events as e
from ledger.book import Book, reservation_legs
from ledger.vocabulary import DEBIT_NORMAL, AccountType


def decimal_text(amount_minor: int, currency: str) -> str:
    """Exact decimal without thousands separators, e.g. -150000 KES -> '-1500.00'."""
    return format_minor(amount_minor, currency).replace(",", "")


@dataclass
class JournalLine:
    account: str
    currency: str
    debit_minor: int
    credit_minor: int


@dataclass
class JournalEntry:
    """One posted transfer (or, with `pending`, a reservation or its release)."""

    event_id: str
    book_version: int
    day: date
    recorded_at: str
    transfer_id: UUID
    kind: str
    memo: str
    lines: list[JournalLine]
    actor_id: UUID
    actor_role: str
    disbursement_id: UUID | None = None
    reverses: UUID | None = None
    reference: str | None = None
    status: str = "posted"  # posted | pending | voided
    links: list[str] = field(default_factory=list)


def journal(
    store: EventStore, book_id: UUID, each: Callable[[Book], None] | None = None
) -> tuple[Book, list[JournalEntry]]:
    """Replay the book, returning its final state and every journal entry;
    `each` sees the book after every event (audit verify compares the
    stored snapshots with it)."""
    book: Book | None = None
    entries: list[JournalEntry] = []
    for event in store.events.get(book_id):
        # Posting or voiding a reservation removes it from the book: keep it
        # for the entry (only that one - copying them all per event is quadratic).
        closes = isinstance(event, e.ReservationPosted | e.ReservationVoided)
        pending = book.pendings[event.pending_id] if closes else None  # type: ignore[union-attr]
        book = event.mutate(book)  # type: ignore[assignment]
        if each is not None:
            each(book)  # type: ignore[arg-type]
        base = {
            "event_id": f"{event.originator_id}/{event.originator_version}",
            "book_version": event.originator_version,
            "day": event.occurred_at.date(),
            "recorded_at": event.timestamp.isoformat(),
            "actor_id": event.actor_id,
            "actor_role": event.actor_role.value,
        }
        if isinstance(event, e.TransferPosted):
            entries.append(
                JournalEntry(
                    **base,
                    transfer_id=event.transfer_id,
                    kind=event.kind.value,
                    memo=event.memo,
                    lines=[_line(leg) for leg in event.legs],
                    disbursement_id=event.disbursement_id,
                    reverses=event.reverses,
                    reference=event.reference,
                )
            )
        elif isinstance(event, e.TransferReserved):
            entries.append(
                JournalEntry(
                    **base,
                    transfer_id=event.pending_id,
                    kind=event.kind.value,
                    memo=event.memo,
                    lines=[_line(leg) for leg in event.legs],
                    disbursement_id=event.disbursement_id,
                    status="pending",
                )
            )
        elif isinstance(event, e.ReservationPosted):
            assert book is not None and pending is not None
            posted_legs = reservation_legs(pending.legs, event.amount_minor)
            entries.append(
                JournalEntry(
                    **base,
                    transfer_id=event.transfer_id,
                    kind="payment",
                    memo=pending.memo,
                    lines=[_line(leg) for leg in posted_legs],
                    disbursement_id=pending.disbursement_id,
                    reference=event.reference,
                    links=[str(event.pending_id)],
                )
            )
        elif isinstance(event, e.ReservationVoided):
            assert pending is not None
            entries.append(
                JournalEntry(
                    **base,
                    transfer_id=event.pending_id,
                    kind=pending.kind.value,
                    memo=f"released: {event.reason}",
                    lines=[_line(leg) for leg in pending.legs],
                    disbursement_id=pending.disbursement_id,
                    status="voided",
                )
            )
    if book is None:
        raise NotFound("the fund has not been opened yet (msafiri fund open)")
    return book, entries


def _line(leg: e.Leg) -> JournalLine:
    return JournalLine(leg.account, leg.currency, leg.debit_minor, leg.credit_minor)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def to_beancount(store: EventStore, book_id: UUID) -> str:
    book, entries = journal(store, book_id)
    out = io.StringIO()
    w = out.write
    w(f"; {book.name} ({book.fund_code}) - exported by Msafiri from the event log.\n")
    w("; Pending reservations are `custom` entries: they reserve money but post nothing.\n")
    w(f'option "title" {_quote(f"{book.name} ({book.fund_code})")}\n')
    for currency in book.currencies():
        w(f'option "operating_currency" "{currency}"\n')
    w("\n")
    opened = min((entry.day for entry in entries), default=date.today())
    by_code: dict[str, list[str]] = defaultdict(list)
    for account in book.accounts.values():
        by_code[account.code].append(account.currency)
    for code in sorted(by_code):
        w(f"{opened - timedelta(days=1)} open {code} {','.join(sorted(by_code[code]))}\n")
    w("\n")
    last_day = opened
    for entry in sorted(entries, key=lambda x: (x.day, x.book_version)):
        last_day = max(last_day, entry.day)
        link = f" ^disbursement-{entry.disbursement_id}" if entry.disbursement_id else ""
        if entry.status != "posted":
            for line in entry.lines:
                if line.credit_minor:
                    amount = decimal_text(line.credit_minor, line.currency)
                    w(
                        f'{entry.day} custom "msafiri-reservation" "{entry.status}" '
                        f"{line.account} {amount} {line.currency}\n"
                    )
            w(f'  event_id: "{entry.event_id}"\n  pending_id: "{entry.transfer_id}"\n')
            if entry.disbursement_id:
                w(f'  disbursement_id: "{entry.disbursement_id}"\n')
            w("\n")
            continue
        w(f"{entry.day} * {_quote(entry.kind)} {_quote(entry.memo)}{link}\n")
        w(f'  event_id: "{entry.event_id}"\n  transfer_id: "{entry.transfer_id}"\n')
        w(f'  recorded_at: "{entry.recorded_at}"\n  actor_role: "{entry.actor_role}"\n')
        if entry.reverses:
            w(f'  reverses: "{entry.reverses}"\n')
        if entry.reference:
            w(f"  reference: {_quote(entry.reference)}\n")
        for line in entry.lines:
            amount = line.debit_minor - line.credit_minor
            w(f"  {line.account}  {decimal_text(amount, line.currency)} {line.currency}\n")
        w("\n")
    check_day = last_day + timedelta(days=1)
    w("; Balances as Msafiri holds them, asserted exactly.\n")
    for account in sorted(book.accounts.values(), key=lambda a: (a.code, a.currency)):
        net = account.debits_posted - account.credits_posted
        w(
            f"{check_day} balance {account.code} "
            f"{decimal_text(net, account.currency)} ~ 0 {account.currency}\n"
        )
    return out.getvalue()


JOURNAL_COLUMNS = [
    "book_version",
    "event_id",
    "value_date",
    "recorded_at",
    "status",
    "transfer_id",
    "kind",
    "account",
    "currency",
    "debit",
    "credit",
    "memo",
    "disbursement_id",
    "reverses",
    "reference",
    "actor_id",
    "actor_role",
]


def to_csv(store: EventStore, book_id: UUID) -> str:
    _, entries = journal(store, book_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(JOURNAL_COLUMNS)
    for entry in entries:
        for line in entry.lines:
            writer.writerow(
                [
                    entry.book_version,
                    entry.event_id,
                    entry.day.isoformat(),
                    entry.recorded_at,
                    entry.status,
                    entry.transfer_id,
                    entry.kind,
                    line.account,
                    line.currency,
                    decimal_text(line.debit_minor, line.currency),
                    decimal_text(line.credit_minor, line.currency),
                    entry.memo,
                    entry.disbursement_id or "",
                    entry.reverses or "",
                    entry.reference or "",
                    entry.actor_id,
                    entry.actor_role,
                ]
            )
    return out.getvalue()


def trial_balance(book: Book) -> list[dict[str, object]]:
    rows = []
    for account in sorted(book.accounts.values(), key=lambda a: (a.type.value, a.code, a.currency)):
        rows.append(
            {
                "account": account.code,
                "currency": account.currency,
                "type": account.type.value,
                "debits_minor": account.debits_posted,
                "credits_minor": account.credits_posted,
                "posted_minor": account.posted,
                "pending_minor": account.pending,
                "available_minor": account.available,
                "normal_side": "debit" if account.type in DEBIT_NORMAL else "credit",
            }
        )
    return rows


def trial_balance_csv(book: Book) -> str:
    rows = trial_balance(book)
    out = io.StringIO()
    # For people: amounts in major units, so the headers drop `_minor`.
    writer = csv.DictWriter(out, fieldnames=[k.removesuffix("_minor") for k in rows[0]])
    writer.writeheader()
    for row in rows:
        currency = str(row["currency"])
        writer.writerow(
            {
                k.removesuffix("_minor"): decimal_text(v, currency) if k.endswith("_minor") else v  # type: ignore[arg-type]
                for k, v in row.items()
            }
        )
    totals = defaultdict(lambda: [0, 0])
    for row in rows:
        totals[row["currency"]][0] += row["debits_minor"]  # type: ignore[operator]
        totals[row["currency"]][1] += row["credits_minor"]  # type: ignore[operator]
    for currency, (debits, credits) in totals.items():
        writer.writerow(
            {
                "account": "TOTAL",
                "currency": currency,
                "type": "",
                "debits": decimal_text(debits, str(currency)),
                "credits": decimal_text(credits, str(currency)),
            }
        )
    return out.getvalue()


__all__ = ["AccountType", "journal", "to_beancount", "to_csv", "trial_balance", "trial_balance_csv"]
