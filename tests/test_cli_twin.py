"""The CLI twin as an officer uses it: case numbers and short references,
money in major units, dates in the officer's zone, a worked example in every
command's help, and refusals as JSON with --json. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

import click
import pytest

from domain.amounts import parse_major
from msafiri.cli.lazy import LazyGroup
from msafiri.cli.main import cli
from tests.test_fund_cli import run

ATTACHE = ("--officer", "demo.attache", "--role", "labour_attache")
FUND = ("--officer", "demo.fund", "--role", "fund_officer")


def _commands(group: click.Group, path: tuple[str, ...] = ()):
    # The top group imports its subcommands when used: load them all here.
    commands = group.all_commands() if isinstance(group, LazyGroup) else group.commands
    for name, command in sorted(commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def test_every_command_says_what_it_does_with_an_example():
    ctx = click.Context(cli, info_name="msafiri")
    for path, command in _commands(cli):
        text = command.get_help(ctx)
        assert "Example:" in text and "msafiri" in text.split("Example:")[1], path
        summary = command.get_short_help_str(limit=200)
        assert summary and summary != path[-1], f"{' '.join(path)}: no summary of its own"


@pytest.fixture
def demo(settings, monkeypatch, capsys):
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", "msafiri-demo")
    monkeypatch.setenv("MSAFIRI_TIMEZONE", "Asia/Riyadh")
    # Reads name their reader in the access log: the auditor's, by default.
    monkeypatch.setenv("MSAFIRI_OFFICER", "demo.auditor")
    monkeypatch.setenv("MSAFIRI_ROLE", "auditor")
    code, _, err = run(capsys, "demo", "--migrants", "60", "--json")
    assert code == 0, err


def _on_site_case(capsys) -> str:
    code, out, _ = run(capsys, "case", "search", "--stage", "on_site", "--json")
    assert code == 0
    return json.loads(out.splitlines()[0])["case_number"]


def test_case_number_short_references_major_units_and_zone(demo, capsys, settings):
    case_number = _on_site_case(capsys)
    code, out, err = run(capsys, "case", "show", case_number, "--json")
    assert code == 0, err
    migrant_id = json.loads(out)["migrant_id"]

    # A case number where the command asks for a migrant id; a time without a
    # zone is the officer's (Asia/Riyadh, UTC+3).
    code, out, err = run(
        capsys, *ATTACHE, "incident", "report", f"migrant_id={case_number}",
        "category=unpaid_or_delayed_wages", "severity=high", "occurred_at=2026-11-20T09:30",
        "channel=walk_in", "description=Unpaid for three months", "--json",
    )  # fmt: skip
    assert code == 0, err
    incident_id = json.loads(out)["incident_id"]
    from msafiri.bootstrap import build_system

    system = build_system(settings)
    try:
        incident = system.incidents.get(__import__("uuid").UUID(incident_id))
        assert incident.migrant_id == __import__("uuid").UUID(migrant_id)
        assert incident.occurred_at.isoformat() == "2026-11-20T06:30:00+00:00"
    finally:
        system.close()

    # An incident by the first characters of its id; money in major units.
    code, out, err = run(
        capsys, *ATTACHE, "incident", "request-assistance", f"incident_id={incident_id[:8]}",
        "kind=legal_aid", "--amount", "1,200.50", "--currency", "KES", "payee=Law firm",
        "justification=Court case for the unpaid wages", "--json",
    )  # fmt: skip
    assert code == 0, err
    code, out, err = run(capsys, *ATTACHE, "fund", "queue", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    mine = [r for r in rows if r["case_number"] == case_number]
    assert mine and mine[0]["amount"] == "1,200.50 KES"
    short = mine[0]["disbursement_id"][:8]
    code, out, err = run(capsys, *ATTACHE, "fund", "show", short, "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["requested"] == "1,200.50 KES" and shown["case_number"] == case_number

    # More decimals than the currency has is refused, and nothing is stored.
    code, _, err = run(
        capsys, *ATTACHE, "incident", "request-assistance", f"incident_id={incident_id[:8]}",
        "kind=legal_aid", "estimate=12.345 KES", "payee=Law firm",
        "justification=Court case for the unpaid wages",
    )  # fmt: skip
    assert code == 2 and "estimate" in err and "KES has 2 decimals" in err
    code, out, _ = run(capsys, "fund", "queue", "--json")
    assert len([line for line in out.splitlines() if case_number in line]) == 1


@pytest.mark.parametrize(
    ("currency", "typed", "minor"),
    [("KES", "1,200.50", 120050), ("BHD", "12.345", 12345), ("JPY", "1200", 1200),
     ("KWD", "0.5", 500), ("SAR", "1,500", 150000)],
)  # fmt: skip
def test_amounts_are_read_in_the_currencys_own_decimals(currency, typed, minor):
    assert parse_major(typed, currency) == minor


@pytest.mark.parametrize(
    ("currency", "typed", "rule"),
    [("KES", "12.345", "KES has 2 decimals"), ("JPY", "1.5", "JPY has no decimals"),
     ("KES", "1,20.5", "not an amount"), ("KES", "-5", "negative"),
     ("KES", "1e3", "not an amount")],
)  # fmt: skip
def test_amounts_that_do_not_fit_the_currency_are_refused(currency, typed, rule):
    with pytest.raises(ValueError, match=rule):
        parse_major(typed, currency)


def test_refusals_are_json_with_json(demo, capsys):
    checks = [
        (*ATTACHE, "incident", "report", "migrant_id=MS-NOPE-X", "--json"),
        ("case", "show", "MS-NOPE-X", "--json"),
        ("fund", "show", "ab", "--json"),
        ("case", "search", "--limit", "0", "--json"),
    ]
    for argv in checks:
        code, out, err = run(capsys, *argv)
        assert code != 0, argv
        payload = json.loads(err.strip())
        assert payload["error"] and "field" in payload, argv
        assert "Traceback" not in out + err


def test_exports_go_to_a_documented_folder_not_the_current_one(monkeypatch, tmp_path):
    from msafiri.settings import Settings, default_data_dir

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MSAFIRI_EXPORTS_DIR", raising=False)
    assert Settings().exports_dir == default_data_dir() / "exports"
    monkeypatch.setenv("MSAFIRI_EXPORTS_DIR", str(tmp_path / "kept"))
    assert Settings().exports_dir == tmp_path / "kept"


def test_audit_commands_take_case_numbers_and_short_references(demo, capsys, tmp_path):
    case_number = _on_site_case(capsys)
    code, out, err = run(capsys, "audit", "as-of", case_number)
    assert code == 0, err
    assert json.loads(out)["case_number"] == case_number
    code, out, err = run(capsys, "audit", "export", "--case", case_number, "--output",
                         str(tmp_path / "case.jsonl"))  # fmt: skip
    assert code == 0, err
    lines = [json.loads(line) for line in (tmp_path / "case.jsonl").read_text().splitlines()]
    assert lines and {line["type"] for line in lines} >= {"MigrantRegistered"}
    code, out, _ = run(capsys, "fund", "queue", "--json")
    if out.strip():  # a request of the demo by the first characters of its id
        request = json.loads(out.splitlines()[0])["disbursement_id"]
        code, out, err = run(capsys, "audit", "as-of", request[:8])
        assert code == 0, err
    code, _, err = run(capsys, "audit", "as-of", "MS-NOPE-X")
    assert code == 2 and "no case has the number MS-NOPE-X" in err


def test_a_command_imports_only_its_own_module():
    """`msafiri fund balances` must not pay at start-up for every other command's
    dependencies (audit signing, backups, NATS, the web server): the CLI imports a
    subcommand's module when it is used (msafiri/cli/lazy.py)."""
    import subprocess
    import sys

    from msafiri.cli.main import SUBCOMMANDS

    probe = (
        "import sys\n"
        "from msafiri.cli.main import cli\n"
        "import click\n"
        "cli.get_command(click.Context(cli), 'fund')\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('msafiri.cli.'))))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout.split()
    modules = {where.partition(":")[0] for where in SUBCOMMANDS.values()}
    assert "msafiri.cli.fund" in loaded
    assert sorted(modules & set(loaded)) == ["msafiri.cli.fund"]


# Service modules `fund balances` has no use for (msafiri/bootstrap.py: System
# makes each service on first use), and the migrations runner (the schema
# check lists migrations/ itself).
NOT_FOR_THE_BOOK = (
    "domain.cases.service",
    "domain.incidents.service",
    "domain.employers.service",
    "domain.claims.service",
    "domain.coverage.service",
    "domain.access.service",
    "domain.officers.service",
    "ledger.process",
    "yoyo",
)


def test_fund_balances_loads_only_what_the_book_needs(system, officers, settings):
    """Issue 17, item 1: a fresh process's `fund balances` pays for the book,
    not for every service of the composition root."""
    import os
    import subprocess
    import sys

    from tests.fund_helpers import open_fund

    open_fund(system, officers, grant_shillings=250_000)
    system.keep_current()
    system.close()
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print(' '.join(sorted(sys.modules)), file=sys.stderr))\n"
        "sys.argv = ['msafiri', 'fund', 'balances', '--json']\n"
        "from msafiri.cli.main import main\n"
        "main()\n"
    )
    env = {**os.environ, "MSAFIRI_DATABASE_URL": settings.database_url}
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    loaded = set(done.stderr.split())
    assert "ledger.service" in loaded and "ledger.book" in loaded  # it did read the book
    assert sorted(loaded & set(NOT_FOR_THE_BOOK)) == []
    assert '"debits_minor": 25000000' in done.stdout  # the grant, read from the book


def test_a_service_asked_for_by_two_threads_at_once_is_made_once(system, monkeypatch):
    """Two access-log recorders made by a race would leave one holding reads
    that are never flushed: the second thread waits for the first's."""
    import threading
    import time

    import msafiri.bootstrap as bootstrap

    made = []
    real = bootstrap.access_log_service

    def slow(*args, **kwargs):
        made.append(1)
        time.sleep(0.2)  # both threads are inside the first use together
        return real(*args, **kwargs)

    monkeypatch.setattr(bootstrap, "access_log_service", slow)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(system.access_log)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1
    assert len(seen) == 2 and seen[0] is seen[1] is system.access_log
