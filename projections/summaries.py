"""One line of plain language per event, for the case timeline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.values import format_minor


def words(value: Any) -> str:
    return str(value).replace("_", " ")


def money(m: dict | None) -> str:
    if not m:
        return "no estimate"
    return f"{format_minor(m['amount_minor'], m['currency'])} {m['currency']}"


S: dict[str, Callable[[dict], str]] = {
    # cases
    "MigrantRegistered": lambda d: (
        f"Registered {d['full_name']} ({words(d['sex'])}, {d['county']}) as case {d['case_number']}"
    ),
    "OrientationCompleted": lambda d: f"Completed pre-departure orientation with {d['provider']}",
    "SkillsAssessed": lambda d: f"Skills assessed: {d['trade']} ({d['level']}) by {d['assessor']}",
    "ContractRegistered": lambda d: (
        "Contract registered: "
        f"{d['contract']['job_title']} for {d['contract']['employer_name']} in "
        f"{d['contract']['destination_country']}, {money(d['contract']['monthly_wage'])} a month"
    ),
    "MembershipStarted": lambda d: (
        f"Joined the welfare fund ({d['membership_number']}) until {d['ends_on']}"
    ),
    "Departed": lambda d: f"Departed through {d['port_of_exit']}",
    "Arrived": lambda d: "Arrived at the destination",
    "EmployerChanged": lambda d: (
        f"Employer changed from {d['previous_employer']} to {d['employer_name']}: {d['reason']}"
    ),
    "ContractRenewed": lambda d: (
        f"Contract renewed until {d['ends_on']} at {money(d['monthly_wage'])} a month"
    ),
    "ContractTerminated": lambda d: f"Contract ended ({words(d['reason'])}): {d['details']}",
    "WelfareCheckRecorded": lambda d: (
        f"Welfare check by {words(d['channel'])}: {words(d['status'])}"
    ),
    "OnSiteTrainingCompleted": lambda d: f"Completed on-site training: {d['course']}",
    "Returned": lambda d: (
        ("Assisted return" if d["assisted"] else "Returned") + f" ({words(d['reason'])})"
    ),
    "SkillsCertified": lambda d: (
        f"Skills certified: {d['trade']} {d['level']} by {d['certifying_body']}"
    ),
    "ReferralMade": lambda d: (
        f"Referred for {words(d['service'])} to {d['partner']}"
        + (f" without consent ({words(d['legal_basis'])})" if d.get("legal_basis") else "")
    ),
    "ConsentRecorded": lambda d: (
        f"Consent given: {words(d['scope'])}" + (f" with {d['provider']}" if d["provider"] else "")
    ),
    "ConsentWithdrawn": lambda d: (
        f"Consent withdrawn: {words(d['scope'])}"
        + (f" with {d['provider']}" if d["provider"] else "")
    ),
    "ReferralOutcomeRecorded": lambda d: f"Referral outcome: {words(d['outcome'])}",
    "CaseClosed": lambda d: f"Case closed: {d['reason']}",
    "CycleStarted": lambda d: f"New migration cycle {d['cycle']}: {d['reason']}",
    "CaseOfficerAssigned": lambda d: "Case officer reassigned",
    "ContractWarningJustified": lambda d: (
        f"Warned ({'; '.join(d['warnings'])}); went ahead with the justification: "
        f"{d['justification']}"
    ),
    "ContractPartiesLinked": lambda d: "Contract linked to the employer and agency registries",
    "RegistrationCorrected": lambda d: (
        "Registration corrected ("
        + ", ".join(
            f"{words(name)}: {change['was']} -> {change['now']}"
            for name, change in sorted(d["corrections"].items())
        )
        + f"): {d['reason']}"
    ),
    # incidents
    # When it happened is the entry's own time (the timeline's Happened
    # column, in the officer's zone): a UTC date here could name another day.
    "IncidentReported": lambda d: (
        f"Incident reported: {words(d['category'])} ({d['severity']}) in {d['country']}"
    ),
    "IncidentAssessed": lambda d: f"Incident assessed: severity {d['severity']}",
    "IncidentReferred": lambda d: (
        f"Incident referred to {d['organisation']} ({words(d['referred_to'])})"
    ),
    "AssistanceRequested": lambda d: (
        f"Assistance requested: {words(d['kind'])}, {money(d['estimate'])}"
    ),
    "AssistanceProvided": lambda d: "Assistance provided",
    "AssistancePaid": lambda d: f"Assistance paid by the fund: {money(d['amount'])}",
    "AssistanceDeclined": lambda d: f"Assistance {words(d['outcome'])}: {d['reason']}",
    "IncidentNoteAdded": lambda d: f"Note: {d['note']}",
    "IncidentResolved": lambda d: f"Incident resolved: {d['outcome']}",
    "IncidentClosed": lambda d: f"Incident closed: {d['reason']}",
    # the fund, for the disbursements of a case
    "DisbursementRequested": lambda d: (
        f"Fund request: {words(d['category'])}, {money(d['amount'])} to {d['payee']}"
    ),
    "DisbursementApprovalGiven": lambda d: (
        f"Fund request approval given for {money(d['amount'])}"
        + (" (humanitarian exception)" if d["humanitarian_exception"] else "")
    ),
    "DisbursementApproved": lambda d: f"Fund request approved: {money(d['amount'])}",
    "DisbursementRejected": lambda d: f"Fund request rejected: {d['reason']}",
    "DisbursementExpired": lambda d: f"Fund request expired: {d['reason']}",
    "DisbursementPaid": lambda d: (
        f"Fund paid {money(d['amount'])} by {words(d['channel'])} (ref {d['payment_reference']})"
    ),
    "DisbursementPaymentReversed": lambda d: f"Fund payment reversed: {d['reason']}",
}


def summary(event_type: str, data: dict) -> str:
    describe = S.get(event_type)
    text = describe(data) if describe else words(event_type)
    return " ".join(text.split())[:300]


# What a timeline line says of an event of a restricted incident (or of a
# fund request made for one) to a viewer without access: the same words
# without the officer's free text (projections/disclosure.py decides who).
MASKED: dict[str, str] = {
    "AssistanceDeclined": "Assistance declined: {mask}",
    "IncidentNoteAdded": "Note: {mask}",
    "IncidentResolved": "Incident resolved: {mask}",
    "IncidentClosed": "Incident closed: {mask}",
    "DisbursementRejected": "Fund request rejected: {mask}",
    "DisbursementExpired": "Fund request expired: {mask}",
    "DisbursementPaymentReversed": "Fund payment reversed: {mask}",
}


def masked_summary(event_type: str, shown: str, mask: str) -> str:
    """`shown` (the stored summary) if it holds no free text, else the masked words."""
    template = MASKED.get(event_type)
    return template.format(mask=mask) if template else shown
