"""Money claims in the terminal UI (issue 16), on SQLite and PostgreSQL: an
attaché opens a wage claim on an incident and records two recoveries, all by
keys, typed and shown in major units; a fund officer sees claims on
restricted incidents only as counts (small ones hidden, their text masked)."""

from __future__ import annotations

import functools
from uuid import UUID

from textual.widgets import DataTable

from domain.claims.events import ClaimRecoveryRecorded
from domain.viewer import Viewer
from projections.disclosure import MASK
from tests import factories
from tests.claims_helpers import open_claim, wage_incident
from tests.tui.conftest import cells, fill, settle, signed_in
from tests.tui.test_visible import screen_text
from tui.app.catalogue import actions_for
from tui.app.screens.actions import FormScreen
from tui.app.screens.case_view import CaseScreen
from tui.app.screens.statistics import StatisticsScreen


async def choose(pilot, app, key: str, target: str) -> None:
    """Press `c` on the case and pick the action `key` from the claims menu."""
    await pilot.press("c")
    await pilot.pause()
    role = app.session.role
    on_case = [a.key for a in actions_for(role, "case") if a.group in ("claim", "coverage")]
    on_claim = [a.key for a in actions_for(role, "claim")] if target == "claim" else []  # type: ignore[arg-type]
    keys = on_claim + on_case
    await pilot.press(*["down"] * keys.index(key), "enter")
    await settle(pilot)
    assert isinstance(app.screen, FormScreen), screen_text(app)


async def test_an_attache_records_a_wage_claim_and_two_recoveries_by_keys(system, officers):
    migrant_id = factories.send_abroad(system, officers)
    incident_id = wage_incident(system, officers, migrant_id)
    async with signed_in(system, "attache", case=migrant_id) as (app, pilot):
        # The incident is selected in the Incidents tab; `c` opens the claims menu.
        await choose(pilot, app, "claim.open", "case")
        form = app.screen
        assert "Amount claimed" in screen_text(app)
        fill(
            form,
            kind="unpaid_wages",
            amount_claimed={"amount": "6,000.00", "currency": "SAR"},
            opened_on=str(factories.days_ago(40)),
        )
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen), screen_text(app)
        table = app.screen.query_one("#claims", DataTable)
        assert cells(table, 0)[3:6] == ["6,000.00 SAR", "0.00 SAR", "6,000.00 SAR"]
        # Two recoveries, on the claim now selected in the Claims tab.
        for amount in ("1,500.00", "2000.50"):
            await choose(pilot, app, "claim.recover", "claim")
            fill(
                app.screen,
                amount={"amount": amount, "currency": "SAR"},
                channel="mission",
                received_on=str(factories.days_ago(3)),
            )
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert isinstance(app.screen, CaseScreen), screen_text(app)
        table = app.screen.query_one("#claims", DataTable)
        assert cells(table, 0)[3:6] == ["6,000.00 SAR", "3,500.50 SAR", "2,499.50 SAR"]
        text = screen_text(app)
        assert "3,500.50 SAR" in text and "2,499.50 SAR" in text
    viewer = Viewer.of(officers.attache)
    [claim] = system.read_models.queries.claims.for_incident(viewer, str(incident_id))
    events = system.store.events.get(UUID(claim.claim_id))
    recoveries = [e for e in events if isinstance(e, ClaimRecoveryRecorded)]
    # Stored in minor units, as typed in major units.
    assert [r.amount.amount_minor for r in recoveries] == [150_000, 200_050]


async def test_a_fund_officer_sees_only_counts_for_restricted_claims(system, officers, monkeypatch):
    # A wage claim (not restricted) through one agency ...
    wages = factories.send_abroad(system, officers)
    open_claim(system, officers.attache, wages, wage_incident(system, officers, wages))
    # ... and an end-of-service claim on an injury (restricted) through another.
    other = functools.partial(factories.contract, recruitment_agency="Coast Overseas Ltd")
    monkeypatch.setattr(factories, "contract", other)
    injured = factories.send_abroad(
        system, officers, national_id="29999999", passport_number="AK7654321"
    )
    incident = wage_incident(system, officers, injured, category="injury")
    open_claim(
        system,
        officers.attache2,
        injured,
        incident,
        kind="end_of_service_benefits",
        notes="Fell from the balcony; employer refuses to pay.",
    )
    async with signed_in(system, "fund") as (app, pilot):
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, StatisticsScreen)
        by_agency = next(t for t in app.screen.claim_tables if t.dimension == "agency")
        rows = {row[0]: row for row in by_agency.rows}
        # The wage claim's row is shown in full ...
        assert rows["Nairobi Gulf Recruiters Ltd"][2:5] == (1, 0, 1)
        # ... the restricted one only as hidden counts, its amounts hidden with them.
        # (a zero stays shown: it gives nothing away, and its amounts are zero).
        hidden = rows["Coast Overseas Ltd"]
        assert [hidden[n] for n in (2, 4, 5, 7, 8, 10)] == [None] * 6, hidden
        assert [hidden[n] for n in (3, 6, 9)] == [0, 0, 0]
        assert "hidden: fewer than 5" in screen_text(app)
        # On the case, the claim is there with its amounts; its words are masked.
        app.push_screen(CaseScreen(injured))
        await settle(pilot)
        [claim] = app.screen.claims
        assert claim.notes == MASK and claim.claimed_minor == 600_000
        assert "Fell from the balcony" not in screen_text(app)
