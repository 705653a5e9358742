"""An officer records a migrant's consent from the case's action menu (`a`),
and sees it on the case's timeline. On SQLite and PostgreSQL."""

from __future__ import annotations

from domain.cases.consent import ConsentRecorded
from tests import factories
from tests.tui.conftest import fill, settle, signed_in
from tests.tui.test_visible import screen_text
from tui.app.catalogue import actions_for
from tui.app.screens.actions import FormScreen
from tui.app.screens.case_view import CaseScreen


async def test_consent_is_recorded_from_the_case_action_menu(system, officers):
    migrant_id = factories.send_abroad(system, officers)
    async with signed_in(system, "attache", case=migrant_id) as (app, pilot):
        await pilot.press("a")
        await pilot.pause()
        assert "case: record consent" in screen_text(app)
        keys = [a.key for a in actions_for(app.session.role, "case")]
        await pilot.press(*["down"] * keys.index("case.consent"), "enter")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        assert "Scope" in screen_text(app)
        fill(app.screen, scope="phone_contact", given_on=str(factories.days_ago(3)))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        # On the case's timeline, in the officer's words.
        entries = [e for e in app.screen.timeline.values() if e.event_type == "ConsentRecorded"]
        assert [e.summary for e in entries] == ["Consent given: phone contact"]
    last = list(system.store.events.get(migrant_id))[-1]
    assert isinstance(last, ConsentRecorded)
    assert last.scope == "phone_contact" and last.actor_id == officers.attache.officer_id
