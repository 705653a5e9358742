"""Need to know (docs/privacy.md, "Who sees what"): a marker typed into a
restricted incident's narrative, assessment, note and the justification of
the fund request made for it is searched for in every read - the queries,
who-did-what and the event screen's reads, the exports and the CLI - for
every role, with and without assignment, report, grant or break-glass. Each
read shows it, masks it, or refuses. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from domain.access import commands as ac
from domain.errors import IllegalTransition, InvalidCommand, NotAuthorised
from domain.incidents import commands as ic
from domain.model import Actor
from domain.officers.commands import CreateFirstAdministrator, RegisterOfficer
from domain.values import Role, utcnow
from domain.viewer import NOBODY, Viewer
from projections.audit.trail import case_filter, export_lines
from projections.disclosure import MASK
from tests.factories import days_ago, send_abroad
from tests.fund_helpers import kes, open_fund
from tests.test_fund_cli import run
from tui.app.exports import export_case, export_journal
from tui.app.readside import ReadSide
from tui.app.screens.fund import request_context

MARKER = "MARKER-7f3a"
PASSWORD = "need to know is the rule here"
ROLES = {
    "registrar": Role.REGISTRATION_OFFICER,  # registers the case: assigned to it
    "attache": Role.LABOUR_ATTACHE,  # reports the incident
    "attache2": Role.LABOUR_ATTACHE,
    "reintegrator": Role.REINTEGRATION_OFFICER,
    "fund": Role.FUND_OFFICER,
    "fund2": Role.FUND_OFFICER,
    "auditor": Role.AUDITOR,
    "supervisor": Role.SUPERVISOR,
    "supervisor2": Role.SUPERVISOR,
    "dpo": Role.DATA_PROTECTION_OFFICER,
}


class Staff:
    """One officer per role, each with a password (the CLI signs them in)."""

    def __init__(self, system):
        admin_id = system.officers.create_first_administrator(
            CreateFirstAdministrator(username="admin", full_name="Amina Admin", password=PASSWORD)
        )
        self.admin = Actor(officer_id=admin_id, role=Role.ADMINISTRATOR)
        for username, role in ROLES.items():
            officer_id = system.officers.register(
                self.admin,
                RegisterOfficer(
                    username=username,
                    full_name=f"Officer {username.title()}",
                    station="Nairobi HQ",
                    roles=(role,),
                    password=PASSWORD,
                ),
            )
            setattr(self, username, Actor(officer_id=officer_id, role=role))


# Real argon2 at its cheapest: these tests sign in many times.
pytestmark = pytest.mark.usefixtures("cheap_password_hashing")


@pytest.fixture
def staff(system):
    return Staff(system)


@pytest.fixture
def story(system, staff):
    """A case with a restricted incident (sexual violence) whose every free
    text holds MARKER, and a fund request made for it."""
    open_fund(system, staff)
    migrant_id = send_abroad(system, staff)
    incident_id = uuid4()
    system.incidents.report(
        staff.attache,
        ic.ReportIncident(
            incident_id=incident_id,
            migrant_id=migrant_id,
            category="sexual_harassment_or_violence",
            gbv_subtype="sexual_assault",
            severity="critical",
            occurred_at=f"{days_ago(10)}T10:00:00+03:00",
            reported_at=f"{days_ago(9)}T10:00:00+03:00",
            channel="hotline",
            description=f"Narrative {MARKER}",
        ),
    )
    run_incident = system.incidents.execute
    run_incident(
        staff.attache,
        ic.AssessIncident(incident_id=incident_id, severity="critical", notes=f"Assessed {MARKER}"),
    )
    run_incident(staff.attache, ic.AddIncidentNote(incident_id=incident_id, note=f"Note {MARKER}"))
    run_incident(
        staff.attache,
        ic.RequestAssistance(
            incident_id=incident_id,
            request_id=uuid4(),
            kind="medical_care",
            estimate=kes(20_000),
            payee="Kings Faisal Hospital",
            justification=f"Justified {MARKER}",
        ),
    )
    system.keep_current()
    [request] = system.read_models.queries.case_disbursements(str(migrant_id), viewer=NOBODY)
    return str(migrant_id), str(incident_id), request.disbursement_id


def viewer(actor: Actor) -> Viewer:
    return Viewer.of(actor)


def reads(system, migrant_id: str, incident_id: str, disbursement_id: str, who: Viewer) -> dict:
    """Every read of the query API, the screens' read side and the exports,
    as text, by name."""
    q = system.read_models.queries
    side = ReadSide(system, follow=False)
    whole = list(export_lines(system.store, system.audit, disclose=q.disclosure.reader(who).line))
    case = list(
        export_lines(
            system.store,
            system.audit,
            case_filter(UUID(migrant_id)),
            disclose=q.disclosure.reader(who).line,
        )
    )
    positions = [line["position"] for line in whole]
    case_number = q.get_case(migrant_id).case_number
    folder = Path(tempfile.mkdtemp(prefix="matrix-"))
    screen_export, _ = export_case(system, folder, UUID(migrant_id), case_number, who)
    journal = export_journal(system, folder, "csv").read_text()
    journal += export_journal(system, folder, "beancount").read_text()
    request = q.get_disbursement(disbursement_id, viewer=who)
    return {
        # The screens: the case view's incidents, the incident screen, the
        # fund desk's detail pane and request screen (request_context).
        "case incidents": repr(q.list_incidents(migrant_id=migrant_id, viewer=who).rows),
        "incident screen": repr(q.get_incident(incident_id, viewer=who)),
        "fund desk detail": repr(request_context(q, request, who)),
        # The TUI's exports: the case history (ctrl+e) and the journal.
        "screen case export": screen_export.read_text(),
        "screen journal export": journal,
        "case timeline": repr(q.case_timeline(migrant_id, viewer=who).rows),
        "screen timeline": repr(side.case_timeline(migrant_id, who)),
        "case disbursements": repr(q.case_disbursements(migrant_id, viewer=who)),
        "disbursement": repr(q.get_disbursement(disbursement_id, viewer=who)),
        "approval queue": repr(q.approval_queue(limit=500, viewer=who).rows),
        "who did what": repr(side.who_did_what(limit=200, viewer=who).rows),
        "event screen": repr([side.event_at(p, who) for p in positions]),
        "export of the log": json.dumps(whole, ensure_ascii=False),
        "export of the case": json.dumps(case, ensure_ascii=False),
    }


# Reads that carry no incident free text at all (rows of ids, categories,
# dates, amounts; the journal): never the marker, for anyone.
NO_FREE_TEXT = {"case incidents", "incident screen", "fund desk detail", "screen journal export"}


def assert_shown(outputs: dict, who: str) -> None:
    for name, text in outputs.items():
        if name in NO_FREE_TEXT:
            assert MARKER not in text, f"{who}: {name} holds free text"
            continue
        assert MARKER in text, f"{who}: {name} should show the restricted text"


def assert_masked(outputs: dict, who: str) -> None:
    for name, text in outputs.items():
        assert MARKER not in text, f"{who}: {name} leaks the restricted text"
    for name in (
        "case timeline",
        "disbursement",
        "export of the case",
        "event screen",
        "screen case export",
        "incident screen",
    ):
        said = MASK in outputs[name] or json.dumps(MASK)[1:-1] in outputs[name]  # JSON escapes
        assert said, f"{who}: {name} should say the text is restricted"


def test_every_read_shows_or_masks_by_need_to_know(system, staff, story):
    migrant_id, incident_id, disbursement_id = story
    q = system.read_models.queries

    def outputs(actor_or_viewer):
        who = actor_or_viewer if isinstance(actor_or_viewer, Viewer) else viewer(actor_or_viewer)
        return reads(system, migrant_id, incident_id, disbursement_id, who)

    # Assigned to the case, and the reporter of the incident: shown.
    assert_shown(outputs(staff.registrar), "assigned registrar")
    assert_shown(outputs(staff.attache), "reporting attache")
    # Everyone else, whatever the role: masked; the record still exists.
    for name in ("attache2", "reintegrator", "fund", "auditor", "supervisor", "admin"):
        assert_masked(outputs(getattr(staff, name)), name)
    assert_masked(outputs(NOBODY), "nobody signed in")
    # The fund officer still sees what the work needs: category, eligibility, amounts.
    row = q.get_disbursement(disbursement_id, viewer=viewer(staff.fund))
    assert row.justification == MASK and row.amount_minor == 2_000_000 and row.eligibility
    [incident] = q.list_incidents(migrant_id=migrant_id, viewer=viewer(staff.fund)).rows
    assert incident.category == "sexual_harassment_or_violence" and incident.gbv_subtype == MASK
    assert q.get_incident(incident_id, viewer=viewer(staff.attache)).gbv_subtype == "sexual_assault"

    # A supervisor's grant opens it to one officer, until it expires.
    expires = utcnow() + timedelta(days=2)
    system.access.grant(
        staff.supervisor,
        ac.GrantCaseAccess(
            migrant_id=migrant_id,
            officer_id=staff.fund.officer_id,
            reason="Approving the medical claim",
            expires_at=expires,
        ),
    )
    # Break-glass opens it at once to the officer who takes it.
    glass = system.access.break_glass(
        staff.auditor, ac.TakeEmergencyAccess(migrant_id=migrant_id, reason="Court order tonight")
    )
    system.keep_current()
    assert_shown(outputs(staff.fund), "granted fund officer")
    assert_shown(outputs(staff.auditor), "auditor after break-glass")
    assert_masked(outputs(staff.fund2), "fund2 (no grant)")
    # Expiry is honoured: the same reads a day after the grant ends mask again.
    q.disclosure.clock = lambda: expires + timedelta(days=1)
    try:
        assert_masked(outputs(staff.fund), "fund officer after the grant expired")
        assert_masked(outputs(staff.auditor), "auditor after the break-glass expired")
        assert_shown(outputs(staff.registrar), "assigned registrar (no expiry)")
    finally:
        q.disclosure.clock = utcnow
    # A revoked access ends at once.
    system.access.revoke(staff.supervisor, ac.RevokeCaseAccess(grant_id=glass, reason="Done"))
    system.keep_current()
    assert_masked(outputs(staff.auditor), "auditor after revocation")


def cli_reads(migrant_id, incident_id, disbursement_id, files, report) -> list[tuple]:
    """Every read and export of the CLI (`msafiri --help`, less the commands
    that write, configure or run services). `fund balances` holds no person's
    record: it is not logged (the test knows)."""
    ledger, trail = str(files["ledger export"]), str(files["audit export"])
    stats = str(files["statistics csv"])
    return [
        ("case show", ("case", "show", migrant_id, "--json")),
        ("case search", ("case", "search", "Wanjiku", "--json")),
        ("case timeline", ("case", "timeline", migrant_id, "--json")),
        ("case access", ("case", "access", migrant_id, "--json")),
        ("case to review", ("case", "access", "--to-review", "--json")),
        ("case report", ("case", "report", migrant_id, "--out", str(report), "--json")),
        ("incident show", ("incident", "show", incident_id)),
        ("fund queue", ("fund", "queue", "--json")),
        ("fund show", ("fund", "show", disbursement_id, "--json")),
        ("fund balances", ("fund", "balances", "--json")),
        ("ledger export", ("ledger", "export", "--format", "csv", "--output", ledger)),
        ("audit export", ("audit", "export", "--output", trail, "--case", migrant_id)),
        ("audit who", ("audit", "who", "--json")),
        ("audit as-of", ("audit", "as-of", incident_id)),  # the state holds no story
        ("audit as-of request", ("audit", "as-of", disbursement_id)),
        ("audit as-of case", ("audit", "as-of", migrant_id)),
        ("audit corrections", ("audit", "corrections", "--json")),
        ("statistics csv", ("statistics", "incidents", "--by", "category", "--csv", stats)),
        ("access who-viewed", ("access", "who-viewed", migrant_id, "--json")),
        ("access break-glass", ("access", "break-glass", "--json")),
    ]


def logged(system, username: str) -> int:
    """How many access-log entries name `username`, sign-ins left out (the
    CLI writes its entries when it exits)."""
    from domain.ids import officer_id
    from projections.access_log.store import LogFilter

    system.access_log.recorder.flush()
    wanted = LogFilter(officer_id=str(officer_id(username)))
    entries = system.access_log.store.entries(wanted, 5000)
    return len([e for e in entries if not e["action"].startswith("sign")])


def cli_as(capsys, username: str | None, *argv: str) -> tuple[int, str]:
    signed = ("--officer", username, "--role", ROLES.get(username, Role.ADMINISTRATOR).value)
    code, out, err = run(capsys, *(signed if username else ()), *argv)
    return code, out + err


@pytest.mark.slow  # about 20 s a backend: every CLI call signs in (argon2)
def test_every_cli_read_shows_or_masks(
    system, staff, story, settings, monkeypatch, capsys, tmp_path
):
    migrant_id, incident_id, disbursement_id = story
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", PASSWORD)
    SHOWN = {"case timeline", "incident show", "audit export", "fund queue"}

    def cli_outputs(username: str | None) -> dict[str, str]:
        """Every CLI command that reads a person's record or exports, by name:
        its output and the files it wrote. A DPO-only or overseer-only read
        refuses the others (which is neither showing nor leaking)."""
        target, report = tmp_path / f"export-{username}.jsonl", tmp_path / f"report-{username}"
        files = {
            "audit export": target,
            "ledger export": tmp_path / f"ledger-{username}.csv",
            "statistics csv": tmp_path / f"stats-{username}.csv",
        }
        found = {}
        for name, argv in cli_reads(migrant_id, incident_id, disbursement_id, files, report):
            for stale in (files.get(name), *(report.glob("*") if report.exists() else ())):
                if stale is not None and stale.exists():
                    stale.unlink()
            before = logged(system, username) if username else 0
            code, text = cli_as(capsys, username, *argv)
            if username is None and code != 0:  # a logged read names its reader: refused
                assert "acts as an officer" in text, (name, text)
                found[name] = text
                continue
            if code != 0:
                assert "may not" in text, (username, name, text)  # refused by role
                found[name] = text
                continue
            written = [files[name]] if name in files else []
            written += sorted(report.glob("*")) if name == "case report" else []
            found[name] = text + "".join(
                f.read_bytes().decode("utf-8", "replace") for f in written if f.exists()
            )
            if username is not None and name != "fund balances":  # every read is logged
                assert logged(system, username) > before, f"{username}: {name} not logged"
        return found

    for username in ("registrar", "attache"):
        for name, text in cli_outputs(username).items():
            assert (MARKER in text) == (name in SHOWN), f"{username}: {name} shows {SHOWN}"
    for username in ("attache2", "fund", "auditor", "supervisor", "dpo", "admin", None):
        outputs = cli_outputs(username)
        if username == "dpo":  # the data subject's report is everything held about her
            assert MARKER in outputs.pop("case report")
        for name, text in outputs.items():
            assert MARKER not in text, f"{username}: {name} leaks"
        if username is not None:
            assert MASK in outputs["incident show"]

    # Grant and break-glass from the CLI open it; only a supervisor grants.
    until = (utcnow() + timedelta(days=1)).isoformat()
    grant = ("case", "grant-access", migrant_id, "--to", "fund", "--until", until)
    code, text = cli_as(capsys, "attache2", *grant, "--reason", "Because")
    assert code == 1 and "may not grant access" in text
    code, text = cli_as(capsys, "supervisor", *grant, "--reason", "Medical claim review")
    assert code == 0, text
    code, text = cli_as(capsys, "attache2", "case", "break-glass", migrant_id, "--reason", "x")
    assert code == 2 and "reason" in text  # a written reason is required
    code, text = cli_as(
        capsys,
        "attache2",
        "case",
        "break-glass",
        migrant_id,
        "--reason",
        "Hospital calls now",
        "--json",
    )
    assert code == 0, text
    grant_id = json.loads(text.splitlines()[0])["grant_id"]
    for username in ("fund", "attache2"):
        for name, text in cli_outputs(username).items():
            if name in SHOWN:
                assert MARKER in text, f"{username} with access: {name} should show"
    # The break-glass waits for both reviews, then is reviewed.
    code, text = cli_as(capsys, "supervisor", "case", "access", "--to-review", "--json")
    assert code == 0 and grant_id in text
    review = ("case", "review-break-glass", grant_id[:8], "--finding", "justified")
    code, text = cli_as(capsys, "supervisor", *review, "--notes", "Hospital confirmed")
    assert code == 0, text
    code, text = cli_as(capsys, "fund", *review, "--notes", "Looks fine")
    assert code == 1 and "may not review" in text
    code, text = cli_as(capsys, "supervisor", "case", "access", "--to-review", "--json")
    assert grant_id not in text
    code, text = cli_as(capsys, "auditor", "case", "access", "--to-review", "--json")
    assert grant_id in text


def test_grants_and_break_glass_refusals(system, staff, story):
    migrant_id = story[0]
    later = utcnow() + timedelta(days=1)

    def grant(actor, **kw):
        fields = (
            dict(
                migrant_id=migrant_id,
                officer_id=staff.fund.officer_id,
                reason="Claim review",
                expires_at=later,
            )
            | kw
        )
        return system.access.grant(actor, ac.GrantCaseAccess(**fields))

    for actor in (staff.attache, staff.auditor, staff.admin, staff.fund2):
        with pytest.raises(NotAuthorised):
            grant(actor)
    with pytest.raises(InvalidCommand, match="reason"):
        ac.GrantCaseAccess.parse(
            {
                "migrant_id": migrant_id,
                "officer_id": str(staff.fund.officer_id),
                "reason": "",
                "expires_at": later.isoformat(),
            }
        )
    with pytest.raises(IllegalTransition, match="expires_at: must be in the future"):
        grant(staff.supervisor, expires_at=utcnow() - timedelta(minutes=1))
    with pytest.raises(IllegalTransition, match="at most 30 days"):
        grant(staff.supervisor, expires_at=utcnow() + timedelta(days=31))
    with pytest.raises(IllegalTransition, match="themself"):
        grant(staff.supervisor, officer_id=staff.supervisor.officer_id)
    granted = grant(staff.supervisor)
    with pytest.raises(IllegalTransition, match="only a break-glass"):
        system.access.review(
            staff.auditor,
            ac.ReviewEmergencyAccess(grant_id=granted, finding="justified", notes="Fine here"),
        )
    with pytest.raises(NotAuthorised):
        system.access.break_glass(
            staff.admin, ac.TakeEmergencyAccess(migrant_id=migrant_id, reason="Curious admin")
        )
    glass = system.access.break_glass(
        staff.fund2, ac.TakeEmergencyAccess(migrant_id=migrant_id, reason="Payment deadline")
    )
    taken = system.access.get(glass)
    assert timedelta(hours=3) < taken.expires_at - utcnow() <= timedelta(hours=4)

    def review(actor, grant_id=glass):
        return system.access.review(
            actor, ac.ReviewEmergencyAccess(grant_id=grant_id, finding="justified", notes="Ok then")
        )

    with pytest.raises(NotAuthorised):
        review(staff.fund)
    review(staff.supervisor)
    with pytest.raises(IllegalTransition, match="already reviewed by a supervisor"):
        review(staff.supervisor2)
    done = review(staff.auditor)
    assert done.reviews == {"supervisor": "justified", "auditor": "justified"}
    # An officer cannot review their own break-glass, even as a reviewer role.
    own = system.access.break_glass(
        staff.supervisor, ac.TakeEmergencyAccess(migrant_id=migrant_id, reason="Night duty call")
    )
    with pytest.raises(IllegalTransition, match="their own"):
        review(staff.supervisor, own)
    # Grants and reviews are events with actor, role and both times.
    events = list(system.store.events.get(glass))
    assert [type(e).__name__ for e in events] == [
        "EmergencyAccessTaken",
        "EmergencyAccessReviewed",
        "EmergencyAccessReviewed",
    ]
    assert [e.actor_role for e in events] == [Role.FUND_OFFICER, Role.SUPERVISOR, Role.AUDITOR]
    assert all(e.timestamp and e.occurred_at for e in events)
