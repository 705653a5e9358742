"""Bringing in an existing registry (`msafiri import`), and fresh planner
statistics after every bulk write. On SQLite and PostgreSQL, through the CLI."""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from pathlib import Path

import psycopg
import pytest

from domain.cases.vocabulary import IdentityDocument
from msafiri.bootstrap import build_system
from msafiri.settings import Settings
from tests.test_fund_cli import run

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
REGISTRAR = ("--officer", "demo.registrar", "--role", "registration_officer")
FUND = ("--officer", "demo.fund", "--role", "fund_officer")
HEADER = (
    "full_name,sex,date_of_birth,national_id,passport_number,phone,county,education,"
    "skills,registered_on,membership_number,starts_on,ends_on"
)
BAD_MEMBERS = f"""{HEADER}
Good One,female,1996-04-12,33456781,,+254712345678,Kiambu,secondary,,2025-02-03,,,
Bad Phone,female,1996-04-12,33456782,,0712345678,Kiambu,secondary,,2025-02-03,,,
Wrong County,male,1990-04-12,33456783,,+254712345678,Narnia,primary,,2025-02-03,,,
Good Two,male,1991-04-12,,PK1234567,+254712345670,Kisumu,tvet,welding,2025-02-03,\
MWF-T-9,2025-03-01,2027-03-01
Twice,female,1996-04-12,33456781,,+254712345678,Kiambu,secondary,,2025-02-03,,,
"""


@pytest.fixture
def demo(settings, monkeypatch, capsys):
    """A small demo: its officers (password msafiri-demo) and an open fund."""
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", "msafiri-demo")
    code, _, err = run(capsys, "demo", "--migrants", "20", "--json")
    assert code == 0, err


def events_in(settings: Settings) -> int:
    system = build_system(settings)
    try:
        return system.store.recorder.max_notification_id() or 0
    finally:
        system.close()


def holder(settings: Settings, kind: IdentityDocument, number: str):
    system = build_system(settings)
    try:
        return system.cases.find_by_document(kind, number)
    finally:
        system.close()


def import_(capsys, kind: str, path: Path, *options: str) -> tuple[int, dict, str]:
    who = REGISTRAR if kind == "members" else FUND
    code, out, err = run(capsys, *who, "import", kind, str(path), *options, "--json")
    return code, json.loads(out) if out.strip() else {}, err


def test_the_example_file_imports_once(demo, settings, capsys):
    code, report, err = import_(capsys, "members", EXAMPLES / "members.csv")
    assert code == 0, err
    assert (report["lines"], report["imported"], report["already_imported"]) == (5, 5, 0)
    migrant_id = holder(settings, IdentityDocument.NATIONAL_ID, "23456781")
    assert migrant_id == holder(settings, IdentityDocument.PASSPORT, "AK1234567")
    assert holder(settings, IdentityDocument.PASSPORT, "BK7654321") is not None
    system = build_system(settings)
    try:
        case = system.cases.get(migrant_id)
        assert case.full_name == "Amina Wanjiku"
        assert [m[0] for m in case.memberships] == ["MWF-L-000101"]
        no_membership = holder(settings, IdentityDocument.NATIONAL_ID, "23456784")
        assert system.cases.get(no_membership).memberships == []
    finally:
        system.close()

    # Again: everything is already there and nothing new is stored.
    before = events_in(settings)
    code, report, err = import_(capsys, "members", EXAMPLES / "members.csv")
    assert code == 0, err
    assert (report["imported"], report["already_imported"], report["stored"]) == (0, 5, False)
    assert events_in(settings) == before


def test_bad_lines_are_each_reported_and_nothing_is_stored(demo, settings, capsys, tmp_path):
    source = tmp_path / "legacy.csv"
    source.write_text(BAD_MEMBERS)
    before = events_in(settings)
    code, out, err = run(capsys, *REGISTRAR, "import", "members", str(source))
    assert code == 2 and "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("line ")]
    assert lines == [
        "line 3: phone: write the phone in international form, e.g. +254712345678",
        "line 4: county: must be one of Kenya's 47 counties, e.g. Kakamega",
        "line 6: national_id: 33456781 is already on line 2 of this file",
    ]
    assert "3 of 5 lines are bad; nothing imported" in out
    assert events_in(settings) == before
    assert holder(settings, IdentityDocument.NATIONAL_ID, "33456781") is None
    assert not (tmp_path / "legacy.rejects.csv").exists()

    code, report, _ = import_(capsys, "members", source)
    assert code == 2 and report["stored"] is False
    assert {(p["line"], p["field"]) for p in report["problems"]} == {
        (3, "phone"),
        (4, "county"),
        (6, "national_id"),
    }


