"""The access log (issue 14 items 4 and 7), on SQLite and PostgreSQL: every
kind of read is recorded with who, role, when and what (CLI and TUI), the
hash chain verifies and locates an entry changed or deleted by SQL (with the
append-only triggers put out of the way, as an attacker would), batching
loses nothing at close, concurrent writers keep one chain, the auditors'
queries answer and are role-checked, and the data subject's report holds
the whole case and is itself logged."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from domain.ids import officer_id
from domain.model import Actor
from domain.officers import access
from domain.officers.commands import RegisterOfficer, SetPassword
from domain.values import Role
from msafiri.bootstrap import connector
from projections.access_log.chain import verify
from projections.access_log.recorder import AccessRecorder
from projections.access_log.store import AccessLogStore, LogFilter
from tests import factories
from tests.conftest import Officers
from tests.fund_helpers import report_injury
from tests.test_fund_cli import run

PASSWORD = "correct horse battery"


# Real argon2 at its cheapest: these tests sign in many times.
pytestmark = pytest.mark.usefixtures("cheap_password_hashing")


@pytest.fixture
def people(system) -> Officers:
    """The shared officers plus a supervisor and a data protection officer,
    each with their own password."""
    people = Officers(system)
    for username, role in (("supervisor", Role.SUPERVISOR), ("dpo", Role.DATA_PROTECTION_OFFICER)):
        oid = system.officers.register(
            people.admin,
            RegisterOfficer(username=username, full_name=username.title(), station="HQ",
                            roles=(role,)),
        )  # fmt: skip
        setattr(people, username, Actor(officer_id=oid, role=role))
    for username in ("registrar", "attache", "auditor", "supervisor", "dpo"):
        system.officers.set_password(
            getattr(people, username), SetPassword(username=username, password=PASSWORD)
        )
    return people


@pytest.fixture
def case(system, people) -> tuple[UUID, UUID, str]:
    """A case abroad with one incident: (migrant id, incident id, case number)."""
    migrant_id = factories.send_abroad(system, people)
    incident_id = report_injury(system, people, migrant_id)
    system.read_models.catch_up()
    return migrant_id, incident_id, system.cases.get(migrant_id).case_number


@pytest.fixture
def cli(settings, monkeypatch):
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", PASSWORD)
    for name in ("MSAFIRI_OFFICER", "MSAFIRI_ROLE"):
        monkeypatch.delenv(name, raising=False)


def as_(username: str, role: Role) -> tuple[str, ...]:
    return ("--officer", username, "--role", role.value)


ATTACHE = as_("attache", Role.LABOUR_ATTACHE)
AUDITOR = as_("auditor", Role.AUDITOR)
SUPERVISOR = as_("supervisor", Role.SUPERVISOR)
DPO = as_("dpo", Role.DATA_PROTECTION_OFFICER)


def entries_of(system, username: str, interface: str | None = None) -> list[dict]:
    system.access_log.recorder.flush()
    rows = system.access_log.store.entries(
        LogFilter(officer_id=str(officer_id(username))), limit=1000
    )
    rows.reverse()  # oldest first
    return [r for r in rows if interface is None or r["interface"] == interface]


def attack(settings, database_url: str, *statements: str) -> None:
    """SQL straight at the database, past Msafiri, triggers put aside first."""
    sqlite = database_url.startswith("sqlite")
    from msafiri.settings import parse_database_url

    conn = connector(settings, parse_database_url(database_url))()
    try:
        if sqlite:
            conn.execute("DROP TRIGGER access_log_no_update")
            conn.execute("DROP TRIGGER access_log_no_delete")
        else:
            conn.execute("ALTER TABLE access_log DISABLE TRIGGER access_log_append_only")
        for statement in statements:
            conn.execute(statement)
        if not sqlite:
            conn.commit()
    finally:
        conn.close()


def test_cli_reads_are_logged_with_who_role_and_what(system, people, case, cli, capsys, tmp_path):
    migrant_id, incident_id, case_number = case
    assert run(capsys, *ATTACHE, "case", "show", case_number, "--json")[0] == 0
    code, out, err = run(capsys, *ATTACHE, "case", "search", "Wanjiku", "--stage", "on_site")
    assert code == 0 and case_number in out, err
    code, out, err = run(capsys, *ATTACHE, "incident", "show", str(incident_id)[:8], "--json")
    assert code == 0 and json.loads(out)["migrant_id"] == str(migrant_id), err
    assert run(capsys, *AUDITOR, "audit", "as-of", str(migrant_id))[0] == 0
    trail = tmp_path / "case.jsonl"
    code, _, err = run(capsys, *AUDITOR, "audit", "export", "--case", str(migrant_id),
                       "--output", str(trail))  # fmt: skip
    assert code == 0, err

    attache = entries_of(system, "attache")
    seen = [(e["action"], e["subject_id"]) for e in attache if e["action"] != "sign-in"]
    assert seen == [
        (access.CASE_OPEN, str(migrant_id)),
        (access.SEARCH, None),
        (access.INCIDENT_OPEN, str(incident_id)),
    ]
    assert all(e["role"] == "labour_attache" and e["interface"] == "cli" for e in attache)
    search = next(e for e in attache if e["action"] == access.SEARCH)
    assert search["detail"] == "text='Wanjiku' stage=on_site"
    # Each command signed in, and the sign-in is in the same log.
    assert [e["action"] for e in attache].count("sign-in") == 3
    auditor = [e for e in entries_of(system, "auditor") if e["action"] != "sign-in"]
    assert [(e["action"], e["subject_id"], e["role"]) for e in auditor] == [
        (access.CASE_REPLAY, str(migrant_id), "auditor"),
        (access.EXPORT, str(migrant_id), "auditor"),
    ]
    assert str(trail) in auditor[1]["detail"]
    assert all(e["recorded_at"].endswith("+00:00") for e in attache + auditor)


def test_a_read_names_its_reader(system, people, case, cli, capsys):
    code, _, err = run(capsys, "case", "show", case[2])
    assert code != 0 and "--officer" in err


async def test_tui_reads_are_logged(system, people, case, tmp_path):
    from textual.widgets import TabbedContent

    from tests.tui.conftest import SIZE, make_app, settle, sign_in
    from tests.tui.test_queue import words_seen
    from tui.app.screens.case_view import CaseScreen
    from tui.app.screens.incident_view import IncidentScreen
    from tui.app.screens.replay import ReplayScreen

    migrant_id, incident_id, case_number = case
    app = make_app(system)
    app.export_dir = tmp_path
    app.read_side.catch_up()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await sign_in(pilot, "attache", PASSWORD)
        await pilot.press(*"Wanjiku")  # the search box has the focus
        await settle(pilot)
        await pilot.press("enter", "enter")  # to the results, open the case
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert case_number in words_seen(app)
        await pilot.press("t")  # the Incidents tab
        app.screen.query_one("#incidents").focus()
        assert app.screen.query_one(TabbedContent).active == "tab-incidents"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, IncidentScreen)
        assert "category injury" in words_seen(app) and "severity high" in words_seen(app)
        await pilot.press("escape", "h")
        await settle(pilot)
        assert isinstance(app.screen, ReplayScreen)
        await pilot.press("escape", "ctrl+e")
        await settle(pilot)
        assert (tmp_path / f"msafiri-case-{case_number}.jsonl").exists()

    tui = entries_of(system, "attache", interface="tui")
    reads = [(e["action"], e["subject_id"]) for e in tui if e["action"] != access.SEARCH]
    assert reads[0] == ("sign-in", None)
    assert reads[1:] == [
        (access.CASE_OPEN, str(migrant_id)),
        (access.INCIDENT_OPEN, str(incident_id)),
        (access.CASE_REPLAY, str(migrant_id)),
        (access.EXPORT, str(migrant_id)),
        ("sign-out", None),  # quitting; the reads before it are chained before it
    ]
    searches = [e["detail"] for e in tui if e["action"] == access.SEARCH]
    # As one types, each text searched for is a search; the last is the word.
    assert searches[-1] == "text='Wanjiku'"
    assert all(e["role"] == "labour_attache" for e in tui)


def test_the_chain_verifies_and_locates_a_changed_entry(settings, system, people, case, cli,
                                                         capsys):  # fmt: skip
    for _ in range(3):
        assert run(capsys, *ATTACHE, "case", "show", case[2])[0] == 0
    code, out, err = run(capsys, *AUDITOR, "access", "verify", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["ok"] and result["checked"] >= 7 and result["findings"] == []

    opened = [e for e in entries_of(system, "attache") if e["action"] == access.CASE_OPEN]
    target = opened[1]["seq"]
    # The officer's trace is rewritten to point at another case.
    attack(settings, settings.database_url,
           f"UPDATE access_log SET subject_id = '{uuid4()}' WHERE seq = {target}")  # fmt: skip
    code, out, _ = run(capsys, *AUDITOR, "access", "verify", "--json")
    result = json.loads(out)
    assert code == 1 and not result["ok"]
    assert [(f["seq"], f["problem"].split(":")[0]) for f in result["findings"]] == [
        (target, "altered")
    ]
    code, out, _ = run(capsys, *AUDITOR, "access", "verify")
    assert f"CHANGED: position {target} (entry" in out and "BROKEN" in out


def test_audit_verify_checks_the_access_log_chain(settings, system, people, case, cli, capsys):
    """`msafiri audit verify` covers the access log too: a changed entry fails
    it (exit 3) and is named by its position."""
    system.keep_current()  # every event chained, read models current
    assert run(capsys, *ATTACHE, "case", "show", case[2])[0] == 0
    code, out, _ = run(capsys, *AUDITOR, "audit", "verify", "--json")
    before = json.loads(out)
    assert before["access_log_entries_checked"] >= 2, out
    assert not [p for p in before["problems"] if p.startswith("access log")], out
    assert code == (0 if before["ok"] else 3)
    [opened] = [e for e in entries_of(system, "attache") if e["action"] == access.CASE_OPEN]
    change = f"UPDATE access_log SET username = 'someone.else' WHERE seq = {opened['seq']}"
    attack(settings, settings.database_url, change)
    code, out, _ = run(capsys, *AUDITOR, "audit", "verify", "--json")
    after = json.loads(out)
    assert code == 3 and not after["ok"]
    named = [p for p in after["problems"] if p.startswith("access log")]
    assert named == [
        f"access log: position {opened['seq']} (entry {opened['entry_id']}): altered: its "
        "fields or its link differ from what was chained"
    ], out


def test_a_deleted_entry_is_located(settings, system, people, case, cli, capsys):
    assert run(capsys, *ATTACHE, "case", "show", case[2])[0] == 0
    assert run(capsys, *ATTACHE, "case", "show", case[2])[0] == 0
    opened = [e for e in entries_of(system, "attache") if e["action"] == access.CASE_OPEN]
    gone = opened[0]["seq"]
    attack(settings, settings.database_url, f"DELETE FROM access_log WHERE seq = {gone}")
    result = verify(system.access_log.store.chain_rows())
    assert [(f.seq, f.problem) for f in result.findings] == [
        (gone + 1, f"position {gone} missing before it: entries deleted")
    ]


def test_batched_entries_wait_in_the_process_and_are_all_written_at_close(settings, system):
    store = AccessLogStore(connector(settings, system.database), system.database.backend)
    recorder = AccessRecorder(store, flush_ms=60_000, batch_size=1000)
    for n in range(5):
        recorder.record("someone", None, access.SEARCH, detail=f"text='{n}'")
    assert recorder.pending() == 5
    assert store.entries(LogFilter(action=access.SEARCH)) == []  # nothing written yet
    recorder.close()
    written = store.entries(LogFilter(action=access.SEARCH))
    assert sorted(e["detail"] for e in written) == [f"text='{n}'" for n in range(5)]
    assert verify(store.chain_rows()).ok


def test_a_full_batch_is_written_by_the_background_thread(settings, system):
    store = AccessLogStore(connector(settings, system.database), system.database.backend)
    recorder = AccessRecorder(store, flush_ms=60_000, batch_size=3)
    for n in range(3):
        recorder.record("someone", None, access.SEARCH, detail=str(n))
    done = threading.Event()
    for _ in range(200):  # the thread was woken; wait for it, not for a time
        if len(store.entries(LogFilter(action=access.SEARCH))) == 3:
            done.set()
            break
        done.wait(0.05)
    assert done.is_set() and recorder.pending() == 0
    recorder.close()


def test_writers_in_parallel_keep_one_unbroken_chain(settings, system):
    def write(name: str) -> None:
        store = AccessLogStore(connector(settings, system.database), system.database.backend)
        recorder = AccessRecorder(store, flush_ms=1, batch_size=7)
        for n in range(40):
            recorder.record(name, None, access.SEARCH, detail=str(n))
        recorder.close()

    threads = [threading.Thread(target=write, args=(f"w{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = list(system.access_log.store.chain_rows())
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert len([r for r in rows if r["action"] == access.SEARCH]) == 120
    assert verify(rows).ok


def test_who_viewed_what_an_officer_viewed_and_break_glass_review(system, people, case, cli,
                                                                   capsys):  # fmt: skip
    _, _, case_number = case
    assert run(capsys, *ATTACHE, "case", "show", case_number)[0] == 0
    # A break-glass, taken from the CLI: the event, and its entry in the log.
    code, out, err = run(capsys, *ATTACHE, "case", "break-glass", case_number, "--reason",
                         "migrant in hospital, family asking", "--json")  # fmt: skip
    assert code == 0, err
    grant_id = json.loads(out)["grant_id"]

    code, out, err = run(capsys, *SUPERVISOR, "access", "who-viewed", case_number, "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    # Newest first: the question itself, then the break-glass, then the opening.
    assert [(r["username"], r["action"]) for r in rows][:2] == [
        ("supervisor", access.ACCESS_LOG_QUERY),
        ("attache", access.BREAK_GLASS),
    ]
    assert rows[1]["reason"] == "migrant in hospital, family asking"
    assert rows[1]["detail"] == f"access {grant_id}"
    viewers = {(r["username"], r["action"]) for r in rows}
    assert {("attache", access.CASE_OPEN), ("attache", access.BREAK_GLASS)} <= viewers

    code, out, err = run(capsys, *AUDITOR, "access", "by-officer", "attache", "--since",
                         "2000-01-01", "--until", "2999-12-31", "--json")  # fmt: skip
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["action"] for r in rows} == {"sign-in", access.CASE_OPEN, access.BREAK_GLASS}
    code, out, _ = run(capsys, *AUDITOR, "access", "by-officer", "attache", "--until",
                       "2000-01-01", "--json")  # fmt: skip
    assert out.strip() == ""

    # Which uses wait for a review: one answer, from the break-glass events,
    # whichever command asks (`access break-glass`, `case access --to-review`).
    def waiting(who, *argv) -> list[str]:
        code, out, err = run(capsys, *who, *argv, "--json")
        assert code == 0, err
        return [json.loads(line)["grant_id"] for line in out.splitlines()]

    for who in (SUPERVISOR, AUDITOR, DPO):
        assert waiting(who, "access", "break-glass") == [grant_id]
    assert waiting(SUPERVISOR, "case", "access", "--to-review") == [grant_id]
    # A DPO reads the list but does not review; the supervisor reviews in `access`.
    review = ("access", "review", grant_id[:8], "--finding", "justified")
    code, _, err = run(capsys, *DPO, *review, "--note", "seen the hospital note")
    assert code == 1 and "may not review" in err
    code, _, err = run(capsys, *SUPERVISOR, *review, "--note", "confirmed with the hospital")
    assert code == 0, err
    # Cleared for the supervisor in both commands; the auditor's review still waits.
    assert waiting(SUPERVISOR, "access", "break-glass") == []
    assert waiting(SUPERVISOR, "case", "access", "--to-review") == []
    assert waiting(AUDITOR, "access", "break-glass") == [grant_id]
    assert waiting(DPO, "access", "break-glass") == [grant_id]
    # The auditor reviews in `case review-break-glass`: cleared everywhere.
    code, _, err = run(capsys, *AUDITOR, "case", "review-break-glass", grant_id[:8],
                       "--finding", "justified", "--notes", "hospital record seen")  # fmt: skip
    assert code == 0, err
    for who in (SUPERVISOR, AUDITOR, DPO):
        assert waiting(who, "access", "break-glass") == []
    assert system.access.get(UUID(grant_id)).reviews == {
        "supervisor": "justified",
        "auditor": "justified",
    }
    # Each review is in the access log too, naming the access reviewed.
    reviewed = [e for e in entries_of(system, "supervisor") + entries_of(system, "auditor")
                if e["action"] == access.BREAK_GLASS_REVIEWED]  # fmt: skip
    assert [(e["subject_kind"], e["subject_id"], e["reason"]) for e in reviewed] == [
        (access.REVIEWED_ACCESS, grant_id, "confirmed with the hospital"),
        (access.REVIEWED_ACCESS, grant_id, "hospital record seen"),
    ]

    # A case worker may not read the log; asking is refused, and logged nowhere.
    code, _, err = run(capsys, *ATTACHE, "access", "who-viewed", case_number)
    assert code == 1 and "may not read the access log" in err
    # The overseers' questions are in the log too.
    asked = [e["detail"] for e in entries_of(system, "supervisor")
             if e["action"] == access.ACCESS_LOG_QUERY]  # fmt: skip
    assert asked[0] == "who viewed" and set(asked[1:]) == {"break-glass not reviewed"}


def test_the_data_subjects_report(system, people, case, cli, capsys, tmp_path):
    migrant_id, incident_id, case_number = case
    assert run(capsys, *ATTACHE, "case", "show", case_number)[0] == 0
    code, _, err = run(capsys, *AUDITOR, "case", "report", case_number, "--out", str(tmp_path))
    assert code == 1 and "data_protection_officer" in err
    code, out, err = run(capsys, *DPO, "case", "report", case_number, "--out", str(tmp_path),
                         "--json")  # fmt: skip
    assert code == 0, err
    written = json.loads(out)
    report = json.loads(Path(written["json"]).read_text())
    assert report["profile"]["full_name"] == "Wanjiku Mwangi"
    assert [i["incident_id"] for i in report["incidents"]] == [str(incident_id)]
    of_case = [e for e in report["events"] if e["aggregate_id"] == str(migrant_id)]
    assert len(of_case) == len(list(system.store.events.get(migrant_id)))
    assert any(e["aggregate_id"] == str(incident_id) for e in report["events"])
    viewers = [(v["username"], v["action"]) for v in report["viewed_by"]]
    assert ("attache", access.CASE_OPEN) in viewers
    assert viewers[-1] == ("dpo", access.CASE_REPORT)  # its own making is listed
    markdown = Path(written["markdown"]).read_text()
    assert f"# What Msafiri holds about case {case_number}" in markdown
    assert "## Who viewed the case" in markdown and "| attache | labour_attache |" in markdown
    assert "Wanjiku Mwangi" in markdown


async def test_the_access_log_screen_answers_a_supervisor_by_keys(system, people, case):
    from tests.tui.conftest import make_app, settle, sign_in
    from tests.tui.test_queue import type_text, words_seen
    from tui.app.screens.access_log import AccessLogScreen

    migrant_id, _, case_number = case
    system.access_log.recorder.record(
        "attache", people.attache, access.CASE_OPEN, subject_kind="case", subject_id=migrant_id
    )
    app = make_app(system)
    app.read_side.catch_up()
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        await sign_in(pilot, "registrar", PASSWORD)
        await pilot.press("f4")  # not for a case worker
        await settle(pilot)
        assert not isinstance(app.screen, AccessLogScreen)
        assert any("Only auditors, supervisors" in n.message for n in app._notifications)
        app.action_sign_out()
        await settle(pilot)
        await sign_in(pilot, "supervisor", PASSWORD)
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, AccessLogScreen)
        await type_text(pilot, case_number)
        await pilot.press("enter")
        await settle(pilot)
        seen = words_seen(app)
        assert f"who viewed {case_number}: 2 entries" in seen
        assert "attache labour attache case open" in seen
        await pilot.press("f5")
        await settle(pilot)
        assert "The chain holds:" in words_seen(app)


def test_a_read_that_only_a_grant_allows_is_a_grant_use(system, people, case, cli, capsys):
    """Issue 14 item 4: every grant use is in the log, beside the read itself;
    a read the officer may make anyway (no grant) is not a grant use."""
    _, incident_id, case_number = case
    assert run(capsys, *AUDITOR, "case", "show", case_number)[0] == 0
    until = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%d")
    code, _, err = run(capsys, *SUPERVISOR, "case", "grant-access", case_number, "--to", "auditor",
                       "--until", until, "--reason", "annual file review")  # fmt: skip
    assert code == 0, err
    system.read_models.catch_up()
    assert run(capsys, *AUDITOR, "case", "show", case_number)[0] == 0
    assert run(capsys, *AUDITOR, "incident", "show", str(incident_id))[0] == 0
    reads = [
        (e["action"], e["detail"])
        for e in entries_of(system, "auditor")
        if e["action"] in (access.CASE_OPEN, access.INCIDENT_OPEN, access.GRANT_USE)
    ]
    assert reads == [
        (access.CASE_OPEN, None),
        (access.CASE_OPEN, None),
        (access.GRANT_USE, "case_open through grant access"),
        (access.INCIDENT_OPEN, None),
        (access.GRANT_USE, "incident_open through grant access"),
    ]
