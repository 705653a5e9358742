"""The demo's money claims and social-protection coverage (issue 16).

Beside each synthetic story (msafiri/demo/population.py) this writes what
the officers would have recorded about money and protection: the insurance
policy registered with the contract, the destination's social-security
registration a few weeks after arrival, a money claim on some incidents of
unpaid wages or confiscated documents (filed with the employer, then the
labour office, sometimes a court; recoveries over the following months; an
outcome for the older ones), and on return, for some, what the
destination's scheme or the employer still owes, followed like a claim.
The administrator's table of agreements (BLA / SSA) is set once, at the
start of the history.

All of it is drawn from a random generator of its own (one per chunk of
migrants), never from the population's: the same seed gives the same people
as before these stories existed, and the same claims on every run. Every
event goes through the aggregates' guards, by the role that may record it
(registration officer, labour attaché, reintegration officer, administrator),
at the moment an officer would have recorded it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from uuid import UUID

from domain.amounts import decimals
from domain.cases.aggregate import Migrant
from domain.claims import commands as cc
from domain.claims.aggregate import Claim
from domain.claims.vocabulary import ClaimKind, ClaimOutcome, ClaimStep, RecoveryChannel
from domain.coverage import commands as vc
from domain.coverage.aggregate import AGREEMENT_TABLE_ID, AgreementTable, Coverage, coverage_id
from domain.incidents.aggregate import Incident
from domain.model import Actor, Aggregate, recording_time
from domain.persistence import EventStore

# The agreements table as an administrator would set it: plausible, not the
# official list. (country, kind, title, in force from, in force until)
AGREEMENTS = (
    ("SA", "bla", "Agreement on the recruitment of domestic workers", date(2017, 5, 1), None),
    ("QA", "bla", "Agreement on the regulation of manpower employment", date(2012, 11, 1), None),
    ("AE", "bla", "Memorandum on labour mobility and recruitment", date(2018, 3, 1), None),
    ("JO", "bla", "Agreement on the employment of Kenyan workers", date(2016, 9, 1), None),
    ("JO", "ssa", "Social security agreement (pensions and work injury)", date(2022, 7, 1), None),
    ("AE", "ssa", "Agreement on end-of-service portability", date(2024, 1, 1), None),
    # Lapsed: kept in the table so older contracts still read against it.
    ("LB", "bla", "Memorandum on domestic workers", date(2014, 6, 1), date(2021, 12, 31)),
)

INSURERS = (
    ("Jubilee Insurance", "JIC"),
    ("CIC Insurance Group", "CIC"),
    ("Britam", "BRT"),
    ("APA Insurance", "APA"),
    ("Madison Insurance", "MAD"),
)
# The destination's scheme a migrant worker can be registered with.
SCHEMES = {
    "SA": "GOSI (General Organization for Social Insurance)",
    "AE": "ILOE unemployment insurance scheme",
    "QA": "Workers' Support and Insurance Fund",
    "KW": "PIFSS private-sector register",
    "OM": "Social Protection Fund",
    "BH": "Social Insurance Organization",
    "LB": "National Social Security Fund",
    "JO": "Social Security Corporation",
    "IQ": "Kurdistan Social Security Directorate",
}
# Domestic and care work are often outside the destination's scheme.
REGISTERED_SHARE = {"domestic_work": 0.2, "care_work": 0.3}
REGISTERED_SHARE_OTHERS = 0.65
INSURED_SHARE = 0.75
# Money claims per incident category: (share of incidents with a claim, kinds).
CLAIMED_INCIDENTS = {
    "unpaid_or_delayed_wages": (
        0.6,
        ((ClaimKind.UNPAID_WAGES, 60), (ClaimKind.DELAYED_WAGES, 25)),
    ),
    "document_confiscation": (0.35, ((ClaimKind.WITHHELD_DOCUMENTS_COSTS, 1),)),
}
# Months of wages a claim of each kind is for (low, high).
WAGE_MONTHS = {
    ClaimKind.UNPAID_WAGES: (1.0, 6.0),
    ClaimKind.DELAYED_WAGES: (0.5, 2.0),
    ClaimKind.END_OF_SERVICE_BENEFITS: (0.9, 1.6),
    ClaimKind.WITHHELD_DOCUMENTS_COSTS: (0.1, 0.5),
    ClaimKind.SOCIAL_SECURITY_CONTRIBUTIONS: (0.4, 1.5),
}
# On return: who may still be owed something, and how often they claim.
RETURN_CLAIM_SHARE = {"contract_completed": 0.15, "contract_terminated": 0.5}
# A claim with no activity for this long is closed with its outcome.
QUIET_BEFORE_CLOSING = 60


def ensure_demo_agreements(store: EventStore, actors: dict[str, Actor], start: datetime) -> bool:
    """The administrator sets the agreements table at `start`, a minute a
    row (once: False when the table is there already)."""
    if store.exists(AGREEMENT_TABLE_ID):
        return False
    table = AgreementTable(AGREEMENT_TABLE_ID)
    for minute, (country, kind, title, since, until) in enumerate(AGREEMENTS):
        token = recording_time.set(start + timedelta(minutes=minute))
        try:
            table.set(
                actors["admin"],
                vc.SetAgreement(
                    country=country,
                    kind=kind,
                    title=title,
                    in_force_from=since,
                    in_force_until=until,
                ),
            )
        finally:
            recording_time.reset(token)
    store.save_all(table)
    return True


class MoneyAndProtection:
    """Coverage and claims for the migrants of one chunk, with its own
    random generator. `collect()` hands over what the last story touched."""

    def __init__(self, rng: random.Random, actors: dict[str, Actor], today: date, end: datetime):
        self.rng = rng
        self.actors = actors
        self.today = today
        self.end = end
        self._touched: dict[UUID, Aggregate] = {}
        self._numbers = 0

    def collect(self) -> list[Aggregate]:
        touched, self._touched = list(self._touched.values()), {}
        return touched

    # --- when ----------------------------------------------------------------

    def moment(self, day: date, after: datetime | None = None) -> datetime:
        """An afternoon moment of the office day `day` (a calendar date is
        stored as noon UTC), after `after`, never past the history's end."""
        moment = datetime.combine(day, time(12), tzinfo=UTC)
        moment += timedelta(minutes=self.rng.randint(5, 295))
        if after is not None:
            moment = max(moment, after + timedelta(minutes=1))
        return min(moment, self.end)

    @contextmanager
    def recorded_at(self, moment: datetime) -> Iterator[None]:
        # Restored afterwards: the population's next step sets its own time.
        token = recording_time.set(moment)
        try:
            yield
        finally:
            recording_time.reset(token)

    def number(self) -> int:
        self._numbers += 1
        return self._numbers * 1_000 + self.rng.randint(0, 999)

    # --- coverage ------------------------------------------------------------

    def coverage(self, migrant: Migrant) -> Coverage:
        key = coverage_id(migrant.id, migrant.cycle)
        found = self._touched.get(key)
        if found is None:
            found = self._touched[key] = Coverage(key)
        assert isinstance(found, Coverage)
        return found

    def insure(self, migrant: Migrant, signed: date) -> None:
        """The registration officer records the policy with the contract."""
        if self.rng.random() >= INSURED_SHARE:
            return
        contract = migrant.contract
        assert contract is not None and migrant.modified_on is not None
        insurer, prefix = self.rng.choice(INSURERS)
        with self.recorded_at(self.moment(signed, after=migrant.modified_on)):
            self.coverage(migrant).record_insurance(
                self.actors["registrar"],
                migrant,
                vc.RecordInsurance(
                    migrant_id=migrant.id,
                    insurer=insurer,
                    policy_number=f"{prefix}/MW/{signed.year}/{self.number():07d}",
                    valid_from=contract.starts_on,
                    valid_until=contract.ends_on,
                ),
            )

    def register(self, migrant: Migrant, arrived: date, last_day: date) -> bool:
        """The attaché records the registration with the destination's
        social security a few weeks after arrival. True when recorded."""
        contract = migrant.contract
        assert contract is not None
        share = REGISTERED_SHARE.get(contract.sector, REGISTERED_SHARE_OTHERS)
        if self.rng.random() >= share:
            return False
        registered_on = arrived + timedelta(days=self.rng.randint(10, 60))
        if registered_on > min(last_day, self.today):
            return False
        country = contract.destination_country
        with self.recorded_at(self.moment(registered_on)):
            self.coverage(migrant).record_registration(
                self.actors["attache"],
                migrant,
                vc.RecordSocialSecurityRegistration(
                    migrant_id=migrant.id,
                    scheme=SCHEMES.get(country, "National social insurance"),
                    social_security_number=f"{country}-{self.number():09d}",
                    registered_on=registered_on,
                ),
            )
        return True

    # --- claims --------------------------------------------------------------

    def amount(self, migrant: Migrant, kind: ClaimKind) -> dict:
        """Months of the contract's wage, in whole units of its currency."""
        assert migrant.contract is not None
        wage = migrant.contract.monthly_wage
        unit = 10 ** decimals(wage.currency)
        low, high = WAGE_MONTHS[kind]
        units = max(1, round(wage.amount_minor * self.rng.uniform(low, high) / unit))
        return {"amount_minor": units * unit, "currency": wage.currency}

    def incident_claim(self, migrant: Migrant, incident: Incident) -> None:
        """A claim on some incidents of unpaid wages or confiscated documents,
        opened by the attaché within days of the report."""
        share, kinds = CLAIMED_INCIDENTS.get(incident.category, (0.0, ()))
        if self.rng.random() >= share:
            return
        assert incident.created_on is not None and migrant.contract is not None
        kind = self.weighted(kinds)
        reported = incident.created_on.date()
        if kind is ClaimKind.UNPAID_WAGES and migrant.contract.ends_on - reported < timedelta(90):
            kind = ClaimKind.END_OF_SERVICE_BENEFITS  # the last months: what the end owes
        opened_on = reported + timedelta(days=self.rng.randint(0, 10))
        if opened_on > self.today:
            return
        path = self.weighted(
            (
                ((ClaimStep.EMPLOYER,), 40),
                ((ClaimStep.EMPLOYER, ClaimStep.LABOUR_OFFICE), 40),
                ((ClaimStep.EMPLOYER, ClaimStep.LABOUR_OFFICE, ClaimStep.COURT), 20),
            )
        )
        self.follow(
            migrant,
            self.actors["attache"],
            cc.OpenClaim(
                migrant_id=migrant.id,
                claim_id=self.uuid(),
                incident_id=incident.id,
                kind=kind,
                amount_claimed=self.amount(migrant, kind),
                opened_on=opened_on,
                notes=f"{kind.value.replace('_', ' ').capitalize()} claimed after the report.",
            ),
            incident,
            path,
            after=incident.created_on,
        )

    def return_claim(self, migrant: Migrant, returned: date, reason: str, registered: bool) -> None:
        """On return, what the destination's scheme (contributions, for the
        registered) or the employer (end-of-service) still owes, opened by
        the reintegration officer and followed like any claim."""
        if self.rng.random() >= RETURN_CLAIM_SHARE.get(reason, 0.0):
            return
        opened_on = returned + timedelta(days=self.rng.randint(7, 45))
        if opened_on > self.today:
            return
        if registered:
            kind = ClaimKind.SOCIAL_SECURITY_CONTRIBUTIONS
            path = (ClaimStep.SOCIAL_SECURITY_SCHEME,)
        else:
            kind = ClaimKind.END_OF_SERVICE_BENEFITS
            path = self.weighted(
                (
                    ((ClaimStep.EMPLOYER,), 60),
                    ((ClaimStep.EMPLOYER, ClaimStep.LABOUR_OFFICE), 40),
                )
            )
        assert migrant.modified_on is not None
        self.follow(
            migrant,
            self.actors["reintegrator"],
            cc.OpenClaim(
                migrant_id=migrant.id,
                claim_id=self.uuid(),
                kind=kind,
                amount_claimed=self.amount(migrant, kind),
                opened_on=opened_on,
                notes="Owed on return; documents collected at the office.",
            ),
            None,
            path,
            after=migrant.modified_on,
        )

    def follow(
        self,
        migrant: Migrant,
        officer: Actor,
        opening: cc.OpenClaim,
        incident: Incident | None,
        path: tuple[ClaimStep, ...],
        after: datetime,
    ) -> None:
        """Open the claim, then its steps, recoveries and (for the older
        ones) its outcome, each on its day, as far as 'today' reaches."""
        day = opening.opened_on
        last = self.moment(day, after=after)
        with self.recorded_at(last):
            claim = Claim.open(officer, migrant, incident, opening)
        self._touched[claim.id] = claim
        # The steps, a few weeks to months apart.
        gaps = {
            ClaimStep.EMPLOYER: (0, 3),
            ClaimStep.LABOUR_OFFICE: (14, 45),
            ClaimStep.COURT: (30, 120),
            ClaimStep.SOCIAL_SECURITY_SCHEME: (0, 14),
        }
        for step in path:
            day += timedelta(days=self.rng.randint(*gaps[step]))
            if day > self.today:
                return
            last = self.moment(day, after=last)
            with self.recorded_at(last):
                claim.record_step(
                    officer,
                    cc.RecordClaimStep(
                        claim_id=claim.id, step=step, filed_on=day, notes=STEP_NOTES[step]
                    ),
                )
        currency = opening.amount_claimed.currency
        unit = 10 ** decimals(currency)
        for amount in self.recoveries(opening.amount_claimed.amount_minor, unit, path):
            day += timedelta(days=self.rng.randint(10, 75))
            if day > self.today:
                return
            last = self.moment(day, after=last)
            with self.recorded_at(last):
                claim.record_recovery(
                    officer,
                    cc.RecordRecovery(
                        claim_id=claim.id,
                        recovery_id=self.uuid(),
                        amount={"amount_minor": amount, "currency": currency},
                        channel=RecoveryChannel.MISSION
                        if self.rng.random() < 0.6
                        else RecoveryChannel.DIRECT,
                        received_on=day,
                    ),
                )
        day += timedelta(days=self.rng.randint(QUIET_BEFORE_CLOSING, 150))
        if day > self.today:
            return
        assert claim.claimed is not None
        if claim.recovered_minor >= claim.claimed.amount_minor:
            outcome = ClaimOutcome.RECOVERED_IN_FULL
        elif claim.recovered_minor:
            outcome = self.weighted(
                ((ClaimOutcome.PARTLY_RECOVERED, 70), (ClaimOutcome.SETTLED, 30))
            )
        else:
            outcome = self.weighted(
                ((ClaimOutcome.NOT_RECOVERED, 80), (ClaimOutcome.WITHDRAWN, 20))
            )
        with self.recorded_at(self.moment(day, after=last)):
            claim.close(
                officer,
                cc.CloseClaim(claim_id=claim.id, outcome=outcome, notes=CLOSING_NOTES[outcome]),
            )

    def recoveries(self, claimed: int, unit: int, path: tuple[ClaimStep, ...]) -> list[int]:
        """What comes back, in one to three payments of whole units of the
        currency that never add up to more than was claimed: the further a
        claim had to go (labour office, court), the less often in full, and
        sometimes nothing at all."""
        nothing, full = {1: (0.15, 0.55), 2: (0.2, 0.5), 3: (0.3, 0.45)}[min(len(path), 3)]
        draw = self.rng.random()
        if draw < nothing:
            return []
        units = claimed // unit
        if draw >= nothing + full:
            units = max(1, int(units * self.rng.uniform(0.3, 0.9)))
        parts = self.rng.choice((1, 1, 2, 3))
        cuts = sorted(self.rng.sample(range(1, units), parts - 1)) if units > parts else []
        bounds = [0, *cuts, units]
        return [(high - low) * unit for low, high in pairwise(bounds)]

    # --- draws ---------------------------------------------------------------

    def weighted(self, pairs):
        items = list(pairs)
        return self.rng.choices([i[0] for i in items], weights=[i[1] for i in items])[0]

    def uuid(self) -> UUID:
        return UUID(int=self.rng.getrandbits(128), version=4)


STEP_NOTES = {
    ClaimStep.EMPLOYER: "Written demand to the employer, copied to the agency.",
    ClaimStep.LABOUR_OFFICE: "Complaint filed with the labour office.",
    ClaimStep.COURT: "Referred to the labour court with the embassy's lawyer.",
    ClaimStep.SOCIAL_SECURITY_SCHEME: "Claim lodged with the scheme through the embassy.",
}
CLOSING_NOTES = {
    ClaimOutcome.RECOVERED_IN_FULL: "Paid in full.",
    ClaimOutcome.PARTLY_RECOVERED: "Part paid; no further recovery expected.",
    ClaimOutcome.SETTLED: "Settled for less than claimed, with the migrant's agreement.",
    ClaimOutcome.NOT_RECOVERED: "Nothing recovered; the employer could not be reached.",
    ClaimOutcome.WITHDRAWN: "Withdrawn at the migrant's request.",
}
