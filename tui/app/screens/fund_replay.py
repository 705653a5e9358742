"""History replay of the fund: step through the book's events - for the whole
fund, or only those that move one account - and see the balances as they
were after each one (or as of a date).

It replays the event store itself, not a read model: this is the auditor's
check of what the read models say. The book's events are read once; the
state at a step is rebuilt from the nearest kept copy at or before it, so
stepping forward costs one event and a jump costs at most `KEEP_EVERY`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Select, Static

from domain.values import format_minor
from ledger import events as e
from ledger.book import Book
from ledger.chart import account_key
from msafiri.zones import shown
from tui.app.screens.replay import StepsScreen, step_line

KEEP_EVERY = 500
WHOLE_FUND = "__whole_fund__"


@dataclass(frozen=True)
class Step:
    version: int
    event: Any
    accounts: frozenset[str]  # account keys the event moves (or opens/closes)
    amount: str


class BookHistory:
    """The book's events and the book as of any version of them."""

    def __init__(self, events: list[Any]):
        self.events = events
        self._kept: dict[int, Book] = {}
        self.steps = self._index(events)

    @staticmethod
    def _index(events: list[Any]) -> list[Step]:
        reserved: dict[Any, tuple[e.Leg, ...]] = {}
        steps = []
        for event in events:
            legs: tuple[e.Leg, ...] = ()
            amount = ""
            if isinstance(event, e.TransferReserved):
                reserved[event.pending_id] = legs = event.legs
            elif isinstance(event, e.TransferPosted):
                legs = event.legs
            elif isinstance(event, e.ReservationPosted | e.ReservationVoided):
                legs = reserved.get(event.pending_id, ())
            if legs:
                moved = event.amount_minor if isinstance(event, e.ReservationPosted) else None
                total = moved if moved is not None else sum(leg.debit_minor for leg in legs)
                amount = f"{format_minor(total, legs[0].currency)} {legs[0].currency}"
            keys = {account_key(leg.account, leg.currency) for leg in legs}
            if isinstance(event, e.AccountOpened | e.AccountClosed):
                keys.add(account_key(event.account, event.currency))
            steps.append(Step(event.originator_version, event, frozenset(keys), amount))
        return steps

    def book_at(self, version: int) -> Book:
        """A copy of the book as it was after `version` (1 = opened)."""
        start = max((v for v in self._kept if v <= version), default=0)
        book = copy.deepcopy(self._kept[start]) if start else None
        for event in self.events[start:version]:
            book = event.mutate(book)
            if event.originator_version % KEEP_EVERY == 0:
                self._kept[event.originator_version] = copy.deepcopy(book)
        assert book is not None
        return book


def balances_table(book: Book, only: str | None) -> Table:
    table = Table(title="Balances as of this step", expand=False)
    for column in ("Account", "Currency", "Posted", "Pending", "Available"):
        table.add_column(column, justify="left" if column in ("Account", "Currency") else "right")
    for key, account in sorted(book.accounts.items()):
        if only and key != only:
            continue
        table.add_row(
            Text(account.code + (" (closed)" if account.closed else "")),
            account.currency,
            format_minor(account.posted, account.currency),
            format_minor(account.pending, account.currency),
            format_minor(account.available, account.currency),
        )
    return table


class FundReplayScreen(StepsScreen):
    TITLE_TEXT = "History replay · the fund"
    # Dates here are the officer's (the bar names the zone); the step line
    # above gives both times to the minute.
    STEP_COLUMNS = ("#", "Recorded", "Happened", "Event", "Amount", "Who")

    def __init__(self) -> None:
        super().__init__()
        self.history: BookHistory | None = None
        self.names: dict[str, str] = {}
        self.account: str | None = None  # an account key, or None: the whole fund
        self.shown: list[Step] = []
        self.step: int | None = None  # index into `shown` of the step on screen
        self.book_as_of: Book | None = None
        self._seq = 0

    def compose_filters(self) -> ComposeResult:
        yield Select[str]([], prompt="Whole fund", id="account", allow_blank=True, compact=True)

    def on_mount(self) -> None:
        system = self.app.system
        queries = self.app.read_side.queries

        def load() -> tuple[BookHistory, dict[str, str], list[tuple[str, str]]]:
            events = list(system.store.events.get(system.ledger.book_id))
            names = {o.officer_id: o.full_name for o in queries.officers()}
            history = BookHistory(events)
            accounts = history.book_at(len(events)).accounts if events else {}
            options = [(f"{a.code} ({a.currency})", key) for key, a in sorted(accounts.items())]
            return history, names, options

        self.app.call(load, then=self._loaded, group="fund-replay")

    def _loaded(self, loaded: tuple[BookHistory, dict[str, str], list[tuple[str, str]]]) -> None:
        self.history, self.names, options = loaded
        if not self.history.events:
            self.show_head("The fund has not been opened yet.")
            return
        self.query_one("#account", Select).set_options(options)
        self._show_steps()

    def _who(self, event: Any) -> str:
        return self.names.get(str(event.actor_id), "Msafiri (system)")

    def _show_steps(self) -> None:
        assert self.history is not None
        steps = self.history.steps
        self.shown = [s for s in steps if self.account in s.accounts] if self.account else steps
        table = self.query_one("#steps", DataTable)
        table.clear()
        zone = self.app.zone.tz
        for step in self.shown:
            event = step.event
            table.add_row(
                str(step.version),
                shown(event.timestamp, zone, "date"),
                shown(event.occurred_at, zone, "date"),
                type(event).__name__,
                Text(step.amount, justify="right"),
                Text(self._who(event)),
            )
        table.focus()
        if self.shown:
            self.show_as_of(0)
        else:
            self.show_head("No event has moved this account.")
            self.query_one("#state", Static).update("")

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id != "account" or self.history is None:
            return
        self.account = None if event.value in (Select.NULL, None) else str(event.value)
        self._show_steps()

    def show_as_of(self, index: int) -> None:
        if self.history is None or not 0 <= index < len(self.shown):
            return
        history, step, only = self.history, self.shown[index], self.account
        self._seq += 1
        seq = self._seq

        def show(book: Book) -> None:
            if seq != self._seq:
                return
            self.step, self.book_as_of = index, book
            event, zone = step.event, self.app.zone.tz
            self.show_head(
                step_line(
                    index,
                    len(self.shown),
                    f"{type(event).__name__} (book version {step.version})",
                    self._who(event),
                    event.actor_role.value,
                    shown(event.timestamp, zone),
                    shown(event.occurred_at, zone),
                ),
                index,
            )
            memo = getattr(event, "memo", "") or getattr(event, "reason", "")
            what = " · ".join(part for part in (step.amount, memo) if part)
            self.query_one("#state", Static).update(
                Group(Text(what + "\n"), balances_table(book, only))
            )

        self.app.call(history.book_at, step.version, then=show, group="fund-replay-state")

    def step_times(self) -> list[tuple[datetime, datetime]]:
        return [(step.event.timestamp, step.event.occurred_at) for step in self.shown]
