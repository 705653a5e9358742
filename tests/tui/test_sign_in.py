"""Signing in, and the first run on an empty database."""

from __future__ import annotations

from textual.widgets import OptionList, Static

from domain.officers.commands import GrantRole
from domain.values import Role
from tests.tui.conftest import SIZE, make_app, settle, sign_in
from tui.app.screens.case_search import CaseSearchScreen
from tui.app.screens.first_run import FirstRunScreen
from tui.app.screens.sign_in import SignInScreen


async def test_first_run_creates_the_administrator_then_signs_in(system):
    app = make_app(system)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        # An empty database opens on the first-run walk-through.
        assert isinstance(app.screen, FirstRunScreen)
        app.screen.query_one("#f-username").value = "amina"
        app.screen.query_one("#f-full_name").value = "Amina Hassan"
        app.screen.query_one("#f-password").value = "short"
        await pilot.click("#save")
        await pilot.pause()
        # A too-short password is refused beside its field; nothing stored.
        assert "at least 10" in str(app.screen.query_one("#e-password", Static).render())
        assert not system.officers.is_installed()

        app.screen.query_one("#f-password").value = "a long enough secret"
        await pilot.click("#save")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert system.officers.is_installed()
        # On to the sign-in screen, username filled in.
        assert isinstance(app.screen, SignInScreen)
        assert app.screen.query_one("#username").value == "amina"

        await sign_in(pilot, "amina", "a long enough secret")
        assert app.session is not None and app.session.role is Role.ADMINISTRATOR


async def test_wrong_password_is_refused_beside_the_form(system, officers):
    app = make_app(system)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, SignInScreen)
        await sign_in(pilot, "attache", "not the password")
        assert app.session is None
        error = str(app.screen.query_one("#signin-error", Static).render())
        assert "unknown username or wrong password" in error


async def test_a_case_worker_lands_on_case_search(system, officers):
    app = make_app(system)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await sign_in(pilot, "attache")
        assert app.session.role is Role.LABOUR_ATTACHE
        assert isinstance(app.screen, CaseSearchScreen)


async def test_an_officer_with_two_roles_chooses_one(system, officers):
    system.officers.grant_role(
        officers.admin,
        GrantRole(username="reintegrator", role=Role.AUDITOR, reason="covers the audit desk"),
    )
    app = make_app(system)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await sign_in(pilot, "reintegrator")
        assert app.session is None
        roles = app.screen.query_one("#roles", OptionList)
        labels = [str(roles.get_option_at_index(i).prompt) for i in range(roles.option_count)]
        assert labels == ["reintegration officer", "auditor"]
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.session.role is Role.AUDITOR


# --- issue 14 item 6: lockout, idle sign-out, changing passwords -------------


class MovableClock:
    def __init__(self):
        from domain.values import utcnow

        self.now = utcnow()

    def __call__(self):
        return self.now

    def move(self, **delta) -> None:
        from datetime import timedelta

        self.now += timedelta(**delta)


