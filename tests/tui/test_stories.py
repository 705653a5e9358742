"""The three stories of issue 11, end to end through the real screens, by key
presses only, at 80x24, 100x30 and 160x48 (on SQLite and PostgreSQL):

1. an attaché opens a case, reports an incident and requests emergency
   assistance (120,000.00 KES: above the two-approver threshold);
2. two fund officers approve it, the second pays it;
3. an auditor finds the case and replays it to the payment.

At every form field the test reached with tab, the field's label is on the
screen, and so is the Save button; the stored events carry what was typed."""

from __future__ import annotations

from uuid import UUID

import pytest
from textual.widgets import DataTable, Label, OptionList, Select

from tests import factories, fund_helpers
from tests.tui.conftest import make_app, settle
from tests.tui.test_queue import type_text, words_seen
from tui.app.screens.actions import FormScreen
from tui.app.screens.audit import WhoDidWhatScreen
from tui.app.screens.case_view import CaseScreen
from tui.app.screens.fund import FundHomeScreen
from tui.app.screens.replay import ReplayScreen
from tui.app.screens.sign_in import SignInScreen

SIZES = [(80, 24), (100, 30), (160, 48)]


def on_screen(app, widget) -> bool:
    region = widget.region
    return bool(region.area) and app.screen.region.contains_region(region)


def check_focused_field(app) -> None:
    """The focused field's label (or the Save button itself) is on the screen."""
    focused = app.focused
    assert focused is not None and focused.id, focused
    if focused.id == "save":
        assert on_screen(app, focused), "Save"
        return
    name = focused.id.removeprefix("f-").removesuffix("-amount").removesuffix("-currency")
    label = app.screen.query_one(f"#l-{name}", Label)
    assert on_screen(app, focused), focused.id
    assert on_screen(app, label), str(label.render())


async def tab(pilot, times: int = 1) -> None:
    for _ in range(times):
        await pilot.press("tab")
        await pilot.pause()
        check_focused_field(pilot.app)


async def choose(pilot, value: str) -> None:
    """Open the focused select, arrow down to `value`, enter."""
    select = pilot.app.focused
    assert isinstance(select, Select)
    check_focused_field(pilot.app)
    await pilot.press("enter")
    await pilot.pause()
    values = [v for _, v in select._options]
    for _ in range(values.index(value)):
        await pilot.press("down")
    await pilot.press("enter")
    await pilot.pause()
    assert select.value == value


async def to_save_and_save(pilot) -> None:
    """Tab to the Save button (each field on the way is checked), then ctrl+s."""
    for _ in range(20):
        if pilot.app.focused is not None and pilot.app.focused.id == "save":
            break
        await tab(pilot)
    check_focused_field(pilot.app)
    form = pilot.app.screen
    await pilot.press("ctrl+s")
    await settle(pilot)
    await settle(pilot)
    assert pilot.app.screen is not form, str(form.query_one("#form-error").render())


async def sign_in(pilot, username: str) -> None:
    assert isinstance(pilot.app.screen, SignInScreen)
    await type_text(pilot, username)
    await pilot.press("enter")
    await type_text(pilot, "correct horse battery")
    await pilot.press("enter")
    await settle(pilot)
    await settle(pilot)


async def sign_out(pilot) -> None:
    await pilot.press("ctrl+l")
    await settle(pilot)


async def pick(pilot, key: str) -> None:
    options = pilot.app.screen.query_one("#actions", OptionList)
    for _ in range(options.option_count):
        if options.get_option_at_index(options.highlighted).id == key:
            break
        await pilot.press("down")
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, FormScreen), key


async def open_case(pilot, case_number: str) -> None:
    await type_text(pilot, case_number)
    await settle(pilot)
    await pilot.press("enter")  # from the search box to the results
    await pilot.press("enter")  # the highlighted case
    await settle(pilot)
    assert isinstance(pilot.app.screen, CaseScreen)


