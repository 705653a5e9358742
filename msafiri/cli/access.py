"""`msafiri access ...`: the access log for auditors, supervisors and the
data protection officer (docs/privacy.md, "The access log"), and
`msafiri case report`, the data subject's report."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

import click

from domain.access.vocabulary import ReviewFinding
from domain.officers import access
from domain.values import utcnow
from msafiri.cli.audit import _moment
from msafiri.cli.context import CliContext, emit
from msafiri.cli.need_to_know import print_waiting, review_access

_SHOWN = ("seq", "recorded_at", "username", "role", "action", "outcome", "interface",
          "subject_kind", "subject_id", "reason", "detail")  # fmt: skip


@click.group(name="access", help="Who read what: the access log (auditors, supervisors, DPO).")
def access_group() -> None:
    pass


def _print(ctx: CliContext, entries: list[dict], as_json: bool) -> None:
    for entry in entries:
        item = {key: entry[key] for key in _SHOWN}
        subject = f"{entry['subject_kind']} {entry['subject_id']}" if entry["subject_id"] else "-"
        why = f"  reason: {entry['reason']}" if entry["reason"] else ""
        line = (
            f"{entry['seq']:>7} {ctx.when(entry['recorded_at'], 'second')} {entry['username']:<18} "
            f"{entry['role'] or '-':<24} {entry['action']:<20} {subject}"
            f"  {entry['detail'] or ''}{why}"
        )
        ctx.emit_times(as_json, item, line)
    if not entries and not as_json:
        click.echo("no entries")


@access_group.command(
    name="who-viewed",
    help="Every read of one case, newest first.\n\nCASE is a case number or a migrant id.",
    epilog="\b\nExample:\n  msafiri --officer demo.supervisor --role supervisor "
    "access who-viewed MS-OLX42-NIJBR --json",
)
@click.argument("case")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry")
@click.pass_obj
def who_viewed(ctx: CliContext, case: str, as_json: bool) -> None:
    username, actor = ctx.signed_in()
    migrant_id = ctx.reference("migrant_id", case)
    _print(ctx, ctx.system.access_log.who_viewed(username, actor, migrant_id), as_json)


@access_group.command(
    name="by-officer",
    help="What one officer read (and did in the log) between two times, newest first.",
    epilog="\b\nExample:\n  msafiri --officer demo.auditor --role auditor "
    "access by-officer demo.attache --since 2026-11-01 --until 2026-11-30",
)
@click.argument("officer")
@click.option("--since", help="On or after (date or ISO time; no zone: yours)")
@click.option("--until", help="On or before (a date means the end of that day)")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry")
@click.pass_obj
def by_officer(
    ctx: CliContext, officer: str, since: str | None, until: str | None, as_json: bool
) -> None:
    username, actor = ctx.signed_in()
    entries = ctx.system.access_log.viewed_by(
        username,
        actor,
        officer,
        _moment(since, zone=ctx.zone),
        _moment(until, end_of_day=True, zone=ctx.zone),
    )
    _print(ctx, entries, as_json)


@access_group.command(
    name="break-glass",
    help="Break-glass uses waiting for a review, oldest first: for a supervisor or an "
    "auditor those their role has not reviewed, for the DPO every one not reviewed by both. "
    "The same list as `case access --to-review`, from the break-glass events.",
    epilog="\b\nExample:\n  msafiri --officer demo.supervisor --role supervisor "
    "access break-glass --json",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per use")
@click.pass_obj
def break_glass(ctx: CliContext, as_json: bool) -> None:
    username, actor = ctx.signed_in()
    print_waiting(ctx, ctx.system.access_log.unreviewed_break_glass(username, actor), as_json)


@access_group.command(
    name="review",
    help="Review a break-glass use (a supervisor and an auditor each review it once; "
    "the same as `case review-break-glass`).\n\n"
    "GRANT is the access's id or its first characters, as `access break-glass` shows it.",
    epilog="\b\nExample:\n  msafiri --officer demo.supervisor --role supervisor "
    'access review 3f2a9c1e --finding justified --note "emergency confirmed with the embassy"',
)
@click.argument("grant")
@click.option("--finding", type=click.Choice([f.value for f in ReviewFinding]), required=True)
@click.option("--note", "--notes", "note", required=True, help="What the review found")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def review(ctx: CliContext, grant: str, finding: str, note: str, as_json: bool) -> None:
    review_access(ctx, grant, finding, note, as_json)


@access_group.command(
    name="verify",
    help="Recompute the access log's hash chain; name each entry that was changed.",
    epilog="\b\nExample:\n  msafiri --officer demo.auditor --role auditor access verify --json",
)
@click.option("--json", "as_json", is_flag=True, help="The result as one JSON object")
@click.pass_obj
def verify(ctx: CliContext, as_json: bool) -> None:
    username, actor = ctx.signed_in()
    result = ctx.system.access_log.verify(username, actor)
    data = {
        "ok": result.ok,
        "checked": result.checked,
        "head": {"seq": result.head_seq, "link": result.head_link},
        "findings": [
            {"seq": f.seq, "entry_id": f.entry_id, "problem": f.problem} for f in result.findings
        ],
    }
    lines = [
        f"access log: {result.checked:,} entries checked; head at position "
        f"{result.head_seq} ({result.head_link or '-'})"
    ]
    lines += [f"CHANGED: {finding}" for finding in result.findings]
    lines.append("the chain holds" if result.ok else "the chain is BROKEN")
    emit(as_json, data, "\n".join(lines))
    if not result.ok:
        raise SystemExit(1)


@click.command(
    name="report",
    help="The data subject's report: everything held about one person (profile, events, "
    "incidents, payments, who viewed the case) as Markdown and JSON. Data protection "
    "officers only; the report is itself logged.\n\nCASE is a case number or a migrant id.",
    epilog="\b\nExample:\n  msafiri --officer demo.dpo --role data_protection_officer "
    "case report MS-OLX42-NIJBR --out reports/",
)
@click.argument("case")
@click.option(
    "--out",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder to write <case number>.md and .json into",
)
@click.option("--json", "as_json", is_flag=True, help="Print where it was written as JSON")
@click.pass_obj
def case_report(ctx: CliContext, case: str, folder: Path, as_json: bool) -> None:
    from projections.subject_report import build_report, to_markdown

    username, actor = ctx.signed_in()
    ctx.system.authz.require(actor, "make a data subject's report", *access.SUBJECT_REPORTERS)
    migrant_id = UUID(ctx.reference("migrant_id", case))
    ctx.log_read(
        access.CASE_REPORT, subject_kind="case", subject_id=migrant_id, detail=f"report to {folder}"
    )
    ctx.system.access_log.recorder.flush()  # the report lists its own making too
    report = build_report(ctx.system, migrant_id, username, utcnow())
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"msafiri-report-{report['case_number']}"
    json_path, md_path = stem.with_suffix(".json"), stem.with_suffix(".md")
    json_path.write_text(json.dumps(report, indent=2, sort_keys=True, default=str))
    md_path.write_text(to_markdown(report))
    data = {
        "markdown": str(md_path),
        "json": str(json_path),
        "events": len(report["events"]),
        "viewed_by": len(report["viewed_by"]),
    }
    emit(as_json, data, f"wrote {md_path} and {json_path}")
