"""The approval queue as a fund officer sees it, driven by keys only, at
80x24, 100x30 and 160x48: the decisive columns whole on the screen, filter
and sort by keys, the cursor on the next request after a decision, officers
by name and data shown literally."""

from __future__ import annotations

import io
import re
from typing import Any
from uuid import uuid4

import pytest
from rich.console import Console
from textual.widgets import DataTable

from domain.viewer import NOBODY
from ledger import commands as lc
from tests import fund_helpers
from tests.tui.conftest import PASSWORD, make_app, settle
from tui.app.screens.actions import FormScreen
from tui.app.screens.fund import FundHomeScreen

SIZES = [(80, 24), (100, 30), (160, 48)]

# (name, benefit, shillings): requested in this order, so this is the age order.
REQUESTS = [
    ("Achieng Odhiambo", "medical", 139_201),  # two approvers (above 100,000)
    ("Bahati Wekesa", "shelter", 20_000),
    ("Chebet Kiprono", "legal_aid", 65_000),
    ("Dorcas Njoroge", "repatriation", 140_000),  # a second request: not eligible
    ("Esther Nyambura", "medical", 12_000),
]


@pytest.fixture
def queue(system, officers) -> list[dict[str, Any]]:
    """Five requests by the attaché, waiting for the fund officers."""
    fund_helpers.open_fund(system, officers, grant_shillings=2_000_000)
    made = []
    for number, (name, category, shillings) in enumerate(REQUESTS, start=1):
        migrant_id, incident_id = fund_helpers.incident_abroad(
            system,
            officers,
            full_name=name,
            national_id=f"3100000{number}",
            passport_number=f"AK100000{number}",
        )
        if name == "Dorcas Njoroge":
            # Not eligible: asked while another repatriation request for the
            # same incident was open (that one is then rejected).
            first = fund_helpers.request(
                system, officers.attache, migrant_id, incident_id, 1_000, category=category
            )
        disbursement_id = fund_helpers.request(
            system, officers.attache, migrant_id, incident_id, shillings, category=category
        )
        if name == "Dorcas Njoroge":
            system.ledger.reject(
                officers.fund,
                lc.RejectDisbursement(
                    command_id=uuid4(), disbursement_id=first, reason="Asked for twice."
                ),
            )
        case = system.cases.get(migrant_id)
        made.append({"name": name, "id": str(disbursement_id), "case": case.case_number})
    return made


def screen_text(app) -> str:
    """What the terminal shows, line by line."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def rendered(renderable) -> str:
    console = Console(width=120, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def words_seen(app) -> str:
    """The screen's words in reading order (a line that wraps still reads whole)."""
    return " ".join(screen_text(app).split())


def inside(app, widget) -> bool:
    return app.screen.region.contains_region(widget.region) and widget.region.area > 0


async def type_text(pilot, text: str) -> None:
    for ch in text:
        await pilot.press("space" if ch == " " else ch)


async def sign_in_by_keys(pilot, username: str) -> None:
    await type_text(pilot, username)
    await pilot.press("enter")
    await type_text(pilot, PASSWORD)
    await pilot.press("enter")
    await settle(pilot)
    await settle(pilot)


def shown_names(app) -> list[str]:
    return [row.full_name for row in app.screen.query_one("#queue").requests]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_decisive_columns_are_whole_on_the_screen(system, queue, size):
    app = make_app(system)
    app.read_side.catch_up()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await sign_in_by_keys(pilot, "fund")
        assert isinstance(app.screen, FundHomeScreen)
        table = app.screen.query_one("#queue", DataTable)
        assert inside(app, table) and table.row_count == len(REQUESTS)
        text = screen_text(app)
        header = next(line for line in text.splitlines() if "Amount" in line)
        for label in ("Name", "Benefit", "Amount", "Elig.", "Appr."):
            assert label in header, (label, header)
        # Every column the table has lies inside the table's width.
        assert sum(c.get_render_width(table) for c in table.columns.values()) <= table.size.width
        # Amounts whole, with their currency; eligibility and approvals readable.
        for amount in ("139,201.00 KES", "20,000.00 KES", "140,000.00 KES", "12,000.00 KES"):
            assert amount in text, amount
        assert "✗ NO" in text and "✓ yes" in text and "0/2" in text and "0/1" in text
        if size[0] >= 100:
            for name, _, _ in REQUESTS:
                assert name in text, name
        # The request's detail, with its requester by name, is on the screen too.
        pane = app.screen.query_one("#tab-queue .detail-pane")
        assert inside(app, pane)
        assert "by Peter Otieno (labour attache)" in screen_text(app)


