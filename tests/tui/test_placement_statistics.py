"""Incidents per 100 placements on the statistics screen (issue 16 item 6),
on SQLite and PostgreSQL: opened with F3 and scrolled to the end by keys,
the agency and employer tables are on screen - registered names, the
households in one unnamed row, the small restricted count hidden."""

from __future__ import annotations

import re

from tests.test_placement_statistics import history
from tests.tui.conftest import settle, signed_in
from tests.tui.test_visible import screen_text
from tui.app.screens.statistics import StatisticsScreen


async def test_the_statistics_screen_shows_incidents_per_100_placements(system, officers):
    history(system, officers)
    async with signed_in(system, "fund") as (app, pilot):
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, StatisticsScreen)
        await pilot.press("end")
        await settle(pilot)
        text = screen_text(app)
        assert "Incidents per 100 placements by agency" in text, text
        assert "Incidents per 100 placements by employer" in text, text
        # Nairobi Gulf: 3 placements, no restricted incident, 6 others: 200 per 100.
        assert re.search(r"Nairobi Gulf Recruiters Ltd\s*│\s*KE\s*│\s*3\s*│\s*0\s*│\s*6\s*│"
                         r"\s*6\s*│\s*200\.0", text), text  # fmt: skip
        # Coast Overseas (its merged duplicate's migrant included): the one
        # injury hidden with its complement; the total and its rate shown.
        assert re.search(r"Coast Overseas Recruitment\s*│\s*KE\s*│\s*2\s*│\s*·\s*│\s*·\s*│"
                         r"\s*6\s*│\s*300\.0", text), text  # fmt: skip
        assert "Coast Overseas Recruiting" not in text
        # The company by name; the households only in aggregate.
        assert "Gulf Trading Co." in text and "households (2)" in text
        assert "Al-Harbi" not in text and "Al-Otaibi" not in text
        assert "hidden: fewer than 5 incidents of a restricted category" in text
