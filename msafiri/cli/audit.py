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
from projections.audit.consistency import (
    CASE_SAMPLE,
    UNREADABLE,
    Balances,
    balance_problems,
    balances,
    case_problems,
    fund_position,
    unreadable,
)
from projections.audit.corrections import corrections
from projections.audit.replay_check import ReplayCheck, check_read_models
from projections.audit.tally import ReadModelCounts, checked_tables, count_problems, tally
from projections.audit.trail import (
    case_filter,
    export_lines,
    state_as_of,
    state_fields,
    trail_line,
    version_as_of,
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


VERIFY_HELP = """Recompute the chain; check checkpoints, books, a sample of cases and the
read models' sums.

\b
By default every check costs about one pass over the log, whatever its size:
- the hash chain, with every stored row authenticated, and the access log's chain;
- the checkpoints kept in the database (and --checkpoint), with their signatures;
- the fund's books balance, every book snapshot, and the fund's account balances
  against the book replayed from the log;
- the read models' row counts against the log's events (a case per registration,
  an activity row per event, ...);
- a random sample of cases (--sample, drawn with a printed seed; --seed repeats
  it) replayed from their events and compared with their read-model rows.

\b
--full also rebuilds every read model from the log into temporary tables and
compares them row by row: a full rebuild's cost (run it nightly).
"""


@audit_group.command(name="verify", help=VERIFY_HELP, short_help="Verify the history.")
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
    default=CASE_SAMPLE,
    show_default=True,
    help="Cases replayed from their events and compared with their read-model rows "
    "(every case when there are no more than this).",
)
@click.option(
    "--seed",
    type=click.IntRange(0),
    help="Draw the sample of cases with this seed (each run prints the one it used).",
)
@click.option(
    "--full",
    is_flag=True,
    help="Also rebuild every read model from the log and compare every row "
    "(a full rebuild's cost: for a nightly run).",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def verify_command(
    ctx: CliContext,
    checkpoints: Path | None,
    public_key: Path | None,
    sample: int,
    seed: int | None,
    full: bool,
    as_json: bool,
) -> None:
    # One connection for every statement below (not one per check or case).
    audit = ctx.system.audit.sharing_one_connection()
    try:
        data, text = _verify(ctx.system, audit, checkpoints, public_key, sample, seed, full)
    finally:
        audit.close_shared()
    emit(as_json, data, text)
    if data["problems"]:
        sys.exit(3)


def _verify(system, audit, checkpoints, public_key, sample, seed, full) -> tuple[dict, str]:
    queries = system.read_models.queries
    # The read models' counts and positions first, as of one moment; then
    # one pass over the log: every row authenticated (authenticated
    # encryption), chained, and counted by type.
    counts = ReadModelCounts.read(audit.connect(), audit.backend)
    authenticated = Authenticated(audit.rows(), audit.authenticate)
    counted = tally(authenticated, counts)
    result = verify(counted, audit.chain())
    problems = [str(finding) for finding in authenticated.findings + (result.findings or [])]
    notes: list[str] = []
    problems.extend(_nothing_verified(audit, result))
    problems.extend(_unchained_tail(system, audit, result))
    problems.extend(_stopped_projections(system))
    problems.extend(count_problems(counted, counts))
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
    ledger_issues, snapshots_checked = _ledger_problems(system, audit, queries)
    problems.extend(ledger_issues)
    cases = case_problems(system.store, audit, queries, sample, seed)
    problems.extend(cases.problems)
    if cases.seed is not None:
        notes.append(
            f"{cases.checked:,} of {cases.of:,} cases replayed, drawn with seed {cases.seed} "
            f"(`--sample {sample} --seed {cases.seed}` draws the same ones)"
        )
    replayed = ReplayCheck()
    if full:
        read_models = system.read_models
        replayed = check_read_models(
            system.database,
            read_models.projections,
            read_models.decoder,
            system.settings.connect_timeout_seconds,
        )
        problems.extend(replayed.problems)
    else:
        notes.append(
            "read models checked by their row counts, the fund's balances and the sampled "
            "cases; `--full` rebuilds every one from the log and compares every row"
        )
    # The access log's own chain (projections/access_log/chain.py): a changed,
    # deleted or inserted entry fails the audit too, named by its position.
    access_log = access_log_verify(system.access_log.store.chain_rows())
    problems.extend(f"access log: {finding}" for finding in access_log.findings)
    data = {
        "ok": not problems,
        "checked": result.checked,
        "unchained": result.unchained,
        "head_position": result.head.position if result.head else 0,
        "head": result.head.link.hex() if result.head else None,
        "cases_checked_against_replay": cases.checked,
        "cases_sample_seed": cases.seed,
        "read_model_counts_checked": checked_tables(counts),
        "full": full,
        "read_model_tables_checked": replayed.tables,
        "read_model_rows_checked": replayed.rows,
        "book_snapshots_checked": snapshots_checked,
        "access_log_entries_checked": access_log.checked,
        "signatures_checked": public is not None,
        "notes": notes,
        "problems": problems,
    }
    compared = (
        f"{replayed.tables} read-model tables ({replayed.rows:,} rows) rebuilt from the log "
        "and compared"
        if full
        else f"{checked_tables(counts)} read-model row counts checked against the log"
    )
    text = (
        f"verified {result.checked:,} events; head {data['head_position']} {data['head']}"
        + (f"; {result.unchained} newer events not chained yet" if result.unchained else "")
        + f"; {cases.checked:,} cases, the fund's balances and {snapshots_checked} book "
        "snapshots checked against a replay"
        + f"; {compared}"
        + f"; access log chain: {access_log.checked:,} entries"
        + "".join(f"\nnote: {n}" for n in notes)
        + "".join(f"\nPROBLEM {p}" for p in problems)
    )
    return data, text


def _nothing_verified(audit, result) -> list[str]:
    if result.checked:
        return []
    if audit.max_position() == 0:
        return ["nothing verified: the log is empty"]
    return ["nothing verified: no event is chained yet (run `msafiri audit chain`)"]


def _unchained_tail(system, audit, result) -> list[str]:
    """Events after the chain's head are normal for a moment (a follower
    chains them); left unchained longer than the bound, nobody is chaining
    - or someone wrote rows the application did not."""
    if not result.unchained:
        return []
    after = result.head.position if result.head else 0
    first = next(audit.rows(after=after), None)
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


def _ledger_problems(system, audit, queries) -> tuple[list[str], int]:
    """The fund's books balance, nothing is overdrawn, every stored book
    snapshot is authentic and equals the book replayed to its version, and
    the fund's accounts read model equals the book at the read model's
    position - all in one replay of the book; with the number of snapshots
    compared."""
    book_id = system.ledger.book_id
    snapshots = SnapshotCheck(system, book_id, audit)
    if not system.ledger.fund_exists():
        return snapshots.finish(0), 0
    position = fund_position(queries)
    version = version_as_of(system.store, audit, book_id, position=position)
    at_position: Balances = {}
    compare = snapshots.each()

    def each(book) -> None:
        compare(book)
        if book.version == version:
            at_position.update(balances(book))

    try:
        book, _ = journal(system.store, book_id, each=each)
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
    if version:
        problems.extend(balance_problems(at_position, queries, position))
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
                ctx.name_zone()
                click.echo(
                    f"{row.position:>8} {ctx.when(row.recorded_at, 'second')} {row.actor_role:<22} "
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
            ctx.name_zone()
            recorded = ctx.when(item["recorded_at"], "second")
            click.echo(
                f"{recorded} {item['kind']:<22} {item['record'][:8]} "
                f"by {item['role']}: {item['why']}  <- {item['corrected']}"
            )
