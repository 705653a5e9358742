"""What a person sees, not what the widget tree holds: every form's title,
case line, labels and Save button lie inside the visible screen at 80x24
(after scrolling to them), 100x30 and 160x48; and text from data (names,
accounts, notes) is shown as typed, never read as markup or emoji codes.

A form can hold every widget and still show blank space where its fields
should be (a row 1fr tall pushed them out of sight): so these tests look at
the regions the compositor gave the widgets, inside the screen's region."""

from __future__ import annotations

import html
import re
from uuid import uuid4

import pytest
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Label, Static
from textual.widgets._toast import Toast

from domain.incidents import commands as ic
from msafiri.bootstrap import build_system
from msafiri.settings import Settings
from tests import factories
from tests.tui.conftest import make_app, settle, sign_in, signed_in
from tui.app.catalogue import ACTIONS
from tui.app.open_items import PICKERS, Choice
from tui.app.screens.actions import FormScreen
from tui.app.screens.audit import WhoDidWhatScreen
from tui.app.screens.case_view import CaseScreen
from tui.app.screens.timeline_entry import TimelineEntryScreen

SIZES = [(80, 24), (100, 30), (160, 48)]
CASE_LINE = "MS-TEST1-CASE1 · Wanjiku Mwangi · abroad"


def screen_text(app) -> str:
    """The characters on the terminal, line by line (from the screenshot SVG)."""
    svg = app.export_screenshot()
    rows: dict[int, dict[int, str]] = {}
    pattern = (
        r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" '
        r'clip-path="url\(#terminal-\d+-line-(\d+)\)">([^<]*)</text>'
    )
    for x, line, text in re.findall(pattern, svg):
        row = rows.setdefault(int(line), {})
        for offset, char in enumerate(html.unescape(text).replace("\xa0", " ")):
            row[round(float(x) / 12.2) + offset] = char
    return "\n".join(
        "".join(row.get(i, " ") for i in range(max(row) + 1)) for _, row in sorted(rows.items())
    )


def inside(app, widget, page) -> bool:
    """Drawn, whole, within the screen and within the scrolling page's view."""
    region = widget.region
    return (
        bool(region.area)
        and app.screen.region.contains_region(region)
        and (page.region.contains_region(region))
    )


def a_form(action) -> FormScreen:
    names = ("migrant_id", "incident_id", "command_id", "disbursement_id", "transfer_id")
    fixed = {name: uuid4() for name in names if name in action.command.model_fields}
    choices = {}
    if action.key in PICKERS:
        choices[PICKERS[action.key][0]] = [Choice(uuid4(), "shelter · 12,000.00 KES")] * 2
    return FormScreen(action, fixed, context=CASE_LINE, choices=choices, currency="KES")


@pytest.fixture
def layout_system(tmp_path):
    """SQLite only: where a widget is drawn does not depend on the backend
    (the stories below, which store what was typed, run on both)."""
    system = build_system(Settings(database_url=f"sqlite:///{tmp_path / 'msafiri.db'}"))
    yield system
    system.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_every_form_shows_its_title_case_labels_and_save_button(layout_system, size):
    app = make_app(layout_system)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for action in ACTIONS:
            app.push_screen(a_form(action))
            await pilot.pause()
            screen = app.screen
            page = screen.query_one("#form-page", VerticalScroll)
            # It opens at its top: the title and the case it acts on are seen first.
            assert page.scroll_y == 0, action.key
            title = screen.query_one("#form-title", Static)
            assert inside(app, title, page), (action.key, size, "title")
            if action.target != "new":
                assert inside(app, screen.query_one("#form-context", Static), page), action.key
            # Every label and the Save button, scrolled to in turn, is in view.
            wanted = [*screen.query(".field-label").results(Label), screen.query_one("#save")]
            assert len(wanted) >= 2, action.key
            for widget in wanted:
                widget.scroll_visible(animate=False, immediate=True)
                await pilot.pause()
                what = str(widget.render()) if isinstance(widget, Label) else "Save"
                assert inside(app, widget, page), (action.key, size, what)
            app.pop_screen()
            await pilot.pause()


async def test_a_money_row_leaves_room_for_the_fields_after_it(layout_system):
    """At 160x48 the whole assistance request fits: no scrolling needed."""
    app = make_app(layout_system)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        app.push_screen(a_form(next(a for a in ACTIONS if a.key == "incident.request_assistance")))
        await pilot.pause()
        page = app.screen.query_one("#form-page", VerticalScroll)
        for selector in ("#f-kind", "#f-estimate-amount", "#f-payee", "#f-justification", "#save"):
            assert inside(app, app.screen.query_one(selector), page), selector
        text = screen_text(app)
        assert "Payee" in text and "Justification" in text and "Save" in text


# -- text from data is shown literally ---------------------------------------------

MARKUP = "[b]x[/b]"
EMOJI = "Assets:Bank:Operating"  # ':bank:' is an emoji code
LINK = "[link=https://x]y[/link]"
ODD_NAME = f"Amina {MARKUP} Njeri"


def literal_everywhere(text: str) -> None:
    assert MARKUP in text, text
    assert "🏦" not in text


