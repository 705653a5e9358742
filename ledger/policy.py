"""The approval policy: who must approve what, caps, and eligibility rules.

A policy is adopted as an event on the fund's book with a version number, and
every decision records the version it applied, so an auditor can tell which
rules were in force for each payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from domain.values import format_minor, minor_unit_exponent
from ledger.vocabulary import BenefitCategory

KES = 100  # minor units per shilling

# Defaults modelled on the benefit schedules of real welfare funds (OWWA,
# SLBFE) scaled to Kenyan shillings; a fund adopts its own with `fund policy`.
DEFAULT_CAPS_KES = {
    BenefitCategory.REPATRIATION: 150_000 * KES,
    BenefitCategory.REMAINS_REPATRIATION: 500_000 * KES,
    BenefitCategory.MEDICAL: 250_000 * KES,
    BenefitCategory.LEGAL_AID: 200_000 * KES,
    BenefitCategory.SHELTER: 50_000 * KES,
    BenefitCategory.COUNSELLING: 20_000 * KES,
    BenefitCategory.DEATH_BENEFIT: 300_000 * KES,
    BenefitCategory.DISABILITY: 200_000 * KES,
    BenefitCategory.REINTEGRATION_GRANT: 100_000 * KES,
}


class ApprovalPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1)
    currency: str = "KES"
    # Above this amount (minor units of `currency`) two distinct approvers.
    two_approver_threshold_minor: int = Field(default=100_000 * KES, ge=0)
    caps_minor: dict[BenefitCategory, int] = Field(default_factory=lambda: dict(DEFAULT_CAPS_KES))
    claim_window_days: int = Field(default=365, ge=1)
    # A request nobody decided, or an approval nobody paid, lapses after this.
    expiry_days: int = Field(default=90, ge=1)


DEFAULT_POLICY = ApprovalPolicy(version=1)


@dataclass(frozen=True)
class Check:
    rule: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class ClaimFacts:
    """What eligibility is decided on, gathered by the service."""

    category: BenefitCategory
    amount_minor: int
    currency: str
    requested_at: datetime
    # Without an incident, the request's own date: membership is judged then.
    incident_occurred_at: datetime
    memberships: tuple[tuple[str, object, object], ...]  # (number, starts_on, ends_on)
    other_claims_paid: int
    other_claims_open: int


def check_eligibility(policy: ApprovalPolicy, facts: ClaimFacts) -> list[Check]:
    checks = []
    day = facts.incident_occurred_at.date()
    covering = [n for n, start, end in facts.memberships if start <= day <= end]  # type: ignore[operator]
    checks.append(
        Check("membership", True, f"membership {covering[0]} active on {day}")
        if covering
        else Check("membership", False, f"no welfare-fund membership active on {day}")
    )
    age = facts.requested_at - facts.incident_occurred_at
    window = timedelta(days=policy.claim_window_days)
    checks.append(
        Check("claim window", True, f"filed {age.days} days after the incident")
        if age <= window
        else Check(
            "claim window",
            False,
            f"filed {age.days} days after the incident (limit {policy.claim_window_days})",
        )
    )
    if facts.other_claims_paid:
        checks.append(
            Check(
                "first payment", False, f"{facts.category.value} was already paid for this incident"
            )
        )
    elif facts.other_claims_open:
        checks.append(
            Check(
                "first payment",
                False,
                f"another {facts.category.value} request is open for this incident",
            )
        )
    else:
        checks.append(
            Check("first payment", True, "no other payment of this benefit for the incident")
        )
    cap = policy.caps_minor.get(facts.category) if facts.currency == policy.currency else None
    if cap is None:
        checks.append(Check("cap", True, f"no cap for {facts.category.value} in {facts.currency}"))
    else:
        # In whole units of the policy's currency (not every currency has cents).
        whole = cap // 10 ** minor_unit_exponent(policy.currency)
        limit = f"cap {whole:,} {policy.currency}"
        checks.append(Check("cap", facts.amount_minor <= cap, limit))
    return checks


def cap_exceeded(
    policy: ApprovalPolicy, category: BenefitCategory, amount_minor: int, currency: str
) -> str | None:
    """Why a request is above its benefit's cap (refused at request time, not
    kept as an exception), or None. Caps are in the policy's currency."""
    cap = policy.caps_minor.get(category) if currency == policy.currency else None
    if cap is None or amount_minor <= cap:
        return None
    whole = cap // 10 ** minor_unit_exponent(policy.currency)
    return (
        f"amount: {format_minor(amount_minor, currency)} {currency} is above the cap for "
        f"{category.value.replace('_', ' ')} of {whole:,} {policy.currency} "
        f"(policy version {policy.version})"
    )


def approvers_needed(
    policy: ApprovalPolicy, amount_minor: int, currency: str, exception: bool
) -> int:
    if exception:
        return 2
    if currency == policy.currency and amount_minor > policy.two_approver_threshold_minor:
        return 2
    return 1