async def test_filter_and_sort_by_keys(system, queue):
    app = make_app(system)
    app.read_side.catch_up()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await sign_in_by_keys(pilot, "fund")
        assert shown_names(app) == [name for name, _, _ in REQUESTS]  # oldest first

        # By name, as typed.
        await pilot.press("slash")
        await type_text(pilot, "bahati")
        await settle(pilot)
        assert shown_names(app) == ["Bahati Wekesa"]
        # By case number, without its dashes; the filter box keeps focus.
        await pilot.press("ctrl+u")
        await type_text(pilot, queue[2]["case"].replace("-", "").lower())
        await settle(pilot)
        assert shown_names(app) == ["Chebet Kiprono"]
        await pilot.press("ctrl+u", "enter")
        await settle(pilot)
        assert len(shown_names(app)) == len(REQUESTS)
        assert app.screen.focused is app.screen.query_one("#queue")

        # By benefit: b steps through them (all, repatriation, remains, medical...).
        await pilot.press("b", "b", "b")
        await settle(pilot)
        assert shown_names(app) == ["Achieng Odhiambo", "Esther Nyambura"]
        assert "b benefit: medical" in words_seen(app)
        for _ in range(7):  # round to "all" again
            await pilot.press("b")
        await settle(pilot)
        assert len(shown_names(app)) == len(REQUESTS)

        # By eligibility: eligible only, then not eligible, then all.
        await pilot.press("l")
        await settle(pilot)
        assert "Dorcas Njoroge" not in shown_names(app) and len(shown_names(app)) == 4
        await pilot.press("l")
        await settle(pilot)
        assert shown_names(app) == ["Dorcas Njoroge"]
        assert "l eligibility: not eligible" in words_seen(app)
        await pilot.press("l")
        await settle(pilot)

        # Sorted by amount: largest first.
        await pilot.press("s")
        await settle(pilot)
        assert shown_names(app) == [
            "Dorcas Njoroge",
            "Achieng Odhiambo",
            "Chebet Kiprono",
            "Bahati Wekesa",
            "Esther Nyambura",
        ]
        assert "s sort: largest amount first" in words_seen(app)
        await pilot.press("s")
        await settle(pilot)
        assert shown_names(app) == [name for name, _, _ in REQUESTS]


async def approve_highlighted(pilot) -> None:
    await pilot.press("a")
    await pilot.pause()
    assert isinstance(pilot.app.screen, FormScreen)
    await pilot.press("ctrl+s")
    await settle(pilot)
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_after_a_decision_the_cursor_is_on_the_next_request(system, queue, size):
    app = make_app(system)
    app.read_side.catch_up()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await sign_in_by_keys(pilot, "fund")
        table = app.screen.query_one("#queue")
        # Row 1 (shelter, one approver): approved, it leaves the queue, and
        # the cursor is on what was row 2 - not back on row 0.
        await pilot.press("down")
        assert table.selected.full_name == "Bahati Wekesa"
        await approve_highlighted(pilot)
        assert isinstance(app.screen, FundHomeScreen)
        assert "Bahati Wekesa" not in shown_names(app)
        assert table.selected.full_name == "Chebet Kiprono"

        # Row 0 (two approvers): it stays with 1/2, the cursor moves on.
        await pilot.press("up")
        assert table.selected.full_name == "Achieng Odhiambo"
        await approve_highlighted(pilot)
        assert shown_names(app)[0] == "Achieng Odhiambo"
        assert table.selected.full_name == "Chebet Kiprono"
        # The approval is shown by the approver's name, not an id.
        await pilot.press("up")
        await settle(pilot)
        detail = rendered(app.screen.query_one("#detail").content)
        assert "Faith Chebet" in detail and not re.search(r"officer [0-9a-f]{8}", detail)
        assert "1/2" in screen_text(app)

        # The last row decided: the cursor stays on the last one left.
        for _ in range(table.row_count):
            await pilot.press("down")
        last = table.selected.full_name
        before = shown_names(app)[-2]
        await approve_highlighted(pilot)
        assert last not in shown_names(app)
        assert table.selected.full_name == before


