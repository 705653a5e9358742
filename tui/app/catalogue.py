"""Every lifecycle command the UI offers, as "group: verb" entries.

Who may give a command comes from the services' own routing tables
(CASE_HANDLERS, INCIDENT_HANDLERS), so the UI hides exactly what the
services would refuse - and the services still refuse it anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from domain.access import commands as ac
from domain.access.aggregate import REVIEWERS
from domain.access.service import BREAK_GLASS_ROLES, SUPERVISOR
from domain.cases import commands as cc
from domain.cases import consent
from domain.cases.service import CASE_HANDLERS, REGISTRATION
from domain.claims import commands as claim_commands
from domain.claims.service import CLAIM_HANDLERS, RECORDERS
from domain.commands import CaseCommand, Command
from domain.coverage import commands as coverage_commands
from domain.coverage.service import COVERAGE_RECORDERS
from domain.incidents import commands as ic
from domain.incidents.service import ATTACHE, INCIDENT_HANDLERS
from domain.officers import commands as oc
from domain.values import Role
from ledger import commands as lc

FUND = (Role.FUND_OFFICER,)
ADMIN = (Role.ADMINISTRATOR,)
# Who may ask the fund for money (ledger/service.py REQUESTERS, less the system).
FUND_REQUESTERS = (Role.LABOUR_ATTACHE, Role.FUND_OFFICER, Role.REINTEGRATION_OFFICER)

# What a command acts on: nothing yet, or the record open on the screen.
Target = Literal["new", "case", "incident", "disbursement", "transfer"]


@dataclass(frozen=True)
class Action:
    key: str
    group: str
    verb: str
    command: type[Command]
    roles: tuple[Role, ...]
    target: Target
    about: str = ""  # the help line, when the command's docstring does not say it in one

    @property
    def title(self) -> str:
        return f"{self.group}: {self.verb}"

    @property
    def help(self) -> str:
        doc = (self.command.__doc__ or "").strip().splitlines()
        first = doc[0] if doc and not doc[0].startswith("A command on") else ""
        needs = "" if self.target == "new" else f" (on the selected {self.target})"
        return (self.about or first or self.verb.capitalize()) + needs


def _case(key: str, verb: str, command: type[CaseCommand]) -> Action:
    return Action(key, "case", verb, command, CASE_HANDLERS[command][0], "case")


def _incident(key: str, verb: str, command: type[ic.IncidentCommand]) -> Action:
    return Action(key, "incident", verb, command, INCIDENT_HANDLERS[command][0], "incident")


def _claim(key: str, verb: str, command: type[claim_commands.ClaimCommand]) -> Action:
    return Action(key, "claim", verb, command, CLAIM_HANDLERS[command][0], "claim")  # type: ignore[arg-type]


ACTIONS: tuple[Action, ...] = (
    Action("case.register", "case", "register migrant", cc.RegisterMigrant, REGISTRATION, "new"),
    _case("case.orientation", "record orientation", cc.CompleteOrientation),
    _case("case.skills", "assess skills", cc.AssessSkills),
    _case("case.contract", "register contract", cc.RegisterContract),
    _case("case.membership", "start membership", cc.StartMembership),
    _case("case.departure", "record departure", cc.RecordDeparture),
    _case("case.arrival", "record arrival", cc.RecordArrival),
    _case("case.employer", "change employer", cc.ChangeEmployer),
    _case("case.renew", "renew contract", cc.RenewContract),
    _case("case.terminate", "terminate contract", cc.TerminateContract),
    # Contracts from before the registries: link them to the registered
    # employer and agency, chosen by name (tui/app/screens/actions.py).
    Action(
        "case.link_parties",
        "case",
        "link contract parties",
        cc.LinkContractParties,
        CASE_HANDLERS[cc.LinkContractParties][0],
        "case",
        about="Link a contract from before the registries to its registered employer and agency",
    ),
    _case("case.welfare", "record welfare check", cc.RecordWelfareCheck),
    _case("case.training", "record on-site training", cc.RecordOnSiteTraining),
    _case("case.return", "record return", cc.RecordReturn),
    _case("case.certify", "certify skills", cc.CertifySkills),
    _case("case.referral", "make referral", cc.MakeReferral),
    _case("case.referral_outcome", "record referral outcome", cc.RecordReferralOutcome),
    _case("case.close", "close case", cc.CloseCase),
    _case("case.new_cycle", "start new cycle", cc.StartNewCycle),
    _case("case.consent", "record consent", consent.RecordConsent),
    _case("case.withdraw_consent", "withdraw consent", consent.WithdrawConsent),
    Action("incident.report", "incident", "report", ic.ReportIncident, ATTACHE, "case"),
    _incident("incident.assess", "assess", ic.AssessIncident),
    _incident("incident.refer", "refer", ic.ReferIncident),
    _incident("incident.request_assistance", "request assistance", ic.RequestAssistance),
    _incident("incident.provided", "record assistance provided", ic.RecordAssistanceProvided),
    _incident("incident.note", "add note", ic.AddIncidentNote),
    _incident("incident.resolve", "resolve", ic.ResolveIncident),
    _incident("incident.close", "close", ic.CloseIncident),
    Action(
        "fund.request",
        "fund",
        "request disbursement",
        lc.RequestDisbursement,
        FUND_REQUESTERS,
        "case",
    ),
    Action("fund.approve", "fund", "approve", lc.ApproveDisbursement, FUND, "disbursement"),
    Action(
        "fund.exception",
        "fund",
        "approve as humanitarian exception",
        lc.ApproveDisbursement,
        FUND,
        "disbursement",
    ),
    Action("fund.reject", "fund", "reject", lc.RejectDisbursement, FUND, "disbursement"),
    Action("fund.pay", "fund", "record payment", lc.PayDisbursement, FUND, "disbursement"),
    Action("fund.contribution", "fund", "record contribution", lc.RecordContribution, FUND, "case"),
    Action("fund.grant", "fund", "record grant", lc.RecordGrant, FUND, "new"),
    Action("fund.reverse", "fund", "reverse transfer", lc.ReverseTransfer, FUND, "transfer"),
    # A reversal or correction moving money out is proposed; another officer decides it.
    Action(
        "fund.approve_correction",
        "fund",
        "approve correction or reversal",
        lc.ApproveCorrection,
        FUND,
        "new",
    ),
    Action(
        "fund.reject_correction",
        "fund",
        "reject correction or reversal",
        lc.RejectCorrection,
        FUND,
        "new",
    ),
    # Need to know (docs/privacy.md): grants, break-glass and their reviews.
    Action("case.grant_access", "case", "grant access", ac.GrantCaseAccess, SUPERVISOR, "case"),
    Action(
        "case.break_glass",
        "case",
        "break glass (emergency access)",
        ac.TakeEmergencyAccess,
        BREAK_GLASS_ROLES,
        "case",
    ),
    Action("case.revoke_access", "case", "revoke access", ac.RevokeCaseAccess, SUPERVISOR, "new"),
    Action(
        "case.review_break_glass",
        "case",
        "review break-glass",
        ac.ReviewEmergencyAccess,
        REVIEWERS,
        "new",
    ),
    Action("officer.register", "officer", "register", oc.RegisterOfficer, ADMIN, "new"),
    Action("officer.grant", "officer", "grant role", oc.GrantRole, ADMIN, "new"),
    Action("officer.revoke", "officer", "revoke role", oc.RevokeRole, ADMIN, "new"),
    Action("officer.deactivate", "officer", "deactivate", oc.DeactivateOfficer, ADMIN, "new"),
    Action("officer.password", "officer", "reset password", oc.SetPassword, ADMIN, "new"),
    # Issue 16: money claims are opened on the case (on the incident selected in
    # its Incidents tab, or after return for what the scheme owes) and followed
    # on the claim selected in the case's Claims tab (target "claim").
    Action("claim.open", "claim", "open claim", claim_commands.OpenClaim, RECORDERS, "case"),
    _claim("claim.step", "record step", claim_commands.RecordClaimStep),
    _claim("claim.recover", "record recovery", claim_commands.RecordRecovery),
    _claim("claim.close", "close", claim_commands.CloseClaim),
    Action(
        "coverage.insurance",
        "coverage",
        "record insurance",
        coverage_commands.RecordInsurance,
        COVERAGE_RECORDERS,
        "case",
    ),
    Action(
        "coverage.registration",
        "coverage",
        "record social-security registration",
        coverage_commands.RecordSocialSecurityRegistration,
        COVERAGE_RECORDERS,
        "case",
    ),
)

OFFICER_METHODS = {
    oc.RegisterOfficer: "register",
    oc.GrantRole: "grant_role",
    oc.RevokeRole: "revoke_role",
    oc.DeactivateOfficer: "deactivate",
    oc.SetPassword: "set_password",
}

# Prefilled values that make one command class serve two actions.
PRESETS: dict[str, dict[str, Any]] = {"fund.exception": {"humanitarian_exception": True}}

LEDGER_METHODS = {
    lc.RequestDisbursement: "request_disbursement",
    lc.ApproveDisbursement: "approve",
    lc.RejectDisbursement: "reject",
    lc.PayDisbursement: "pay",
    lc.RecordContribution: "record_contribution",
    lc.RecordGrant: "record_grant",
    lc.ReverseTransfer: "reverse",
    lc.ApproveCorrection: "approve_correction",
    lc.RejectCorrection: "reject_correction",
}

BY_KEY = {action.key: action for action in ACTIONS}
COVERAGE_METHODS = {
    coverage_commands.RecordInsurance: "record_insurance",
    coverage_commands.RecordSocialSecurityRegistration: "record_registration",
}


def actions_for(role: Role, target: Target | None = None) -> list[Action]:
    return [
        action
        for action in ACTIONS
        if role in action.roles and (target is None or action.target == target)
    ]


ACCESS_METHODS = {
    ac.GrantCaseAccess: "grant",
    ac.TakeEmergencyAccess: "break_glass",
    ac.RevokeCaseAccess: "revoke",
    ac.ReviewEmergencyAccess: "review",
}


# Break-glass and its reviews also write the access log (one service does both:
# projections/access_log/service.py), so they go there, with who is signed in.
LOGGED_ACCESS_METHODS = {
    ac.TakeEmergencyAccess: "take_break_glass",
    ac.ReviewEmergencyAccess: "review_break_glass",
}


def submit(
    system: Any,
    actor: Any,
    command: Command,
    *,
    username: str | None = None,
    connection: str = "terminal",
) -> Any:
    """Send a validated command to the service that owns it. `username` and
    `connection`: the signed-in officer, for what the access log records."""
    if type(command) in LOGGED_ACCESS_METHODS:
        if username is None:  # the log names its officer: look the name up
            username = system.store.get(actor.officer_id, "officer").username
        method = getattr(system.access_log, LOGGED_ACCESS_METHODS[type(command)])
        return method(username, actor, command, interface="tui", connection=connection)
    if isinstance(command, cc.RegisterMigrant):
        return system.cases.register(actor, command)
    if isinstance(command, ic.ReportIncident):
        return system.incidents.report(actor, command)
    if isinstance(command, CaseCommand):
        return system.cases.execute(actor, command)
    if type(command) in ACCESS_METHODS:
        return getattr(system.access, ACCESS_METHODS[type(command)])(actor, command)
    if isinstance(command, claim_commands.OpenClaim):
        return system.claims.open(actor, command)
    if isinstance(command, claim_commands.ClaimCommand):
        return system.claims.execute(actor, command)
    if type(command) in COVERAGE_METHODS:
        return getattr(system.coverage, COVERAGE_METHODS[type(command)])(actor, command)
    if type(command) in OFFICER_METHODS:
        return getattr(system.officers, OFFICER_METHODS[type(command)])(actor, command)
    if isinstance(command, ic.IncidentCommand):
        result = system.incidents.execute(actor, command)
    elif type(command) in LEDGER_METHODS:
        result = getattr(system.ledger, LEDGER_METHODS[type(command)])(actor, command)
    else:
        raise TypeError(f"no service takes {type(command).__name__}")
    # The fund process links incidents and the fund (an assistance request
    # starts a disbursement; a payment is written back on the incident): let
    # it react now, as the CLI does after a write. It is exactly-once.
    system.fund_process.run_once()
    return result
