"""Random sequences of claim commands on one Claim aggregate (Hypothesis),
checked after every step: amounts never negative, recovered never above
claimed without a stated reason, a refused command changes nothing, and the
claim rebuilt from its events equals the one that made them.

Pure domain (no database): the aggregate holds these rules; the services add
only roles and storage, covered in tests/test_claims.py on both backends.
"""

from __future__ import annotations

from uuid import UUID, uuid4

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from domain.cases.aggregate import Migrant
from domain.cases.vocabulary import Stage
from domain.claims import commands as cc
from domain.claims.aggregate import Claim
from domain.claims.vocabulary import ClaimOutcome, ClaimStatus
from domain.errors import IllegalTransition, InvalidCommand
from domain.model import Actor
from domain.values import Role
from tests.factories import contract, days_ago, registration

ATTACHE = Actor(officer_id=uuid4(), role=Role.LABOUR_ATTACHE)


class _Incident:
    def __init__(self, migrant_id: UUID):
        self.migrant_id = migrant_id
        self.country = "SA"


def abroad() -> Migrant:
    migrant = Migrant.register(uuid4(), ATTACHE, registration())
    migrant.register_contract(ATTACHE, contract(migrant.id))
    migrant.stage = Stage.ON_SITE  # the stage is not what is tested here
    return migrant


class ClaimMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        migrant = abroad()
        self.claimed = 600_000
        self.claim = Claim.open(
            ATTACHE,
            migrant,
            _Incident(migrant.id),
            cc.OpenClaim(
                migrant_id=migrant.id,
                incident_id=uuid4(),
                kind="unpaid_wages",
                amount_claimed={"amount_minor": self.claimed, "currency": "SAR"},
                opened_on=days_ago(60),
            ),
        )
        self.events = self.claim.collect_events()
        self.recovered = 0  # the reference model
        self.reasoned = False  # some accepted recovery stated why it went above

    def _try(self, make, act) -> bool:
        """Run a command; on a refusal nothing may have changed."""
        version = self.claim.version
        try:
            act(make())
        except (InvalidCommand, IllegalTransition):
            assert self.claim.version == version
            assert not self.claim.collect_events()
            return False
        self.events += self.claim.collect_events()
        return True

    @rule(
        amount=st.integers(min_value=-5, max_value=800_000),
        reason=st.booleans(),
        currency=st.sampled_from(["SAR", "SAR", "SAR", "KES"]),
    )
    def recover(self, amount: int, reason: bool, currency: str) -> None:
        def make():
            return cc.RecordRecovery.parse(
                {
                    "claim_id": str(self.claim.id),
                    "amount": {"amount_minor": amount, "currency": currency},
                    "channel": "direct",
                    "received_on": days_ago(1),
                    "reason_above_claimed": "Court added interest." if reason else None,
                }
            )

        was_open = self.claim.status is ClaimStatus.OPEN
        accepted = self._try(make, lambda cmd: self.claim.record_recovery(ATTACHE, cmd))
        above = self.recovered + amount > self.claimed
        # Accepted exactly when positive, in the claim's currency, on an open
        # claim, and - when it takes the total above the claim - with a reason.
        fits = amount > 0 and currency == "SAR" and (reason or not above)
        assert accepted == (fits and was_open)
        if accepted:
            self.recovered += amount
            self.reasoned |= above

    @rule(step=st.sampled_from(["employer", "labour_office", "court"]))
    def step(self, step: str) -> None:
        self._try(
            lambda: cc.RecordClaimStep(claim_id=self.claim.id, step=step, filed_on=days_ago(2)),
            lambda cmd: self.claim.record_step(ATTACHE, cmd),
        )

    @rule(outcome=st.sampled_from(list(ClaimOutcome)))
    def close(self, outcome: ClaimOutcome) -> None:
        self._try(
            lambda: cc.CloseClaim(claim_id=self.claim.id, outcome=outcome),
            lambda cmd: self.claim.close(ATTACHE, cmd),
        )

    @invariant()
    def amounts_hold(self) -> None:
        claim = self.claim
        assert claim.recovered_minor == self.recovered >= 0
        assert claim.outstanding_minor == max(self.claimed - self.recovered, 0) >= 0
        assert all(amount > 0 for amount in claim.recoveries.values())
        assert claim.recovered_minor <= self.claimed or self.reasoned
        if claim.outcome is ClaimOutcome.RECOVERED_IN_FULL:
            assert claim.recovered_minor >= self.claimed

    @invariant()
    def replay_gives_the_same_claim(self) -> None:
        rebuilt = None
        for event in self.events:
            rebuilt = event.mutate(rebuilt)
        assert isinstance(rebuilt, Claim)
        assert (rebuilt.version, rebuilt.recovered_minor, rebuilt.status, rebuilt.steps) == (
            self.claim.version,
            self.claim.recovered_minor,
            self.claim.status,
            self.claim.steps,
        )


ClaimMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
TestClaimProperties = ClaimMachine.TestCase