async def test_enter_opens_the_request_and_a_decision_there_moves_on(system, queue):
    from tui.app.screens.fund_request import RequestScreen

    app = make_app(system)
    app.read_side.catch_up()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await sign_in_by_keys(pilot, "fund")
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, RequestScreen)
        text = screen_text(app)
        assert "Chebet Kiprono" in text and "65,000.00 KES" in text
        title = app.screen.query_one("#request-title")
        assert inside(app, title)
        await approve_highlighted(pilot)
        assert isinstance(app.screen, FundHomeScreen)
        assert app.screen.query_one("#queue").selected.full_name == "Dorcas Njoroge"


async def test_data_in_the_queue_and_books_is_shown_literally(system, officers):
    from ledger.chart import BANK

    fund_helpers.open_fund(system, officers)
    migrant_id, incident_id = fund_helpers.incident_abroad(system, officers)
    payee = "[b]x[/b] :bank: [link=http://x.test]here[/link]"
    fund_helpers.request(system, officers.attache, migrant_id, incident_id, 1_000, payee=payee)
    app = make_app(system)
    app.read_side.catch_up()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await sign_in_by_keys(pilot, "fund")
        assert payee in screen_text(app)
        # To the balances tab: shift+tab from the queue to the filter box, to the tabs.
        await pilot.press("shift+tab", "shift+tab", "right", "right")
        await settle(pilot)
        assert app.screen.query_one("#fund-tabs").active == "tab-balances"
        assert BANK in screen_text(app) and "🏦" not in screen_text(app)


def test_the_queue_query_filters_sorts_and_pages(system, queue):
    """The read API under the desk, on both backends: every filter, both
    orders, and pages of one row that add up to the whole queue."""
    system.keep_current()
    q = system.read_models.queries

    def names(**kw) -> list[str]:
        return [r.full_name for r in q.approval_queue(limit=50, viewer=NOBODY, **kw).rows]

    def paged(**kw) -> list[str]:
        out, after = [], None
        while True:
            page = q.approval_queue(limit=1, after=after, viewer=NOBODY, **kw)
            out += [r.full_name for r in page.rows]
            if page.after is None:
                return out
            after = page.after

    by_age = [name for name, _, _ in REQUESTS]
    by_amount = [name for name, _, _ in sorted(REQUESTS, key=lambda r: -r[2])]
    assert names() == paged() == by_age
    assert names(sort="amount") == paged(sort="amount") == by_amount
    assert paged(sort="amount", category="medical") == ["Achieng Odhiambo", "Esther Nyambura"]
    assert names(text="NYAM") == ["Esther Nyambura"]
    assert names(text="odhiambo achieng") == ["Achieng Odhiambo"]  # every word, any order
    number = queue[3]["case"]
    assert names(text=number) == names(text=number.replace("-", "").lower()) == ["Dorcas Njoroge"]
    assert names(text="%") == names(text="_") == []  # typed literally, not wildcards
    assert names(eligible=False) == ["Dorcas Njoroge"]
    assert len(names(eligible=True)) == 4
    assert names(category="shelter", eligible=True) == ["Bahati Wekesa"]
    with pytest.raises(ValueError, match="sort"):
        q.approval_queue(sort="name", viewer=NOBODY)
