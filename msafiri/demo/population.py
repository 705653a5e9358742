"""A synthetic population of migrants, built through the real aggregates.

Every case goes through the same guards an officer's command would (the
aggregates' methods with validated commands), but the demo saves hundreds of
aggregates per transaction: one save per command would be ten times slower
(FIELD-NOTES: ~1.7k events/s one at a time vs ~16k/s batched on PostgreSQL).

The history is believable in time as well as in content: each event is
recorded at the moment an officer would have recorded it (office hours on
the day it happened, an incident when it was reported), not when the demo
ran, and the log holds the events in that order across all migrants - see
`Timeline`. Migrants are registered in the order of their index, so a chunk
covers a span of registration dates and everything before the next chunk's
first day can be written as soon as the chunk is built.

Beside each story, msafiri/demo/claims.py writes its money claims and
social-protection coverage (their own aggregates, in the same chunk).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import random
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from domain.cases import commands as c
from domain.cases.aggregate import Migrant
from domain.cases.consent import ConsentScope, RecordConsent
from domain.cases.identity import IdentityDocumentClaimed, IdentityDocumentIndex
from domain.ids import identity_document_id
from domain.incidents import commands as ic
from domain.incidents.aggregate import Incident
from domain.model import Actor, Aggregate, DomainEvent, recording_time
from domain.persistence import EventStore, OrjsonTranscoder, PydanticMapper
from msafiri.demo import vocabulary as v
from msafiri.demo.claims import MoneyAndProtection, ensure_demo_agreements
from msafiri.demo.employers import agency_id, employer_id, employer_name, ensure_demo_registry
from msafiri.demo.timeline import FundActions, Timeline

# A fixed 'today' keeps the population identical for a given seed whatever
# day the demo is run; everything it records happened on or before it.
# (`msafiri demo` passes the day before the real today, so the fund's queue
# is current when people open it; tests keep this one.)
DEMO_TODAY = date(2026, 11, 1)
HISTORY_DAYS = 1500  # the first registrations, this many days before 'today'
MIGRANTS_PER_SAVE = 200
# Data keys the demo keeps in memory (msafiri/data_keys.py): above a chunk's
# (~460) and a remittance batch's (2,000 members) at once, ~2.5 KB each.
CACHED_KEYS = 10_000


def history_start(today: date) -> datetime:
    """When the demo's history begins: the officers' accounts and the fund
    exist from then on."""
    return datetime.combine(today - timedelta(days=HISTORY_DAYS + 1), time(9), tzinfo=UTC)


def history_end(today: date) -> datetime:
    """Nothing in the demo is recorded after the end of 'today''s office day."""
    return datetime.combine(today, time(17), tzinfo=UTC)


