"""The fund's book: accounts, their balances, and every transfer.

One `Book` aggregate per fund is the consistency boundary of the money: every
movement changes it in the same atomic save as the records it concerns, and
optimistic concurrency on its version serialises movements, so two officers
paying at the same instant can never both spend the last shilling. Balances
follow TigerBeetle's four counters (debits/credits, posted/pending).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.errors import NotFound
from domain.model import Actor, Aggregate
from domain.values import format_minor
from ledger import events as e
from ledger.chart import NEVER_NEGATIVE, STANDARD_CHART, account_key
from ledger.errors import InsufficientFunds, LedgerRefusal
from ledger.policy import DEFAULT_POLICY, ApprovalPolicy
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


@dataclass(frozen=True)
class PostedTransfer:
    kind: TransferKind
    legs: tuple[e.Leg, ...]
    disbursement_id: UUID | None


class Book(Aggregate):
    def __init__(self, id: UUID):
        super().__init__(id)
        self.fund_code = ""
        self.name = ""
        self.accounts: dict[str, AccountState] = {}
        self.policy: ApprovalPolicy = DEFAULT_POLICY
        self.pendings: dict[UUID, e.TransferReserved] = {}
        self.transfers: dict[UUID, PostedTransfer] = {}
        self.reversed: dict[UUID, UUID] = {}

    def __deepcopy__(self, memo: dict) -> Book:
        # Aggregates are copied out of the ledger's cache for every command;
        # the big maps hold immutable values, so copying them one level deep
        # is enough and keeps a command fast on a book with years of history.
        clone = copy.copy(self)
        clone.accounts = {k: copy.copy(v) for k, v in self.accounts.items()}
        clone.pendings = dict(self.pendings)
        clone.transfers = dict(self.transfers)
        clone.reversed = dict(self.reversed)
        clone._pending = list(self._pending)
        return clone

    # --- opening ------------------------------------------------------------

    @classmethod
    def open(
        cls, book_id: UUID, actor: Actor, fund_code: str, name: str, currencies: list[str]
    ) -> Book:
        book = cls.start(book_id, e.FundOpened, actor, fund_code=fund_code, name=name)
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
        if transfer_id in self.transfers:
            raise LedgerRefusal(f"transfer {transfer_id} was already posted")
        self.check_legs(legs)
        self.trigger(
            e.TransferPosted,
            actor,
            occurred_at=occurred_at,
            transfer_id=transfer_id,
            kind=kind,
            legs=legs,
            memo=memo,
            **links,
        )

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
        self.trigger(
            e.ReservationPosted,
            actor,
            occurred_at=occurred_at,
            pending_id=pending_id,
            transfer_id=transfer_id,
            amount_minor=amount_minor,
            reference=reference,
        )

    def void_reservation(self, actor: Actor, pending_id: UUID, reason: str) -> None:
        if pending_id not in self.pendings:
            raise LedgerRefusal(f"no open reservation {pending_id}")
        self.trigger(e.ReservationVoided, actor, pending_id=pending_id, reason=reason)

    def reverse(
        self, actor: Actor, transfer_id: UUID, reversal_id: UUID, memo: str, **links: Any
    ) -> None:
        original = self.transfers.get(transfer_id)
        if original is None:
            raise NotFound(f"the fund has no posted transfer {transfer_id}")
        if transfer_id in self.reversed:
            raise LedgerRefusal(
                f"transfer {transfer_id} was already reversed by {self.reversed[transfer_id]}"
            )
        if original.kind is TransferKind.REVERSAL:
            raise LedgerRefusal("a reversal is not reversed; post a new transfer instead")
        swapped = tuple(
            leg.model_copy(
                update={"debit_minor": leg.credit_minor, "credit_minor": leg.debit_minor}
            )
            for leg in original.legs
        )
        self.post(
            actor, reversal_id, TransferKind.REVERSAL, swapped, memo, reverses=transfer_id, **links
        )

    def check_covered(self) -> None:
        """The invariant checked after every command's changes: no account
        that must stay positive is overdrawn, reservations included."""
        for key, account in self.accounts.items():
            if account.code in NEVER_NEGATIVE and account.available < 0:
                have = account.available + self._last_need(key)
                raise InsufficientFunds(
                    f"the fund's {account.code} has {format_minor(max(have, 0), account.currency)} "
                    f"{account.currency} available; this needs "
                    f"{format_minor(self._last_need(key), account.currency)}"
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

    def apply_posted(self, event: e.TransferPosted) -> None:
        for leg in event.legs:
            account = self.accounts[account_key(leg.account, leg.currency)]
            account.debits_posted += leg.debit_minor
            account.credits_posted += leg.credit_minor
        self.transfers[event.transfer_id] = PostedTransfer(
            event.kind, event.legs, event.disbursement_id
        )
        if event.reverses is not None:
            self.reversed[event.reverses] = event.transfer_id

    def apply_reserved(self, event: e.TransferReserved) -> None:
        for leg in event.legs:
            account = self.accounts[account_key(leg.account, leg.currency)]
            account.debits_pending += leg.debit_minor
            account.credits_pending += leg.credit_minor
        self.pendings[event.pending_id] = event

    def _release(self, pending: e.TransferReserved) -> None:
        for leg in pending.legs:
            account = self.accounts[account_key(leg.account, leg.currency)]
            account.debits_pending -= leg.debit_minor
            account.credits_pending -= leg.credit_minor

    def apply_reservation_posted(self, event: e.ReservationPosted) -> None:
        pending = self.pendings.pop(event.pending_id)
        self._release(pending)
        legs = tuple(
            leg.model_copy(
                update={
                    "debit_minor": event.amount_minor if leg.debit_minor else 0,
                    "credit_minor": event.amount_minor if leg.credit_minor else 0,
                }
            )
            for leg in pending.legs
        )
        for leg in legs:
            account = self.accounts[account_key(leg.account, leg.currency)]
            account.debits_posted += leg.debit_minor
            account.credits_posted += leg.credit_minor
        self.transfers[event.transfer_id] = PostedTransfer(
            TransferKind.PAYMENT, legs, pending.disbursement_id
        )

    def apply_reservation_voided(self, event: e.ReservationVoided) -> None:
        self._release(self.pendings.pop(event.pending_id))
