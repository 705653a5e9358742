"""`msafiri audit ...`: verify the log, keep checkpoints, replay, export.

Read-only commands: they need access to the database, not an officer's
sign-in (whoever holds the database credentials can read the rows anyway);
the auditor's screens in the TUI sign in.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime, time
from pathlib import Path
from uuid import UUID

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from domain.ids import officer_id
from domain.values import Role
from ledger.chart import NEVER_NEGATIVE
from ledger.export import journal
from projections.audit import signing
from projections.audit.chain import verify
from projections.audit.consistency import UNREADABLE, case_problems, fund_problems, unreadable
from projections.audit.corrections import corrections
from projections.audit.trail import case_filter, export_lines, state_as_of
from projections.catalogue import event_type_names
from tui.cli.context import CliContext, emit


@click.group(name="audit", help="Verify, replay and export the history (auditors).")
def audit_group() -> None:
    pass


@audit_group.command(name="chain", help="Chain the events stored since the last link.")
@click.pass_obj
def chain(ctx: CliContext) -> None:
    added = ctx.system.audit.extend_chain()
    head = ctx.system.audit.head()
    click.echo(
        f"chained {added} events; head {head.position if head else 0} "
        f"{head.link.hex() if head else ''}"
    )


@audit_group.command(name="checkpoint", help="Chain, then print (and keep) the head.")
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Append the checkpoint line to this file (keep it outside Msafiri).",
)
@click.pass_obj
def checkpoint(ctx: CliContext, output: Path | None) -> None:
    audit = ctx.system.audit
    audit.extend_chain()
    # Signed when MSAFIRI_AUDIT_SIGNING_KEY_FILE is set (the store signs).
    record = audit.record_checkpoint()
    line = json.dumps(record, sort_keys=True)
    if output:
        with output.open("a") as file:
            file.write(line + "\n")
    click.echo(line)


@audit_group.command(name="checkpoints", help="The checkpoints kept in the database.")
@click.pass_obj
def checkpoints_command(ctx: CliContext) -> None:
    """One JSON line each, oldest first: the file an auditor copies out and
    later hands to `msafiri audit verify --checkpoint`."""
    for record in ctx.system.audit.checkpoints():
        click.echo(json.dumps(record, sort_keys=True))


@audit_group.command(name="keygen", help="Make the key pair that signs checkpoints.")
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Private key file to create (then set MSAFIRI_AUDIT_SIGNING_KEY_FILE).",
)
def keygen(output: Path) -> None:
    if output.exists():
        raise click.BadParameter(
            f"{output} exists; refusing to overwrite a key", param_hint="--output"
        )
    click.echo(signing.generate_key(output), nl=False)


@audit_group.command(name="verify", help="Recompute the chain; check the books balance.")
@click.option(
    "--checkpoint",
    "checkpoints",
    type=click.Path(path_type=Path, exists=True),
    help="A file of checkpoint lines kept outside Msafiri.",
)
@click.option(
    "--public-key",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Check the signature of each checkpoint (kept in the file and in the database)"
    " with this public key (PEM).",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def verify_command(
    ctx: CliContext, checkpoints: Path | None, public_key: Path | None, as_json: bool
) -> None:
    system = ctx.system
    audit = system.audit
    result = verify(audit.rows(), audit.chain())
    problems = [str(finding) for finding in result.findings or []]
    public = public_key.read_text() if public_key else None
    if checkpoints:
        kept = [json.loads(t) for t in checkpoints.read_text().splitlines() if t.strip()]
        problems.extend(signing.checkpoint_problems(audit, kept, public))
    if public:
        # The database's own signed checkpoints: a rewritten history cannot
        # carry valid signatures without the secretariat's private key.
        signed = [record for record in audit.checkpoints() if "signature" in record]
        problems.extend(
            f"kept in the database: {problem}"
            for problem in signing.checkpoint_problems(audit, signed, public)
        )
    problems.extend(_ledger_problems(system))
    queries = system.read_models.queries
    cases_checked, case_issues = case_problems(system.store, audit, queries)
    problems.extend(case_issues)
    if system.ledger.fund_exists():
        problems.extend(fund_problems(system.store, audit, queries, system.ledger.book_id))
    data = {
        "ok": not problems,
        "checked": result.checked,
        "unchained": result.unchained,
        "head_position": result.head.position if result.head else 0,
        "head": result.head.link.hex() if result.head else None,
        "cases_checked_against_replay": cases_checked,
        "problems": problems,
    }
    text = (
        f"verified {result.checked:,} events; head {data['head_position']} {data['head']}"
        + (f"; {result.unchained} newer events not chained yet" if result.unchained else "")
        + f"; {cases_checked:,} cases and the fund's balances checked against a replay"
        + "".join(f"\nPROBLEM {p}" for p in problems)
    )
    emit(as_json, data, text)
    if problems:
        sys.exit(3)


def _ledger_problems(system) -> list[str]:
    if not system.ledger.fund_exists():
        return []
    try:
        book, _ = journal(system.store, system.ledger.book_id)
    except UNREADABLE as error:
        return [unreadable("the fund's journal", error)]
    problems = []
    for currency in book.currencies():
        accounts = [a for a in book.accounts.values() if a.currency == currency]
        debits = sum(a.debits_posted for a in accounts)
        credits = sum(a.credits_posted for a in accounts)
        if debits != credits:
            problems.append(f"the {currency} books do not balance: {debits} != {credits}")
        for account in accounts:
            if account.code in NEVER_NEGATIVE and account.available < 0:
                problems.append(f"{account.code} ({currency}) is overdrawn: {account.available}")
    return problems


@audit_group.command(name="export", help="The full trail (or one case's) as JSON Lines.")
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--case", "migrant_id", type=click.UUID, help="Only this migrant's history.")
@click.pass_obj
def export(ctx: CliContext, output: Path, migrant_id: UUID | None) -> None:
    system = ctx.system
    system.audit.extend_chain()
    total = system.audit.max_position()
    keep = case_filter(migrant_id) if migrant_id else None
    written = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with output.open("w") as file, Progress(*columns, transient=True) as progress:
        task = progress.add_task("events", total=total)
        for line in export_lines(
            system.store, system.audit, keep, lambda n: progress.advance(task, n)
        ):
            file.write(json.dumps(line, sort_keys=True) + "\n")
            written += 1
    click.echo(f"wrote {written:,} events to {output}", err=True)


def _moment(value: str | None, end_of_day: bool = False) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "must be a date or time, e.g. 2026-06-30 or 2026-06-30T12:00+03:00"
        ) from None
    if end_of_day and len(value) == 10:  # a bare date: up to the end of that day
        moment = datetime.combine(moment.date(), time.max)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@audit_group.command(name="who", help="Who did what: events by officer, role, time, type.")
@click.option("--officer", help="Username")
@click.option("--role", type=click.Choice([r.value for r in Role]))
@click.option("--since", help="Recorded on or after (date or ISO time, UTC if no zone)")
@click.option("--until", help="Recorded on or before (a date means the end of that day)")
@click.option("--type", "event_type", help="Event type, e.g. DisbursementApproved")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def who(ctx, officer, role, since, until, event_type, limit, as_json) -> None:
    if event_type and event_type not in event_type_names():
        raise click.BadParameter(
            f"no event type {event_type!r}; e.g. IncidentReported, DisbursementApproved",
            param_hint="--type",
        )
    system = ctx.system
    read_models = system.read_models
    if system.database.backend == "sqlite":
        read_models.catch_up()  # embedded: the index is kept here, not by a worker
    else:
        lag = next((s.lag for s in read_models.queries.status() if s.name == "activity"), 0)
        if lag:
            click.echo(
                f"note: the activity index is {lag:,} events behind the log "
                "(is `msafiri projections run` running?)",
                err=True,
            )
    filters = {
        "officer_id": str(officer_id(officer)) if officer else None,
        "role": role,
        "event_type": event_type,
        "since": _moment(since),
        "until": _moment(until, end_of_day=True),
    }
    shown, after = 0, None
    while shown < limit:
        page = read_models.queries.activity(
            **filters, after=after, limit=min(500, limit - shown)
        )
        for row in page.rows:
            if as_json:
                click.echo(json.dumps(asdict(row), sort_keys=True))
            else:
                click.echo(
                    f"{row.position:>8} {row.recorded_at[:19]} {row.actor_role:<22} "
                    f"{row.username or row.actor_id[:8]:<16} {row.event_type:<28} "
                    f"{row.aggregate_id[:8]}"
                )
        shown += len(page.rows)
        if page.after is None:
            break
        after = page.after


@audit_group.command(name="as-of", help="A record (case, incident, disbursement, fund) as it was.")
@click.argument("aggregate_id", type=click.UUID)
@click.option("--position", type=click.IntRange(1), help="As of this log position")
@click.option("--at", "moment", help="As of this recorded time")
@click.pass_obj
def as_of(ctx: CliContext, aggregate_id: UUID, position: int | None, moment: str | None) -> None:
    system = ctx.system
    state = state_as_of(system.store, system.audit, aggregate_id, position, _moment(moment))
    if state is None:
        click.echo("did not exist yet")
        return
    shown = {
        k: v for k, v in vars(state).items() if not k.startswith("_") and k not in ("transfers",)
    }
    if "accounts" in shown:
        shown["accounts"] = {
            key: {"posted": a.posted, "pending": a.pending, "available": a.available}
            for key, a in state.accounts.items()
        }
        shown["pendings"] = len(state.pendings)
    click.echo(json.dumps(shown, default=str, indent=2, sort_keys=True))


@audit_group.command(name="corrections", help="Every reversal and amendment: what and why.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def corrections_command(ctx: CliContext, as_json: bool) -> None:
    system = ctx.system
    book_id = system.ledger.book_id if system.ledger.fund_exists() else None
    for item in corrections(system.store, book_id):
        if as_json:
            click.echo(json.dumps(item, sort_keys=True))
        else:
            click.echo(
                f"{item['recorded_at'][:19]} {item['kind']:<22} {item['record'][:8]} "
                f"by {item['role']}: {item['why']}  <- {item['corrected']}"
            )
