"""`msafiri fund ...` and `msafiri ledger export`: the fund from scripts.

Every money command takes a `command_id`; give one in scripts so a retry is
safe (the same id returns the first result). Without one a fresh id is
chosen and printed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import click

from domain.amounts import format_major
from domain.officers import access
from domain.values import Role
from ledger import commands as c
from ledger.export import to_beancount, to_csv, trial_balance, trial_balance_csv
from msafiri.cli.context import CliContext
from msafiri.cli.forms import command_for


def ledger_command(
    command_class: type[c.LedgerCommand], name: str, run: Callable[[Any], Callable]
) -> click.Command:
    """A money command: a fresh command_id unless one is given (give one in
    scripts, so that a retry returns the first answer), echoed in the result."""

    def execute(ctx: CliContext, command: c.LedgerCommand) -> dict:
        result = run(ctx.system.ledger)(ctx.actor(), command)
        return {"command_id": str(command.command_id)} | result

    return command_for(
        command_class,
        name,
        execute,
        "fund",
        (Role.FUND_OFFICER,),
        defaults=lambda: {"command_id": str(uuid4())},
    )


@click.group(name="fund", help="The Migrant Welfare Fund: money in, disbursements, reversals.")
def fund_group() -> None:
    pass


COMMANDS: dict[type[c.LedgerCommand], tuple[str, Callable[[Any], Callable]]] = {
    c.OpenFund: ("open", lambda s: s.open_fund),
    c.AdoptPolicy: ("adopt-policy", lambda s: s.adopt_policy),
    c.OpenAccount: ("open-account", lambda s: s.open_account),
    c.CloseAccount: ("close-account", lambda s: s.close_account),
    c.RecordContribution: ("record-contribution", lambda s: s.record_contribution),
    c.RecordContributionBatch: ("record-contributions", lambda s: s.record_contributions),
    c.RecordGrant: ("record-grant", lambda s: s.record_grant),
    c.PostCorrection: ("post-correction", lambda s: s.post_correction),
    c.RequestDisbursement: ("request", lambda s: s.request_disbursement),
    c.ApproveDisbursement: ("approve", lambda s: s.approve),
    c.RejectDisbursement: ("reject", lambda s: s.reject),
    c.ExpireDisbursement: ("expire", lambda s: s.expire),
    c.PayDisbursement: ("pay", lambda s: s.pay),
    c.ReverseTransfer: ("reverse", lambda s: s.reverse),
    c.ApproveCorrection: ("approve-correction", lambda s: s.approve_correction),
    c.RejectCorrection: ("reject-correction", lambda s: s.reject_correction),
}
for _class, (_name, _run) in COMMANDS.items():
    fund_group.add_command(ledger_command(_class, _name, _run))


@fund_group.command(name="balances", help="Posted, pending and available balance per account.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def balances(ctx: CliContext, as_json: bool) -> None:
    book = ctx.system.ledger.book()
    if as_json:
        click.echo(json.dumps(trial_balance(book)))
        return
    click.echo(trial_balance_csv(book), nl=False)


@fund_group.command(
    name="show",
    help="A disbursement request and where it stands.\n\n"
    "REQUEST is the disbursement's id or its first characters.",
    epilog="\b\nExample:\n  msafiri fund show 7b41d0aa",
)
@click.argument("request")
@click.option("--json", "as_json", is_flag=True, help="Print the request as JSON")
@click.pass_obj
def show(ctx: CliContext, request: str, as_json: bool) -> None:
    d = ctx.system.ledger.disbursement(UUID(ctx.reference("disbursement_id", request)))
    ctx.log_read(
        access.DISBURSEMENT_OPEN,
        subject_kind="disbursement",
        subject_id=d.id,
        detail=f"for case {d.migrant_id}",
    )
    names = ctx.officer_names()
    case = ctx.system.read_models.queries.get_case(str(d.migrant_id))

    def major(minor: int | None) -> str | None:
        return None if minor is None else format_major(minor, d.amount.currency)

    data = {
        "disbursement_id": str(d.id),
        "case_number": case.case_number if case else None,
        "status": d.status.value,
        "category": d.category.value,
        "requested": major(d.amount.amount_minor),
        "approved": major(d.approved_minor),
        "paid": major(d.paid_minor),
        "approvals": len(d.approvals),
        "approvers_needed": d.approvers_needed,
        "approved_by": ", ".join(names.get(str(officer), "?") for officer, *_ in d.approvals),
        # Money held for it now: an ineligible request holds none until it is
        # approved as an exception; an approval holds its payable.
        "reserved": (d.status.value == "requested" and d.reserved) or d.status.value == "approved",
        "payee": d.payee,
        "incident_id": str(d.incident_id) if d.incident_id else None,
        "expires_at": d.expires_at.isoformat() if d.expires_at else None,
    }
    shown = data | {"expires_at": ctx.when(d.expires_at) if d.expires_at else None}
    ctx.emit_times(as_json, data, "\n".join(f"{k:>17}: {v}" for k, v in shown.items()))


@fund_group.command(
    name="queue",
    help="The approval queue (or the payment queue), oldest request first.",
    epilog="\b\nExample:\n  msafiri fund queue --status approved --limit 20",
)
@click.option(
    "--status",
    type=click.Choice(["requested", "approved"]),
    default="requested",
    show_default=True,
    help="requested: waiting for approval; approved: waiting for payment",
)
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the requests as JSON lines")
@click.pass_obj
def queue(ctx: CliContext, status: str, limit: int, as_json: bool) -> None:
    ctx.log_read(access.SEARCH, detail=access.search_detail("", view="fund queue", status=status))
    names = ctx.officer_names()
    page = ctx.system.read_models.queries.approval_queue(
        status=status, limit=limit, viewer=ctx.viewer()
    )
    for row in page.rows:
        item = {
            "disbursement_id": row.disbursement_id,
            "case_number": row.case_number,
            "full_name": row.full_name,
            "category": row.category,
            "amount": format_major(row.amount_minor, row.currency),
            "eligible": row.eligible,
            "approvals": f"{row.approvals_given}/{row.approvers_needed}",
            "requested_by": names.get(row.requested_by, row.requested_by),
            # Masked for a request made for a restricted incident unless the
            # officer has access (projections/disclosure.py).
            "justification": row.justification,
            "requested_at": row.requested_at,
            "expires_at": row.expires_at,
        }
        text = (
            f"{row.disbursement_id[:8]}  {ctx.when(row.requested_at, 'date')}  {row.case_number}  "
            f"{row.full_name}  {row.category}  {item['amount']}  "
            f"{'eligible' if row.eligible else 'NOT eligible'}  approvals {item['approvals']}"
        )
        ctx.emit_times(as_json, item, text)
    if not page.rows and not as_json:
        waiting = "approval" if status == "requested" else "payment"
        click.echo(f"no request is waiting for {waiting}")


@fund_group.command(
    name="process", help="Lapse overdue requests, then run the case<->fund process."
)
@click.pass_obj
def process(ctx: CliContext) -> None:
    process = ctx.system.fund_process
    expired = process.expire_overdue()
    handled = process.run_once()
    click.echo(
        f"expired {expired} overdue requests; reacted to {handled} events; "
        f"position {process.position()}"
    )


@click.group(name="ledger", help="The fund's books for auditors and accountants.")
def ledger_group() -> None:
    pass


@ledger_group.command(
    name="export", help="Write the journal (Beancount or CSV) or a trial balance."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["beancount", "csv", "trial-balance"]),
    default="beancount",
    show_default=True,
)
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), help="File to write")
@click.option("--reason", help="Why it is exported (kept in the access log)")
@click.pass_obj
def export(ctx: CliContext, fmt: str, output: Path | None, reason: str | None) -> None:
    system = ctx.system
    ctx.log_export(f"ledger {fmt} to {output or 'standard output'}", reason, subject_kind="fund")
    if fmt == "beancount":
        text = to_beancount(system.store, system.ledger.book_id)
    elif fmt == "csv":
        text = to_csv(system.store, system.ledger.book_id)
    else:
        text = trial_balance_csv(system.ledger.book())
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)
        click.echo(f"wrote {output}", err=True)


@ledger_group.command(
    name="repair-snapshots",
    help="Delete the book snapshot rows that `audit verify` names as bad (forged, altered, "
    "copied, or not what the log says), then take a fresh snapshot. Snapshots are a cache "
    "of the log: nothing is lost. An administrator only; the act and its reason are kept "
    "in the access log.",
    short_help="Delete bad book snapshot rows; take a fresh snapshot.",
    epilog="\b\nExample:\n  msafiri --officer amina --role administrator ledger repair-snapshots "
    '--reason "audit verify named a forged snapshot row (incident 2026-14)"',
)
@click.option("--reason", required=True, help="Why (kept in the access log)")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON")
@click.pass_obj
def repair_snapshots(ctx: CliContext, reason: str, as_json: bool) -> None:
    from msafiri.snapshot_repair import repair_snapshots as repair

    username, actor = ctx.signed_in()
    done = repair(ctx.system, username, actor, reason, connection=ctx.connection)
    data = {
        "dropped": [
            {
                "originator_id": str(row.originator_id),
                "originator_version": row.originator_version,
                "reason": row.reason,
            }
            for row in done.dropped
        ],
        "snapshot_version": done.snapshot_version,
        "fresh_snapshot": done.fresh,
    }
    if as_json:
        click.echo(json.dumps(data, sort_keys=True))
        return
    if not done.dropped:
        click.echo("no book snapshot row is bad; nothing deleted")
        return
    for row in done.dropped:
        click.echo(f"dropped {row}")
    if done.snapshot_version is None:
        click.echo("no snapshot stored: the book replays from its first event")
    elif done.fresh:
        click.echo(f"fresh snapshot taken at book version {done.snapshot_version}")
    else:
        click.echo(
            f"the book's latest snapshot, at version {done.snapshot_version}, is good and was kept"
        )
