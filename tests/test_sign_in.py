"""Sign-in (issue 14 item 6), on SQLite and PostgreSQL: lockout counted in the
database across processes, the password policy, changing one's own password,
an administrator's reset forcing a change (service and CLI), the demo
password, and the access log's sign-in entries."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta

import pytest

from domain.errors import InvalidCommand, NotAuthorised
from domain.officers import commands as oc
from domain.officers.service import PasswordChangeRequired
from domain.values import Role, utcnow
from msafiri.bootstrap import build_system
from msafiri.demo.officers import DEMO_PASSWORD, ensure_demo_officers
from msafiri.settings import Settings
from tests.conftest import ADMIN_PASSWORD
from tests.test_fund_cli import run

PASSWORD = "attache walks to riyadh daily"
LOCKED = "too many failed attempts; try again in 15 minutes"


def own_password(system, officers, username: str, password: str = PASSWORD) -> None:
    system.officers.set_password(
        getattr(officers, username), oc.SetPassword(username=username, password=password)
    )


def log(system, username: str) -> list[tuple[str, str]]:
    return [(e["action"], e["outcome"]) for e in system.officers.records.entries(username)]


def _guess_wrong(database_url: str, username: str, attempts: int) -> list[str]:
    """One process guessing: its own system, as another machine would have."""
    system = build_system(Settings(database_url=database_url))
    answers = []
    try:
        for n in range(attempts):
            try:
                system.officers.sign_in(username, f"wrong guess number {n}")
                answers.append("signed in")
            except NotAuthorised as error:
                answers.append(str(error))
    finally:
        system.close()
    return answers


def test_two_processes_racing_wrong_passwords_lock_the_username(settings, system, officers):
    own_password(system, officers, "attache")
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(2) as pool:
        answers = pool.starmap(
            _guess_wrong, [(settings.database_url, "attache", 5)] * 2, chunksize=1
        )
    answers = answers[0] + answers[1]
    assert "signed in" not in answers
    # Ten wrong guesses between them: the fifth counted locked the username;
    # the rest met the lock, whichever process made them.
    assert set(answers) <= {"unknown username or wrong password", LOCKED}
    assert answers.count("unknown username or wrong password") == 4
    entries = log(system, "attache")
    assert entries.count(("lockout", "locked")) == 1
    failed = entries.count(("sign-in", "failed"))
    refused = entries.count(("sign-in", "refused-locked"))
    assert failed >= 5 and failed + refused == 10

    # The right password is refused while the lock lasts ...
    with pytest.raises(NotAuthorised, match=LOCKED):
        system.officers.sign_in("attache", PASSWORD)
    almost = utcnow() + timedelta(minutes=14, seconds=50)
    system.officers.clock = lambda: almost
    with pytest.raises(NotAuthorised, match=r"try again in 1 minute$"):
        system.officers.sign_in("attache", PASSWORD)
    # ... and accepted once it has expired, which clears the count.
    later = utcnow() + timedelta(minutes=16)
    system.officers.clock = lambda: later
    assert system.officers.sign_in("attache", PASSWORD).username == "attache"
    assert log(system, "attache")[-1] == ("sign-in", "succeeded")
    with pytest.raises(NotAuthorised, match="unknown username or wrong password"):
        system.officers.sign_in("attache", "one more wrong guess")


def test_an_unknown_username_locks_the_same_way(system, officers):
    # A lock that only known usernames got would tell which exist.
    for n in range(4):
        with pytest.raises(NotAuthorised, match="unknown username or wrong password"):
            system.officers.sign_in("nobody.here", f"guess {n}")
    with pytest.raises(NotAuthorised, match=LOCKED):
        system.officers.sign_in("nobody.here", "guess 5")
    entries = system.officers.records.entries("nobody.here")
    assert [e["officer_id"] for e in entries] == [None] * 6
    # Nothing was written to the event log for them.
    assert not system.store.exists(__import__("domain.ids").ids.officer_id("nobody.here"))


def test_failures_spread_over_longer_than_the_period_do_not_lock(system, officers):
    own_password(system, officers, "fund")
    start = utcnow()
    for n in range(8):
        moment = start + timedelta(minutes=4 * n)
        system.officers.clock = lambda moment=moment: moment
        with pytest.raises(NotAuthorised, match="wrong password"):
            system.officers.sign_in("fund", f"wrong guess {n}")
    assert system.officers.sign_in("fund", PASSWORD).username == "fund"


def test_weak_and_common_passwords_are_refused_with_the_field_named(system, officers):
    for weak, rule in (
        ("x" * 12, "too easy to guess"),
        ("password1234", "too easy to guess"),
        ("iloveyou1234", "too easy to guess"),
        ("msafiri20261", "too easy to guess"),  # the service's own name
        ("attache12345", "too easy to guess"),  # the officer's own username
        ("abcdefghijk", "at least 12 characters"),
    ):
        with pytest.raises(InvalidCommand, match=rule) as refused:
            own_password(system, officers, "attache", weak)
        assert refused.value.errors[0][0] == "password"
    with pytest.raises(InvalidCommand, match="new_password: is too easy to guess"):
        system.officers.change_password(
            "admin",
            oc.ChangePassword(current_password=ADMIN_PASSWORD, new_password="qwertyuiop12"),
        )
    with pytest.raises(InvalidCommand, match="password: is too easy"):
        system.officers.register(
            officers.admin,
            oc.RegisterOfficer(
                username="j.mwangi", full_name="John Mwangi", station="Doha",
                roles=(Role.AUDITOR,), password="123456789012",
            ),
        )  # fmt: skip
    assert not system.store.exists(__import__("domain.ids").ids.officer_id("j.mwangi"))


def test_an_officer_changes_their_own_password(system, officers):
    own_password(system, officers, "registrar")
    new = "registrar moves to kakamega"
    with pytest.raises(NotAuthorised, match="wrong password"):
        system.officers.change_password(
            "registrar", oc.ChangePassword(current_password="not my password", new_password=new)
        )
    with pytest.raises(InvalidCommand, match="must differ"):
        system.officers.change_password(
            "registrar", oc.ChangePassword(current_password=PASSWORD, new_password=PASSWORD)
        )
    system.officers.change_password(
        "registrar", oc.ChangePassword(current_password=PASSWORD, new_password=new)
    )
    with pytest.raises(NotAuthorised):
        system.officers.sign_in("registrar", PASSWORD)
    assert system.officers.sign_in("registrar", new).username == "registrar"
    assert ("password-change", "succeeded") in log(system, "registrar")


def test_an_administrators_reset_forces_a_change_at_the_next_sign_in(system, officers):
    own_password(system, officers, "auditor")
    temporary = "temporary pass for ruth njeri"
    system.officers.set_password(
        officers.admin, oc.SetPassword(username="auditor", password=temporary)
    )
    with pytest.raises(PasswordChangeRequired, match="change it first"):
        system.officers.sign_in("auditor", temporary)
    chosen = "ruth audits the fund books"
    system.officers.change_password(
        "auditor", oc.ChangePassword(current_password=temporary, new_password=chosen)
    )
    assert not system.officers.sign_in("auditor", chosen).must_change_password


def test_the_demo_password_is_only_for_demo_officers(system, officers):
    # A real installation: nobody may be given it, the administrator neither.
    for username, actor in (("attache", officers.attache), ("attache", officers.admin)):
        with pytest.raises(InvalidCommand, match="demo's published password"):
            system.officers.set_password(
                actor, oc.SetPassword(username=username, password=DEMO_PASSWORD)
            )


def test_the_demo_password_opens_demo_accounts_only(settings):
    demo = build_system(settings)
    try:
        ensure_demo_officers(demo)
        admin = demo.officers.sign_in("demo.admin", DEMO_PASSWORD)
        assert demo.officers.sign_in("demo.attache", DEMO_PASSWORD).username == "demo.attache"
        # In the demo's own database an officer outside the demo's accounts
        # cannot be given it either.
        from domain.model import Actor

        actor = Actor(officer_id=admin.id, role=Role.ADMINISTRATOR)
        with pytest.raises(InvalidCommand, match="demo's published password"):
            demo.officers.register(
                actor,
                oc.RegisterOfficer(
                    username="alice", full_name="Alice", station="HQ",
                    roles=(Role.AUDITOR,), password=DEMO_PASSWORD,
                ),
            )  # fmt: skip
    finally:
        demo.close()


def test_the_sign_in_records_say_who_when_what_and_how(system, officers):
    own_password(system, officers, "attache2")
    before = utcnow()
    with pytest.raises(NotAuthorised):
        system.officers.sign_in("attache2", "a wrong password", interface="tui")
    officer = system.officers.sign_in(
        "attache2", PASSWORD, role=Role.LABOUR_ATTACHE, interface="tui"
    )
    system.officers.signed_out(officer.id, "attache2", Role.LABOUR_ATTACHE, "idle")
    entries = system.officers.records.entries("attache2")
    assert [(e["action"], e["outcome"]) for e in entries] == [
        ("sign-in", "failed"),
        ("sign-in", "succeeded"),
        ("sign-out", "idle"),
    ]
    for entry in entries:
        assert entry["officer_id"] == str(officer.id)
        assert entry["connection"] == "terminal" and entry["interface"] == "tui"
        assert entry["recorded_at"] >= before.isoformat()
    assert [e["role"] for e in entries] == [None, "labour_attache", "labour_attache"]


def test_the_access_log_is_append_only(system, officers):
    with pytest.raises(NotAuthorised):
        system.officers.sign_in("admin", "not the admin password")
    from msafiri.bootstrap import connector

    conn = connector(system.settings, system.database)()
    try:
        for statement in ("UPDATE access_log SET outcome = 'succeeded'", "DELETE FROM access_log"):
            with pytest.raises(Exception, match="append-only"):
                conn.execute(statement)
            conn.rollback()
    finally:
        conn.close()
    assert log(system, "admin") == [("sign-in", "failed")]


def test_the_cli_refuses_commands_until_a_reset_password_is_changed(
    settings, system, officers, monkeypatch, capsys, tmp_path
):
    own_password(system, officers, "attache")
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    temporary = "temporary pass for peter otieno"
    admin = ("--officer", "admin", "--role", "administrator")
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", ADMIN_PASSWORD)
    code, _, err = run(capsys, *admin, "officer", "set-password", "username=attache",
                       f"password={temporary}")  # fmt: skip
    assert code == 0, err

    attache = ("--officer", "attache", "--role", "labour_attache")
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", temporary)
    # Any command acting as the officer (today: the writing ones) signs in.
    own = ("officer", "set-password", "username=attache", "password=peter sets his own now")
    code, out, err = run(capsys, *attache, *own)
    assert code != 0 and not out
    assert err.strip() == (
        "error: your password was reset: change it first with msafiri officer change-password"
    )

    new_file = tmp_path / "new"
    new_file.write_text("peter keeps a new passphrase\n")
    code, out, err = run(capsys, *attache, "officer", "change-password",
                         "--new-password-file", str(new_file))  # fmt: skip
    assert code == 0, err
    assert "password of attache changed" in out
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", "peter keeps a new passphrase")
    code, _, err = run(capsys, *attache, *own)
    assert code == 0, err
    # A common password is refused in one line naming the field.
    monkeypatch.setenv("MSAFIRI_OFFICER_PASSWORD", "peter sets his own now")
    new_file.write_text("password1234\n")
    code, _, err = run(capsys, *attache, "officer", "change-password",
                       "--new-password-file", str(new_file))  # fmt: skip
    assert code != 0 and err.startswith("error: new_password: is too easy to guess")


def test_the_access_log_is_not_rolled_back_while_it_holds_entries(system, officers):
    from projections.schema import pending_migrations, rollback

    with pytest.raises(NotAuthorised):
        system.officers.sign_in("admin", "not the admin password")
    with pytest.raises(Exception, match="would erase them"):
        rollback(system.database, ["0008_sign_in"])
    assert "0008_sign_in" not in pending_migrations(system.database)
    assert log(system, "admin") == [("sign-in", "failed")]