async def test_an_idle_session_is_signed_out_after_the_limit(system, officers):
    from tui.app.app import MsafiriApp

    clock = MovableClock()
    app = MsafiriApp(system=system, blink=False, follow=False, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await sign_in(pilot, "attache")
        assert app.session is not None
        # 14 minutes without a key: still signed in; a key press starts again.
        clock.move(minutes=14)
        app.sign_out_if_idle()
        assert app.session is not None
        await pilot.press("tab")
        clock.move(minutes=14)
        app.sign_out_if_idle()
        assert app.session is not None
        # 15 minutes after the last key: signed out, back on the sign-in screen.
        clock.move(minutes=1)
        app.sign_out_if_idle()
        await settle(pilot)
        assert app.session is None
        assert isinstance(app.screen, SignInScreen)
    entries = [
        (e["action"], e["outcome"], e["role"], e["interface"])
        for e in system.officers.records.entries("attache")
        if e["action"] != "search"  # the home screen's listing is a read, logged too
    ]
    assert entries == [
        ("sign-in", "succeeded", "labour_attache", "tui"),
        ("sign-out", "idle", "labour_attache", "tui"),
    ]


async def test_repeated_failures_lock_the_username_on_the_sign_in_screen(system, officers):
    from tests.tui.conftest import PASSWORD

    app = make_app(system)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()

        async def attempt(password: str) -> str:
            # Enter in the password field: clicks this close together would
            # meet the button's 0.2 s "active" effect, which ignores presses.
            app.screen.query_one("#username").value = "fund"
            app.screen.query_one("#password").value = password
            app.screen.query_one("#password").focus()
            await pilot.press("enter")
            await settle(pilot)
            return str(app.screen.query_one("#signin-error", Static).render())

        for n in range(4):
            assert "unknown username or wrong password" in await attempt(f"wrong guess {n}")
        assert "too many failed attempts; try again in 15 minutes" in await attempt("guess 5")
        # The right password, while locked.
        assert "too many failed attempts" in await attempt(PASSWORD)
        assert app.session is None
    entries = [(e["action"], e["outcome"]) for e in system.officers.records.entries("fund")]
    assert entries == [("sign-in", "failed")] * 5 + [
        ("lockout", "locked"),
        ("sign-in", "refused-locked"),
    ]


async def test_a_reset_password_is_changed_before_anything_else(system, officers):
    from domain.officers.commands import SetPassword
    from tui.app.screens.change_password import ChangePasswordScreen

    temporary = "temporary pass for peter"
    system.officers.set_password(
        officers.admin, SetPassword(username="attache", password=temporary)
    )
    app = make_app(system)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await sign_in(pilot, "attache", temporary)
        assert app.session is None
        assert isinstance(app.screen, ChangePasswordScreen) and app.screen.forced
        # A common password is refused beside its field.
        app.screen.query_one("#new").value = "password1234"
        app.screen.query_one("#again").value = "password1234"
        await pilot.click("#change")
        await settle(pilot)
        assert "too easy to guess" in str(app.screen.query_one("#e-new_password").render())
        chosen = "peter picks his own words"
        app.screen.query_one("#new").value = chosen
        app.screen.query_one("#again").value = chosen
        app.screen.query_one("#again").focus()
        await pilot.press("enter")
        await settle(pilot)
        # On into the session, as a normal sign-in would go.
        assert app.session is not None and app.session.username == "attache"
        assert isinstance(app.screen, CaseSearchScreen)
    assert system.officers.sign_in("attache", chosen).must_change_password is False


async def test_an_officer_changes_their_password_from_the_palette(system, officers):
    from tests.tui.conftest import PASSWORD
    from tui.app.screens.change_password import ChangePasswordScreen

    app = make_app(system)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await sign_in(pilot, "auditor")
        titles = {c.title: c for c in app.get_system_commands(app.screen)}
        titles["officer: change my password"].callback()
        await pilot.pause()
        assert isinstance(app.screen, ChangePasswordScreen) and not app.screen.forced
        chosen = "ruth chooses new words"
        app.screen.query_one("#current").value = PASSWORD
        app.screen.query_one("#new").value = chosen
        app.screen.query_one("#again").value = chosen + " typo"
        await pilot.click("#change")
        await settle(pilot)
        assert "differ" in str(app.screen.query_one("#password-error").render())
        app.screen.query_one("#again").value = chosen
        # Enter in the last field (a second click this soon would meet the
        # button's 0.2 s "active" effect, which ignores presses).
        app.screen.query_one("#again").focus()
        await pilot.press("enter")
        await settle(pilot)
        shown = [str(e.render()) for e in app.screen.query(".field-error")]
        assert not isinstance(app.screen, ChangePasswordScreen), shown
        assert app.session is not None
    assert system.officers.sign_in("auditor", chosen).username == "auditor"
