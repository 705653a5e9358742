"""Need to know from the command line: what a case holds as the signed-in
officer may see it, and the grants and break-glass accesses that widen it
(docs/privacy.md). Added to `msafiri case` and `msafiri incident`."""

from __future__ import annotations

from uuid import UUID

import click

from domain.access import commands as ac
from domain.access.vocabulary import ReviewFinding
from domain.ids import officer_id
from domain.officers import access
from msafiri.cli.context import CliContext, emit
from msafiri.cli.inputs import prepare
from projections.audit.trail import record_lines


def _access_result(row) -> dict:
    return {
        "grant_id": row.grant_id,
        "kind": row.kind,
        "officer_id": row.officer_id,
        "migrant_id": row.migrant_id,
        "expires_at": row.expires_at,
        "revoked_at": row.revoked_at,
        "supervisor_review": row.supervisor_review,
        "auditor_review": row.auditor_review,
    }


def _stored(ctx: CliContext, grant_id: UUID, as_json: bool, verb: str) -> None:
    ctx.after_write()
    row = ctx.system.read_models.queries.access(str(grant_id))
    if row is None:
        emit(as_json, {"grant_id": str(grant_id)}, f"{verb} {grant_id}")
        return
    text = f"{verb} {grant_id} until {ctx.when(row.expires_at)}"
    ctx.emit_times(as_json, _access_result(row), text)


def _command(ctx: CliContext, command_class, data: dict):
    db = ctx.system.read_models.queries.db
    return command_class.parse(prepare(command_class, data, db, ctx.zone))


@click.command(
    name="grant-access",
    help="Let an officer read a case's restricted records "
    "(supervisors), for a reason, until a time (at most 30 days ahead).\n\n"
    "CASE is a case number or a migrant id.",
    epilog="\b\nExample:\n  msafiri --officer s.kamau --role supervisor case "
    "grant-access MS-OLX42-NIJBR --to demo.fund --until 2026-12-10T17:00 "
    '--reason "Medical repatriation claim needs the report"',
)
@click.argument("case")
@click.option("--to", "username", required=True, help="The officer given access (username)")
@click.option("--until", "expires_at", required=True, help="When it ends (no zone: yours)")
@click.option("--reason", required=True, help="Why this officer needs to know")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def grant_access(
    ctx: CliContext, case: str, username: str, expires_at: str, reason: str, as_json: bool
) -> None:
    command = _command(
        ctx,
        ac.GrantCaseAccess,
        {
            "migrant_id": case,
            "officer_id": str(officer_id(username)),
            "reason": reason,
            "expires_at": expires_at,
        },
    )
    grant_id = ctx.system.access.grant(ctx.actor(), command)
    _stored(ctx, grant_id, as_json, "granted")


@click.command(
    name="break-glass",
    help="Emergency access: read a case's restricted records "
    "now, for 4 hours, with a written reason. A supervisor and an auditor review it.",
    epilog="\b\nExample:\n  msafiri --officer j.otieno --role labour_attache case "
    'break-glass MS-OLX42-NIJBR --reason "Hospital needs her history tonight"',
)
@click.argument("case")
@click.option("--reason", required=True, help="Why, now, without a supervisor's grant")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def break_glass(ctx: CliContext, case: str, reason: str, as_json: bool) -> None:
    command = _command(ctx, ac.TakeEmergencyAccess, {"migrant_id": case, "reason": reason})
    username, actor = ctx.signed_in()
    grant_id = ctx.system.access_log.take_break_glass(
        username, actor, command, connection=ctx.connection
    )
    _stored(ctx, grant_id, as_json, "emergency access")