# Every key of three stories at the three sizes on SQLite, and once more on
# PostgreSQL: where a widget is drawn does not depend on the backend, what the
# forms store does (a PostgreSQL run at every size cost CI two minutes and
# tested the same layout twice).
STORY_RUNS = [("sqlite", size) for size in SIZES] + [("postgresql", (100, 30))]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("database_url", "size"),
    STORY_RUNS,
    indirect=["database_url"],
    ids=[f"{backend}-{w}x{h}" for backend, (w, h) in STORY_RUNS],
)
async def test_the_three_stories_by_keys(system, officers, size):
    fund_helpers.open_fund(system, officers)
    migrant_id = factories.send_abroad(system, officers)
    system.keep_current()
    case_number = system.read_models.queries.get_case(str(migrant_id)).case_number
    app = make_app(system)
    app.read_side.catch_up()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()

        # 1. The attaché: the case, an incident, and assistance for it.
        await sign_in(pilot, "attache")
        await open_case(pilot, case_number)
        await pilot.press("i")  # no incident yet: the picker offers a report
        await pilot.pause()
        await pick(pilot, "incident.report")
        form = pilot.app.screen
        assert form.query_one("#form-page").scroll_y == 0
        assert on_screen(app, form.query_one("#form-title"))
        assert case_number in words_seen(app)
        await choose(pilot, "unpaid_or_delayed_wages")  # category
        await tab(pilot, 2)  # past the GBV subtype, to severity
        await choose(pilot, "high")
        await tab(pilot)
        await type_text(pilot, factories.days_ago(2).isoformat() + " 09:30")
        await tab(pilot, 2)  # past "reported at" (now), to the channel
        await choose(pilot, "hotline")
        await tab(pilot, 2)  # past the country (the contract's), to the description
        await type_text(pilot, "Six months of wages unpaid")
        await to_save_and_save(pilot)
        assert isinstance(app.screen, CaseScreen)

        await pilot.press("i")  # the new incident's actions
        await pilot.pause()
        await pick(pilot, "incident.request_assistance")
        await choose(pilot, "repatriation")
        await tab(pilot)
        await type_text(pilot, "120,000")
        await tab(pilot)
        await type_text(pilot, "KES")
        await tab(pilot)
        await type_text(pilot, "Kenya Airways")
        await tab(pilot)
        await type_text(pilot, "Flight home after the wages dispute.")
        assert "= 120,000.00 KES" in words_seen(app) or size == (80, 24)
        await to_save_and_save(pilot)
        assert isinstance(app.screen, CaseScreen)
        await sign_out(pilot)

        # 2. Two fund officers approve; the second pays.
        for officer in ("fund", "fund2"):
            await sign_in(pilot, officer)
            assert isinstance(app.screen, FundHomeScreen)
            await pilot.press("slash")
            await type_text(pilot, case_number)
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen.query_one("#queue", DataTable).row_count == 1
            await pilot.press("a")
            await settle(pilot)
            assert isinstance(app.screen, FormScreen)
            check_focused_field(app)
            await to_save_and_save(pilot)
            assert isinstance(app.screen, FundHomeScreen)
            if officer == "fund":
                await sign_out(pilot)
        await pilot.press("t")  # to the "To pay" tab
        await settle(pilot)
        assert app.screen.query_one("#to-pay", DataTable).row_count == 1
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        await tab(pilot)  # past the amount (the whole approved amount), to the channel
        await choose(pilot, "bank_transfer")
        await tab(pilot)
        await type_text(pilot, "EFT-2026-0042")
        await to_save_and_save(pilot)
        assert isinstance(app.screen, FundHomeScreen)
        await sign_out(pilot)

        # 3. The auditor: who did what, then the case's replay to its last step.
        await sign_in(pilot, "auditor")
        assert isinstance(app.screen, WhoDidWhatScreen)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await type_text(pilot, "case: search")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        await open_case(pilot, case_number)
        await pilot.press("h")
        await settle(pilot)
        await settle(pilot)
        replay = app.screen
        assert isinstance(replay, ReplayScreen)
        await pilot.press("G")
        await settle(pilot)
        steps = replay.query_one("#steps", DataTable).row_count
        assert on_screen(app, replay.query_one("#step-head"))
        assert f"Step {steps} of {steps}" in words_seen(app)

    system.keep_current()
    db = system.read_models.queries.db
    [(incident_id,)] = db.fetchall(
        "SELECT incident_id FROM rm_incidents WHERE migrant_id = ?", (str(migrant_id),)
    )
    events = list(system.store.events.get(UUID(incident_id)))
    [asked] = [e for e in events if type(e).__name__ == "AssistanceRequested"]
    assert asked.estimate.amount_minor == 12_000_000 and asked.estimate.currency == "KES"
    [(disbursement_id,)] = db.fetchall(
        "SELECT disbursement_id FROM rm_disbursements WHERE migrant_id = ?", (str(migrant_id),)
    )
    disbursement = system.ledger.disbursement(UUID(disbursement_id))
    approvers = {approver for approver, _, _ in disbursement.approvals}
    assert approvers == {officers.fund.officer_id, officers.fund2.officer_id}
    assert disbursement.paid_minor == 12_000_000
