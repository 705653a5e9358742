"""`msafiri claim ...`, `msafiri coverage ...` and `msafiri agreement ...`
(issue 16): money claims, social-protection coverage per contract and the
BLA / SSA table. Money is typed and shown in major units."""

from __future__ import annotations

from uuid import UUID

import click

from domain.amounts import format_major
from domain.claims import commands as cc
from domain.claims.service import CLAIM_HANDLERS, RECORDERS
from domain.coverage import commands as vc
from domain.coverage.service import COVERAGE_RECORDERS
from domain.officers import access
from domain.values import Role
from msafiri.cli.cases import kebab
from msafiri.cli.context import CliContext, emit
from msafiri.cli.forms import command_for


def _claim_result(claim) -> dict:
    assert claim.claimed is not None
    currency = claim.claimed.currency
    return {
        "claim_id": str(claim.id),
        "status": claim.status.value,
        "claimed": format_major(claim.claimed.amount_minor, currency),
        "recovered": format_major(claim.recovered_minor, currency),
        "outstanding": format_major(claim.outstanding_minor, currency),
        "version": claim.version,
    }


@click.group(
    name="claim",
    help="Money claims: unpaid wages, end-of-service benefits, withheld documents' "
    "costs, and what the destination's scheme owes on return.",
)
def claim_group() -> None:
    pass


def _open(ctx: CliContext, command) -> dict:
    claim_id = ctx.system.claims.open(ctx.actor(), command)
    return _claim_result(ctx.system.claims.get(claim_id))


claim_group.add_command(command_for(cc.OpenClaim, "open", _open, "claim", RECORDERS))
CLAIM_NAMES = {cc.RecordClaimStep: "step", cc.RecordRecovery: "recover", cc.CloseClaim: "close"}
for _class, (_roles, _) in CLAIM_HANDLERS.items():
    claim_group.add_command(
        command_for(
            _class,
            CLAIM_NAMES.get(_class, kebab(_class.__name__)),
            lambda ctx, command: _claim_result(ctx.system.claims.execute(ctx.actor(), command)),
            "claim",
            _roles,
        )
    )


def _claim_data(row) -> dict:
    return {
        "claim_id": row.claim_id,
        "incident_id": row.incident_id,
        "basis": row.basis,
        "kind": row.kind,
        "status": row.status,
        "outcome": row.outcome,
        "claimed": format_major(row.claimed_minor, row.currency),
        "recovered": format_major(row.recovered_minor, row.currency),
        "outstanding": format_major(row.outstanding_minor, row.currency),
        "steps": row.steps,
        "opened_on": row.opened_on,
        "notes": row.notes,
    }


@claim_group.command(
    name="list",
    help="The claims of a case, newest first.\n\nCASE is a case number or a migrant id.",
    epilog="\b\nExample:\n  msafiri claim list MS-OLX42-NIJBR",
)
@click.argument("case")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per claim")
@click.pass_obj
def list_claims(ctx: CliContext, case: str, as_json: bool) -> None:
    migrant_id = ctx.reference("migrant_id", case)
    rows = ctx.system.read_models.queries.claims.for_case(ctx.viewer(), migrant_id)
    ctx.log_read(access.CASE_OPEN, subject_kind="case", subject_id=UUID(migrant_id))
    if not rows:
        click.echo("no claims")
    for row in rows:
        data = _claim_data(row)
        emit(
            as_json,
            data,
            f"{row.claim_id[:8]}  {row.kind:<26} {row.status:<6} claimed {data['claimed']:>16}"
            f"  recovered {data['recovered']:>16}  outstanding {data['outstanding']:>16}",
        )


@claim_group.command(
    name="show",
    help="One claim with its steps and recoveries.\n\nCLAIM is its id or its first characters.",
    epilog="\b\nExample:\n  msafiri claim show 3f2a9c1e",
)
@click.argument("claim")
@click.option("--json", "as_json", is_flag=True, help="Print the claim as JSON")
@click.pass_obj
def show_claim(ctx: CliContext, claim: str, as_json: bool) -> None:
    claim_id = ctx.reference("claim_id", claim)
    reads = ctx.system.read_models.queries.claims
    row = reads.get(ctx.viewer(), claim_id)
    if row is None:
        raise click.ClickException(f"no claim {claim_id}")
    ctx.log_read(access.CASE_OPEN, subject_kind="case", subject_id=UUID(row.migrant_id))
    entries = []
    for entry in reads.entries(ctx.viewer(), claim_id):
        amount = (
            format_major(entry.amount_minor, row.currency)
            if entry.amount_minor is not None
            else None
        )
        entries.append(
            {
                "entry": entry.entry,
                "day": entry.day,
                "step": entry.step,
                "channel": entry.channel,
                "amount": amount,
                "notes": entry.notes,
            }
        )
    data = _claim_data(row) | {"entries": entries}
    lines = [f"{key:>12}: {value}" for key, value in data.items() if key != "entries"]
    for e in entries:
        what = e["step"] if e["entry"] == "step" else f"{e['amount']} ({e['channel']})"
        lines.append(f"  {e['day']}  {e['entry']:<8} {what}  {e['notes']}".rstrip())
    emit(as_json, data, "\n".join(lines))