async def test_text_from_data_shows_literally_on_every_screen(system, officers):
    migrant_id = factories.send_abroad(
        system, officers, full_name=ODD_NAME, national_id="39876543", passport_number=None
    )
    incident_id = system.incidents.report(
        officers.attache,
        ic.ReportIncident(
            migrant_id=migrant_id,
            category="unpaid_or_delayed_wages",
            severity="high",
            occurred_at=f"{factories.days_ago(3).isoformat()}T09:00:00+00:00",
            channel="hotline",
            description="wages owed",
        ),
    )
    system.incidents.execute(
        officers.attache,
        ic.AddIncidentNote(incident_id=incident_id, note=f"paid via {EMOJI} {LINK}"),
    )
    async with signed_in(system, "attache") as (app, pilot):
        # Case search: the name in the results.
        await pilot.press(*"amina")
        await settle(pilot)
        text = screen_text(app)
        literal_everywhere(text)
        # The case: title, profile, the timeline's details.
        app.push_screen(CaseScreen(migrant_id))
        await settle(pilot)
        text = screen_text(app)
        literal_everywhere(text)
        case = app.screen
        [note] = [e for e in case.timeline.values() if e.event_type == "IncidentNoteAdded"]
        # The note in full, with every recorded field.
        app.push_screen(TimelineEntryScreen(note))
        await settle(pilot)
        text = screen_text(app)
        assert EMOJI in text and LINK in text and "🏦" not in text
        await pilot.press("escape")
        await pilot.pause()
        # A form's case line, and the action picker's title.
        await pilot.press("a")
        await pilot.pause()
        literal_everywhere(screen_text(app))
        await pilot.press("enter")
        await pilot.pause()
        while type(app.screen).__name__ == "EmployerSearchScreen":
            # A contract names a registered employer and agency first (issue
            # 16), one picker each; Esc goes on without one.
            await pilot.press("escape")
            await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        literal_everywhere(screen_text(app))
        await pilot.press("escape")
        await pilot.pause()

    app = make_app(system)
    app.read_side.catch_up()
    async with app.run_test(size=(240, 40)) as pilot:  # wide: the Details column shows
        await pilot.pause()
        await sign_in(pilot, "auditor")
        # Who did what: the note's details.
        assert isinstance(app.screen, WhoDidWhatScreen)
        await settle(pilot)
        table = app.screen.query_one("#events", DataTable)
        details = [str(table.get_row_at(i)[-1]) for i in range(table.row_count)]
        assert any(EMOJI in d and LINK in d for d in details), details
        text = screen_text(app)
        assert f"paid via {EMOJI} {LINK}" in text and "🏦" not in text
        literal_everywhere(text)


async def test_a_toast_quoting_data_shows_it_literally(system):
    app = make_app(system)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        app.notify(f"saved for {MARKUP} {EMOJI}")
        await pilot.pause()
        await pilot.pause()
        toasts = [str(toast.render()) for toast in app.screen.query(Toast)]
        assert any(f"{MARKUP} {EMOJI}" in toast for toast in toasts), toasts
        text = screen_text(app)
        literal_everywhere(text)


async def test_a_terminal_escape_typed_into_a_form_is_refused_with_a_rule(system, officers):
    """ESC cannot be typed as a key (it cancels), but it can be pasted."""
    async with signed_in(system, "registrar") as (app, pilot):
        await pilot.press("ctrl+n")
        await pilot.pause()
        head = system.store.recorder.max_notification_id()
        app.screen.query_one("#f-full_name").value = "Amina \x1b[31mNjeri"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        error = str(app.screen.query_one("#e-full_name", Static).render())
        assert "control character" in error
        assert system.store.recorder.max_notification_id() == head


async def test_text_from_data_shows_literally_on_the_later_screens(system, officers):
    """The request on its own screen (payee, justification), a case's replay
    (the name), and the access log (a break-glass reason): as typed."""
    from tests import fund_helpers
    from tui.app.screens.access_log import AccessLogScreen
    from tui.app.screens.fund_request import RequestScreen
    from tui.app.screens.replay import ReplayScreen

    fund_helpers.open_fund(system, officers)
    migrant_id, incident_id = fund_helpers.incident_abroad(system, officers, full_name=ODD_NAME)
    payee = f"{MARKUP} {EMOJI} {LINK}"
    fund_helpers.request(system, officers.attache, migrant_id, incident_id, 1_000, payee=payee)
    reason = f"Hospital asks tonight {MARKUP} {EMOJI} {LINK}"
    # A break-glass, taken as any officer takes it: with the reason given.
    from domain.access import commands as ac

    system.access_log.take_break_glass(
        "attache2", officers.attache2, ac.TakeEmergencyAccess(migrant_id=migrant_id, reason=reason)
    )
    app = make_app(system)
    app.read_side.catch_up()
    async with app.run_test(size=(200, 48)) as pilot:
        await pilot.pause()
        await sign_in(pilot, "fund")
        await settle(pilot)
        await pilot.press("enter")  # the request at the head of the queue
        await settle(pilot)
        assert isinstance(app.screen, RequestScreen)
        text = screen_text(app)
        assert payee in text and ODD_NAME in text and "🏦" not in text
    app = make_app(system)
    app.read_side.catch_up()
    async with app.run_test(size=(200, 48)) as pilot:
        await pilot.pause()
        await sign_in(pilot, "auditor")
        app.push_screen(ReplayScreen(migrant_id))
        await settle(pilot)
        literal_everywhere(screen_text(app))
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, AccessLogScreen)
        app.screen.query_one("#mode").value = "break_glass"
        await settle(pilot)
        text = screen_text(app)
        # The reason's start (the row is wider than the screen; Enter opens it all).
        assert f"Hospital asks tonight {MARKUP} {EMOJI}" in text and "🏦" not in text, text