def registration_day(today: date, index: int, migrants: int) -> date:
    """Migrant `index` of `migrants` registers on this day: in index order,
    evenly over the history (the last ones 10 days before 'today')."""
    span = HISTORY_DAYS - 10
    return today - timedelta(days=HISTORY_DAYS - index * span // max(1, migrants))


def _words(name: str) -> str:
    return name.replace("_", " ").capitalize()


def rng_uuid(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)


def weighted(rng: random.Random, pairs) -> object:
    items = list(pairs)
    return rng.choices([item[0] for item in items], weights=[item[1] for item in items])[0]


class PopulationBuilder:
    def __init__(
        self,
        rng: random.Random,
        actors: dict[str, Actor],
        first_number: int = 0,
        today: date = DEMO_TODAY,
        money_rng: random.Random | None = None,
    ):
        self.rng = rng
        self.actors = actors
        # Numbers (national ids, memberships) count on from here, so a later
        # `demo --add` never reuses one.
        self._counter = first_number
        self.today = today
        self.end = history_end(today)
        # Claims and coverage draw from a generator of their own, so the
        # people are the ones this seed gave before they existed.
        self.money = MoneyAndProtection(
            money_rng or random.Random(f"money/{first_number}"), actors, today, self.end
        )
        # What the fund will react to: (recorded at, kind, details).
        self.cues: list[tuple[datetime, str, tuple]] = []

    def days_after(self, day: date, low: int, high: int) -> date:
        return day + timedelta(days=self.rng.randint(low, high))

    def record_on(self, day: date, after: Aggregate | None = None) -> datetime:
        """Record what follows on `day`, in the afternoon of the office day:
        after noon UTC, the instant a calendar date is stored as, so nothing
        is recorded before it happened - and after what `after` last recorded."""
        moment = datetime.combine(day, time(12), tzinfo=UTC)
        moment += timedelta(minutes=self.rng.randint(5, 295))
        if after is not None and after.modified_on is not None:
            moment = max(moment, after.modified_on + timedelta(minutes=1))
        return self.record_at(moment)

    def record_at(self, moment: datetime) -> datetime:
        moment = min(moment, self.end)
        recording_time.set(moment)
        return moment

    def build(self, registered_on: date) -> list[Aggregate]:
        """One migrant's whole story so far, as the aggregates it touched."""
        rng, registrar = self.rng, self.actors["registrar"]
        self._counter += 1
        sector, _, share_women, job_title = weighted(rng, ((s, s[1]) for s in v.SECTORS))
        sex = "female" if rng.random() < share_women else "male"
        first = rng.choice(v.WOMEN if sex == "female" else v.MEN)
        self.record_on(registered_on)
        born = registered_on - timedelta(days=rng.randint(19 * 365, 45 * 365))
        national_id = f"{20_000_000 + self._counter * 7 + rng.randint(0, 6):08d}"
        migrant_id = rng_uuid(rng)
        migrant = Migrant.register(
            migrant_id,
            registrar,
            c.RegisterMigrant(
                full_name=f"{first} {rng.choice(v.SURNAMES)}",
                sex=sex,
                date_of_birth=born,
                national_id=national_id,
                phone=f"+2547{rng.randint(10_000_000, 99_999_999)}",
                county=weighted(rng, v.COUNTY_WEIGHTS.items()),
                education=weighted(
                    rng,
                    (
                        ("primary", 35),
                        ("secondary", 45),
                        ("tvet", 15),
                        ("university", 4),
                        ("none", 1),
                    ),
                ),
                skills=("housekeeping", "childcare")
                if sector == "domestic_work"
                else (job_title.lower(),),
                registered_on=registered_on,
            ),
        )
        index = IdentityDocumentIndex.start(
            identity_document_id("national_id", national_id),
            IdentityDocumentClaimed,
            registrar,
            kind="national_id",
            migrant_id=migrant_id,
        )
        touched: list[Aggregate] = [migrant, index]
        self.pre_departure(migrant, sector, job_title, registered_on)
        if migrant.departed_at is not None:
            touched += self.abroad(migrant)
        return touched + self.money.collect()

    def pre_departure(self, migrant: Migrant, sector: str, job_title: str, registered: date):
        rng, registrar, mid = self.rng, self.actors["registrar"], migrant.id
        oriented = self.days_after(registered, 3, 20)
        if oriented > self.today:
            return
        self.record_on(oriented, after=migrant)
        migrant.complete_orientation(
            registrar,
            c.CompleteOrientation(
                migrant_id=mid,
                provider=rng.choice(v.TRAINING_PROVIDERS),
                certificate_number=f"PDO-{oriented.year}-{rng.randint(1000, 99999)}",
                completed_on=oriented,
            ),
        )
        departs = self.days_after(oriented, 7, 45)
        country, _, currency, wage = weighted(rng, ((d, d[1]) for d in v.DESTINATIONS))
        if sector != "domestic_work":
            wage = int(wage * rng.uniform(1.1, 2.5))
        # The contract is registered between orientation and departure.
        signed = self.days_after(oriented, 1, (departs - oriented).days - 1)
        if signed > self.today:
            return
        self.record_on(signed, after=migrant)
        # Registered employers and agencies (msafiri/demo/employers.py); the
        # draws are the ones the demo made before the registries existed.
        employer = employer_name(rng.choice(v.EMPLOYER_FAMILIES), sector)
        agency = rng.choice(v.AGENCIES)
        migrant.register_contract(
            registrar,
            c.RegisterContract(
                migrant_id=mid,
                destination_country=country,
                employer_id=employer_id(country, employer),
                employer_name=employer,
                agency_id=agency_id(agency),
                recruitment_agency=agency,
                sector=sector,
                job_title=job_title,
                monthly_wage={"amount_minor": wage, "currency": currency},
                starts_on=departs,
                ends_on=departs + timedelta(days=730),
            ),
        )
        self.money.insure(migrant, signed)
        if rng.random() < 0.85:  # most, not all, join the welfare fund
            self.cues.append(
                (
                    self.record_on(signed, after=migrant),
                    "member",
                    (mid, f"MWF-{self._counter:07d}", oriented),
                )
            )
            migrant.start_membership(
                registrar,
                c.StartMembership(
                    migrant_id=mid,
                    membership_number=f"MWF-{self._counter:07d}",
                    starts_on=oriented,
                    ends_on=oriented + timedelta(days=760),
                ),
            )
        if departs <= self.today:
            self.record_on(departs, after=migrant)
            migrant.depart(registrar, c.RecordDeparture(migrant_id=mid, departed_on=departs))

    def abroad(self, migrant: Migrant) -> list[Aggregate]:
        rng, attache, mid = self.rng, self.actors["attache"], migrant.id
        departed = migrant.departed_at.date()
        arrived = departed + timedelta(days=1)
        if arrived > self.today:
            return []
        self.record_on(arrived, after=migrant)
        migrant.arrive(attache, c.RecordArrival(migrant_id=mid, arrived_on=arrived))
        contract_end = migrant.contract.ends_on
        returns_on = None
        if contract_end <= self.today and rng.random() < 0.8:
            returns_on = contract_end + timedelta(days=rng.randint(0, 20))
        elif rng.random() < 0.07:
            returns_on = self.days_after(arrived, 30, 700)
        if returns_on and returns_on > self.today:
            returns_on = None
        last_day = returns_on or self.today
        incidents: list[Aggregate] = []
        death = False
        if rng.random() < 0.15:
            incident = self.incident(migrant, arrived, last_day)
            incidents.append(incident)
            death = incident.category == "death"
            self.money.incident_claim(migrant, incident)
        if death:
            # Remains come home within weeks of the death.
            last_day = incidents[-1].occurred_at.date()
            returns_on = min(self.today, self.days_after(last_day, 7, 30))
        if rng.random() < 0.3:
            checked_on = self.days_after(arrived, 0, max(0, (last_day - arrived).days))
            self.record_on(checked_on, after=migrant)
            migrant.record_welfare_check(
                attache,
                c.RecordWelfareCheck(
                    migrant_id=mid,
                    channel=rng.choice(("phone_call", "video_call", "home_visit")),
                    status=weighted(rng, (("well", 80), ("concerns", 17), ("urgent", 3))),
                    checked_on=checked_on,
                ),
            )
        registered = self.money.register(migrant, arrived, last_day)
        if returns_on:
            self.home(migrant, returns_on, death, registered)
        return incidents

    def incident(self, migrant: Migrant, arrived: date, last_day: date) -> Incident:
        rng, attache = self.rng, self.actors["attache"]
        category = weighted(rng, v.INCIDENT_CATEGORIES)
        happened = self.days_after(arrived, 0, max(0, (last_day - arrived).days))
        occurred_at = datetime.combine(happened, time(rng.randint(6, 21)), tzinfo=UTC)
        # On the history's last day the office closes at its end: nothing may
        # have happened after the moment the report is recorded.
        occurred_at = min(occurred_at, self.end - timedelta(hours=1))
        reported_at = min(
            occurred_at + timedelta(days=rng.choice((0, 0, 1, 2, 7, 30)), hours=1),
            self.end - timedelta(hours=1),
        )
        reported_at = max(reported_at, occurred_at)
        # The attaché records the report within the next two hours.
        self.record_at(reported_at + timedelta(minutes=rng.randint(5, 120)))
        severity = (
            "critical"
            if category == "death"
            else weighted(rng, (("low", 20), ("medium", 45), ("high", 28), ("critical", 7)))
        )
        incident = Incident.report(
            attache,
            migrant,
            ic.ReportIncident(
                migrant_id=migrant.id,
                incident_id=rng_uuid(rng),
                category=category,
                gbv_subtype=rng.choice(("sexual_harassment", "sexual_assault", "rape"))
                if category == "sexual_harassment_or_violence"
                else None,
                severity=severity,
                occurred_at=occurred_at,
                reported_at=reported_at,
                channel=weighted(
                    rng,
                    (
                        ("hotline", 40),
                        ("walk_in", 25),
                        ("family", 20),
                        ("agency", 10),
                        ("employer", 5),
                    ),
                ),
                description=f"{category.replace('_', ' ').capitalize()} reported to the embassy.",
            ),
        )
        if rng.random() < 0.85:
            self.record_on(
                min(self.today, self.days_after(reported_at.date(), 0, 3)), after=incident
            )
            incident.assess(
                attache,
                ic.AssessIncident(
                    incident_id=incident.id,
                    severity=severity,
                    notes="Interviewed by phone; details confirmed.",
                ),
            )
        else:
            return incident
        kinds = v.ASSISTANCE_FOR.get(category, ())
        if kinds and (category == "death" or rng.random() < 0.6):
            kind = rng.choice(kinds)
            low, high = v.ASSISTANCE_ESTIMATES_KES[kind]
            assessed = incident.modified_on.date()
            asked = self.record_on(min(self.today, self.days_after(assessed, 0, 5)), after=incident)
            request_id = rng_uuid(rng)
            # The fund answers it (ledger/demo.py), and the attaché resolves
            # the incident after the fund's answer: nothing more here.
            self.cues.append((asked, "assistance", (incident.id, request_id)))
            incident.request_assistance(
                attache,
                ic.RequestAssistance(
                    incident_id=incident.id,
                    request_id=request_id,
                    kind=kind,
                    estimate={
                        "amount_minor": rng.randint(low // 100, high // 100) * 100,
                        "currency": "KES",
                    },
                    payee=f"{migrant.full_name}"
                    if kind != "repatriation_of_remains"
                    else "Next of kin",
                    justification=f"{_words(kind)} needed after {_words(category).lower()}.",
                ),
            )
            return incident
        if (self.today - happened).days > 60 and rng.random() < 0.7:
            resolved = self.days_after(incident.modified_on.date(), 14, 60)
            self.record_on(min(resolved, self.today), after=incident)
            incident.resolve(
                attache,
                ic.ResolveIncident(
                    incident_id=incident.id,
                    outcome="Settled with the employer through the embassy.",
                ),
            )
            closed = self.days_after(resolved, 1, 20)
            if rng.random() < 0.6 and closed <= self.today:
                self.record_on(closed, after=incident)
                incident.close(
                    attache,
                    ic.CloseIncident(incident_id=incident.id, reason="Resolved and followed up."),
                )
        return incident

    def home(self, migrant: Migrant, returned: date, death: bool, registered: bool) -> None:
        rng, mid = self.rng, migrant.id
        reintegrator = self.actors["reintegrator"]
        reason = (
            "death"
            if death
            else weighted(
                rng,
                (
                    ("contract_completed", 70),
                    ("contract_terminated", 8),
                    ("abuse_or_exploitation", 8),
                    ("illness_or_injury", 5),
                    ("family_reasons", 6),
                    ("deportation", 3),
                ),
            )
        )
        self.record_on(returned, after=migrant)
        migrant.record_return(
            self.actors["attache"],
            c.RecordReturn(
                migrant_id=mid,
                returned_on=returned,
                assisted=death or rng.random() < 0.2,
                reason=reason,
            ),
        )
        if death:
            migrant.close(
                reintegrator,
                c.CloseCase(
                    migrant_id=mid, reason="Remains repatriated; case closed.", closed_on=returned
                ),
            )
            return
        self.money.return_claim(migrant, returned, reason, registered)
        if rng.random() < 0.3 and (self.today - returned).days > 14:
            certified_on = self.days_after(returned, 7, 14)
            self.record_on(certified_on, after=migrant)
            migrant.certify_skills(
                reintegrator,
                c.CertifySkills(
                    migrant_id=mid,
                    trade=migrant.contract.job_title,
                    level=rng.choice(("Grade III", "Grade II")),
                    certificate_number=f"RPL-{returned.year}-{rng.randint(1000, 99999)}",
                    certified_on=certified_on,
                ),
            )
        if rng.random() < 0.4 and (self.today - returned).days > 30:
            service = rng.choice(list(v.REINTEGRATION_PARTNERS))
            referral = c.MakeReferral(
                migrant_id=mid,
                referral_id=rng_uuid(rng),
                service=service,
                partner=v.REINTEGRATION_PARTNERS[service],
                referred_on=self.days_after(returned, 15, 30),
            )
            self.record_on(referral.referred_on, after=migrant)
            # A referral shares the case: the returnee consents that day.
            migrant.record_consent(
                reintegrator,
                RecordConsent(
                    migrant_id=mid,
                    scope=ConsentScope.REFERRAL_SHARING,
                    provider=referral.partner,
                    given_on=referral.referred_on,
                ),
            )
            migrant.make_referral(reintegrator, referral)
            outcome_on = self.days_after(referral.referred_on, 14, 90)
            if rng.random() < 0.7 and outcome_on <= self.today:
                self.record_on(outcome_on, after=migrant)
                migrant.record_referral_outcome(
                    reintegrator,
                    c.RecordReferralOutcome(
                        migrant_id=mid,
                        referral_id=referral.referral_id,
                        outcome=weighted(
                            rng,
                            (
                                ("completed", 60),
                                ("ongoing", 15),
                                ("declined", 15),
                                ("did_not_attend", 10),
                            ),
                        ),
                        recorded_on=outcome_on,
                    ),
                )


def populate(
    store: EventStore,
    actors: dict[str, Actor],
    migrants: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
    today: date = DEMO_TODAY,
    fund: FundActions | None = None,
) -> random.Random:
    """Write `migrants` synthetic cases in time order, in batched saves.

    The population is cut into fixed chunks, each with its own seed, so the
    same seed on an empty database gives the same population whatever the
    number of workers. Building (pydantic validation, mapping to stored
    bytes) is CPU work done in worker processes while this process writes
    the earlier history. With `fund` (ledger/demo.py), the fund's actions
    are written between the cases' events at their own times. On a database
    that already has events the run is offset by their count, so `demo --add`
    never collides with what is there (its history, though, is written
    after the first run's: the log's time order holds within each run).
    Returns a generator for what comes next (the fund demo).
    """
    existing = store.recorder.max_notification_id() or 0
    # Before the first contract (counted out of `existing`: the seeds stay).
    ensure_demo_registry(store, actors, history_start(today) + timedelta(hours=1))
    ensure_demo_agreements(store, actors, history_start(today) + timedelta(hours=2))
    starts = list(range(0, migrants, MIGRANTS_PER_SAVE))
    chunks = [
        (
            f"{seed}/{existing}/{index}",
            existing + start,
            start,
            min(MIGRANTS_PER_SAVE, migrants - start),
            migrants,
            today,
        )
        for index, start in enumerate(starts)
    ]
    plain_mapper = store.mapper.cipher is None and store.mapper.compressor is None
    workers = workers if workers is not None else max(1, (os.cpu_count() or 2) - 1)
    built_plain = workers > 0 and plain_mapper and len(chunks) > 1
    if built_plain:
        built = _build_in_workers(chunks, actors, workers)
    else:
        built = (_build_chunk(chunk, actors, store.mapper) for chunk in chunks)
    timeline = Timeline(store, fund)
    with contextlib.ExitStack() as stack:
        stack.callback(timeline.close)
        data_keys = getattr(store.mapper, "data_keys", None)
        if hasattr(data_keys, "cached_at_most"):
            # Each migrant's keys are used while a chunk is sealed, and again
            # only when the fund touches them (one query per 500 then).
            stack.enter_context(data_keys.cached_at_most(CACHED_KEYS))
        for index, (timed, cues, size) in enumerate(built):
            if built_plain:
                # Workers never see the key: the writing process seals.
                sealed = store.mapper.seal_many([stored for _, stored in timed])
                timed = [(at, row) for (at, _), row in zip(timed, sealed, strict=True)]
            timeline.add(timed, cues)
            del timed, cues
            if index + 1 < len(starts):
                # Later chunks register from that day on: all before it is final.
                first_day = registration_day(today, starts[index + 1], migrants)
                timeline.advance(datetime.combine(first_day, time(0), tzinfo=UTC))
            else:
                timeline.advance(None)
            if progress:
                progress(size)
    return fund_rng(seed, existing)


def fund_rng(seed: int, existing: int) -> random.Random:
    return random.Random(f"{seed}/{existing}/fund")


def populate_with_fund(
    system,
    actors: dict[str, Actor],
    migrants: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
    today: date = DEMO_TODAY,
    fund_progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """The whole demo: the population and the fund's history, interleaved in
    time. Returns what the fund did (counts)."""
    from ledger.demo import FundDemo

    existing = system.store.recorder.max_notification_id() or 0
    fund = FundDemo(
        system,
        fund_rng(seed, existing),
        actors,
        start=history_start(today),
        end=history_end(today),
        migrants=migrants,
        progress=fund_progress,
    )
    populate(system.store, actors, migrants, seed, progress, workers, today, fund)
    return fund.finish()


def _build_chunk(chunk, actors: dict[str, Actor], mapper=None) -> tuple[list, list, int]:
    """A chunk's events with their recorded times, in recorded-time order,
    and the cues the fund will react to."""
    seed_text, first_number, first_index, size, migrants, today = chunk
    mapper = mapper or PydanticMapper(transcoder=OrjsonTranscoder())
    builder = PopulationBuilder(
        random.Random(seed_text),
        actors,
        first_number,
        today,
        money_rng=random.Random(f"{seed_text}/money"),
    )
    timed: list[tuple[datetime, DomainEvent]] = []
    token = recording_time.set(None)
    try:
        for offset in range(size):
            day = registration_day(today, first_index + offset, migrants)
            for aggregate in builder.build(day):
                timed.extend(_in_version_order(aggregate.collect_events()))
    finally:
        recording_time.reset(token)
    timed.sort(key=_recorded_at)  # stable: ties keep one aggregate's versions in order
    prepare = getattr(mapper, "prepare_data_keys", None)
    if prepare is not None:  # the writing process's mapper: the chunk's keys at once
        prepare([event for _, event in timed])
    stored = [(recorded_at, mapper.to_stored_event(event)) for recorded_at, event in timed]
    return stored, builder.cues, size


def _recorded_at(pair: tuple[datetime, DomainEvent]) -> datetime:
    return pair[0]


def _in_version_order(events: list[DomainEvent]) -> Iterator[tuple[datetime, DomainEvent]]:
    """An aggregate's events with recorded times that never go back: a later
    version recorded 'earlier' (two steps the builder dated the same day in
    another order) takes its predecessor's time."""
    last = None
    for event in events:
        if last is not None and event.timestamp < last:
            event = event.model_copy(update={"timestamp": last})
        last = event.timestamp
        yield last, event


def _die_with_parent(parent_pid: int) -> None:
    """Worker initializer: end when the demo ends, however it ends. A
    SIGKILLed demo runs no cleanup, and its idle workers would otherwise wait
    on their queue for ever. PR_SET_PDEATHSIG fires when the thread that
    started the worker dies (here the demo's main thread); if the demo died
    before this ran, the worker has been re-parented already."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _build_in_workers(chunks, actors, workers: int) -> Iterator[tuple[list, int]]:
    """Chunks built in processes, yielded in order, at most 2 per worker in
    flight so memory stays bounded at a million migrants."""
    context = multiprocessing.get_context("spawn")
    initializer = _die_with_parent if sys.platform.startswith("linux") else None
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=initializer,
        initargs=(os.getpid(),) if initializer else (),
    ) as pool:
        pending: deque = deque()
        for chunk in chunks:
            pending.append(pool.submit(_build_chunk, chunk, actors))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
