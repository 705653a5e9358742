"""Use cases of the Migrant Welfare Fund.

Every money command runs the same way (`_run`): check the officer's role,
look for a receipt of its command id, load what it touches, apply the rules,
check the book's invariants, then store everything - the book, the
disbursement, the claim and the receipt - in ONE atomic save. A version
conflict (someone else moved money at the same instant) retries the whole
command from fresh state.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.persistence import EventStore as SnapshotStore
from eventsourcing.persistence import PersistenceError, Tracking

from domain.authz import Authoriser
from domain.errors import ConcurrentUpdate, MsafiriError, NotFound
from domain.ids import MSAFIRI_NAMESPACE
from domain.model import Actor, Aggregate
from domain.persistence import EventStore
from domain.values import Money, Role, utcnow
from ledger import commands as c
from ledger import events as e
from ledger.book import Book, reservation_legs
from ledger.chart import APPROVED, BANK, CONTRIBUTIONS, GRANTS
from ledger.corrections import Correction, money_out
from ledger.disbursement import Claim, Disbursement
from ledger.errors import (
    REFUSALS,
    AboveCap,
    CommandIdReused,
    LedgerRefusal,
    RequestLapsed,
    ValueDateRefused,
)
from ledger.policy import (
    ApprovalPolicy,
    ClaimFacts,
    approvers_needed,
    cap_exceeded,
    check_eligibility,
)
from ledger.receipts import CommandReceipt, content_hash, receipt_id
from ledger.snapshot import SNAPSHOT_EVERY, BookSnapshot
from ledger.transfer import Transfer, transfer_record_id
from ledger.vocabulary import BENEFIT_ACCOUNT, AccountType, DisbursementStatus, TransferKind

log = logging.getLogger(__name__)

FUND_OFFICER = (Role.FUND_OFFICER,)
REQUESTERS = (Role.LABOUR_ATTACHE, Role.FUND_OFFICER, Role.REINTEGRATION_OFFICER, Role.SYSTEM)
MAX_ATTEMPTS = 12
OPEN_CLAIM = ("requested", "approved")


def account_type_of(code: str) -> AccountType:
    """The type follows the code's first part, as in Beancount."""
    return {
        "Assets": AccountType.ASSET,
        "Liabilities": AccountType.LIABILITY,
        "Equity": AccountType.EQUITY,
        "Income": AccountType.INCOME,
        "Expenses": AccountType.EXPENSE,
    }[code.split(":", 1)[0]]


def book_id(fund_code: str) -> UUID:
    return uuid5(MSAFIRI_NAMESPACE, f"fund:{fund_code.upper()}")


def claim_id(incident_or_member: UUID, category: str) -> UUID:
    return uuid5(MSAFIRI_NAMESPACE, f"claim:{incident_or_member}:{category}")


def claim_of(d: Disbursement) -> UUID:
    return claim_id(d.incident_id or d.migrant_id, d.category)


def leg(account: str, currency: str, debit: int = 0, credit: int = 0) -> e.Leg:
    return e.Leg(account=account, currency=currency, debit_minor=debit, credit_minor=credit)


def two_legs(debit: str, credit: str, amount: Money) -> tuple[e.Leg, e.Leg]:
    return (
        leg(debit, amount.currency, debit=amount.amount_minor),
        leg(credit, amount.currency, credit=amount.amount_minor),
    )


class Unit:
    """What one command touches, saved together.

    A money command may read what it needs *before* it waits for the fund
    (`prefetch`, `prefetch_many`, `expect`): every record so read is noted with
    its version (None: not there). Holding the fund, `LedgerService._catch_up`
    then brings the book and every one of those records up to date in ONE
    query - the events stored after the version read - so the command decides
    on exactly what it would have read holding the fund, while the fund is
    held one round trip instead of one per record (and their data keys were
    read before the wait)."""

    def __init__(self, ledger: LedgerService):
        self._ledger = ledger
        self.touched: dict[UUID, Aggregate] = {}
        # Read before the fund was held (None: it did not exist), brought up
        # to date once it is (`LedgerService._catch_up`).
        self.seen: dict[UUID, Aggregate | None] = {}

    def book(self) -> Book:
        if self._ledger.book_id not in self.touched:
            self.touched[self._ledger.book_id] = self._ledger.book()
        return self.touched[self._ledger.book_id]  # type: ignore[return-value]

    # --- read before the fund is held ---------------------------------------

    def prefetch_many(self, ids: list[UUID]) -> None:
        """Read these records (one query on PostgreSQL), absent ones noted."""
        wanted = [i for i in dict.fromkeys(ids) if i not in self.seen]
        for aggregate_id in wanted:
            self.seen[aggregate_id] = None
        self.advance(self._ledger._events_after(dict.fromkeys(wanted, 0)))

    def prefetch(self, aggregate_id: UUID) -> Aggregate | None:
        self.prefetch_many([aggregate_id])
        return self.seen[aggregate_id]

    def expect(self, *aggregate_ids: UUID) -> None:
        """Records expected not to exist yet (e.g. a transfer's record about
        to be posted): not read now; the catch-up reads them if they do."""
        for aggregate_id in aggregate_ids:
            self.seen.setdefault(aggregate_id, None)

    def versions(self) -> dict[UUID, int]:
        return {i: (a.version if a is not None else 0) for i, a in self.seen.items()}

    def advance(self, events: list[Any]) -> None:
        """Apply events stored after what was read (in version order)."""
        for event in events:
            aggregate_id = event.originator_id
            self.seen[aggregate_id] = event.mutate(self.seen.get(aggregate_id))

    # --- read while deciding -------------------------------------------------

    def get(self, aggregate_id: UUID, what: str) -> Any:
        if aggregate_id not in self.touched:
            self.touched[aggregate_id] = self.read(aggregate_id, what)
        return self.touched[aggregate_id]

    def read(self, aggregate_id: UUID, what: str) -> Any:
        """A record the command reads (and may change: `get` puts it among
        those saved): the one read before and caught up, else read now."""
        if aggregate_id in self.seen:
            found = self.seen[aggregate_id]
            if found is None:
                raise NotFound(f"no {what} with id {aggregate_id}")
            return found
        return self._ledger.store.get(aggregate_id, what)

    def exists(self, aggregate_id: UUID) -> bool:
        if aggregate_id in self.seen:
            return self.seen[aggregate_id] is not None
        return self._ledger.store.exists(aggregate_id)

    def claim(self, claim_key: UUID) -> Claim:
        if claim_key not in self.touched:
            if claim_key in self.seen:
                self.touched[claim_key] = self.seen[claim_key] or Claim(claim_key)
                return self.touched[claim_key]  # type: ignore[return-value]
            # One read: `exists` would replay the claim just to say yes.
            try:
                self.touched[claim_key] = self._ledger.store.get(claim_key, "claim")
            except NotFound:
                self.touched[claim_key] = Claim(claim_key)
        return self.touched[claim_key]  # type: ignore[return-value]

    def find_transfer(self, transfer_id: UUID, deep: bool) -> Transfer | None:
        """The book's lookup of a stored transfer record, answered from the
        records caught up with the fund held when the command expected it."""
        record_id = transfer_record_id(transfer_id)
        if record_id in self.seen:
            found = self.seen[record_id]
            if found is not None or not deep:
                return found  # type: ignore[return-value]
        return self._ledger._find_transfer(transfer_id, deep)

    def add(self, aggregate: Aggregate) -> None:
        self.touched[aggregate.id] = aggregate

    def records(self) -> list[Aggregate]:
        """The transfer records the book's changes made, saved with it."""
        book = self.touched.get(self._ledger.book_id)
        return list(book.records.values()) if isinstance(book, Book) else []


