"""`msafiri audit ...`: verify the log, keep checkpoints, replay, export.

Read-only commands: they need access to the database, not an officer's
sign-in (whoever holds the database credentials can read the rows anyway);
the auditor's screens in the TUI sign in.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime, time, timedelta, tzinfo
from pathlib import Path
from uuid import UUID

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from domain.ids import officer_id
from domain.officers.access import CASE_REPLAY, SEARCH, search_detail
from domain.values import Role
from ledger.chart import NEVER_NEGATIVE
from ledger.export import journal
from msafiri.cli.context import CliContext, emit
from msafiri.snapshot_check import SnapshotCheck
from projections.access_log.chain import verify as access_log_verify
from projections.audit import signing
from projections.audit.authenticity import Authenticated
from projections.audit.chain import verify
from projections.audit.consistency import UNREADABLE, case_problems, fund_problems, unreadable
from projections.audit.corrections import corrections
from projections.audit.replay_check import check_read_models
from projections.audit.trail import (
    case_filter,
    export_lines,
    state_as_of,
    state_fields,
    trail_line,
)
from projections.catalogue import event_type_names


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
    if ctx.system.audit.refused is not None:  # a forged row: the chain stops before it
        click.echo(f"PROBLEM not chained: {ctx.system.audit.refused}")
        sys.exit(3)


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


@audit_group.command(
    name="verify", help="Recompute the chain; check checkpoints, read models and books."
)
@click.option(
    "--checkpoint",
    "checkpoints",
    type=click.Path(path_type=Path, exists=True),
    help="A file of checkpoint lines kept outside Msafiri.",
)
@click.option(
    "--public-key",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Check checkpoint signatures with this public key (PEM); default: "
    "MSAFIRI_AUDIT_PUBLIC_KEY_FILE, else the signing key's public half.",
)
@click.option(
    "--sample",
    type=click.IntRange(1),
    help="Replay only this many migrants (and what is about them) into the read models "
    "kept per migrant, instead of every read model in full: for very large stores.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def verify_command(
    ctx: CliContext,
    checkpoints: Path | None,
    public_key: Path | None,
    sample: int | None,
    as_json: bool,
) -> None:
    system = ctx.system
    audit = system.audit
    # Every row, chained or not, must open with the key (authenticated encryption).
    rows = Authenticated(audit.rows(), audit.authenticate)
    result = verify(rows, audit.chain())
    problems = [str(finding) for finding in rows.findings + (result.findings or [])]
    notes: list[str] = []
    problems.extend(_nothing_verified(system, result))
    problems.extend(_unchained_tail(system, result))
    problems.extend(_stopped_projections(system))
    public, public_from = _public_key(system.settings, public_key)
    if checkpoints:
        kept = _checkpoint_lines(checkpoints)
        problems.extend(signing.checkpoint_problems(audit, kept, public))
    problems.extend(_database_checkpoints(audit, public, notes))
    if public is None:
        notes.append(
            "signatures not checked: no public key (set MSAFIRI_AUDIT_PUBLIC_KEY_FILE "
            "or give --public-key)"
        )
    else:
        notes.append(f"checkpoint signatures checked with {public_from}")
    ledger_issues, snapshots_checked = _ledger_problems(system)
    problems.extend(ledger_issues)
    queries = system.read_models.queries
    cases_checked, case_issues = case_problems(system.store, audit, queries, sample)
    problems.extend(case_issues)
    if system.ledger.fund_exists():
        problems.extend(fund_problems(system.store, audit, queries, system.ledger.book_id))
    read_models = system.read_models
    replayed = check_read_models(
        system.database,
        read_models.projections,
        read_models.decoder,
        system.settings.connect_timeout_seconds,
        sample=sample,
    )
    problems.extend(replayed.problems)
    # The access log's own chain (projections/access_log/chain.py): a changed,
    # deleted or inserted entry fails the audit too, named by its position.
    access_log = access_log_verify(system.access_log.store.chain_rows())
    problems.extend(f"access log: {finding}" for finding in access_log.findings)
    if replayed.not_compared:
        notes.append(
            f"sample of {replayed.sampled:,} migrants: not compared "
            + ", ".join(replayed.not_compared)
            + " (run without --sample)"
        )
    data = {
        "ok": not problems,
        "checked": result.checked,
        "unchained": result.unchained,
        "head_position": result.head.position if result.head else 0,
        "head": result.head.link.hex() if result.head else None,
        "cases_checked_against_replay": cases_checked,
        "read_model_tables_checked": replayed.tables,
        "read_model_rows_checked": replayed.rows,
        "book_snapshots_checked": snapshots_checked,
        "access_log_entries_checked": access_log.checked,
        "signatures_checked": public is not None,
        "notes": notes,
        "problems": problems,
    }
    text = (
        f"verified {result.checked:,} events; head {data['head_position']} {data['head']}"
        + (f"; {result.unchained} newer events not chained yet" if result.unchained else "")
        + f"; {cases_checked:,} cases, the fund's balances and {snapshots_checked} book "
        "snapshots checked against a replay"
        + f"; {replayed.tables} read-model tables ({replayed.rows:,} rows) rebuilt from "
        "the log and compared"
        + f"; access log chain: {access_log.checked:,} entries"
        + "".join(f"\nnote: {n}" for n in notes)
        + "".join(f"\nPROBLEM {p}" for p in problems)
    )
    emit(as_json, data, text)
    if problems:
        sys.exit(3)


def _nothing_verified(system, result) -> list[str]:
    if result.checked:
        return []
    if system.audit.max_position() == 0:
        return ["nothing verified: the log is empty"]
    return ["nothing verified: no event is chained yet (run `msafiri audit chain`)"]


def _unchained_tail(system, result) -> list[str]:
    """Events after the chain's head are normal for a moment (a follower
    chains them); left unchained longer than the bound, nobody is chaining
    - or someone wrote rows the application did not."""
    if not result.unchained:
        return []
    after = result.head.position if result.head else 0
    first = next(system.audit.rows(after=after), None)
    if first is None:
        return []
    bound = system.settings.audit_unchained_max_minutes
    try:
        recorded = trail_line(system.store, first, None)["recorded_at"]
    except UNREADABLE as error:
        return [unreadable(f"position {first.position} (not chained yet)", error)]
    waited = datetime.now(UTC) - datetime.fromisoformat(recorded)
    if waited <= timedelta(minutes=bound):
        return []
    return [
        f"{result.unchained} events after the chain's head are not chained, the oldest "
        f"(position {first.position}, recorded {recorded[:19]}) for {_minutes(waited)} "
        f"(bound MSAFIRI_AUDIT_UNCHAINED_MAX_MINUTES={bound:g}): is `msafiri projections run` "
        "running? check them, then `msafiri audit chain`"
    ]


def _minutes(waited: timedelta) -> str:
    return f"{waited.total_seconds() / 60:,.0f} minutes"


def _stopped_projections(system) -> list[str]:
    return [
        f"read model {s.name} is stopped at position {s.position}: event {s.failed_id} "
        f"failed ({' '.join(str(s.error).split())[:300]}); see `msafiri projections status`"
        for s in system.read_models.queries.status()
        if s.failed_id is not None
    ]


def _public_key(settings, given: Path | None) -> tuple[str | None, str]:
    if given is not None:
        return given.read_text(), str(given)
    if settings.audit_public_key_file is not None:
        path = settings.audit_public_key_file
        return _read_key(path, "MSAFIRI_AUDIT_PUBLIC_KEY_FILE"), str(path)
    if settings.audit_signing_key_file is not None:
        path = settings.audit_signing_key_file
        _read_key(path, "MSAFIRI_AUDIT_SIGNING_KEY_FILE")
        try:
            return signing.public_key_of(path), f"the public half of {path}"
        except ValueError:
            raise click.ClickException(
                f"MSAFIRI_AUDIT_SIGNING_KEY_FILE: {path} is not an Ed25519 private key (PEM)"
            ) from None
    return None, ""


def _read_key(path: Path, setting: str) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise click.ClickException(f"{setting}: cannot read {path}: {error.strerror}") from None


def _checkpoint_lines(path: Path) -> list[dict]:
    kept = []
    for number, text in enumerate(path.read_text().splitlines(), 1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
            int(record["position"]), record["head"], record["taken_at"]
        except (ValueError, KeyError, TypeError):
            raise click.BadParameter(
                f"line {number} is not a checkpoint (JSON with position, head, taken_at)",
                param_hint="--checkpoint",
            ) from None
        kept.append(record)
    return kept


def _database_checkpoints(audit, public: str | None, notes: list[str]) -> list[str]:
    """The checkpoints kept in the database: each must still match the chain;
    with a public key each signed one must carry a valid signature, and an
    unsigned one after a signed one is a problem (a checkpoint is signed from
    the day a signing key is configured)."""
    kept = audit.checkpoints()
    problems = [
        f"kept in the database: {p}" for p in signing.checkpoint_problems(audit, kept, None)
    ]
    if public is None:
        return problems
    signed_seen, unsigned_before = False, 0
    for record in kept:
        if record.get("signature"):
            signed_seen = True
            try:
                signing.check(record, public)
            except signing.BadSignature as error:
                problems.append(f"kept in the database: {error}")
        elif signed_seen:
            problems.append(
                f"kept in the database: checkpoint at position {record['position']} is not "
                "signed, though an earlier one is"
            )
        else:
            unsigned_before += 1
    if unsigned_before:
        notes.append(
            f"{unsigned_before} checkpoint(s) taken before the first signed one are unsigned"
        )
    return problems


def _ledger_problems(system) -> tuple[list[str], int]:
    """The fund's books balance, nothing is overdrawn, and every stored
    book snapshot is authentic and equals the book replayed to its version;
    with the number of snapshots compared."""
    snapshots = SnapshotCheck(system, system.ledger.book_id)
    if not system.ledger.fund_exists():
        return snapshots.finish(0), 0
    try:
        book, _ = journal(system.store, system.ledger.book_id, each=snapshots.each())
    except UNREADABLE as error:
        return [unreadable("the fund's journal", error), *snapshots.problems], snapshots.checked
    problems = snapshots.finish(book.version)
    for currency in book.currencies():
        accounts = [a for a in book.accounts.values() if a.currency == currency]
        debits = sum(a.debits_posted for a in accounts)
        credits = sum(a.credits_posted for a in accounts)
        if debits != credits:
            problems.append(f"the {currency} books do not balance: {debits} != {credits}")
        for account in accounts:
            if account.code in NEVER_NEGATIVE and account.available < 0:
                problems.append(f"{account.code} ({currency}) is overdrawn: {account.available}")
    return problems, snapshots.checked


@audit_group.command(name="export", help="The full trail (or one case's) as JSON Lines.")
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--case", "case", help="Only this case's history (case number or migrant id).")
@click.option("--reason", help="Why it is exported (kept in the access log)")
@click.pass_obj
def export(ctx: CliContext, output: Path, case: str | None, reason: str | None) -> None:
    system = ctx.system
    migrant_id = UUID(ctx.reference("migrant_id", case)) if case else None
    ctx.log_export(
        f"audit trail to {output}",
        reason,
        subject_kind="case" if migrant_id else None,
        subject_id=migrant_id,
    )
    system.audit.extend_chain()
    total = system.audit.max_position()
    keep = case_filter(migrant_id) if migrant_id else None
    written = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with output.open("w") as file, Progress(*columns, transient=True) as progress:
        task = progress.add_task("events", total=total)
        disclose = system.read_models.queries.disclosure.reader(ctx.viewer()).line
        for line in export_lines(
            system.store,
            system.audit,
            keep,
            lambda n: progress.advance(task, n),
            disclose=disclose,
        ):
            file.write(json.dumps(line, sort_keys=True) + "\n")
            written += 1
    click.echo(f"wrote {written:,} events to {output}", err=True)


def _moment(value: str | None, end_of_day: bool = False, zone: tzinfo = UTC) -> datetime | None:
    """A date or time as typed; without a zone it is in `zone` (the officer's)."""
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
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


@audit_group.command(name="who", help="Who did what: events by officer, role, time, type.")
@click.option("--officer", help="Username")
@click.option("--role", type=click.Choice([r.value for r in Role]))
@click.option("--since", help="Recorded on or after (date or ISO time; no zone: yours)")
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
    ctx.log_read(
        SEARCH,
        detail=search_detail(
            "", view="who did what", officer=officer, role=role, since=since, until=until,
            type=event_type,
        ),
    )  # fmt: skip
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
        "since": _moment(since, zone=ctx.zone),
        "until": _moment(until, end_of_day=True, zone=ctx.zone),
    }
    shown, after = 0, None
    while shown < limit:
        page = read_models.queries.activity(**filters, after=after, limit=min(500, limit - shown))
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
@click.argument("record")
@click.option("--position", type=click.IntRange(1), help="As of this log position")
@click.option("--at", "moment", help="As of this recorded time (no zone: yours)")
@click.pass_obj
def as_of(ctx: CliContext, record: str, position: int | None, moment: str | None) -> None:
    system = ctx.system
    aggregate_id = UUID(ctx.record_reference(record))
    ctx.log_read(
        CASE_REPLAY,
        subject_kind="record",
        subject_id=aggregate_id,
        detail=f"as of position={position} at={moment}",
    )
    state = state_as_of(
        system.store, system.audit, aggregate_id, position, _moment(moment, zone=ctx.zone)
    )
    if state is None:
        click.echo("did not exist yet")
        return
    shown = state_fields(state)
    click.echo(json.dumps(shown, default=str, indent=2, sort_keys=True))


@audit_group.command(name="corrections", help="Every reversal and amendment: what and why.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def corrections_command(ctx: CliContext, as_json: bool) -> None:
    system = ctx.system
    ctx.log_read(SEARCH, detail=search_detail("", view="corrections"))
    book_id = system.ledger.book_id if system.ledger.fund_exists() else None
    for item in corrections(system.store, book_id):
        if as_json:
            click.echo(json.dumps(item, sort_keys=True))
        else:
            click.echo(
                f"{item['recorded_at'][:19]} {item['kind']:<22} {item['record'][:8]} "
                f"by {item['role']}: {item['why']}  <- {item['corrected']}"
            )
