"""The fund's book: accounts, their balances and open reservations.

One `Book` aggregate per fund is the consistency boundary of the money: every
movement changes it in the same atomic save as the records it concerns, and
optimistic concurrency on its version serialises movements, so two officers
paying at the same instant can never both spend the last shilling (the
service also makes them wait in turn: EventStore.serialised). Balances
follow TigerBeetle's four counters (debits/credits, posted/pending).

The book's events are the journal and still carry every transfer's legs, but
its *state* keeps no transfers: each posted transfer is its own `Transfer`
record (ledger/transfer.py), made by the command that posts it and saved with
the book. So the book's state - and a snapshot of it - does not grow with
the fund's history. Books stored before that replay as they are: their events
are the same; only the per-transfer lookup falls back to the book's events.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from domain.errors import NotFound
from domain.model import Actor, Aggregate
from domain.values import format_minor
from ledger import events as e
from ledger.chart import NEVER_NEGATIVE, STANDARD_CHART, account_key
from ledger.errors import (
    InsufficientFunds,
    LedgerRefusal,
    OverdrawnByValueDate,
    ValueDateRefused,
)
from ledger.policy import DEFAULT_POLICY, ApprovalPolicy
from ledger.transfer import Transfer
from ledger.vocabulary import DEBIT_NORMAL, AccountType, TransferKind


@dataclass
class AccountState:
    code: str
    currency: str
    type: AccountType
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0
    closed: bool = False

    @property
    def posted(self) -> int:
        """Balance on the account's normal side (assets: debits - credits)."""
        net = self.debits_posted - self.credits_posted
        return net if self.type in DEBIT_NORMAL else -net

    @property
    def pending(self) -> int:
        net = self.debits_pending - self.credits_pending
        return net if self.type in DEBIT_NORMAL else -net

    @property
    def available(self) -> int:
        """What can still be spent: posted, less every reservation against it."""
        if self.type in DEBIT_NORMAL:
            return self.debits_posted - self.credits_posted - self.credits_pending
        return self.credits_posted - self.debits_posted - self.debits_pending


def reservation_legs(reserved: tuple[e.Leg, ...], amount_minor: int) -> tuple[e.Leg, ...]:
    """The legs a reservation posts when it is made final for `amount_minor`."""
    return tuple(
        leg.model_copy(
            update={
                "debit_minor": amount_minor if leg.debit_minor else 0,
                "credit_minor": amount_minor if leg.credit_minor else 0,
            }
        )
        for leg in reserved
    )


def no_lookup(transfer_id: UUID, deep: bool) -> Transfer | None:
    return None