class LedgerService:
    def __init__(
        self,
        store: EventStore,
        authz: Authoriser,
        fund_code: str = "MWF",
        snapshots: SnapshotStore | None = None,
    ):
        self.store = store
        # Where the book's snapshots are kept (msafiri/bootstrap.py makes it);
        # without one the book is replayed from its first event.
        self.snapshots = snapshots
        self._snapshot_version = 0
        self._authz = authz
        self.fund_code = fund_code.upper()
        self.book_id = book_id(self.fund_code)
        self._cache: Book | None = None
        self._cache_lock = threading.Lock()
        # What "now" is for the fund's rules (expiry, "today" for value dates):
        # UTC wall time; tests move it forward to let requests lapse.
        self.clock: Callable[[], datetime] = utcnow

    def today(self):
        """Today's date in UTC: a value date after it is in the future."""
        return self.clock().astimezone(UTC).date()

    # --- the book, cached and fast-forwarded ---------------------------------

    def book(self) -> Book:
        """The book as stored now. A fresh process starts from the latest
        snapshot and reads only the events after it; then it keeps its copy
        and reads only the events stored since. Every `SNAPSHOT_EVERY` events
        it takes a new snapshot, so no process ever replays the whole history."""
        with self._cache_lock:
            if self._cache is None:
                book = self._cached()
            else:
                book = self._cache
                for event in self._events(self.book_id, book.version):
                    event.mutate(book)
            copy = self._copy_of(book)
        copy.lookup = self._find_transfer
        return copy

    def _cached(self) -> Book:
        """The book in this process's cache, read (from its latest snapshot)
        if the process has none yet. Called holding `_cache_lock`."""
        if self._cache is None:
            self._cache = self._load()
        return self._cache

    def _copy_of(self, book: Book) -> Book:
        """A command's own copy of the cached book, a snapshot taken first
        when one is due. Called holding `_cache_lock`."""
        if book.version - self._snapshot_version >= SNAPSHOT_EVERY:
            self._take_snapshot(book)
        return deepcopy(book)

    def _load(self) -> Book:
        book: Book | None = None
        self._snapshot_version = 0
        if self.snapshots is not None:
            try:
                rows = self.snapshots.recorder.select_events(self.book_id, desc=True, limit=1)
                for snapshot in self.snapshots.mapper.to_domain_events(rows):
                    book = snapshot.mutate(None)
                    self._snapshot_version = snapshot.originator_version
            except PersistenceError as error:  # e.g. a read-only file without the table
                log.warning("book snapshots unreadable, replaying the book: %s", error)
        gt = book.version if book is not None else None
        for event in self._events(self.book_id, gt):
            book = event.mutate(book)
        if book is None:
            raise NotFound(f"no fund with id {self.book_id}")
        return book

    def _events(self, aggregate_id: UUID, after: int | None) -> list[Any]:
        """Its events after a version, the data keys they need read at once."""
        rows = self.store.recorder.select_events(aggregate_id, gt=after)
        return self.store.mapper.to_domain_events(rows)

    def _events_after(self, after: dict[UUID, int]) -> list[Any]:
        """The events of several aggregates after a version of each, in
        version order per aggregate: one query where the recorder can
        (PostgreSQL), else one per aggregate; their data keys read at once."""
        if not after:
            return []
        select_many = getattr(self.store.recorder, "select_events_after", None)
        if select_many is not None:
            rows = select_many(after)
        else:
            rows = [
                row
                for aggregate_id, version in after.items()
                for row in self.store.recorder.select_events(aggregate_id, gt=version)
            ]
        return self.store.mapper.to_domain_events(rows)

    def _warm(self) -> None:
        """Have the book in this process's cache (a cold process reads its
        snapshot and the events since before waiting for the fund)."""
        if self._cache is None:
            with self._cache_lock:
                self._cached()

    def _catch_up(self, unit: Unit) -> None:
        """Holding the fund: the book and every record the command read
        before waiting, brought up to date in one query (`Unit`)."""
        with self._cache_lock:
            book = self._cached()
            after = unit.versions()
            after[self.book_id] = book.version
            events = self._events_after(after)
            others = []
            for event in events:
                if event.originator_id == self.book_id:
                    event.mutate(book)
                else:
                    others.append(event)
            copy = self._copy_of(book)
        copy.lookup = unit.find_transfer
        unit.touched[self.book_id] = copy
        unit.advance(others)

    def snapshot_now(self) -> None:
        """Take a snapshot of the book as stored now (after an erasure dropped
        snapshots that named the person: msafiri/erasure.py)."""
        self.book()
        with self._cache_lock:
            if self._cache is not None:
                self._take_snapshot(self._cache)

    def forget_book(self) -> None:
        """Drop this process's copy of the book: the next read loads it again
        from the latest snapshot (after bad snapshot rows were deleted:
        msafiri/snapshot_repair.py - a copy read from one must not outlive it)."""
        with self._cache_lock:
            self._cache = None
            self._snapshot_version = 0

    def _take_snapshot(self, book: Book) -> None:
        # A cache of stored events: failing to write one (another process
        # took the same version first, a read-only file) changes nothing.
        if self.snapshots is None:
            return
        try:
            self.snapshots.put([BookSnapshot.take(book)])
        except PersistenceError as error:
            log.info("book snapshot at version %s not stored: %s", book.version, error)
        self._snapshot_version = book.version

    def _find_transfer(self, transfer_id: UUID, deep: bool) -> Transfer | None:
        """A posted transfer's record; with `deep`, also one posted before
        transfers had records, rebuilt from the book's events."""
        try:
            return self.store.get(transfer_record_id(transfer_id), "transfer")
        except NotFound:
            return self._transfer_from_events(transfer_id) if deep else None

    def transfer(self, transfer_id: UUID) -> Transfer:
        """The record of a posted transfer (NotFound when there is none)."""
        return self.book().transfer(transfer_id)

    def _transfer_from_events(self, transfer_id: UUID) -> Transfer | None:
        found: Transfer | None = None
        reversed_by: UUID | None = None
        pendings: dict[UUID, e.TransferReserved] = {}
        for event in self.store.events.get(self.book_id):
            fields: tuple | None = None
            if isinstance(event, e.TransferReserved):
                pendings[event.pending_id] = event
            elif isinstance(event, e.TransferPosted):
                if event.reverses == transfer_id:
                    reversed_by = event.transfer_id
                if event.transfer_id == transfer_id:
                    fields = (event.kind, event.legs, event.occurred_at)
                    fields += (event.disbursement_id, event.reverses)
            elif isinstance(event, e.ReservationPosted) and event.transfer_id == transfer_id:
                pending = pendings[event.pending_id]
                legs = reservation_legs(pending.legs, event.amount_minor)
                fields = (TransferKind.PAYMENT, legs, event.occurred_at)
                fields += (pending.disbursement_id, None)
            if fields is not None:
                actor = Actor(officer_id=event.actor_id, role=event.actor_role)
                # Unsaved unless it is reversed now (then saved with the reversal).
                found = Transfer.record(actor, self.book_id, transfer_id, *fields)
        if found is not None and reversed_by is not None:
            found.reversed_by = reversed_by
        return found

    def fund_exists(self) -> bool:
        return self.store.exists(self.book_id)

    # --- the one way every money command runs -------------------------------

    def _run(
        self,
        actor: Actor,
        command: c.LedgerCommand,
        roles: tuple[Role, ...],
        action: str,
        work: Callable[[Unit], dict[str, Any]],
        tracking: Tracking | None = None,
        prefetch: Callable[[Unit], None] | None = None,
    ) -> dict[str, Any]:
        """`prefetch`, when given, reads what `work` will need before the
        fund is held (Unit); `work` then runs on it, caught up."""
        self._authz.require(actor, action, *roles)
        name = type(command).__name__
        digest = content_hash(command, actor)
        # A retry of a recorded command is answered without waiting for the
        # fund. (Two first tries of one id racing each other are still safe:
        # the second's receipt conflicts on save and reads the first's answer.)
        done, outcome = self._replayed(command, name, digest, tracking)
        for attempt in range(MAX_ATTEMPTS):
            # One decision at a time per fund (EventStore.serialised): the
            # book read below already holds what the previous decision saved,
            # so the save does not lose a version race and nobody waits in a
            # retry loop. The loop stays for what the lock cannot cover (two
            # SQLite processes; a command id recorded by someone else).
            if not done:
                unit = self._prefetched(prefetch) if prefetch is not None else None
                with self.store.serialised(self.book_id):
                    done, outcome = self._attempt(
                        actor, command, name, digest, work, tracking, attempt > 0, unit
                    )
            if not done:
                continue
            if isinstance(outcome, BaseException):
                # Raised after the block, so the refusal's receipt (saved in
                # the lock's transaction) is committed, not rolled back.
                raise outcome
            return outcome
        raise ConcurrentUpdate("the fund is very busy: the command was not applied; try again")

    def _attempt(
        self,
        actor: Actor,
        command: c.LedgerCommand,
        name: str,
        digest: str,
        work: Callable[[Unit], dict[str, Any]],
        tracking: Tracking | None,
        replay: bool,
        unit: Unit | None = None,
    ) -> tuple[bool, Any]:
        """One try: (False, None) to retry, else (True, the result or the
        refusal to raise)."""
        if replay:
            done, outcome = self._replayed(command, name, digest, tracking)
            if done:
                return done, outcome
        try:
            if unit is None:
                unit = Unit(self)
            else:
                self._catch_up(unit)
            result = work(unit)
            if self.book_id in unit.touched:
                unit.book().check_covered()
        except RequestLapsed as lapse:
            # The decision is refused, but the lapse it found is a fact:
            # store it (reservation released) with the refusal, in one save.
            receipt = CommandReceipt.refused(command.command_id, actor, name, digest, lapse)
            try:
                self.store.save_all(*unit.touched.values(), *unit.records(), receipt)
            except ConcurrentUpdate:
                return False, None
            return True, lapse
        except LedgerRefusal as refusal:
            receipt = CommandReceipt.refused(command.command_id, actor, name, digest, refusal)
            try:
                # Without the tracking: the caller (the fund process)
                # records what the refusal means, with its position.
                self.store.save_all(receipt)
            except ConcurrentUpdate:
                return False, None  # someone recorded this command id first: read their answer
            return True, refusal
        except MsafiriError as error:
            return True, error  # e.g. NotFound: nothing stored
        receipt = CommandReceipt.accepted(command.command_id, actor, name, digest, result)
        try:
            self.store.save_all(*unit.touched.values(), *unit.records(), receipt, tracking=tracking)
        except ConcurrentUpdate:
            return False, None
        return True, result

    def _prefetched(self, prefetch: Callable[[Unit], None]) -> Unit:
        """A unit with what the command will read, read before the fund is
        held (and the book in the cache), to be caught up once it is."""
        unit = Unit(self)
        prefetch(unit)
        # After the reads: in a cold process the first thread loads the
        # book while the others' reads go on, instead of waiting for it.
        self._warm()
        return unit

    def _make_data_key(self, key_ref: UUID, subject: UUID) -> None:
        """Make (or read) a record's data key now, as its first save would."""
        data_keys = getattr(self.store.mapper, "data_keys", None)
        if data_keys is not None:
            data_keys.for_writing(str(key_ref), str(subject))

    def _replayed(
        self, command: c.LedgerCommand, name: str, digest: str, tracking: Tracking | None
    ) -> tuple[bool, Any]:
        """(True, the first answer) when this command id was already recorded."""
        try:
            replay = self._replay(command, name, digest)
        except MsafiriError as refusal:  # its first refusal, or the id reused
            return True, refusal
        if replay is None:
            return False, None
        if tracking is not None:
            self._save_tracking_only(tracking)
        return True, replay

    def _replay(self, command: c.LedgerCommand, name: str, digest: str) -> dict[str, Any] | None:
        try:
            receipt: CommandReceipt = self.store.get(receipt_id(command.command_id), "receipt")
        except NotFound:
            return None
        return self._answer(receipt, command, name, digest)

    @staticmethod
    def _answer(
        receipt: CommandReceipt, command: c.LedgerCommand, name: str, digest: str
    ) -> dict[str, Any]:
        """A recorded command's first answer (its refusal raised again), or
        CommandIdReused when the id was recorded for something else."""
        if receipt.command != name or receipt.content_hash != digest:
            raise CommandIdReused(
                f"command id {command.command_id} was already used for a different "
                f"{receipt.command}; choose a new id"
            )
        if receipt.refusal is not None:
            error, message = receipt.refusal
            raise REFUSALS.get(error, LedgerRefusal)(message)
        assert receipt.result is not None
        return receipt.result

    def _save_tracking_only(self, tracking: Tracking) -> None:
        # Already recorded by another runner of the process: nothing to do.
        with contextlib.suppress(ConcurrentUpdate):
            self.store.save_all(tracking=tracking)

    # --- opening the fund ----------------------------------------------------

    def open_fund(self, actor: Actor, command: c.OpenFund) -> dict[str, Any]:
        def work(unit: Unit) -> dict[str, Any]:
            if command.fund_code != self.fund_code:
                raise LedgerRefusal(f"this installation keeps the fund {self.fund_code}")
            if self.fund_exists():
                raise LedgerRefusal(f"the fund {self.fund_code} is already open")
            if command.opened_on is not None and command.opened_on > self.today():
                raise ValueDateRefused(
                    f"opened_on {command.opened_on} is in the future (today is {self.today()} UTC)"
                )
            unit.add(
                Book.open(
                    self.book_id,
                    actor,
                    command.fund_code,
                    command.name,
                    list(command.currencies),
                    opened_at=c.value_day(command.opened_on),
                )
            )
            return {"fund_id": str(self.book_id)}

        return self._run(actor, command, (Role.ADMINISTRATOR,), "open the fund", work)

    def adopt_policy(self, actor: Actor, command: c.AdoptPolicy) -> dict[str, Any]:
        def work(unit: Unit) -> dict[str, Any]:
            book = unit.book()
            policy = ApprovalPolicy(
                version=command.version,
                currency=book.policy.currency,
                two_approver_threshold_minor=command.two_approver_threshold_minor,
                caps_minor=command.caps_minor,
                claim_window_days=command.claim_window_days,
                expiry_days=command.expiry_days,
            )
            book.adopt_policy(actor, policy)
            return {"policy_version": policy.version}

        return self._run(actor, command, (Role.ADMINISTRATOR,), "adopt a fund policy", work)

    def open_account(self, actor: Actor, command: c.OpenAccount) -> dict[str, Any]:
        def work(unit: Unit) -> dict[str, Any]:
            expected = account_type_of(command.account)
            if command.type is not expected:
                raise LedgerRefusal(
                    f"{command.account} is an {expected.value} account, not {command.type.value}"
                )
            unit.book().open_account(actor, command.account, command.currency, command.type)
            return {"account": command.account, "currency": command.currency}

        return self._run(actor, command, FUND_OFFICER, "open accounts", work)

    def close_account(self, actor: Actor, command: c.CloseAccount) -> dict[str, Any]:
        def work(unit: Unit) -> dict[str, Any]:
            unit.book().close_account(actor, command.account, command.currency, command.reason)
            return {"account": command.account, "currency": command.currency, "closed": True}

        return self._run(actor, command, FUND_OFFICER, "close accounts", work)

    # --- money in ------------------------------------------------------------

    def record_contribution(self, actor: Actor, command: c.RecordContribution) -> dict[str, Any]:
        batch = c.RecordContributionBatch(
            command_id=command.command_id,
            currency=command.amount.currency,
            received_on=command.received_on,
            reference=command.reference,
            lines=(
                c.ContributionItem(
                    migrant_id=command.migrant_id,
                    membership_number=command.membership_number,
                    amount_minor=command.amount.amount_minor,
                ),
            ),
        )
        return self.record_contributions(actor, batch, original=command)

    def record_contributions(
        self,
        actor: Actor,
        command: c.RecordContributionBatch,
        original: c.LedgerCommand | None = None,
    ) -> dict[str, Any]:
        def prefetch(unit: Unit) -> None:
            self._prefetch_contributions(unit, [command])

        def work(unit: Unit) -> dict[str, Any]:
            return self._decide_contributions(unit, actor, command)

        return self._run(
            actor,
            original or command,
            FUND_OFFICER + (Role.SYSTEM,),
            "record contributions",
            work,
            prefetch=prefetch,
        )

    def record_contribution_batches(
        self, actor: Actor, commands: list[c.RecordContributionBatch]
    ) -> list[Any]:
        """Several contribution batches (an import's references) decided in
        ONE hold of the fund and stored in one save, each still its own
        transfer with its own receipt - exactly what `record_contributions`
        records for it alone, so a retry by either answers from the receipt.

        Decided in order; the first refused stops the rest, as one call after
        another would: the outcome per batch is its result, its refusal (an
        error, not raised; its receipt stored with those before it), or None
        when it was not decided."""
        self._authz.require(actor, "record contributions", *FUND_OFFICER, Role.SYSTEM)
        name = c.RecordContributionBatch.__name__
        digests = [content_hash(command, actor) for command in commands]
        outcomes: list[Any] = [None] * len(commands)
        for _attempt in range(MAX_ATTEMPTS):
            todo = self._unanswered(commands, name, digests, outcomes)
            if not todo:
                return outcomes
            unit = self._prefetched(
                lambda unit, todo=todo: self._prefetch_contributions(
                    unit, [commands[i] for i in todo]
                )
            )
            with self.store.serialised(self.book_id):
                decided = self._decide_batches(actor, commands, name, digests, todo, unit)
            if decided is not None:
                for i, outcome in decided.items():
                    outcomes[i] = outcome
                return outcomes
        raise ConcurrentUpdate("the fund is very busy: the command was not applied; try again")

    def recorded(self, command_ids: list[UUID]) -> set[UUID]:
        """Which of these command ids have a receipt (one query)."""
        by_receipt = {receipt_id(command_id): command_id for command_id in command_ids}
        rows = self._events_after(dict.fromkeys(by_receipt, 0))
        return {by_receipt[event.originator_id] for event in rows}

    def _unanswered(
        self,
        commands: list[c.RecordContributionBatch],
        name: str,
        digests: list[str],
        outcomes: list[Any],
    ) -> list[int]:
        """The batches to decide now: their receipts read in one query, the
        recorded ones answered in `outcomes`, up to the first recorded refusal."""
        ids = {receipt_id(command.command_id): None for command in commands}
        receipts = Unit(self)
        receipts.seen.update(ids)
        receipts.advance(self._events_after(dict.fromkeys(ids, 0)))
        todo = []
        for i, command in enumerate(commands):
            receipt = receipts.seen[receipt_id(command.command_id)]
            if receipt is None:
                todo.append(i)
                continue
            try:
                outcomes[i] = self._answer(receipt, command, name, digests[i])
            except MsafiriError as refusal:
                outcomes[i] = refusal
                break
        return todo

    def _decide_batches(
        self,
        actor: Actor,
        commands: list[c.RecordContributionBatch],
        name: str,
        digests: list[str],
        todo: list[int],
        unit: Unit,
    ) -> dict[int, Any] | None:
        """Holding the fund: decide the batches in order and store them in
        one save (None: a conflict, decide again)."""
        decided: dict[int, Any] = {}
        receipts = []
        try:
            self._catch_up(unit)
        except MsafiriError as error:  # e.g. no fund
            return {todo[0]: error}
        book = unit.book()
        for i in todo:
            command = commands[i]
            events_before = len(book._pending)
            try:
                result = self._decide_contributions(unit, actor, command)
            except LedgerRefusal as refusal:
                # Every check comes before the posting: a refused batch has
                # changed nothing that the save would store.
                if len(book._pending) != events_before:
                    raise RuntimeError("a refused contribution changed the book") from refusal
                receipts.append(
                    CommandReceipt.refused(command.command_id, actor, name, digests[i], refusal)
                )
                decided[i] = refusal
                break
            except MsafiriError as error:
                decided[i] = error  # e.g. NotFound: nothing stored for it
                break
            receipts.append(
                CommandReceipt.accepted(command.command_id, actor, name, digests[i], result)
            )
            decided[i] = result
        book.check_covered()
        try:
            self.store.save_all(*unit.touched.values(), *unit.records(), *receipts)
        except ConcurrentUpdate:
            return None
        return decided

    def _prefetch_contributions(
        self, unit: Unit, commands: list[c.RecordContributionBatch]
    ) -> None:
        """The members' cases, read in one query before the fund is held;
        their transfers expected not yet posted."""
        unit.prefetch_many([line.migrant_id for command in commands for line in command.lines])
        unit.expect(*(transfer_record_id(command.command_id) for command in commands))

    def _decide_contributions(
        self, unit: Unit, actor: Actor, command: c.RecordContributionBatch
    ) -> dict[str, Any]:
        for line in command.lines:
            migrant = unit.read(line.migrant_id, "case")
            if not any(n == line.membership_number for n, _, _ in migrant.memberships):
                raise LedgerRefusal(
                    f"{migrant.case_number} has no welfare-fund membership {line.membership_number}"
                )
        total = Money(
            amount_minor=sum(line.amount_minor for line in command.lines),
            currency=command.currency,
        )
        book = unit.book()
        book.check_value_day("received_on", command.received_on, self.today())
        book.post(
            actor,
            command.command_id,
            TransferKind.CONTRIBUTION,
            two_legs(BANK, CONTRIBUTIONS, total),
            f"contributions {command.reference}",
            occurred_at=c.value_day(command.received_on),
            reference=command.reference,
            contributions=tuple(e.ContributionLine(**line.model_dump()) for line in command.lines),
        )
        return {"transfer_id": str(command.command_id), "amount_minor": total.amount_minor}

    def record_grant(self, actor: Actor, command: c.RecordGrant) -> dict[str, Any]:
        def work(unit: Unit) -> dict[str, Any]:
            unit.book().check_value_day("received_on", command.received_on, self.today())
            unit.book().post(
                actor,
                command.command_id,
                TransferKind.GRANT,
                two_legs(BANK, GRANTS, command.amount),
                f"grant from {command.donor}",
                occurred_at=c.value_day(command.received_on),
                reference=command.reference,
            )
            return {"transfer_id": str(command.command_id)}

        return self._run(actor, command, FUND_OFFICER, "record grants", work)

    def post_correction(self, actor: Actor, command: c.PostCorrection) -> dict[str, Any]:
        """Post a hand-made entry - or, when it moves money out of the fund,
        propose it for other officers to approve (maker-checker)."""

        def work(unit: Unit) -> dict[str, Any]:
            book = unit.book()
            book.check_value_day("value_date", command.value_date, self.today())
            book.check_legs(command.legs)
            memo = f"correction: {command.reason}"
            value_at = c.value_day(command.value_date)
            if self._moves_out(book, command.legs):
                return self._propose(
                    unit, actor, command.command_id, command.legs, command.reason, value_at
                )
            book.post(
                actor,
                command.command_id,
                TransferKind.CORRECTION,
                command.legs,
                memo,
                occurred_at=value_at,
            )
            return {"transfer_id": str(command.command_id), "status": "posted"}

        return self._run(actor, command, FUND_OFFICER, "post corrections", work)

    @staticmethod
    def _moves_out(book: Book, legs: tuple[e.Leg, ...]) -> Money | None:
        types = {leg.account: book.account(leg.account, leg.currency).type for leg in legs}
        out = money_out(legs, types)
        return Money(amount_minor=out, currency=legs[0].currency) if out else None

    def _propose(
        self,
        unit: Unit,
        actor: Actor,
        transfer_id: UUID,
        legs: tuple[e.Leg, ...],
        reason: str,
        value_at: datetime | None,
        reverses: UUID | None = None,
    ) -> dict[str, Any]:
        book = unit.book()
        if self.store.exists(transfer_id) or book.find(transfer_id) is not None:
            raise LedgerRefusal(f"a correction {transfer_id} already exists")
        out = self._moves_out(book, legs)
        assert out is not None
        # Refuse now what could never be posted (the bank overdrawn, today or
        # by value date), instead of letting two approvers find out later.
        trial = deepcopy(book)
        trial.post(actor, transfer_id, TransferKind.CORRECTION, legs, reason, value_at)
        trial.check_covered()
        needed = approvers_needed(book.policy, out.amount_minor, out.currency, exception=False)
        correction = Correction.start(
            transfer_id,
            e.CorrectionProposed,
            actor,
            occurred_at=value_at,
            book_id=self.book_id,
            transfer_id=transfer_id,
            legs=legs,
            reason=reason,
            reverses=reverses,
            moves_out=out,
            policy_version=book.policy.version,
            approvers_needed=needed,
        )
        unit.add(correction)
        return {
            "proposal_id": str(transfer_id),
            "status": "proposed",
            "moves_out_minor": out.amount_minor,
            "approvers_needed": needed,
        }

    def _proposal(self, unit: Unit, proposal_id: UUID) -> Correction:
        proposal = unit.get(proposal_id, "correction")
        # Any other record's id (a disbursement, a receipt) is no proposal.
        if not isinstance(proposal, Correction) or proposal.book_id != self.book_id:
            raise NotFound(f"the fund {self.fund_code} has no correction {proposal_id}")
        return proposal

    def approve_correction(self, actor: Actor, command: c.ApproveCorrection) -> dict[str, Any]:
        def work(unit: Unit) -> dict[str, Any]:
            proposal = self._proposal(unit, command.proposal_id)
            book = unit.book()
            if proposal.give_approval(actor):
                assert proposal.transfer_id is not None
                if proposal.reverses is not None:
                    book.reverse(
                        actor,
                        proposal.reverses,
                        proposal.transfer_id,
                        f"reversal: {proposal.reason}",
                    )
                else:
                    book.post(
                        actor,
                        proposal.transfer_id,
                        TransferKind.CORRECTION,
                        proposal.legs,
                        f"correction: {proposal.reason}",
                        occurred_at=proposal.value_at,
                    )
                proposal.approved(actor)
            return {
                "proposal_id": str(proposal.id),
                "status": proposal.status,
                "approvals": len(proposal.approvals),
                "approvers_needed": proposal.approvers_needed,
            }

        return self._run(actor, command, FUND_OFFICER, "approve corrections", work)

    def reject_correction(self, actor: Actor, command: c.RejectCorrection) -> dict[str, Any]:
        def work(unit: Unit) -> dict[str, Any]:
            proposal = self._proposal(unit, command.proposal_id)
            proposal.reject(actor, command.reason)
            return {"proposal_id": str(proposal.id), "status": proposal.status}

        return self._run(actor, command, FUND_OFFICER, "reject corrections", work)

    # --- disbursements -------------------------------------------------------

    def request_disbursement(
        self,
        actor: Actor,
        command: c.RequestDisbursement,
        on_behalf_of: Actor | None = None,
        tracking: Tracking | None = None,
    ) -> dict[str, Any]:
        requester = on_behalf_of or actor

        claim_key = claim_id(command.incident_id or command.migrant_id, command.category)

        def prefetch(unit: Unit) -> None:
            ids = [command.command_id, command.migrant_id, claim_key]
            unit.prefetch_many(ids + ([command.incident_id] if command.incident_id else []))
            if unit.seen[command.command_id] is None and unit.seen[command.migrant_id] is not None:
                # The request's data key (its payee, its justification), made
                # now rather than while the fund is held (4 queries and a
                # commit). Unused if the request is refused: a key row
                # sealing nothing, destroyed with the migrant's others.
                self._make_data_key(command.command_id, command.migrant_id)

        def work(unit: Unit) -> dict[str, Any]:
            if unit.exists(command.command_id):
                raise LedgerRefusal(f"disbursement {command.command_id} already exists")
            book = unit.book()
            migrant = unit.read(command.migrant_id, "case")
            incident = None
            if command.incident_id is not None:
                incident = unit.read(command.incident_id, "incident")
                if incident.migrant_id != migrant.id:
                    raise LedgerRefusal("the incident belongs to another case")
            above = cap_exceeded(
                book.policy, command.category, command.amount.amount_minor, command.amount.currency
            )
            if above:
                raise AboveCap(above)
            claim = unit.claim(claim_key)
            now = self.clock()
            checks = self._eligibility(
                book,
                command.category,
                command.amount,
                now,
                incident,
                migrant,
                claim,
                command.command_id,
            )
            needed = approvers_needed(
                book.policy, command.amount.amount_minor, command.amount.currency, exception=False
            )
            eligible = all(check.passed for check in checks)
            disbursement = Disbursement.start(
                command.command_id,
                e.DisbursementRequested,
                actor,
                book_id=self.book_id,
                incident_id=command.incident_id,
                migrant_id=migrant.id,
                category=command.category,
                amount=command.amount,
                payee=command.payee,
                justification=command.justification,
                requested_by=requester.officer_id,
                requested_by_role=requester.role,
                assistance_request=on_behalf_of is not None and incident is not None,
                eligibility=checks,
                policy_version=book.policy.version,
                approvers_needed=needed,
                expires_at=now + timedelta(days=book.policy.expiry_days),
                reserved=eligible,
            )
            unit.add(disbursement)
            if eligible:
                book.reserve(
                    actor,
                    disbursement.reservation_id,
                    TransferKind.RESERVATION,
                    two_legs(BENEFIT_ACCOUNT[command.category], BANK, command.amount),
                    f"reserved for {command.category.value} to {command.payee}",
                    disbursement.id,
                )
            else:
                # Kept on record, reserving nothing: an ineligible request must
                # not lock money valid requests need. An exception approval
                # takes the reservation (or is refused for insufficient funds).
                book.hold_unreserved(actor, disbursement.id)
            claim.add(actor, disbursement.id)
            return {
                "disbursement_id": str(disbursement.id),
                "eligible": eligible,
                "reserved": eligible,
                "approvers_needed": needed,
            }

        return self._run(
            actor,
            command,
            REQUESTERS,
            "request disbursements",
            work,
            tracking=tracking,
            prefetch=prefetch,
        )

    def _eligibility(
        self,
        book: Book,
        category,
        amount: Money,
        now,
        incident,
        migrant,
        claim: Claim,
        disbursement_id: UUID,
    ) -> tuple[e.EligibilityCheck, ...]:
        facts = ClaimFacts(
            category=category,
            amount_minor=amount.amount_minor,
            currency=amount.currency,
            requested_at=now,
            # Benefits without an incident (reintegration grant, disability)
            # are judged on membership now.
            incident_occurred_at=incident.occurred_at if incident is not None else now,
            memberships=tuple(migrant.memberships),
            other_claims_paid=claim.others(disbursement_id, "paid"),
            other_claims_open=sum(claim.others(disbursement_id, s) for s in OPEN_CLAIM),
        )
        return tuple(
            e.EligibilityCheck(rule=x.rule, passed=x.passed, reason=x.reason)
            for x in check_eligibility(book.policy, facts)
        )

    def _prefetch_decision(self, disbursement_id: UUID, what: str) -> Callable[[Unit], None]:
        """What a decision on a request reads - the request, its case and
        incident, its claim - read before the fund is held, and the transfer
        records it may post expected (none yet)."""

        def prefetch(unit: Unit) -> None:
            d = unit.prefetch(disbursement_id)
            if not isinstance(d, Disbursement):
                return  # not there (or not a request): `work` says so
            ids: list[UUID] = [claim_of(d)]
            if what == "approve":
                ids.append(d.migrant_id)
                if d.incident_id is not None:
                    ids.append(d.incident_id)
            unit.prefetch_many(ids)
            unit.expect(
                *(
                    transfer_record_id(t)
                    for t in (d.approval_transfer_id, d.payment_id, d.release_id)
                )
            )

        return prefetch

    def approve(self, actor: Actor, command: c.ApproveDisbursement) -> dict[str, Any]:
        def work(unit: Unit) -> dict[str, Any]:
            d: Disbursement = unit.get(command.disbursement_id, "disbursement")
            book = unit.book()
            self._refuse_if_lapsed(unit, actor, d)
            d.check_status("approve", DisbursementStatus.REQUESTED)
            migrant = unit.read(d.migrant_id, "case")
            incident = unit.read(d.incident_id, "incident") if d.incident_id else None
            claim = unit.claim(claim_of(d))
            amount = Money(
                amount_minor=command.amount_minor or d.requested_minor, currency=d.currency
            )
            checks = self._eligibility(
                book, d.category, amount, d.requested_at, incident, migrant, claim, d.id
            )
            failed = [x for x in checks if not x.passed]
            if failed and not command.humanitarian_exception:
                reasons = "; ".join(f"{x.rule}: {x.reason}" for x in failed)
                raise LedgerRefusal(
                    f"eligibility failed ({reasons}); approve it only as a humanitarian "
                    "exception with a written reason"
                )
            needed = approvers_needed(
                book.policy, amount.amount_minor, amount.currency, command.humanitarian_exception
            )
            done = d.give_approval(
                actor,
                amount.amount_minor,
                command.humanitarian_exception,
                command.reason,
                checks,
                book.policy.version,
                needed,
            )
            if done:
                approved = Money(amount_minor=d.approved_minor, currency=d.currency)
                expense = BENEFIT_ACCOUNT[d.category]
                if d.reserved:
                    book.void_reservation(actor, d.reservation_id, "approved")
                book.post(
                    actor,
                    d.approval_transfer_id,
                    TransferKind.APPROVAL,
                    two_legs(expense, APPROVED, approved),
                    f"approved {d.category.value} for {d.payee}",
                    disbursement_id=d.id,
                )
                book.reserve(
                    actor,
                    d.payable_id,
                    TransferKind.RESERVATION,
                    two_legs(APPROVED, BANK, approved),
                    f"payable to {d.payee}",
                    d.id,
                )
                claim.settle(actor, d.id, "approved")
            return {
                "disbursement_id": str(d.id),
                "status": d.status.value,
                "approvals": len(d.approvals),
                "approvers_needed": d.approvers_needed,
            }

        prefetch = self._prefetch_decision(command.disbursement_id, "approve")
        return self._run(
            actor, command, FUND_OFFICER, "approve disbursements", work, prefetch=prefetch
        )

    def reject(self, actor: Actor, command: c.RejectDisbursement) -> dict[str, Any]:
        def work(unit: Unit) -> dict[str, Any]:
            d: Disbursement = unit.get(command.disbursement_id, "disbursement")
            book = unit.book()
            self._refuse_if_lapsed(unit, actor, d)
            d.reject(actor, command.reason, book.policy.version)
            if d.reserved:
                book.void_reservation(actor, d.reservation_id, f"rejected: {command.reason}")
            else:
                book.close_unreserved(actor, d.id, "rejected")
            unit.claim(claim_of(d)).settle(actor, d.id, "rejected")
            return {"disbursement_id": str(d.id), "status": d.status.value}

        return self._run(actor, command, FUND_OFFICER, "reject disbursements", work)

    def expire(self, actor: Actor, command: c.ExpireDisbursement, now=None) -> dict[str, Any]:
        def work(unit: Unit) -> dict[str, Any]:
            d: Disbursement = unit.get(command.disbursement_id, "disbursement")
            self._lapse(unit, actor, d, now or self.clock())
            return {"disbursement_id": str(d.id), "status": d.status.value}

        return self._run(
            actor, command, FUND_OFFICER + (Role.SYSTEM,), "expire disbursements", work
        )

    def _refuse_if_lapsed(self, unit: Unit, actor: Actor, d: Disbursement) -> None:
        """A decision on an overdue request lapses it - the same lapse the
        sweep records - and is refused (`_run` stores the lapse with the refusal)."""
        now = self.clock()
        if d.overdue(now):
            self._lapse(unit, actor, d, now)
            assert d.expires_at is not None
            raise RequestLapsed(
                # The service has no officer's zone: the instant, named UTC
                # (a bare UTC date could name the officer's next day).
                f"request {d.id} expired at {d.expires_at:%Y-%m-%d %H:%M} UTC; it has been lapsed"
            )

    def _lapse(self, unit: Unit, actor: Actor, d: Disbursement, now: datetime) -> None:
        book = unit.book()
        was = d.expire(actor, now)
        if was is DisbursementStatus.REQUESTED:
            if d.reserved:
                book.void_reservation(actor, d.reservation_id, "expired")
            else:
                book.close_unreserved(actor, d.id, "expired")
        else:
            book.void_reservation(actor, d.payable_id, "expired")
            book.post(
                actor,
                d.release_id,
                TransferKind.RELEASE,
                two_legs(
                    APPROVED,
                    BENEFIT_ACCOUNT[d.category],
                    Money(amount_minor=d.approved_minor, currency=d.currency),
                ),
                f"approval lapsed unpaid: {d.payee}",
                disbursement_id=d.id,
            )
        unit.claim(claim_of(d)).settle(actor, d.id, "expired")

    def pay(self, actor: Actor, command: c.PayDisbursement) -> dict[str, Any]:
        def work(unit: Unit) -> dict[str, Any]:
            d: Disbursement = unit.get(command.disbursement_id, "disbursement")
            book = unit.book()
            self._refuse_if_lapsed(unit, actor, d)
            d.check_status("pay", DisbursementStatus.APPROVED)
            amount = command.amount_minor or d.approved_minor
            payment_id, release_id, payable_id = d.payment_id, d.release_id, d.payable_id
            paid_at = c.value_day(command.paid_on)
            assert d.approved_on is not None
            book.check_value_day(
                "paid_on",
                (paid_at or self.clock()).date(),
                self.today(),
                not_before=("its approval", d.approved_on),
            )
            d.pay(actor, amount, command.channel, command.payment_reference, payment_id, paid_at)
            book.post_reservation(
                actor, payable_id, payment_id, amount, command.payment_reference, paid_at
            )
            if amount < d.approved_minor:
                book.post(
                    actor,
                    release_id,
                    TransferKind.RELEASE,
                    two_legs(
                        APPROVED,
                        BENEFIT_ACCOUNT[d.category],
                        Money(amount_minor=d.approved_minor - amount, currency=d.currency),
                    ),
                    f"approved but not paid: {d.payee}",
                    occurred_at=paid_at,
                    disbursement_id=d.id,
                )
            unit.claim(claim_of(d)).settle(actor, d.id, "paid")
            return {
                "disbursement_id": str(d.id),
                "transfer_id": str(payment_id),
                "amount_minor": amount,
            }

        prefetch = self._prefetch_decision(command.disbursement_id, "pay")
        return self._run(actor, command, FUND_OFFICER, "pay disbursements", work, prefetch=prefetch)

    def reverse(self, actor: Actor, command: c.ReverseTransfer) -> dict[str, Any]:
        def work(unit: Unit) -> dict[str, Any]:
            book = unit.book()
            original = book.transfer(command.transfer_id)
            if original.kind in (TransferKind.APPROVAL, TransferKind.RELEASE):
                raise LedgerRefusal(
                    "approvals and releases follow their disbursement: reverse its payment "
                    "or let it expire"
                )
            memo = f"reversal: {command.reason}"
            if original.kind is not TransferKind.PAYMENT:
                legs = book.reversal_legs(command.transfer_id)
                if self._moves_out(book, legs):
                    # e.g. a contribution or grant taken back out of the bank
                    return self._propose(
                        unit,
                        actor,
                        command.command_id,
                        legs,
                        command.reason,
                        None,
                        reverses=command.transfer_id,
                    )
                book.reverse(actor, command.transfer_id, command.command_id, memo)
                return {"reversal_id": str(command.command_id), "status": "posted"}
            assert original.disbursement_id is not None
            d: Disbursement = unit.get(original.disbursement_id, "disbursement")
            if d.payment_transfer_id != command.transfer_id:
                raise LedgerRefusal("only the disbursement's current payment can be reversed")
            if d.paid_minor < d.approved_minor:
                raise LedgerRefusal(
                    "this payment was partial; correct it with a correction transfer instead"
                )
            book.reverse(actor, command.transfer_id, command.command_id, memo, disbursement_id=d.id)
            paid = Money(amount_minor=d.paid_minor, currency=d.currency)
            d.payment_reversed(actor, command.command_id, command.reason)
            # The money is back and still owed: reserve it again for a new payment.
            book.reserve(
                actor,
                d.payable_id,
                TransferKind.RESERVATION,
                two_legs(APPROVED, BANK, paid),
                f"payable again to {d.payee}",
                d.id,
            )
            unit.claim(claim_of(d)).settle(actor, d.id, "approved")
            return {"reversal_id": str(command.command_id), "disbursement_id": str(d.id)}

        return self._run(actor, command, FUND_OFFICER, "reverse transfers", work)

    # --- reading -------------------------------------------------------------

    def disbursement(self, disbursement_id: UUID) -> Disbursement:
        return self.store.get(disbursement_id, "disbursement")

    def correction(self, proposal_id: UUID) -> Correction:
        return self.store.get(proposal_id, "correction")
