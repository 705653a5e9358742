"""The other screens: every form composes, refusals are notifications,
status, statistics, who-did-what and history replay."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from textual.widgets import DataTable

from domain.cases.vocabulary import Stage
from domain.values import Role
from tests import factories
from tests.conftest import ADMIN_PASSWORD
from tests.tui.conftest import SIZE, cells, fill, make_app, settle, sign_in, signed_in
from tui.app.catalogue import ACTIONS, BY_KEY
from tui.app.forms import CommandForm, field_specs
from tui.app.screens.actions import FormScreen, open_action
from tui.app.screens.audit import _day
from tui.app.screens.case_view import CaseScreen
from tui.app.screens.replay import ReplayScreen
from tui.app.screens.statistics import StatisticsScreen
from tui.app.screens.status import StatusScreen


def test_every_lifecycle_form_is_generated_from_its_command():
    for action in ACTIONS:
        target = "migrant" if action.target == "case" else action.target
        fixed = {"command_id"} if "command_id" in action.command.model_fields else set()
        if action.target != "new":
            fixed.add(f"{target}_id")
        specs = field_specs(action.command, fixed)
        shown = {spec.name for spec in specs}
        # Every field the officer must give has an editor; ids the screen fixes do not.
        required = {
            name
            for name, info in action.command.model_fields.items()
            if info.is_required() and name not in fixed
        }
        assert required <= shown, action.key
        assert not shown & fixed, action.key
        # Choices are offered as choices, amounts as money, days as dates.
        kinds = {spec.name: spec.kind for spec in specs}
        for name in ("sex", "county", "category", "severity", "channel", "kind"):
            if name in kinds and action.group != "fund":
                assert kinds[name] == "enum", (action.key, name)
        for name, kind in kinds.items():
            if name.endswith("_on"):
                assert kind == "date", (action.key, name)


async def test_forms_open_for_each_kind_of_target(system):
    app = make_app(system)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for key in ("case.register", "incident.request_assistance", "fund.pay"):
            action = BY_KEY[key]
            fixed = {"migrant_id": uuid4(), "incident_id": uuid4(), "command_id": uuid4()}
            fixed = {k: v for k, v in fixed.items() if k in action.command.model_fields}
            if action.target == "disbursement":
                fixed["disbursement_id"] = uuid4()
            app.push_screen(FormScreen(action, fixed))
            await pilot.pause()
            form = app.screen.query_one(CommandForm)
            assert form.query("#save") and not form.query("#f-command_id")
            app.pop_screen()


async def test_a_refusal_by_the_domain_is_a_notification_not_a_crash(system, officers):
    migrant_id = system.cases.register(officers.registrar, factories.registration())
    async with signed_in(system, "attache", case=migrant_id) as (app, pilot):
        head = system.store.recorder.max_notification_id()
        # An arrival before any departure: the aggregate refuses it.
        open_action(app, BY_KEY["case.arrival"], migrant_id=migrant_id)
        await pilot.pause()
        fill(app.screen, arrived_on=factories.days_ago(1).isoformat())
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, FormScreen)
        messages = [n.message for n in app._notifications]
        assert any("record an arrival" in m or "departed" in m for m in messages), messages
        assert system.store.recorder.max_notification_id() == head


async def test_status_screen_names_database_nats_and_lag(system, officers):
    app = make_app(system)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, StatusScreen)
        from tui.app.screens.status import status_facts

        facts = status_facts(app)
        assert facts["NATS"] == "not configured"
        assert facts["live updates"].startswith("off (NATS not configured)")
        backend = system.database.backend
        assert backend in ("sqlite", "postgresql")
        assert facts["backend"] == backend and facts["database"].startswith(f"{backend}://")
        assert any(key.startswith("projection ") for key in facts)


async def test_palette_offers_group_verb_entries_for_the_role(system, officers):
    app = make_app(system)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await sign_in(pilot, "registrar")
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"case: register migrant", "case: record departure", "app: status"} <= titles
        assert "incident: report" not in titles  # an attaché's command


async def test_auditor_sees_who_did_what_and_replays_a_case(system, officers):
    migrant_id = factories.send_abroad(system, officers)
    stage_now = system.cases.get(migrant_id).stage
    async with signed_in(system, "auditor") as (app, pilot):
        assert app.session.role is Role.AUDITOR
        await settle(pilot)
        # Home: who did what, every event with the officer's username.
        events = app.screen.query_one("#events", DataTable)
        who = {cells(events, i)[3] for i in range(events.row_count)}
        assert {"registrar", "attache"} <= who
        # Filter by officer as you type.
        app.screen.query_one("#officer").value = "attache"
        await settle(pilot)
        assert {cells(events, i)[3] for i in range(events.row_count)} == {"attache"}

        # Replay the case: the first step shows it as registered, the last as it is.
        app.push_screen(ReplayScreen(migrant_id))
        await settle(pilot)
        replay = app.screen
        steps = replay.query_one("#steps", DataTable)
        assert steps.row_count == len(list(system.store.events.get(migrant_id)))
        assert cells(steps, 0)[2:4] == ["Grace Wanjiru", "MigrantRegistered"]
        assert replay.step == 0 and replay.case_as_of.stage == Stage.PRE_DEPARTURE
        assert replay.case_as_of.version == 1
        await pilot.press("G")
        await settle(pilot)
        assert replay.step == steps.row_count - 1
        assert replay.case_as_of.stage == stage_now
        assert replay.case_as_of.version == steps.row_count


def test_who_did_what_until_a_date_takes_in_its_last_second():
    # An event recorded at 23:59:59.5 was recorded on that day.
    assert _day("2026-11-01", end=True) == datetime(2026, 11, 1, 23, 59, 59, 999999, tzinfo=UTC)
    assert _day("2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC)
    assert _day("2026-11-01T12:00", end=True) == datetime(2026, 11, 1, 12, tzinfo=UTC)
    assert _day("not a date") is None


async def test_statistics_are_split_by_sex(system, officers):
    factories.send_abroad(system, officers)
    async with signed_in(system, "reintegrator") as (app, pilot):
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, StatisticsScreen)
        tables = dict(app.screen.tables)
        assert tables["Migrants by destination"] == [("SA", 1, 0)]


async def test_administrator_registers_an_officer_from_the_palette(system, officers):
    app = make_app(system)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await sign_in(pilot, "admin", ADMIN_PASSWORD)
        titles = {c.title: c for c in app.get_system_commands(app.screen)}
        assert "officer: register" in titles
        titles["officer: register"].callback()
        await pilot.pause()
        fill(
            app.screen,
            username="j.mwangi",
            full_name="John Mwangi",
            station="Embassy Doha",
            roles="labour_attache, reintegration_officer",
            password="a fine long password",
        )
        await pilot.press("ctrl+s")
        await settle(pilot)
        officer = app.read_side.queries.officer(str(system.officers.get("j.mwangi").id))
        assert set(officer.roles) == {"labour_attache", "reintegration_officer"}


async def test_a_case_history_is_exported_as_json_lines(system, officers, tmp_path):
    import json

    migrant_id = factories.send_abroad(system, officers)
    app = make_app(system)
    app.export_dir = tmp_path
    app.read_side.catch_up()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await sign_in(pilot, "auditor")
        app.push_screen(CaseScreen(migrant_id))
        await settle(pilot)
        await pilot.press("ctrl+e")
        await settle(pilot)
        case_number = app.screen.detail.case_number
    lines = (tmp_path / f"msafiri-case-{case_number}.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert events[0]["type"] == "MigrantRegistered"
    # Every event of the case, and the records that name the migrant (the
    # identity-document claims), each with its chain link.
    of_case = [e for e in events if e["aggregate_id"] == str(migrant_id)]
    assert len(of_case) == len(list(system.store.events.get(migrant_id)))
    others = [e for e in events if e["aggregate_id"] != str(migrant_id)]
    assert all(e["payload"].get("migrant_id") == str(migrant_id) for e in others)
    assert all(e["chain_link"] for e in events)


def test_who_did_what_shows_money_in_major_units_with_its_currency():
    from tui.app.screens.audit import _details

    paid = {"disbursement_id": "6f1c", "amount": {"amount_minor": 12_000_000, "currency": "KES"}}
    assert _details(paid) == "amount=120,000.00 KES, disbursement_id=6f1c"
    legs = [
        {"account": "Assets:Bank:Operating", "currency": "BHD", "debit_minor": 12345},
        {"account": "Income:Grants", "currency": "BHD", "credit_minor": 12345},
    ]
    assert _details({"legs": legs}) == (
        "legs=Assets:Bank:Operating dr 12.345 BHD; Income:Grants cr 12.345 BHD"
    )
    assert _details({"amount_minor": 1200, "currency": "JPY"}) == "amount=1,200 JPY, currency=JPY"


async def test_i_on_a_case_without_incidents_offers_to_report_one(system, officers):
    migrant_id = factories.send_abroad(system, officers)
    async with signed_in(system, "attache", case=migrant_id) as (app, pilot):
        await pilot.press("i")
        await pilot.pause()
        picker = app.screen.query_one("#actions")
        titles = [str(picker.get_option_at_index(i).prompt) for i in range(picker.option_count)]
        assert titles == ["incident: report"]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen) and app.screen.action.key == "incident.report"


async def test_an_auditors_only_case_action_is_break_glass(system, officers):
    """An auditor changes no case; the one thing offered is emergency access
    (domain/access/service.py), which is logged and reviewed."""
    from tui.app.screens.picker import ActionPicker

    migrant_id = factories.send_abroad(system, officers)
    async with signed_in(system, "auditor", case=migrant_id) as (app, pilot):
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ActionPicker)
        offered = [str(option.prompt) for option in app.screen.query("OptionList").first().options]
        assert len(offered) == 1 and "break glass" in offered[0], offered
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CaseScreen)
        # t walks the tabs: timeline, incidents, fund, claims (issue 16).
        tabs = app.screen.query_one("#case-tabs")
        seen = []
        for _ in range(4):
            await pilot.press("t")
            await pilot.pause()
            seen.append(tabs.active)
        assert seen == ["tab-incidents", "tab-fund", "tab-claims", "tab-timeline"]


def test_fields_a_cross_field_rule_may_require_are_not_labelled_optional():
    from tui.app.forms import CONDITIONS

    commands = {action.command.__name__: action.command for action in ACTIONS}
    for (command, name), when in CONDITIONS.items():
        [spec] = [s for s in field_specs(commands[command], set()) if s.name == name]
        assert "optional" not in spec.label and spec.label.endswith(when), spec.label
    labels = {s.name: s.label for s in field_specs(commands["RegisterMigrant"], set())}
    assert labels["passport_number"] == "Passport number - give a passport number or a national id"


async def test_statistics_hide_small_counts_of_restricted_categories(system, officers):
    from tests.test_suppression import small_town

    small_town(system, officers)
    async with signed_in(system, "reintegrator") as (app, pilot):
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, StatisticsScreen)
        tables = dict(app.screen.tables)
        sgbv = dict((v, (f, m)) for v, f, m in tables["Incidents by category"])
        assert sgbv["sexual_harassment_or_violence"] == (None, None)
        # What a person sees: the hidden mark in the row and the legend saying why.
        text = await _screen_text(app, pilot)
        assert "sexual harassment or violence" in text
        import re

        # Its female, male and total cells show the hidden mark, not 3, 1, 4.
        assert re.search(r"sexual harassment or violence\s*│\s*·\s*│\s*·\s*│\s*·\s*│", text)
        assert "hidden: fewer than 5 incidents of a restricted category" in text


async def _screen_text(app, pilot) -> str:
    """The characters on the terminal, page by page with the statistics
    scrolled down (the restricted tables and the legend are below the first)."""
    import html
    import re

    from textual.containers import VerticalScroll

    scroller = app.screen.query_one(VerticalScroll)
    seen = []
    for y in range(0, int(scroller.max_scroll_y) + SIZE[1], SIZE[1] // 2):
        scroller.scroll_to(y=y, animate=False)
        await pilot.pause()
        svg = app.export_screenshot()
        rows = re.findall(r"<text[^>]*>(.*?)</text>", svg)
        seen.append(html.unescape("".join(rows)).replace("\xa0", " "))
    return "\n".join(seen)


def test_a_policys_amounts_are_shown_in_major_units():
    """PolicyAdopted nests its threshold and caps (minor units of the policy's
    currency): who-did-what and the event screen show them as people read them."""
    from tui.app.screens.audit import _details
    from tui.app.screens.timeline_entry import recorded_fields

    policy = {
        "version": 1,
        "currency": "KES",
        "two_approver_threshold_minor": 10_000_000,
        "caps_minor": {"repatriation": 15_000_000, "legal_aid": 5_000_000},
        "expiry_days": 90,
    }
    line = _details({"policy": policy})
    assert line.startswith("policy=(version=1, currency=KES, two_approver_threshold=100,000.00 KES")
    assert "caps=repatriation 150,000.00 KES, legal aid 50," in line  # then cut at 120
    assert "15000000" not in line and "10000000" not in line
    rows = dict(recorded_fields({"policy": policy}))
    assert rows["policy · two approver threshold"] == "100,000.00 KES"
    assert rows["policy · caps"] == "repatriation 150,000.00 KES, legal aid 50,000.00 KES"


def test_an_amount_recorded_without_its_currency_is_shown_in_the_transfers(system, officers):
    """ReservationPosted records `amount_minor` alone: who-did-what and the
    event screen read it in the currency of the transfer it posts."""
    from domain.viewer import NOBODY
    from tests import fund_helpers
    from tui.app.readside import ReadSide
    from tui.app.screens.audit import _details
    from tui.app.screens.timeline_entry import recorded_fields

    fund_helpers.open_fund(system, officers)
    migrant_id, incident_id = fund_helpers.incident_abroad(system, officers)
    disbursement_id = fund_helpers.request(
        system, officers.attache, migrant_id, incident_id, 12_345
    )
    fund_helpers.approve(system, officers.fund, disbursement_id)
    fund_helpers.pay(system, officers.fund2, disbursement_id)
    read_side = ReadSide(system, follow=False)
    try:
        read_side.catch_up()
        [line] = read_side.who_did_what(event_type="ReservationPosted", viewer=NOBODY).rows
        assert "amount=12,345.00 KES" in _details(line.payload, line.currency)
        full = read_side.event_at(line.position, NOBODY)
        assert ("amount", "12,345.00 KES") in recorded_fields(full.payload, currency=full.currency)
    finally:
        read_side.close()
