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

from ledger import commands as c
from ledger.export import to_beancount, to_csv, trial_balance, trial_balance_csv
from tui.cli.context import CliContext, emit
from tui.cli.forms import describe_fields, parse_assignments


def ledger_command(
    command_class: type[c.LedgerCommand], name: str, run: Callable[[Any], Callable]
) -> click.Command:
    @click.command(
        name=name, help=f"{command_class.__doc__ or name}\n\n{describe_fields(command_class)}"
    )
    @click.argument("fields", nargs=-1)
    @click.option("--input", "input_file", type=click.Path(path_type=Path), help="JSON file")
    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON")
    @click.pass_obj
    def handler(ctx: CliContext, fields: tuple[str, ...], input_file: Path | None, as_json: bool):
        data: dict[str, Any] = {}
        if input_file is not None:
            try:
                data = json.loads(input_file.read_text())
            except (OSError, ValueError) as error:
                raise click.BadParameter(
                    f"cannot read JSON: {error}", param_hint="--input"
                ) from None
        data.update(parse_assignments(command_class, fields))
        data.setdefault("command_id", str(uuid4()))
        command = command_class.parse(data)
        result = run(ctx.system.ledger)(ctx.actor(), command)
        ctx.after_write()
        result = {"command_id": str(command.command_id)} | result
        emit(as_json, result, " ".join(f"{k}={v}" for k, v in result.items()))

    return handler


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


@fund_group.command(name="show", help="A disbursement request and where it stands.")
@click.argument("disbursement_id", type=click.UUID)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show(ctx: CliContext, disbursement_id: UUID, as_json: bool) -> None:
    d = ctx.system.ledger.disbursement(disbursement_id)
    data = {
        "disbursement_id": str(d.id),
        "status": d.status.value,
        "category": d.category.value,
        "requested": str(d.amount),
        "approved_minor": d.approved_minor,
        "paid_minor": d.paid_minor,
        "approvals": len(d.approvals),
        "approvers_needed": d.approvers_needed,
        "payee": d.payee,
        "incident_id": str(d.incident_id) if d.incident_id else None,
        "expires_at": d.expires_at.isoformat() if d.expires_at else None,
    }
    emit(as_json, data, "\n".join(f"{k:>17}: {v}" for k, v in data.items()))


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
@click.pass_obj
def export(ctx: CliContext, fmt: str, output: Path | None) -> None:
    system = ctx.system
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
