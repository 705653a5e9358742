"""The fund side of `msafiri demo`: money in, requests decided, payments,
a few rejections, lapses and reversals - all through the ledger's own
services, so the demo books obey every rule real books do.

The fund lives through the same years as the cases (msafiri/demo): each
action is an entry of an agenda, run at its own simulated time - the
ledger's clock and the events' recorded time both say when - once the cases'
events before it are stored (msafiri/demo/timeline.py). So a request is made
minutes after the attaché asked, decided days later, paid days after that,
and requests left undecided lapse when the fund process sweeps past their
expiry date, as they would in a real fund.
"""

from __future__ import annotations

import csv
import heapq
import random
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from domain.errors import MsafiriError
from domain.incidents import commands as ic
from domain.model import Actor, recording_time
from domain.values import Money
from ledger import commands as c

CONTRIBUTION_KES = 3_000  # per two-year membership, paid at pre-departure
GRANT_KES_PER_MIGRANT = 20_000  # the treasury's seed grant, sized to the population
BATCH = 2_000
CHANNELS = ("bank_transfer", "mobile_money", "mobile_money", "cash_at_airport")
# Requests whose expiry falls within this many days after the history's end
# are mostly left waiting: the approval queue has urgent work in it.
NEAR_EXPIRY_DAYS = 30
REVERSALS = 2  # bounced mobile-money payments, reversed and paid again


def _uuid(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)


