"""How the officer is connected — terminal, SSH (OpenSSH's SSH_CONNECTION)
or a browser (`msafiri serve` sets MSAFIRI_CONNECTION for its app
processes) — is on the status screen and in the access log's sign-in and
sign-out entries."""

from __future__ import annotations

import pytest

from tests.tui.conftest import SIZE, make_app, settle, sign_in
from tests.tui.test_visible import screen_text

WAYS = {
    "terminal": ({}, {}, "terminal"),
    "ssh": ({"SSH_CONNECTION": "198.51.100.7 52044 10.0.0.5 22"}, {}, "ssh from 198.51.100.7"),
    "browser": (
        {},
        {"connection": "browser", "connection_from": "203.0.113.9"},
        "browser from 203.0.113.9",
    ),
}


@pytest.mark.parametrize("way", sorted(WAYS))
async def test_status_and_access_log_say_how_the_officer_is_connected(
    system, officers, monkeypatch, way
):
    environment, settings, shown = WAYS[way]
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    system.settings = system.settings.model_copy(update=settings)
    app = make_app(system)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await sign_in(pilot, "attache")
        assert app.session is not None
        await pilot.press("f2")
        await settle(pilot)
        rows = [" ".join(line.split()) for line in screen_text(app).split("\n")]
        assert any(f"connected by {shown} " in row for row in rows), rows
        await pilot.press("escape")
        await pilot.press("ctrl+l")
        await settle(pilot)
    entries = [
        (e["action"], e["outcome"], e["interface"], e["connection"])
        for e in system.officers.records.entries("attache")
    ]
    kind = way
    # The search screen's first read (issue 14's access log) is the officer's
    # too, and over the same connection.
    assert entries == [
        ("sign-in", "succeeded", "tui", kind),
        ("search", "succeeded", "tui", kind),
        ("sign-out", "by-officer", "tui", kind),
    ]


async def test_an_idle_browser_tab_is_signed_out_and_then_ends(system, officers):
    """In a browser the app process ends after the idle sign-out (and a tab
    that never signs in ends as well): an idle tab must not hold one of
    `msafiri serve`'s few slots. A terminal's TUI stays on the sign-in screen."""
    from tests.tui.test_sign_in import MovableClock
    from tui.app.app import MsafiriApp
    from tui.app.screens.sign_in import SignInScreen

    system.settings = system.settings.model_copy(update={"connection": "browser"})
    clock = MovableClock()
    app = MsafiriApp(system=system, blink=False, follow=False, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await sign_in(pilot, "attache")
        clock.move(minutes=15)
        app.sign_out_if_idle()
        await settle(pilot)
        assert app.session is None and isinstance(app.screen, SignInScreen)
        assert app.is_running
        app.sign_out_if_idle()  # still nobody at the keys: the tab's app ends
        await pilot.pause()
        assert not app.is_running
    entries = [
        (e["action"], e["outcome"], e["connection"])
        for e in system.officers.records.entries("attache")
    ]
    assert entries == [
        ("sign-in", "succeeded", "browser"),
        ("search", "succeeded", "browser"),
        ("sign-out", "idle", "browser"),
    ]


async def test_a_terminal_tui_stays_on_the_sign_in_screen_when_idle(system, officers):
    from tests.tui.test_sign_in import MovableClock
    from tui.app.app import MsafiriApp
    from tui.app.screens.sign_in import SignInScreen

    clock = MovableClock()
    app = MsafiriApp(system=system, blink=False, follow=False, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        clock.move(minutes=60)
        app.sign_out_if_idle()
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, SignInScreen)
