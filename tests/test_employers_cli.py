"""`msafiri employer ...` / `agency ...` as officers use them (issue 16), on
SQLite and PostgreSQL: the demo's registered employers are found by a
similar name, a near-duplicate is refused until the officer says it is not
one, history at a glance, the watchlist maker-checker, and a change of
employer to a listed one refused until justified."""

from __future__ import annotations

import json

from tests.test_cli_twin import ATTACHE, _on_site_case, demo  # noqa: F401 - the fixture
from tests.test_fund_cli import run

ATTACHE2 = ("--officer", "demo.attache2", "--role", "labour_attache")
SUPERVISOR = ("--officer", "demo.supervisor", "--role", "supervisor")
REGISTRAR = ("--officer", "demo.registrar", "--role", "registration_officer")
FUND = ("--officer", "demo.fund", "--role", "fund_officer")
DPO = ("--officer", "demo.dpo", "--role", "data_protection_officer")


def test_employer_registry_from_the_command_line(demo, capsys):  # noqa: F811
    code, out, err = run(capsys, *ATTACHE, "employer", "search", "al harbi hsehold",
                         "--country", "SA", "--json")  # fmt: skip
    assert code == 0, err
    found = [json.loads(line) for line in out.splitlines()]
    assert found[0]["name"] == "Al-Harbi household" and found[0]["country"] == "SA"
    harbi = found[0]["id"]

    # A near-duplicate is offered, not made; --not-duplicate makes it.
    new = ("employer", "register", "name=Al Harbi Household.", "kind=household",
           "country=SA", "city=Riyadh", "sector=domestic_work")  # fmt: skip
    code, _, err = run(capsys, *REGISTRAR, *new)
    assert code == 2 and "similar employers in SA" in err and harbi[:8] in err
    code, _, err = run(capsys, *REGISTRAR, *new, "--not-duplicate")
    assert code != 0 and "already registered" in err  # the same name key: refused anyway
    code, out, err = run(capsys, *REGISTRAR, *new[:2], "name=Harbi family", *new[3:],
                         "--not-duplicate", "--json")  # fmt: skip
    assert code == 0, err
    dup = json.loads(out)["employer_id"]
    code, out, err = run(capsys, *REGISTRAR, "employer", "merge", f"party_id={dup[:8]}",
                         f"into_id={harbi[:8]}", "reason=same household")  # fmt: skip
    assert code == 0, err

    # History at a glance (a fund officer reads it too: counts only); a
    # data-protection officer's work does not need it.
    code, out, err = run(capsys, *ATTACHE, "employer", "show", dup[:8], "--json")
    assert code == 0, err
    history = json.loads(out)
    assert history["id"] == harbi and history["migrants_placed"] > 0
    assert dup in history["merged_ids"] and history["open_claims"] == 0
    code, out, err = run(capsys, *FUND, "employer", "show", harbi[:8])
    assert code == 0 and "migrants placed" in out, err
    code, _, err = run(capsys, *DPO, "employer", "show", harbi[:8])
    assert code != 0 and "may not" in err

    # Maker-checker: the proposer cannot approve, a supervisor can.
    code, _, err = run(capsys, *ATTACHE, "employer", "propose-listing", f"party_id={harbi[:8]}",
                       "reason=Four abuse incidents")  # fmt: skip
    assert code == 0, err
    code, _, err = run(capsys, *ATTACHE, "employer", "approve-watchlist", f"party_id={harbi[:8]}")
    assert code != 0 and "you proposed" in err
    code, _, err = run(capsys, *SUPERVISOR, "employer", "approve-watchlist",
                       f"party_id={harbi[:8]}")  # fmt: skip
    assert code == 0, err
    code, out, _ = run(capsys, *ATTACHE, "employer", "show", harbi[:8])
    assert "watchlist: listed: Four abuse incidents" in out

    # A change of employer to the listed one: warned, then justified.
    case_number = _on_site_case(capsys)
    code, out, _ = run(capsys, "case", "show", case_number, "--json")
    change = ("case", "change-employer", f"migrant_id={case_number}",
              f"employer_id={harbi[:8]}", "reason=Transferred by the agency",
              "changed_on=2026-11-01")  # fmt: skip
    code, _, err = run(capsys, *ATTACHE, *change)
    assert code == 2 and "justification" in err and "Four abuse incidents" in err
    code, _, err = run(capsys, *ATTACHE, *change,
                       "justification=Only employer in reach; weekly calls agreed")  # fmt: skip
    assert code == 0, err