# --- coverage ------------------------------------------------------------------


@click.group(
    name="coverage",
    help="Social-protection coverage per contract: insurance, social-security "
    "registration, and whether a BLA or SSA applies. What is owed on return is a "
    "claim: `msafiri coverage owed`.",
)
def coverage_group() -> None:
    pass


def _coverage_result(coverage) -> dict:
    return {
        "coverage_id": str(coverage.id),
        "insured_until": str(coverage.insured_until) if coverage.insured_until else None,
        "registered": coverage.registered,
        "version": coverage.version,
    }


coverage_group.add_command(
    command_for(
        vc.RecordInsurance,
        "insurance",
        lambda ctx, command: _coverage_result(
            ctx.system.coverage.record_insurance(ctx.actor(), command)
        ),
        "coverage",
        COVERAGE_RECORDERS,
    )
)
coverage_group.add_command(
    command_for(
        vc.RecordSocialSecurityRegistration,
        "registration",
        lambda ctx, command: _coverage_result(
            ctx.system.coverage.record_registration(ctx.actor(), command)
        ),
        "coverage",
        COVERAGE_RECORDERS,
    )
)
# What the destination's scheme owes on return, followed like a claim.
_owed = command_for(cc.OpenClaim, "owed", _open, "coverage", (Role.REINTEGRATION_OFFICER,))
_owed.help = (
    "Record what the migrant is owed on return by the destination's scheme "
    "(end-of-service, contributions): a claim without an incident, followed with "
    "`msafiri claim step|recover|close`.\n\n" + (_owed.help or "").split("\n\n", 1)[1]
)
coverage_group.add_command(_owed)


@coverage_group.command(
    name="show",
    help="Coverage per contract of a case.\n\nCASE is a case number or a migrant id.",
    epilog="\b\nExample:\n  msafiri coverage show MS-OLX42-NIJBR",
)
@click.argument("case")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per contract")
@click.pass_obj
def show_coverage(ctx: CliContext, case: str, as_json: bool) -> None:
    migrant_id = ctx.reference("migrant_id", case)
    rows = ctx.system.read_models.queries.claims.coverage(migrant_id)
    ctx.log_read(access.CASE_OPEN, subject_kind="case", subject_id=UUID(migrant_id))
    if not rows:
        click.echo("no coverage recorded")
    for row in rows:
        data = {
            "cycle": row.cycle,
            "destination": row.destination,
            "insured": row.insured,
            "insurer": row.insurer,
            "policy_number": row.policy_number,
            "valid": f"{row.valid_from} to {row.valid_until}" if row.insured else None,
            "registered": row.registered,
            "scheme": row.scheme,
            "registered_on": row.registered_on,
            "bla": row.bla,
            "ssa": row.ssa,
        }
        emit(as_json, data, "\n".join(f"{k:>14}: {v}" for k, v in data.items()))


# --- agreements ----------------------------------------------------------------


@click.group(
    name="agreement",
    help="The BLA / SSA reference table per destination country (administrators edit it).",
)
def agreement_group() -> None:
    pass


def _agreement_done(ctx: CliContext, command, remove: bool = False) -> dict:
    service = ctx.system.coverage
    (service.remove_agreement if remove else service.set_agreement)(ctx.actor(), command)
    return {"country": command.country, "kind": command.kind.value, "removed": remove}


agreement_group.add_command(
    command_for(vc.SetAgreement, "set", _agreement_done, "agreement", (Role.ADMINISTRATOR,))
)
agreement_group.add_command(
    command_for(
        vc.RemoveAgreement,
        "remove",
        lambda ctx, command: _agreement_done(ctx, command, remove=True),
        "agreement",
        (Role.ADMINISTRATOR,),
    )
)


@agreement_group.command(
    name="list",
    help="The agreements table.",
    epilog="\b\nExample:\n  msafiri agreement list --json",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per agreement")
@click.pass_obj
def list_agreements(ctx: CliContext, as_json: bool) -> None:
    rows = ctx.system.read_models.queries.claims.agreements()
    if not rows:
        click.echo("no agreements")
    for row in rows:
        data = {
            "country": row.country,
            "kind": row.kind,
            "title": row.title,
            "in_force_from": row.in_force_from,
            "in_force_until": row.in_force_until,
        }
        until = row.in_force_until or "open-ended"
        emit(
            as_json,
            data,
            f"{row.country}  {row.kind.upper()}  {row.title}  ({row.in_force_from} to {until})",
        )
