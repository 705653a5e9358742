"""The fund side of `msafiri demo`: money in, requests decided, payments,
a few rejections, lapses and reversals - all through the ledger's own
services, so the demo books obey every rule real books do.

The demo's ageing is simulated: requests that a real fund would see lapse
after the policy's expiry period are expired "as of" that date.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.cases.events import MembershipStarted
from domain.errors import MsafiriError
from domain.model import Actor
from domain.values import Money, utcnow
from ledger import commands as c
from ledger import events as e
from ledger.vocabulary import DisbursementStatus

CONTRIBUTION_KES = 3_000  # per two-year membership, paid at pre-departure
BATCH = 2_000
CHANNELS = ("bank_transfer", "mobile_money", "mobile_money", "cash_at_airport")


def _uuid(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)


def populate_fund(
    system, rng: random.Random, actors: dict[str, Actor], progress: Callable[[int], None]
) -> dict[str, int]:
    ledger = system.ledger
    store = system.store
    admin, fund, fund2 = actors["admin"], actors["fund"], actors["fund2"]
    counts: dict[str, int] = defaultdict(int)
    if not ledger.fund_exists():
        ledger.open_fund(admin, c.OpenFund(command_id=_uuid(rng)))

    # Members' contributions, remitted in monthly batches.
    paid_already = {
        line.membership_number
        for event in store.events.get(ledger.book_id)
        if isinstance(event, e.TransferPosted)
        for line in event.contributions
    }
    by_month: dict[tuple[int, int], list[MembershipStarted]] = defaultdict(list)
    for n in _notifications(store, MembershipStarted):
        event = store.mapper.to_domain_event(n)
        if event.membership_number not in paid_already:
            by_month[(event.starts_on.year, event.starts_on.month)].append(event)
    members = sum(len(v) for v in by_month.values())

    # Government seed grant sized to the population, and a donor grant.
    grant = max(members, 100) * 25_000
    today = utcnow().date()
    for donor, shillings, ref in (
        ("National Treasury (Migrant Welfare Fund appropriation)", grant, "GOK-MWF-2026"),
        ("ILO/IOM joint programme on labour migration", grant // 5, "ILO-IOM-2026-07"),
    ):
        ledger.record_grant(
            fund,
            c.RecordGrant(
                command_id=_uuid(rng),
                donor=donor,
                amount=Money(amount_minor=shillings * 100, currency="KES"),
                received_on=today - timedelta(days=rng.randint(60, 200)),
                reference=ref,
            ),
        )
        counts["grants"] += 1

    for (year, month), started in sorted(by_month.items()):
        for i in range(0, len(started), BATCH):
            chunk = started[i : i + BATCH]
            received = min(max(m.starts_on for m in chunk), today)
            ledger.record_contributions(
                fund,
                c.RecordContributionBatch(
                    command_id=_uuid(rng),
                    currency="KES",
                    received_on=received,
                    reference=f"NEA-REMIT-{year}{month:02d}-{i // BATCH + 1}",
                    lines=tuple(
                        c.ContributionItem(
                            migrant_id=m.originator_id,
                            membership_number=m.membership_number,
                            amount_minor=CONTRIBUTION_KES * 100,
                        )
                        for m in chunk
                    ),
                ),
            )
            counts["contributions"] += len(chunk)
            progress(len(chunk))

    # Attachés' assistance requests become pending disbursements.
    system.fund_process.run_once()

    decided = 0
    payments: list[UUID] = []
    for n in _notifications(store, e.DisbursementRequested):
        d = ledger.disbursement(n.originator_id)
        if d.status is not DisbursementStatus.REQUESTED:
            continue
        roll = rng.random()
        # The notification is the request itself: its checks need no second read.
        requested = store.mapper.to_domain_event(n)
        eligible = all(check.passed for check in requested.eligibility)
        try:
            if roll < 0.12:
                continue  # left in the queue for the fund officers
            if roll < 0.20:
                ledger.reject(
                    fund,
                    c.RejectDisbursement(
                        command_id=_uuid(rng),
                        disbursement_id=d.id,
                        reason="Costs covered by the employer's insurance after follow-up.",
                    ),
                )
                counts["rejected"] += 1
                continue
            if roll < 0.24:
                assert d.expires_at is not None
                ledger.expire(
                    fund,
                    c.ExpireDisbursement(command_id=_uuid(rng), disbursement_id=d.id),
                    now=d.expires_at + timedelta(days=1),
                )
                counts["expired"] += 1
                continue
            if not eligible and rng.random() < 0.5:
                ledger.reject(
                    fund,
                    c.RejectDisbursement(
                        command_id=_uuid(rng),
                        disbursement_id=d.id,
                        reason="Not eligible: no active welfare-fund membership on the date.",
                    ),
                )
                counts["rejected"] += 1
                continue
            exception = not eligible
            reason = (
                "Humanitarian exception: the worker is stranded without means; "
                "board guidance on destitute returnees."
                if exception
                else ""
            )
            for officer in (fund, fund2):
                result = ledger.approve(
                    officer,
                    c.ApproveDisbursement(
                        command_id=_uuid(rng),
                        disbursement_id=d.id,
                        humanitarian_exception=exception,
                        reason=reason,
                    ),
                )
                if result["status"] == "approved":
                    break
            counts["approved"] += 1
            if rng.random() < 0.85:
                ref = f"PAY-{rng.randint(100000, 999999)}"
                paid = ledger.pay(
                    fund,
                    c.PayDisbursement(
                        command_id=_uuid(rng),
                        disbursement_id=d.id,
                        channel=rng.choice(CHANNELS),
                        payment_reference=ref,
                    ),
                )
                payments.append(UUID(paid["transfer_id"]))
                counts["paid"] += 1
        except MsafiriError:
            counts["refused"] += 1  # e.g. the fund ran short: that is a true story too
        decided += 1
        if decided % 50 == 0:
            progress(50)

    # A bounced mobile-money payment, reversed and paid again.
    for transfer_id in payments[:2]:
        book = ledger.book()
        disbursement_id = book.transfers[transfer_id].disbursement_id
        ledger.reverse(
            fund,
            c.ReverseTransfer(
                command_id=_uuid(rng),
                transfer_id=transfer_id,
                reason="Mobile-money payment bounced: the recipient's line was inactive.",
            ),
        )
        ledger.pay(
            fund,
            c.PayDisbursement(
                command_id=_uuid(rng),
                disbursement_id=disbursement_id,
                channel="bank_transfer",
                payment_reference=f"EFT-{rng.randint(100000, 999999)}",
            ),
        )
        counts["reversed"] += 1

    # Payments and refusals written back onto the incidents.
    system.fund_process.run_once()
    return dict(counts)


def _notifications(store, event_class) -> list:
    topic = get_topic(event_class)
    found, start = [], 1
    while True:
        page = store.recorder.select_notifications(start=start, limit=5000, topics=[topic])
        if not page:
            return found
        found.extend(page)
        start = page[-1].id + 1
