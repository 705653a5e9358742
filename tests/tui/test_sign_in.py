"""Signing in, and the first run on an empty database."""

from __future__ import annotations

from textual.widgets import OptionList, Static

from domain.officers.commands import GrantRole
from domain.values import Role
from tests.tui.conftest import SIZE, make_app, sign_in
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