@click.command(
    name="revoke-access",
    help="End a grant or break-glass access (supervisors).\n\n"
    "GRANT is the access's id or its first characters.",
    epilog="\b\nExample:\n  msafiri --officer s.kamau --role supervisor case revoke-access "
    '3f2a9c1e --reason "Claim settled"',
)
@click.argument("grant")
@click.option("--reason", required=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def revoke_access(ctx: CliContext, grant: str, reason: str, as_json: bool) -> None:
    command = _command(ctx, ac.RevokeCaseAccess, {"grant_id": grant, "reason": reason})
    ctx.system.access.revoke(ctx.actor(), command)
    _stored(ctx, command.grant_id, as_json, "revoked")


@click.command(
    name="review-break-glass",
    help="Review a break-glass access (a supervisor and "
    "an auditor each review it once).\n\nGRANT is the access's id or its first "
    "characters.",
    epilog="\b\nExample:\n  msafiri --officer r.njeri --role auditor case review-break-glass "
    '3f2a9c1e --finding justified --notes "Hospital confirmed the call"',
)
@click.argument("grant")
@click.option("--finding", type=click.Choice([f.value for f in ReviewFinding]), required=True)
@click.option("--notes", required=True, help="What the review found")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def review_break_glass(
    ctx: CliContext, grant: str, finding: str, notes: str, as_json: bool
) -> None:
    review_access(ctx, grant, finding, notes, as_json)


def review_access(ctx: CliContext, grant: str, finding: str, notes: str, as_json: bool) -> None:
    """One review, whichever command it is typed in (`case review-break-glass`,
    `access review`): the event, and its entry in the access log."""
    command = _command(
        ctx, ac.ReviewEmergencyAccess, {"grant_id": grant, "finding": finding, "notes": notes}
    )
    username, actor = ctx.signed_in()
    ctx.system.access_log.review_break_glass(username, actor, command, connection=ctx.connection)
    _stored(ctx, command.grant_id, as_json, "reviewed")


@click.command(
    name="access",
    help="Who holds a grant or break-glass access to a case.\n\n"
    "With --to-review: the break-glass accesses waiting for your role's review.",
    epilog="\b\nExample:\n  msafiri --officer s.kamau --role supervisor case access --to-review",
)
@click.argument("case", required=False)
@click.option("--to-review", is_flag=True, help="Break-glass accesses waiting for a review")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def access_list(ctx: CliContext, case: str | None, to_review: bool, as_json: bool) -> None:
    queries = ctx.system.read_models.queries
    names = ctx.officer_names()
    if to_review:  # the same answer as `access break-glass`
        print_waiting(ctx, ctx.system.access_log.unreviewed_break_glass(*ctx.signed_in()), as_json)
        return
    if case:
        migrant_id = ctx.reference("migrant_id", case)
        ctx.log_read(
            access.CASE_OPEN, subject_kind="case", subject_id=migrant_id, detail="who holds access"
        )
        rows = queries.case_access(migrant_id)
    else:
        raise click.UsageError("give a CASE, or --to-review")
    for row in rows:
        data = _access_result(row) | {"reason": row.reason}
        who = names.get(row.officer_id, row.officer_id[:8])
        ctx.emit_times(
            as_json,
            data,
            f"{row.grant_id[:8]}  {row.kind:<11} {who:<16}"
            f" until {ctx.when(row.expires_at)}  {'revoked ' if row.revoked_at else ''}"
            f"reviews: supervisor {row.supervisor_review or '-'}, auditor "
            f"{row.auditor_review or '-'}  {row.reason}",
        )
    if not rows and not as_json:
        click.echo("no access recorded")


def print_waiting(ctx: CliContext, rows: list[dict], as_json: bool) -> None:
    """Break-glass uses waiting for a review (AccessLogService.unreviewed_break_glass)."""
    for row in rows:
        ctx.emit_times(
            as_json,
            row,
            f"{row['grant_id'][:8]}  {ctx.when(row['given_at'])}  {row['username']:<16} "
            f"case {row['case_number'] or row['migrant_id']}  "
            f"until {ctx.when(row['expires_at'])}  "
            f"waiting for: {', '.join(row['waiting_for'])}  reason: {row['reason']}",
        )
    if not rows and not as_json:
        click.echo("nothing waits for a review")


@click.command(
    name="timeline",
    help="A case's timeline, as you may see it: a restricted "
    "incident's free text is masked unless you have access.\n\n"
    "CASE is a case number or a migrant id.",
    epilog="\b\nExample:\n  msafiri --officer j.otieno --role labour_attache case timeline "
    "MS-OLX42-NIJBR",
)
@click.argument("case")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def case_timeline(ctx: CliContext, case: str, as_json: bool) -> None:
    migrant_id = ctx.reference("migrant_id", case)
    queries = ctx.system.read_models.queries
    viewer, after = ctx.viewer(), None
    ctx.log_read(access.CASE_OPEN, subject_kind="case", subject_id=UUID(migrant_id))
    while True:
        page = queries.case_timeline(migrant_id, after=after, limit=500, viewer=viewer)
        for entry in page.rows:
            data = {
                "recorded_at": entry.recorded_at,
                "occurred_at": entry.occurred_at,
                "subject": entry.subject,
                "event_type": entry.event_type,
                "actor_role": entry.actor_role,
                "summary": entry.summary,
            }
            text = f"{ctx.when(entry.occurred_at, 'date')}  {entry.actor_role:<22} {entry.summary}"
            ctx.emit_times(as_json, data, text)
        if page.after is None:
            return
        after = page.after


@click.command(
    name="show",
    help="An incident in full - the report, assessments, notes, "
    "requests - as you may see it (restricted text masked without access).\n\n"
    "INCIDENT is the incident's id or its first characters.",
    epilog="\b\nExample:\n  msafiri --officer j.otieno --role labour_attache incident show "
    "3f2a9c1e",
)
@click.argument("incident")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def incident_show(ctx: CliContext, incident: str, as_json: bool) -> None:
    incident_id = ctx.reference("incident_id", incident)
    queries = ctx.system.read_models.queries
    viewer = ctx.viewer()
    row = queries.get_incident(incident_id, viewer=viewer)
    ctx.log_read(access.INCIDENT_OPEN, subject_kind="incident", subject_id=UUID(incident_id))
    head = {}
    if row is not None:
        head = {
            "incident_id": row.incident_id,
            "migrant_id": row.migrant_id,
            "case_number": row.case_number,
            "category": row.category,
            "gbv_subtype": row.gbv_subtype,
            "status": row.status,
            "occurred_at": row.occurred_at,
        }
    reader = queries.disclosure.reader(viewer)
    lines = [reader.line(line) for line in record_lines(ctx.system.store, UUID(incident_id))]
    if as_json:  # one document: the incident and its events as this officer may see them
        emit(True, head | {"events": lines}, "")
        return
    ctx.name_zone()
    if "occurred_at" in head:
        head["occurred_at"] = ctx.when(head["occurred_at"], "second")
    click.echo("\n".join(f"{k:>12}: {v}" for k, v in head.items()))
    for shown in lines:
        fields = ", ".join(f"{k}={_field(ctx, k, v)}" for k, v in shown["payload"].items())
        click.echo(f"{ctx.when(shown['occurred_at'], 'date')}  {shown['type']}: {fields}")


def _field(ctx: CliContext, name: str, value) -> str:
    """A payload's value as read: its instants (`..._at`) in the officer's zone."""
    if name.endswith("_at") and isinstance(value, str):
        return ctx.when(value, "second")
    return str(value)


CASE_COMMANDS = (
    grant_access,
    break_glass,
    revoke_access,
    review_break_glass,
    access_list,
    case_timeline,
)
INCIDENT_COMMANDS = (incident_show,)