class Book(Aggregate):
    def __init__(self, id: UUID):
        super().__init__(id)
        self.fund_code = ""
        self.name = ""
        self.opened_on: date | None = None
        self.accounts: dict[str, AccountState] = {}
        self.policy: ApprovalPolicy = DEFAULT_POLICY
        self.pendings: dict[UUID, e.TransferReserved] = {}
        # Net posted movement (debits - credits) per value date, for the
        # accounts that must never go negative: a back-dated posting is checked
        # against the balance on its value date and on every later one.
        self.daily: dict[str, dict[date, int]] = defaultdict(dict)
        # Requests kept on record without a reservation (they failed
        # eligibility) until an exception approves them or they close.
        self.unreserved: set[UUID] = set()
        # Not state: how a command finds a stored transfer record (set by the
        # ledger service), and the records this command made or changed, to
        # be saved with the book.
        # `deep` also searches the events of books stored before transfers
        # had records (slow: only for a transfer someone names, to reverse it).
        self.lookup: Callable[[UUID, bool], Transfer | None] = no_lookup
        self.records: dict[UUID, Transfer] = {}

    def __deepcopy__(self, memo: dict) -> Book:
        # Aggregates are copied out of the ledger's cache for every command;
        # the big maps hold immutable values, so copying them one level deep
        # is enough and keeps a command fast on a book with years of history.
        clone = copy.copy(self)
        clone.accounts = {k: copy.copy(v) for k, v in self.accounts.items()}
        clone.pendings = dict(self.pendings)
        clone.daily = defaultdict(dict, {k: dict(v) for k, v in self.daily.items()})
        clone.unreserved = set(self.unreserved)
        clone.records = {k: copy.deepcopy(v, memo) for k, v in self.records.items()}
        clone._pending = list(self._pending)
        return clone

    # --- opening ------------------------------------------------------------

    @classmethod
    def open(
        cls,
        book_id: UUID,
        actor: Actor,
        fund_code: str,
        name: str,
        currencies: list[str],
        opened_at: datetime | None = None,
    ) -> Book:
        book = cls.start(
            book_id, e.FundOpened, actor, occurred_at=opened_at, fund_code=fund_code, name=name
        )
        for currency in currencies:
            for code, type_ in STANDARD_CHART.items():
                book.trigger(e.AccountOpened, actor, account=code, currency=currency, type=type_)
        book.trigger(
            e.PolicyAdopted,
            actor,
            policy=DEFAULT_POLICY.model_copy(update={"currency": currencies[0]}),
        )
        return book

    def open_account(self, actor: Actor, code: str, currency: str, type_: AccountType) -> None:
        if account_key(code, currency) in self.accounts:
            raise LedgerRefusal(f"account {code} is already open in {currency}")
        self.trigger(e.AccountOpened, actor, account=code, currency=currency, type=type_)

    def close_account(self, actor: Actor, code: str, currency: str, reason: str) -> None:
        account = self.account(code, currency)
        if account.closed:
            raise LedgerRefusal(f"account {code} ({currency}) is already closed")
        if account.posted or account.debits_pending or account.credits_pending:
            raise LedgerRefusal(
                f"account {code} ({currency}) still holds {format_minor(account.posted, currency)}"
                " or has reservations; move them before closing it"
            )
        self.trigger(e.AccountClosed, actor, account=code, currency=currency, reason=reason)

    def adopt_policy(self, actor: Actor, policy: ApprovalPolicy) -> None:
        if policy.version != self.policy.version + 1:
            raise LedgerRefusal(
                f"the next policy must be version {self.policy.version + 1}, not {policy.version}"
            )
        self.trigger(e.PolicyAdopted, actor, policy=policy)

    def open_account_state(self, code: str, currency: str, type_: AccountType) -> None:
        self.accounts[account_key(code, currency)] = AccountState(code, currency, type_)

    def account(self, code: str, currency: str) -> AccountState:
        try:
            return self.accounts[account_key(code, currency)]
        except KeyError:
            raise NotFound(f"the fund has no account {code} in {currency}") from None

    def currencies(self) -> list[str]:
        return sorted({a.currency for a in self.accounts.values()})

    # --- value dates ----------------------------------------------------------

    def check_value_day(self, what: str, day: date, today: date, not_before=None) -> None:
        """A value date lies between the day the fund opened (or `not_before`,
        e.g. a payment's approval) and today's date in UTC."""
        if day > today:
            raise ValueDateRefused(f"{what} {day} is in the future (today is {today} UTC)")
        if self.opened_on is not None and day < self.opened_on:
            raise ValueDateRefused(f"{what} {day} is before the fund opened on {self.opened_on}")
        if not_before is not None and day < not_before[1]:
            raise ValueDateRefused(f"{what} {day} is before {not_before[0]} on {not_before[1]}")

    # --- movements ----------------------------------------------------------

    def check_legs(self, legs: tuple[e.Leg, ...]) -> None:
        currencies = sorted({leg.currency for leg in legs})
        if len(currencies) != 1:
            raise LedgerRefusal(
                f"a transfer cannot have legs in two currencies ({', '.join(currencies)})"
            )
        debits = sum(leg.debit_minor for leg in legs)
        credits = sum(leg.credit_minor for leg in legs)
        if debits != credits:
            raise LedgerRefusal(
                f"the transfer does not balance: debits {debits} != credits {credits}"
            )
        if debits <= 0:
            raise LedgerRefusal("a transfer must move a positive amount")
        for leg in legs:
            if bool(leg.debit_minor) == bool(leg.credit_minor):
                raise LedgerRefusal(f"each leg debits or credits, not both ({leg.account})")
            account = self.account(leg.account, leg.currency)
            if account.closed:
                raise LedgerRefusal(f"account {leg.account} ({leg.currency}) is closed")

    def post(
        self,
        actor: Actor,
        transfer_id: UUID,
        kind: TransferKind,
        legs: tuple[e.Leg, ...],
        memo: str,
        occurred_at: datetime | None = None,
        **links: Any,
    ) -> None:
        if self.find(transfer_id) is not None:
            raise LedgerRefusal(f"transfer {transfer_id} was already posted")
        self.check_legs(legs)
        event = self.trigger(
            e.TransferPosted,
            actor,
            occurred_at=occurred_at,
            transfer_id=transfer_id,
            kind=kind,
            legs=legs,
            memo=memo,
            **links,
        )
        self._record(
            actor,
            transfer_id,
            kind,
            legs,
            event.occurred_at,
            links.get("disbursement_id"),
            links.get("reverses"),
        )

    def _record(self, actor: Actor, transfer_id: UUID, *fields: Any) -> None:
        record = Transfer.record(actor, self.id, transfer_id, *fields)
        self.records[transfer_id] = record

    def find(self, transfer_id: UUID) -> Transfer | None:
        """The record of a posted transfer: made by this command, or stored."""
        return self.records.get(transfer_id) or self.lookup(transfer_id, False)

    def transfer(self, transfer_id: UUID) -> Transfer:
        found = self.records.get(transfer_id) or self.lookup(transfer_id, True)
        if found is None:
            raise NotFound(f"the fund has no posted transfer {transfer_id}")
        return found

    def reserve(
        self,
        actor: Actor,
        pending_id: UUID,
        kind: TransferKind,
        legs: tuple[e.Leg, ...],
        memo: str,
        disbursement_id: UUID | None,
    ) -> None:
        if pending_id in self.pendings:
            raise LedgerRefusal(f"reservation {pending_id} already exists")
        if len(legs) != 2:
            raise LedgerRefusal("a reservation has exactly one debit and one credit leg")
        self.check_legs(legs)
        self.trigger(
            e.TransferReserved,
            actor,
            pending_id=pending_id,
            kind=kind,
            legs=legs,
            memo=memo,
            disbursement_id=disbursement_id,
        )

    def post_reservation(
        self,
        actor: Actor,
        pending_id: UUID,
        transfer_id: UUID,
        amount_minor: int,
        reference: str,
        occurred_at: datetime | None = None,
    ) -> None:
        pending = self.pendings.get(pending_id)
        if pending is None:
            raise LedgerRefusal(f"no open reservation {pending_id}")
        reserved = pending.legs[0].debit_minor or pending.legs[0].credit_minor
        if not 0 < amount_minor <= reserved:
            raise LedgerRefusal(f"can post at most the reserved {reserved}, not {amount_minor}")
        if self.find(transfer_id) is not None:
            raise LedgerRefusal(f"transfer {transfer_id} was already posted")
        event = self.trigger(
            e.ReservationPosted,
            actor,
            occurred_at=occurred_at,
            pending_id=pending_id,
            transfer_id=transfer_id,
            amount_minor=amount_minor,
            reference=reference,
            disbursement_id=pending.disbursement_id,
        )
        legs = reservation_legs(pending.legs, amount_minor)
        self._record(
            actor,
            transfer_id,
            TransferKind.PAYMENT,
            legs,
            event.occurred_at,
            pending.disbursement_id,
            None,
        )

    def open_requests(self) -> set[UUID]:
        """The requests the book still holds open: those with a reservation,
        and the ineligible ones, which hold none."""
        held = {p.disbursement_id for p in self.pendings.values() if p.disbursement_id}
        return held | self.unreserved

    def hold_unreserved(self, actor: Actor, disbursement_id: UUID) -> None:
        """Keep an ineligible request on record without reserving money."""
        self.trigger(e.IneligibleRequestRecorded, actor, disbursement_id=disbursement_id)

    def close_unreserved(self, actor: Actor, disbursement_id: UUID, status: str) -> None:
        if disbursement_id in self.unreserved:
            self.trigger(
                e.IneligibleRequestClosed, actor, disbursement_id=disbursement_id, status=status
            )

    def void_reservation(self, actor: Actor, pending_id: UUID, reason: str) -> None:
        if pending_id not in self.pendings:
            raise LedgerRefusal(f"no open reservation {pending_id}")
        self.trigger(e.ReservationVoided, actor, pending_id=pending_id, reason=reason)

    def reverse(
        self, actor: Actor, transfer_id: UUID, reversal_id: UUID, memo: str, **links: Any
    ) -> None:
        swapped = self.reversal_legs(transfer_id)
        original = self.transfer(transfer_id)
        self.post(
            actor, reversal_id, TransferKind.REVERSAL, swapped, memo, reverses=transfer_id, **links
        )
        # On the original's record too: a second reversal racing this one
        # conflicts on its version instead of reversing it twice.
        original.reversed(actor, reversal_id)
        self.records[transfer_id] = original

    def reversal_legs(self, transfer_id: UUID) -> tuple[e.Leg, ...]:
        """The legs that would reverse a posted transfer, after checking it may be."""
        original = self.transfer(transfer_id)
        if original.reversed_by is not None:
            raise LedgerRefusal(
                f"transfer {transfer_id} was already reversed by {original.reversed_by}"
            )
        if original.kind is TransferKind.REVERSAL:
            raise LedgerRefusal("a reversal is not reversed; post a new transfer instead")
        return tuple(
            leg.model_copy(
                update={"debit_minor": leg.credit_minor, "credit_minor": leg.debit_minor}
            )
            for leg in original.legs
        )

    def check_covered(self) -> None:
        """The invariant checked after every command's changes: no account
        that must stay positive is overdrawn, reservations included, nor
        below zero on any value date from the earliest this command touched."""
        self._check_by_value_date()
        for key, account in self.accounts.items():
            if account.code in NEVER_NEGATIVE and account.available < 0:
                have = account.available + self._last_need(key)
                raise InsufficientFunds(
                    f"the fund's {account.code} has {format_minor(max(have, 0), account.currency)} "
                    f"{account.currency} available; this needs "
                    f"{format_minor(self._last_need(key), account.currency)}"
                )

    def _command_movements(self) -> dict[str, dict[date, int]]:
        """What this command's postings moved, per account and value date."""
        moved: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
        for event in self._pending:
            if isinstance(event, e.TransferPosted):
                legs = event.legs
            elif isinstance(event, e.ReservationPosted):
                legs = self.records[event.transfer_id].legs
            else:
                continue
            for leg in legs:
                moved[account_key(leg.account, leg.currency)][event.occurred_at.date()] += (
                    leg.debit_minor - leg.credit_minor
                )
        return moved

    def _check_by_value_date(self) -> None:
        for key, moved in self._command_movements().items():
            account = self.accounts[key]
            if account.code not in NEVER_NEGATIVE:
                continue
            sign = 1 if account.type in DEBIT_NORMAL else -1
            first = min(moved)
            balance = change = 0
            for day in sorted(self.daily[key]):
                balance += sign * self.daily[key][day]
                change += sign * moved.get(day, 0)
                # Only what this command made worse counts: history it did not
                # touch is not re-judged.
                if day >= first and balance < 0 and change < 0:
                    raise OverdrawnByValueDate(
                        f"this would overdraw {account.code} by value date: its balance on "
                        f"{day} would be {format_minor(balance, account.currency)} "
                        f"{account.currency}"
                    )

    def _last_need(self, key: str) -> int:
        # What the events of this command took from the account, for the message.
        need = 0
        for event in self._pending:
            for leg in getattr(event, "legs", ()):
                if account_key(leg.account, leg.currency) == key:
                    need += leg.credit_minor
        return need

    # --- applying events ----------------------------------------------------

    def _by_value_date(self, legs: tuple[e.Leg, ...], day: date) -> None:
        for leg in legs:
            if leg.account in NEVER_NEGATIVE:
                daily = self.daily[account_key(leg.account, leg.currency)]
                daily[day] = daily.get(day, 0) + leg.debit_minor - leg.credit_minor

    def apply_posted(self, event: e.TransferPosted) -> None:
        for leg in event.legs:
            account = self.accounts[account_key(leg.account, leg.currency)]
            account.debits_posted += leg.debit_minor
            account.credits_posted += leg.credit_minor
        self._by_value_date(event.legs, event.occurred_at.date())

    def apply_reserved(self, event: e.TransferReserved) -> None:
        for leg in event.legs:
            account = self.accounts[account_key(leg.account, leg.currency)]
            account.debits_pending += leg.debit_minor
            account.credits_pending += leg.credit_minor
        self.pendings[event.pending_id] = event
        self.unreserved.discard(event.disbursement_id)  # type: ignore[arg-type]

    def _release(self, pending: e.TransferReserved) -> None:
        for leg in pending.legs:
            account = self.accounts[account_key(leg.account, leg.currency)]
            account.debits_pending -= leg.debit_minor
            account.credits_pending -= leg.credit_minor

    def apply_reservation_posted(self, event: e.ReservationPosted) -> None:
        pending = self.pendings.pop(event.pending_id)
        self._release(pending)
        legs = reservation_legs(pending.legs, event.amount_minor)
        for leg in legs:
            account = self.accounts[account_key(leg.account, leg.currency)]
            account.debits_posted += leg.debit_minor
            account.credits_posted += leg.credit_minor
        self._by_value_date(legs, event.occurred_at.date())

    def apply_reservation_voided(self, event: e.ReservationVoided) -> None:
        self._release(self.pendings.pop(event.pending_id))