def test_skip_bad_stores_the_good_lines_and_writes_the_rejects(demo, settings, capsys, tmp_path):
    source = tmp_path / "legacy.csv"
    source.write_text(BAD_MEMBERS)
    code, report, err = import_(capsys, "members", source, "--skip-bad")
    assert code == 0, err
    assert (report["imported"], report["bad_lines"]) == (2, 3)
    assert holder(settings, IdentityDocument.NATIONAL_ID, "33456781") is not None
    assert holder(settings, IdentityDocument.PASSPORT, "PK1234567") is not None
    assert holder(settings, IdentityDocument.NATIONAL_ID, "33456782") is None
    rejects = tmp_path / "legacy.rejects.csv"
    assert report["rejects_file"] == str(rejects)
    with rejects.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["line"], r["full_name"]) for r in rows] == [
        ("3", "Bad Phone"),
        ("4", "Wrong County"),
        ("6", "Twice"),
    ]
    assert rows[0]["problems"].startswith("phone: write the phone in international form")
    assert rows[0]["phone"] == "0712345678"  # the line as it was, to be corrected

    # --rejects names the file; a re-run finds the good lines already there.
    elsewhere = tmp_path / "to-fix.csv"
    code, report, _ = import_(capsys, "members", source, "--skip-bad", "--rejects", str(elsewhere))
    assert code == 0 and (report["imported"], report["already_imported"]) == (0, 2)
    assert len(elsewhere.read_text().splitlines()) == 4

    # The rejects file, corrected, imports as it is (its extra columns ignored).
    rejects.write_text(rejects.read_text().replace("0712345678", "+254712345679"))
    code, report, _ = import_(capsys, "members", rejects, "--skip-bad", "--rejects", str(elsewhere))
    # Line 6 repeated line 2's national id: alone in this file it is simply
    # already imported. The wrong county is still bad.
    assert (report["imported"], report["already_imported"], report["bad_lines"]) == (1, 1, 1)
    assert holder(settings, IdentityDocument.NATIONAL_ID, "33456782") is not None
    assert elsewhere.read_text().splitlines()[0].split(",")[:2] == ["line", "full_name"]


def test_dry_run_validates_and_stores_nothing(demo, settings, capsys, tmp_path):
    before = events_in(settings)
    code, report, err = import_(capsys, "members", EXAMPLES / "members.csv", "--dry-run")
    assert code == 0, err
    assert (report["dry_run"], report["imported"], report["stored"]) == (True, 0, False)
    assert events_in(settings) == before
    source = tmp_path / "legacy.csv"
    source.write_text(BAD_MEMBERS)
    code, report, _ = import_(capsys, "members", source, "--dry-run", "--skip-bad")
    assert code == 2 and report["bad_lines"] == 3 and report["rejects_file"] is None
    assert events_in(settings) == before
    # After a real import, a dry run says what is already there.
    assert import_(capsys, "members", EXAMPLES / "members.csv")[0] == 0
    code, report, _ = import_(capsys, "members", EXAMPLES / "members.csv", "--dry-run")
    assert code == 0 and report["already_imported"] == 5


def test_contributions_import_once_onto_the_fund(demo, settings, capsys, tmp_path):
    assert import_(capsys, "members", EXAMPLES / "members.csv")[0] == 0
    code, report, err = import_(capsys, "contributions", EXAMPLES / "contributions.csv")
    assert code == 0, err
    assert (report["imported"], report["already_imported"]) == (4, 0)
    system = build_system(settings)
    try:
        system.read_models.catch_up()
        migrant_id = holder(settings, IdentityDocument.NATIONAL_ID, "23456781")
        paid = system.read_models.queries.contributions(str(migrant_id))
        assert [(p["membership_number"], p["amount_minor"], p["payments"]) for p in paid] == [
            ("MWF-L-000101", 300_000, 1)
        ]
    finally:
        system.close()

    before = events_in(settings)
    code, report, err = import_(capsys, "contributions", EXAMPLES / "contributions.csv")
    assert code == 0 and (report["imported"], report["already_imported"]) == (0, 4), err
    assert events_in(settings) == before

    bad = tmp_path / "remittance.csv"
    bad.write_text(
        "membership_number,amount,currency,received_on,reference\n"
        "MWF-L-000102,2500.00,KES,2025-04-20,NEA-REMIT-202504\n"
        "MWF-NOBODY,2500.00,KES,2025-04-20,NEA-REMIT-202504\n"
        "MWF-L-000103,2500.555,KES,2025-04-20,NEA-REMIT-202504\n"
        "MWF-L-000105,2500.00,KES,2999-01-01,NEA-REMIT-202504\n"
    )
    code, report, _ = import_(capsys, "contributions", bad)
    assert code == 2 and events_in(settings) == before
    assert [(p["line"], p["field"]) for p in report["problems"]] == [
        (3, "membership_number"),
        (4, "amount"),
        (5, "received_on"),
    ]
    code, report, _ = import_(capsys, "contributions", bad, "--skip-bad")
    assert code == 0 and report["imported"] == 1 and events_in(settings) > before


