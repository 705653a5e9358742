"""Money claims (issue 16): amount claimed in the contract's currency, steps
filed, recoveries over time, outcome - and every refusal."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.claims import commands as cc
from domain.claims.vocabulary import ClaimBasis, ClaimOutcome, ClaimStatus
from domain.errors import IllegalTransition, InvalidCommand, NotAuthorised
from tests.claims_helpers import bring_home, open_claim, recover, wage_incident
from tests.factories import days_ago, send_abroad


def test_a_wage_claim_is_followed_to_its_outcome(system, officers):
    migrant_id = send_abroad(system, officers)
    incident_id = wage_incident(system, officers, migrant_id)
    attache = officers.attache
    # The attaché opens a claim of 6,000.00 SAR on the incident.
    claim_id = open_claim(system, attache, migrant_id, incident_id)
    claim = system.claims.get(claim_id)
    assert claim.basis is ClaimBasis.INCIDENT
    assert claim.claimed.amount_minor == 600_000
    # Filed with the employer, then the labour office.
    for step in ("employer", "labour_office"):
        system.claims.execute(
            attache, cc.RecordClaimStep(claim_id=claim_id, step=step, filed_on=days_ago(40))
        )
    # Two recoveries: one direct, one through the mission.
    recover(system, attache, claim_id, 200_000, channel="direct")
    claim = recover(system, attache, claim_id, 400_000)
    assert claim.recovered_minor == 600_000 and claim.outstanding_minor == 0
    system.claims.execute(
        attache, cc.CloseClaim(claim_id=claim_id, outcome="recovered_in_full", notes="Paid.")
    )
    claim = system.claims.get(claim_id)
    assert claim.status is ClaimStatus.CLOSED and claim.outcome is ClaimOutcome.RECOVERED_IN_FULL
    # A closed claim takes nothing more.
    with pytest.raises(IllegalTransition, match="closed claim"):
        recover(system, attache, claim_id, 1)


def test_amounts_are_never_negative_nor_zero():
    for amount in (-1, 0):
        with pytest.raises(InvalidCommand, match="amount_claimed"):
            cc.OpenClaim.parse(
                {
                    "migrant_id": str(uuid4()),
                    "kind": "unpaid_wages",
                    "amount_claimed": {"amount_minor": amount, "currency": "SAR"},
                    "opened_on": days_ago(1),
                }
            )
        with pytest.raises(InvalidCommand, match="amount"):
            cc.RecordRecovery.parse(
                {
                    "claim_id": str(uuid4()),
                    "amount": {"amount_minor": amount, "currency": "SAR"},
                    "channel": "direct",
                    "received_on": days_ago(1),
                }
            )


def test_recovered_above_claimed_needs_a_stated_reason(system, officers):
    migrant_id = send_abroad(system, officers)
    incident_id = wage_incident(system, officers, migrant_id)
    claim_id = open_claim(system, officers.attache, migrant_id, incident_id, amount_minor=100_000)
    recover(system, officers.attache, claim_id, 80_000)
    with pytest.raises(IllegalTransition, match="reason_above_claimed"):
        recover(system, officers.attache, claim_id, 30_000)
    assert system.claims.get(claim_id).recovered_minor == 80_000  # nothing stored
    claim = recover(
        system,
        officers.attache,
        claim_id,
        30_000,
        reason_above_claimed="The labour court added late-payment interest.",
    )
    assert claim.recovered_minor == 110_000 and claim.outstanding_minor == 0


def test_claim_refusals(system, officers):
    migrant_id = send_abroad(system, officers)
    incident_id = wage_incident(system, officers, migrant_id)
    attache = officers.attache
    # Only in the contract's currency (SAR).
    with pytest.raises(IllegalTransition, match="contract's currency SAR"):
        open_claim(
            system,
            attache,
            migrant_id,
            incident_id,
            amount_claimed={"amount_minor": 1000, "currency": "KES"},
        )
    # An incident of another case is not this migrant's.
    other = send_abroad(system, officers, national_id="29999999", passport_number="AK7654321")
    with pytest.raises(IllegalTransition, match="not on this migrant's case"):
        open_claim(system, attache, other, incident_id)
    # Without an incident only after return.
    with pytest.raises(IllegalTransition, match="has not returned"):
        open_claim(system, attache, migrant_id, None)
    # Contributions are owed on return, not claimed on an incident.
    with pytest.raises(IllegalTransition, match="on return"):
        open_claim(system, attache, migrant_id, incident_id, kind="social_security_contributions")
    claim_id = open_claim(system, attache, migrant_id, incident_id)
    # The same claim id twice is one claim.
    with pytest.raises(Exception, match="already opened"):
        open_claim(system, attache, migrant_id, incident_id, claim_id=str(claim_id))
    # Recoveries in the claim's currency, not before it was opened, never twice.
    with pytest.raises(IllegalTransition, match="claim's currency"):
        recover(system, attache, claim_id, 1, amount={"amount_minor": 1, "currency": "KES"})
    with pytest.raises(IllegalTransition, match="before the claim was opened"):
        recover(system, attache, claim_id, 1, received_on=days_ago(100))
    with pytest.raises(IllegalTransition, match="before the claim was opened"):
        system.claims.execute(
            attache, cc.RecordClaimStep(claim_id=claim_id, step="court", filed_on=days_ago(100))
        )
    recovery_id = str(uuid4())
    recover(system, attache, claim_id, 1000, recovery_id=recovery_id)
    with pytest.raises(IllegalTransition, match="already recorded"):
        recover(system, attache, claim_id, 1000, recovery_id=recovery_id)
    # Outcomes must fit the recoveries.
    with pytest.raises(IllegalTransition, match="recovered_in_full"):
        system.claims.execute(
            attache, cc.CloseClaim(claim_id=claim_id, outcome="recovered_in_full")
        )
    with pytest.raises(IllegalTransition, match="not_recovered"):
        system.claims.execute(attache, cc.CloseClaim(claim_id=claim_id, outcome="not_recovered"))
    # A stale form is refused.
    from domain.errors import ConcurrentUpdate

    with pytest.raises(ConcurrentUpdate):
        system.claims.execute(
            attache, cc.CloseClaim(claim_id=claim_id, outcome="settled", expected_version=1)
        )


@pytest.mark.parametrize("who", ["registrar", "fund", "auditor", "admin"])
def test_only_attaches_and_reintegration_officers_record_claims(system, officers, who):
    migrant_id = send_abroad(system, officers)
    incident_id = wage_incident(system, officers, migrant_id)
    with pytest.raises(NotAuthorised, match="open money claims"):
        open_claim(system, getattr(officers, who), migrant_id, incident_id)
    claim_id = open_claim(system, officers.attache, migrant_id, incident_id)
    with pytest.raises(NotAuthorised, match="record recovery"):
        recover(system, getattr(officers, who), claim_id, 100)
    with pytest.raises(NotAuthorised, match="close claim"):
        system.claims.execute(
            getattr(officers, who), cc.CloseClaim(claim_id=claim_id, outcome="withdrawn")
        )
    with pytest.raises(NotAuthorised, match="record claim step"):
        system.claims.execute(
            getattr(officers, who),
            cc.RecordClaimStep(claim_id=claim_id, step="court", filed_on=days_ago(1)),
        )


def test_owed_on_return_is_followed_like_a_claim(system, officers):
    migrant_id = send_abroad(system, officers)
    bring_home(system, officers, migrant_id)
    reintegrator = officers.reintegrator
    claim_id = open_claim(
        system,
        reintegrator,
        migrant_id,
        None,
        kind="end_of_service_benefits",
        opened_on=days_ago(15),
    )
    claim = system.claims.get(claim_id)
    assert claim.basis is ClaimBasis.RETURN and claim.incident_id is None
    system.claims.execute(
        reintegrator,
        cc.RecordClaimStep(claim_id=claim_id, step="social_security_scheme", filed_on=days_ago(14)),
    )
    claim = recover(system, reintegrator, claim_id, 250_000, received_on=days_ago(5))
    assert claim.outstanding_minor == 350_000
