"""The CLI shows stored times as the officer reads them (msafiri/zones.py):
in MSAFIRI_TIMEZONE, here Asia/Riyadh (UTC+3, no summer time), with the zone
named once in the output; what is typed without a zone reads back the same;
--json stays UTC as stored, for scripts. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from domain.model import Actor
from domain.officers.commands import RegisterOfficer, SetPassword
from domain.values import Role
from tests import factories
from tests.conftest import Officers
from tests.fund_helpers import open_fund, report_injury, request
from tests.test_fund_cli import run

PASSWORD = "riyadh keeps its own hours"
RIYADH = ZoneInfo("Asia/Riyadh")
NAMED = "times in Asia/Riyadh"
ATTACHE = ("--officer", "attache", "--role", "labour_attache")
SUPERVISOR = ("--officer", "supervisor", "--role", "supervisor")
AUDITOR = ("--officer", "auditor", "--role", "auditor")
FUND = ("--officer", "fund", "--role", "fund_officer")


# Real argon2 at its cheapest: these tests sign in many times.
pytestmark = pytest.mark.usefixtures("cheap_password_hashing")


@pytest.fixture
def people(system) -> Officers:
    people = Officers(system)
    oid = system.officers.register(
        people.admin,
        RegisterOfficer(username="supervisor", full_name="Sam Supervisor", station="HQ",
                        roles=(Role.SUPERVISOR,)),
    )  # fmt: skip
    people.supervisor = Actor(officer_id=oid, role=Role.SUPERVISOR)
    for username in ("attache", "auditor", "supervisor", "fund"):
        system.officers.set_password(
            getattr(people, username), SetPassword(username=username, password=PASSWORD)
        )
    return people


@pytest.fixture
def case(system, people) -> tuple[UUID, str]:
    """A case abroad whose incident happened at 23:30 UTC twenty days ago:
    02:30 the next day in Riyadh. (incident id, case number)"""
    migrant_id = factories.send_abroad(system, people)
    occurred = f"{factories.days_ago(20)}T23:30:00Z"
    incident_id = report_injury(system, people, migrant_id, occurred_at=occurred)
    system.read_models.catch_up()
    return incident_id, system.cases.get(migrant_id).case_number


@pytest.fixture
def riyadh(settings, monkeypatch):
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", PASSWORD)
    monkeypatch.setenv("MSAFIRI_TIMEZONE", "Asia/Riyadh")
    for name in ("MSAFIRI_OFFICER", "MSAFIRI_ROLE"):
        monkeypatch.delenv(name, raising=False)


def cli(capsys, *argv: str) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    return out


def in_riyadh(stored: str, shape: str) -> str:
    """A stored UTC instant as an officer in Riyadh should read it."""
    return datetime.fromisoformat(stored).astimezone(RIYADH).strftime(shape)


def utc(stored: str) -> datetime:
    moment = datetime.fromisoformat(stored)
    assert moment.utcoffset() == timedelta(0), f"{stored} is not UTC"
    return moment


def test_an_expiry_typed_without_a_zone_reads_back_as_typed(riyadh, case, capsys):
    _, case_number = case
    day = (datetime.now(RIYADH) + timedelta(days=5)).date()
    typed = f"{day} 17:00"
    grant = ("case", "grant-access", case_number, "--to", "auditor", "--until", typed,
             "--reason", "annual file review")  # fmt: skip
    out = cli(capsys, *SUPERVISOR, *grant)
    assert out.splitlines()[0] == NAMED
    assert out.splitlines()[1].endswith(f" until {typed}")

    out = cli(capsys, *SUPERVISOR, "case", "access", case_number)
    lines = out.splitlines()
    assert lines[0] == NAMED and len(lines) == 2  # named once, then the grant
    assert f" until {typed}  " in lines[1]

    # Scripts read UTC as stored: 17:00 in Riyadh is 14:00 UTC.
    out = cli(capsys, *SUPERVISOR, "case", "access", case_number, "--json")
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert utc(row["expires_at"]) == datetime(day.year, day.month, day.day, 14, tzinfo=UTC)
    assert NAMED not in out


def test_a_time_near_midnight_utc_shows_the_local_date(riyadh, case, capsys):
    """The incident happened at 23:30 UTC: in Riyadh that is the next day."""
    _, case_number = case
    utc_day, local_day = factories.days_ago(20), factories.days_ago(19)
    out = cli(capsys, *ATTACHE, "case", "timeline", case_number)
    assert out.splitlines()[0] == NAMED and out.count(NAMED) == 1
    reported = [line for line in out.splitlines() if "injury" in line]
    assert reported and all(line.startswith(f"{local_day}  ") for line in reported)
    assert not any(line.startswith(str(utc_day)) for line in out.splitlines())

    out = cli(capsys, *ATTACHE, "case", "timeline", case_number, "--json")
    stored = [json.loads(line) for line in out.splitlines()]
    injury = [e for e in stored if "injury" in e["summary"]]
    assert injury and utc(injury[0]["occurred_at"]).date() == utc_day

    incident_id, _ = case
    out = cli(capsys, *ATTACHE, "incident", "show", str(incident_id))
    assert out.splitlines()[0] == NAMED and out.count(NAMED) == 1
    assert f"occurred_at: {local_day} 02:30:00" in out
    assert f"\n{local_day}  IncidentReported: " in out  # the event's line, dated locally
    # A time in the report itself, typed at 10:00+03:00 (07:00 UTC as stored).
    assert f"reported_at={local_day} 10:00:00" in out
    assert f"{utc_day} 23:30" not in out and f"{utc_day}T23:30" not in out


def test_recorded_times_read_in_the_zone_and_json_stays_utc(riyadh, case, capsys):
    """Who did what and who viewed a case: each line's recorded time is the
    stored UTC instant in Riyadh, to the second; --json gives it as stored."""
    _, case_number = case
    cli(capsys, *ATTACHE, "case", "show", case_number)  # a read for the access log
    out = cli(capsys, *AUDITOR, "audit", "who", "--limit", "30")
    assert out.splitlines()[0] == NAMED and out.count(NAMED) == 1
    shown = {line.split()[0]: " ".join(line.split()[1:3]) for line in out.splitlines()[1:]}
    out = cli(capsys, *AUDITOR, "audit", "who", "--limit", "30", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == len(shown) > 5
    for row in rows:
        utc(row["recorded_at"])
        assert shown[str(row["position"])] == in_riyadh(row["recorded_at"], "%Y-%m-%d %H:%M:%S")

    # Each who-viewed is itself a read of the case: the text, asked second,
    # holds every entry the JSON has, and one more.
    out = cli(capsys, *SUPERVISOR, "access", "who-viewed", case_number, "--json")
    entries = [json.loads(line) for line in out.splitlines()]
    assert entries and NAMED not in out
    out = cli(capsys, *SUPERVISOR, "access", "who-viewed", case_number)
    assert out.splitlines()[0] == NAMED and out.count(NAMED) == 1
    shown = {line.split()[0]: " ".join(line.split()[1:3]) for line in out.splitlines()[1:]}
    for entry in entries:
        stored = utc(entry["recorded_at"]).isoformat()
        assert shown[str(entry["seq"])] == in_riyadh(stored, "%Y-%m-%d %H:%M:%S")


def test_break_glass_and_the_fund_queue_in_the_zone(riyadh, system, people, case, capsys):
    incident_id, case_number = case
    out = cli(capsys, *ATTACHE, "case", "break-glass", case_number, "--reason", "Hospital, now")
    assert out.splitlines()[0] == NAMED
    out = cli(capsys, *SUPERVISOR, "access", "break-glass", "--json")
    (waiting,) = [json.loads(line) for line in out.splitlines()]
    given, until = utc(waiting["given_at"]), utc(waiting["expires_at"])
    assert abs(until - given - timedelta(hours=4)) < timedelta(seconds=1)
    out = cli(capsys, *SUPERVISOR, "access", "break-glass")
    lines = out.splitlines()
    assert lines[0] == NAMED and len(lines) == 2
    minute = "%Y-%m-%d %H:%M"
    assert f"  {given.astimezone(RIYADH):{minute}}  attache " in lines[1]
    assert f"  until {until.astimezone(RIYADH):{minute}}  " in lines[1]

    open_fund(system, people)
    migrant_id = system.incidents.get(incident_id).migrant_id
    disbursement_id = request(system, people.attache, migrant_id, incident_id, 5_000)
    system.read_models.catch_up()
    out = cli(capsys, *FUND, "fund", "queue", "--json")
    (row,) = [json.loads(line) for line in out.splitlines()]
    out = cli(capsys, *FUND, "fund", "queue")
    assert out.splitlines()[0] == NAMED
    requested = in_riyadh(utc(row["requested_at"]).isoformat(), "%Y-%m-%d")
    assert out.splitlines()[1].startswith(f"{str(disbursement_id)[:8]}  {requested}  ")
    out = cli(capsys, *FUND, "fund", "show", str(disbursement_id))
    shown = cli(capsys, *FUND, "fund", "show", str(disbursement_id), "--json")
    expires = utc(json.loads(shown)["expires_at"])
    assert out.splitlines()[0] == NAMED
    assert f"expires_at: {expires.astimezone(RIYADH):{minute}}" in out


def test_utc_is_named_too(riyadh, case, monkeypatch, capsys):
    """An officer in UTC (CI's machines) reads UTC, and is told so."""
    monkeypatch.setenv("MSAFIRI_TIMEZONE", "UTC")
    _, case_number = case
    out = cli(capsys, *ATTACHE, "case", "timeline", case_number)
    assert out.splitlines()[0] == "times in UTC"
    assert any(line.startswith(f"{factories.days_ago(20)}  ") for line in out.splitlines())