# --- planner statistics after bulk writes ------------------------------------


def planner_statistics(settings: Settings, tables: list[str]) -> dict[str, object]:
    """Per table: what the planner knows (None when it has no statistics)."""
    url = settings.database_url
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            if not conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"
            ).fetchone():
                return dict.fromkeys(tables)
            count = "SELECT count(*) FROM sqlite_stat1 WHERE tbl = ?"
            return {t: conn.execute(count, (t,)).fetchone()[0] or None for t in tables}
    with psycopg.connect(url) as conn:
        found = {}
        for table in tables:
            analyzed, tuples = conn.execute(
                "SELECT s.last_analyze, c.reltuples FROM pg_stat_user_tables s "
                "JOIN pg_class c ON c.oid = s.relid WHERE s.relname = %s",
                (table,),
            ).fetchone()
            found[table] = (analyzed, tuples) if analyzed and tuples > 0 else None
        return found


def test_demo_and_rebuild_leave_planner_statistics(demo, settings, capsys):
    events = "stored_events" if settings.database_url.startswith("sqlite") else "msafiri_events"
    tables = ["rm_cases", "rm_case_search", "rm_timeline", events]
    after_demo = planner_statistics(settings, tables)
    assert all(after_demo.values()), after_demo

    if settings.database_url.startswith("sqlite"):  # forget them, to see rebuild make them
        path = settings.database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            conn.execute("DELETE FROM sqlite_stat1")
    code, _, err = run(capsys, "projections", "rebuild", "--json")
    assert code == 0, err
    after_rebuild = planner_statistics(settings, tables[:3])
    assert all(after_rebuild.values()), after_rebuild
    if not settings.database_url.startswith("sqlite"):  # analyzed again, not left over
        assert all(after_rebuild[t][0] > after_demo[t][0] for t in tables[:3])


def test_import_leaves_planner_statistics_of_the_log(demo, settings, capsys, tmp_path):
    if settings.database_url.startswith("sqlite"):
        path = settings.database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            conn.execute("DELETE FROM sqlite_stat1")
    events = "stored_events" if settings.database_url.startswith("sqlite") else "msafiri_events"
    before = planner_statistics(settings, [events])[events]
    source = tmp_path / "members.csv"
    shutil.copy(EXAMPLES / "members.csv", source)
    assert import_(capsys, "members", source)[0] == 0
    after = planner_statistics(settings, [events, "rm_cases"])
    assert after[events] and after["rm_cases"]
    if before:
        assert after[events][0] > before[0]


def test_worker_processes_import_the_same_way(system, officers, tmp_path):
    """More than one batch, validated and built in a worker process: the
    same members, the same refusal of a re-run."""
    from bench.bench_import import write_members
    from msafiri.registry_import import MEMBERS_PER_SAVE, import_members

    source = tmp_path / "members.csv"
    write_members(source, MEMBERS_PER_SAVE + 20)
    assert MEMBERS_PER_SAVE + 20 == 520
    report = import_members(system, officers.registrar, source, workers=1)
    assert (report.imported, report.already_imported, report.problems) == (520, 0, [])
    assert system.cases.find_by_document(IdentityDocument.NATIONAL_ID, "30000519") is not None
    again = import_members(system, officers.registrar, source, workers=1)
    assert (again.imported, again.already_imported) == (0, 520)


def test_wrong_columns_and_wrong_role_are_one_line_refusals(demo, settings, capsys, tmp_path):
    before = events_in(settings)
    source = tmp_path / "odd.csv"
    source.write_text("full_name,sex,colour\nAmina,female,blue\n")
    code, _, err = run(capsys, *REGISTRAR, "import", "members", str(source))
    assert code == 2 and "line 1: unknown column colour" in err and "Traceback" not in err
    code, _, err = run(
        capsys,
        "--officer",
        "demo.attache",
        "--role",
        "labour_attache",
        "import",
        "members",
        str(EXAMPLES / "members.csv"),
    )
    assert code == 1 and err.strip() == (
        "error: a labour_attache may not import members (needs: registration_officer)"
    )
    assert events_in(settings) == before