class FundDemo:
    """The fund's history as an agenda of timed actions (see module doc)."""

    def __init__(
        self,
        system,
        rng: random.Random,
        actors: dict[str, Actor],
        start: datetime,
        end: datetime,
        migrants: int,
        progress: Callable[[int], None] | None = None,
    ):
        self.system, self.ledger, self.store = system, system.ledger, system.store
        self.rng, self.actors = rng, actors
        self.start, self.end = start, end
        self.progress = progress or (lambda n: None)
        self.counts: dict[str, int] = defaultdict(int)
        self._agenda: list[tuple[datetime, int, Callable[..., None], tuple]] = []
        self._order = 0
        self._remittances: dict[tuple[int, int], list[tuple[UUID, str]]] = {}
        self._reversals = 0
        # Every request the fund may still lapse, by expiry: a sweep looks
        # only at those due, not at every open request (at a million
        # migrants that was a thousand loads per sweep).
        self._expiring: list[tuple[datetime, UUID]] = []
        # A remittance's reference names it (the import's idempotence key):
        # a later `demo --add` remits for the same months again, so its
        # references carry where its run began in the log.
        self._run_tag = ""
        # Value dates are stored at noon UTC: what carries one is recorded in
        # the afternoon, never before the moment it stands for.
        if not self.ledger.fund_exists():
            self._plan(start + timedelta(hours=4), self._open)
        else:  # `demo --add`: what earlier runs left open may lapse in this one
            self._watch_open()
            self._run_tag = f"-{self.store.recorder.max_notification_id()}"
        # The treasury's seed grant and, a year on, a donor's.
        grant = max(migrants, 100) * GRANT_KES_PER_MIGRANT
        self._plan(
            start + timedelta(days=3, hours=5),
            self._grant,
            "National Treasury (Migrant Welfare Fund appropriation)",
            grant,
            f"GOK-MWF-{(start + timedelta(days=3)).year}",
        )
        donor_on = start + timedelta(days=400, hours=5)
        self._plan(
            donor_on,
            self._grant,
            "ILO/IOM joint programme on labour migration",
            grant // 5,
            f"ILO-IOM-{donor_on.year}-07",
        )

    def _watch_open(self) -> None:
        for disbursement_id in sorted(self.ledger.book().open_requests()):
            self._watch(self.ledger.disbursement(disbursement_id))

    def _watch(self, d) -> None:
        if d.is_open and d.expires_at is not None:
            heapq.heappush(self._expiring, (d.expires_at, d.id))

    # --- the agenda -----------------------------------------------------------

    def _plan(self, at: datetime, action: Callable[..., None], *args: Any) -> None:
        """Do `action` at `at` - unless that is after the history's end."""
        if at <= self.end:
            heapq.heappush(self._agenda, (at, self._order, action, args))
            self._order += 1

    def next_time(self) -> datetime | None:
        return self._agenda[0][0] if self._agenda else None

    def run_next(self) -> None:
        at, _, action, args = heapq.heappop(self._agenda)
        with self._at(at):
            action(at, *args)

    @contextmanager
    def _at(self, at: datetime) -> Iterator[None]:
        """Everything done inside happens at `at`: the ledger's rules (expiry,
        value dates) and the events' recorded time."""
        clock = self.ledger.clock
        self.ledger.clock = lambda: at
        token = recording_time.set(at)
        try:
            yield
        finally:
            recording_time.reset(token)
            self.ledger.clock = clock

    def finish(self) -> dict[str, int]:
        while self._agenda:
            self.run_next()
        return dict(self.counts)

    def later(self, at: datetime, low_days: int, high_days: int) -> datetime:
        """A moment `low_days`..`high_days` after `at`, in office hours."""
        day = at.date() + timedelta(days=self.rng.randint(low_days, high_days))
        moment = datetime.combine(day, time(8), tzinfo=at.tzinfo)
        moment += timedelta(minutes=self.rng.randint(0, 8 * 60))
        return max(moment, at + timedelta(minutes=1))

    # --- what the cases tell the fund ----------------------------------------

    def cue(self, at: datetime, kind: str, details: tuple) -> None:
        if kind == "member":
            # The NEA remits what it collected in a month early the next month.
            migrant_id, number, _starts_on = details
            month = (at.year, at.month)
            if month not in self._remittances:
                self._remittances[month] = []
                first = date(at.year + at.month // 12, at.month % 12 + 1, 1)
                remit = datetime.combine(first + timedelta(days=4), time(13), tzinfo=at.tzinfo)
                self._plan(remit, self._remit, month)
            self._remittances[month].append((migrant_id, number))
        elif kind == "assistance":
            # The fund process forwards the attaché's request within minutes.
            incident_id, request_id = details
            forward = at + timedelta(minutes=self.rng.randint(2, 30))
            self._plan(forward, self._forward, incident_id, request_id)

    # --- actions ----------------------------------------------------------------

    def _open(self, at: datetime) -> None:
        self.ledger.open_fund(
            self.actors["admin"], c.OpenFund(command_id=_uuid(self.rng), opened_on=at.date())
        )

    def _grant(self, at: datetime, donor: str, shillings: int, reference: str) -> None:
        self.ledger.record_grant(
            self.actors["fund"],
            c.RecordGrant(
                command_id=_uuid(self.rng),
                donor=donor,
                amount=Money(amount_minor=shillings * 100, currency="KES"),
                received_on=at.date(),
                reference=reference,
            ),
        )
        self.counts["grants"] += 1

    def _remit(self, at: datetime, month: tuple[int, int]) -> None:
        """The NEA's remittance for a month, recorded as a fund officer records
        one: a contributions file through the registry import
        (`msafiri import contributions`: every line validated, one
        `RecordContributionBatch` per reference of up to BATCH lines, each
        idempotent by its reference)."""
        # Imported when used: nothing else in ledger/ imports the application
        # (msafiri), and the registry import imports the demo's own modules.
        from msafiri.registry_import import CONTRIBUTION_FILE_COLUMNS, import_contributions

        members = self._remittances.pop(month)
        year, number = month
        rows = []
        for i in range(0, len(members), BATCH):
            # A batch's command id is the import's, from its reference; the
            # draw that made it before is kept, so the rest of the story
            # (decisions, delays, references) is drawn exactly as before.
            _uuid(self.rng)
            reference = f"NEA-REMIT-{year}{number:02d}-{i // BATCH + 1}{self._run_tag}"
            rows += [
                (membership, migrant_id, reference)
                for migrant_id, membership in members[i : i + BATCH]
            ]
        with tempfile.TemporaryDirectory(prefix="msafiri-remittance-") as tmp:
            path = Path(tmp) / f"NEA-REMIT-{year}{number:02d}.csv"
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(CONTRIBUTION_FILE_COLUMNS)
                for membership, migrant_id, reference in rows:
                    writer.writerow(
                        (membership, CONTRIBUTION_KES, "KES", at.date(), reference, migrant_id)
                    )
            report = import_contributions(
                self.system,
                self.actors["fund"],
                path,
                stored=self.progress,
                members={membership: migrant_id for membership, migrant_id, _ in rows},
            )
        if report.problems or report.imported != len(rows):
            # The demo's own lines: any problem is a bug in the demo.
            raise RuntimeError(
                f"the demo's remittance {path.name} did not import whole: "
                f"{report.imported} of {len(rows)} lines, "
                f"{'; '.join(map(str, report.problems[:3])) or 'none bad'}"
            )
        self.counts["contributions"] += report.imported

    def _process(self, at: datetime) -> None:
        """The fund process catches up: requests forwarded, outcomes written
        back on the incidents."""
        self.system.fund_process.run_once()

    def _forward(self, at: datetime, incident_id: UUID, request_id: UUID) -> None:
        self.system.fund_process.run_once()
        try:
            d = self.ledger.disbursement(request_id)  # the request's id is the command's
        except MsafiriError:
            self._plan(self.later(at, 3, 20), self._follow_up, incident_id)  # declined
            return
        self.counts["requests"] += 1
        self._watch(d)
        self._decide(at, d)

    def _decide(self, at: datetime, d) -> None:
        """What the fund officers will do with a request, and when."""
        rng = self.rng
        expires = d.expires_at
        roll = rng.random()
        if expires > self.end and expires <= self.end + timedelta(days=NEAR_EXPIRY_DAYS):
            if roll < 0.7:
                return  # still in the queue, close to its expiry
        elif roll < 0.08:
            # Nobody decided it: the fund process lapses it after expiry.
            self._plan(self.later(expires, 0, 2), self._sweep, d.incident_id)
            return
        decided = self.later(at, 1, 14)
        if decided >= expires:
            return
        eligible = d.reserved  # only a request that passed every check reserves money
        if roll < 0.16 or (not eligible and rng.random() < 0.5):
            reason = (
                "Costs covered by the employer's insurance after follow-up."
                if eligible
                else "Not eligible: no active welfare-fund membership on the date."
            )
            self._plan(decided, self._reject, d.id, d.incident_id, reason)
        else:
            self._plan(decided, self._approve, d.id, d.incident_id, not eligible, "fund", expires)

    def _reject(self, at: datetime, disbursement_id: UUID, incident_id, reason: str) -> None:
        if self._command(
            self.ledger.reject,
            self.actors["fund"],
            c.RejectDisbursement(
                command_id=_uuid(self.rng), disbursement_id=disbursement_id, reason=reason
            ),
        ):
            self.counts["rejected"] += 1
            self._plan(at + timedelta(minutes=5), self._process)
            self._plan(self.later(at, 3, 20), self._follow_up, incident_id)

    def _approve(
        self,
        at: datetime,
        disbursement_id: UUID,
        incident_id,
        exception: bool,
        officer: str,
        expires: datetime,
    ) -> None:
        reason = (
            "Humanitarian exception: the worker is stranded without means; "
            "board guidance on destitute returnees."
            if exception
            else ""
        )
        result = self._command(
            self.ledger.approve,
            self.actors[officer],
            c.ApproveDisbursement(
                command_id=_uuid(self.rng),
                disbursement_id=disbursement_id,
                humanitarian_exception=exception,
                reason=reason,
            ),
        )
        if result is None:
            return
        # (The expiry is the request's: an approval does not move it.)
        if result["status"] != "approved":
            # A second officer signs it off within days (before it expires).
            second = self.later(at, 0, 4)
            if officer == "fund" and second < expires:
                self._plan(
                    second,
                    self._approve,
                    disbursement_id,
                    incident_id,
                    exception,
                    "fund2",
                    expires,
                )
            return
        self.counts["approved"] += 1
        paid = self.later(at, 1, 10)
        if self.rng.random() < 0.85 and paid < expires:
            self._plan(paid, self._pay, disbursement_id, incident_id, expires)
        else:  # approved but never paid: the approval lapses at expiry
            self._plan(self.later(expires, 0, 2), self._sweep, incident_id)

    def _pay(
        self,
        at: datetime,
        disbursement_id: UUID,
        incident_id,
        expires: datetime,
        bounced: bool = False,
    ) -> None:
        channel = "bank_transfer" if bounced else self.rng.choice(CHANNELS)
        prefix = "EFT" if bounced else "PAY"
        result = self._command(
            self.ledger.pay,
            self.actors["fund"],
            c.PayDisbursement(
                command_id=_uuid(self.rng),
                disbursement_id=disbursement_id,
                channel=channel,
                payment_reference=f"{prefix}-{self.rng.randint(100000, 999999)}",
            ),
        )
        if result is None:
            return
        self.counts["paid"] += 1
        self._plan(at + timedelta(minutes=5), self._process)
        bounce = at + timedelta(days=2)
        if (
            not bounced
            and channel == "mobile_money"
            and self._reversals < REVERSALS
            and bounce + timedelta(days=1) < expires
        ):
            self._reversals += 1
            transfer_id = UUID(result["transfer_id"])
            self._plan(bounce, self._reverse, disbursement_id, incident_id, transfer_id, expires)
        else:
            self._plan(self.later(at, 7, 30), self._follow_up, incident_id)

    def _reverse(
        self,
        at: datetime,
        disbursement_id: UUID,
        incident_id,
        transfer_id: UUID,
        expires: datetime,
    ) -> None:
        if self._command(
            self.ledger.reverse,
            self.actors["fund"],
            c.ReverseTransfer(
                command_id=_uuid(self.rng),
                transfer_id=transfer_id,
                reason="Mobile-money payment bounced: the recipient's line was inactive.",
            ),
        ):
            self.counts["reversed"] += 1
            self._plan(
                at + timedelta(days=1), self._pay, disbursement_id, incident_id, expires, True
            )

    def _sweep(self, at: datetime, incident_id) -> None:
        """The fund process's expiry sweep, then its write-back on incidents.
        It looks at the requests that have expired by now (`_expiring`):
        the same ones a sweep of every open request would lapse, as one
        lapses only what is open and past its expiry."""
        due = []
        while self._expiring and self._expiring[0][0] <= at:
            due.append(heapq.heappop(self._expiring)[1])
        lapsed = self.system.fund_process.expire_overdue(now=at, among=due)
        self.counts["expired"] += lapsed
        if lapsed:
            self.system.fund_process.run_once()
            if incident_id is not None:
                self._plan(self.later(at, 3, 20), self._follow_up, incident_id)

    def _follow_up(self, at: datetime, incident_id: UUID | None) -> None:
        """The attaché resolves the incident once the fund has answered."""
        if incident_id is None:
            return
        incident = self.store.get(incident_id, "incident")
        if not incident.is_open:
            return
        incident.resolve(
            self.actors["attache"],
            ic.ResolveIncident(
                incident_id=incident_id,
                outcome="Followed up after the fund's answer; the worker was informed.",
            ),
        )
        self.store.save_all(incident)
        self.counts["incidents_resolved"] += 1

    def _command(self, method, actor: Actor, command) -> dict[str, Any] | None:
        try:
            result = method(actor, command)
        except MsafiriError:
            # e.g. the fund ran short, or the request lapsed first: a true story too
            self.counts["refused"] += 1
            return None
        self.progress(1)
        return result
