"""Need to know on screen: the case view's timeline and an event opened in
full show a restricted incident's note to its reporter and mask it for an
attaché of another station (docs/privacy.md, "Who sees what")."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import DataTable, Static

from domain.incidents import commands as ic
from domain.values import utcnow
from projections.access_log.store import LogFilter
from projections.disclosure import MASK
from tests import fund_helpers
from tests.tui.conftest import settle, signed_in
from tests.tui.test_timeline_entry import shown
from tui.app.screens.timeline_entry import TimelineEntryScreen

MARKER = "MARKER-7f3a"


async def _note_row(app, pilot) -> str:
    """The note's timeline line, then the note opened in full by `enter`."""
    case = app.screen
    table = case.query_one("#timeline", DataTable)
    [entry] = [e for e in case.timeline.values() if e.event_type == "IncidentNoteAdded"]
    line = str(table.get_row(str(entry.notification_id))[-1])
    table.focus()
    table.move_cursor(row=table.get_row_index(str(entry.notification_id)))
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(app.screen, TimelineEntryScreen)
    return line + " " + " ".join(shown(s) for s in app.screen.query(Static))


async def test_the_timeline_masks_a_restricted_note_without_access(system, officers):
    # An injury is restricted (health); the reporting attaché wrote the note.
    migrant_id, incident_id = fund_helpers.incident_abroad(system, officers)
    system.incidents.execute(
        officers.attache, ic.AddIncidentNote(incident_id=incident_id, note=f"Seen {MARKER}")
    )
    async with signed_in(system, "attache", case=migrant_id) as (app, pilot):
        assert MARKER in await _note_row(app, pilot)
    async with signed_in(system, "attache2", case=migrant_id) as (app, pilot):
        seen = await _note_row(app, pilot)
        assert MARKER not in seen and MASK in seen


async def test_break_glass_from_the_case_opens_it_at_once(system, officers):
    from tests.tui.conftest import fill
    from tui.app.screens.actions import FormScreen
    from tui.app.screens.case_view import CaseScreen

    migrant_id, incident_id = fund_helpers.incident_abroad(system, officers)
    system.incidents.execute(
        officers.attache, ic.AddIncidentNote(incident_id=incident_id, note=f"Seen {MARKER}")
    )
    async with signed_in(system, "attache2", case=migrant_id) as (app, pilot):
        await pilot.press("a")
        await pilot.pause()
        picker = app.screen.query_one("#actions")
        titles = [str(picker.get_option_at_index(i).prompt) for i in range(picker.option_count)]
        assert "case: grant access" not in titles  # only a supervisor grants
        picker.highlighted = titles.index("case: break glass (emergency access)")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        fill(app.screen, reason="Hospital needs her history tonight")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert MARKER in await _note_row(app, pilot)
    [access] = system.read_models.queries.case_access(str(migrant_id))
    assert access.kind == "break_glass" and access.supervisor_review is None


def _supervisor(system, officers):
    """A supervisor who can sign in (the shared officers have none)."""
    from domain.model import Actor
    from domain.officers.commands import RegisterOfficer, SetPassword
    from domain.values import Role
    from tests.tui.conftest import PASSWORD

    oid = system.officers.register(
        officers.admin,
        RegisterOfficer(
            username="supervisor", full_name="Sam Kamau", station="HQ", roles=(Role.SUPERVISOR,)
        ),
    )
    supervisor = Actor(officer_id=oid, role=Role.SUPERVISOR)
    system.officers.set_password(supervisor, SetPassword(username="supervisor", password=PASSWORD))
    return supervisor


async def _open_form(app, pilot, title: str) -> None:
    from tui.app.screens.actions import FormScreen

    await pilot.press("a")
    await pilot.pause()
    picker = app.screen.query_one("#actions")
    titles = [str(picker.get_option_at_index(i).prompt) for i in range(picker.option_count)]
    picker.highlighted = titles.index(title)
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(app.screen, FormScreen)


async def test_grant_by_name_break_glass_logged_and_reviewed_from_f4(system, officers):
    """A supervisor grants access choosing the officer by name (not an id);
    a break-glass taken on screen is in the access log; the supervisor reviews
    it from the access log's screen (F4), which clears it there and in the
    CLI's answer, while the auditor's review still waits."""
    from domain.officers import access
    from tests.tui.conftest import fill
    from tui.app.screens.access_log import AccessLogScreen
    from tui.app.screens.actions import FormScreen
    from tui.app.screens.case_view import CaseScreen

    supervisor = _supervisor(system, officers)
    migrant_id, _ = fund_helpers.incident_abroad(system, officers)
    async with signed_in(system, "supervisor", case=migrant_id) as (app, pilot):
        await _open_form(app, pilot, "case: grant access")
        assert isinstance(app.screen, FormScreen)
        until = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
        fill(app.screen, officer_id=str(officers.fund.officer_id),
             reason="Claim needs the report", expires_at=until)  # fmt: skip
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
    [grant] = system.read_models.queries.case_access(str(migrant_id))
    assert grant.kind == "grant" and grant.officer_id == str(officers.fund.officer_id)

    async with signed_in(system, "attache2", case=migrant_id) as (app, pilot):
        await _open_form(app, pilot, "case: break glass (emergency access)")
        fill(app.screen, reason="Hospital needs her history tonight")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
    system.access_log.recorder.flush()
    [taken] = system.access_log.store.entries(LogFilter(action=access.BREAK_GLASS), 10)
    assert (taken["username"], taken["interface"]) == ("attache2", "tui")
    assert taken["reason"] == "Hospital needs her history tonight"

    async with signed_in(system, "supervisor") as (app, pilot):
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, AccessLogScreen)
        app.screen.query_one("#mode").value = "break_glass"
        await settle(pilot)
        table = app.screen.query_one("#entries", DataTable)
        assert table.row_count == 1 and "attache2" in [str(c) for c in table.get_row_at(0)]
        table.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        fill(app.screen, finding="justified", notes="Hospital confirmed the call")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, AccessLogScreen)
        await settle(pilot)
        assert app.screen.query_one("#entries", DataTable).row_count == 0
    # One source of truth: the CLI's answer agrees; the auditor's review waits.
    log = system.access_log
    assert log.unreviewed_break_glass("supervisor", supervisor) == []
    [waiting] = log.unreviewed_break_glass("auditor", officers.auditor)
    assert waiting["username"] == "attache2" and waiting["waiting_for"] == ["auditor"]


async def test_a_supervisor_grants_access_choosing_the_officer_by_name(system, officers):
    from textual.widgets import Select

    from domain.officers.commands import RegisterOfficer, SetPassword
    from domain.values import Role
    from tests.tui.conftest import PASSWORD, fill
    from tui.app.catalogue import BY_KEY
    from tui.app.screens.actions import FormScreen, open_action
    from tui.app.screens.case_view import CaseScreen

    supervisor_id = system.officers.register(
        officers.admin,
        RegisterOfficer(
            username="supervisor", full_name="Esther Wambui", station="Nairobi HQ",
            roles=(Role.SUPERVISOR,),
        ),
    )  # fmt: skip
    from domain.model import Actor

    supervisor = Actor(officer_id=supervisor_id, role=Role.SUPERVISOR)
    system.officers.set_password(supervisor, SetPassword(username="supervisor", password=PASSWORD))
    migrant_id, _ = fund_helpers.incident_abroad(system, officers)
    async with signed_in(system, "supervisor", case=migrant_id) as (app, pilot):
        assert isinstance(app.screen, CaseScreen)
        open_action(app, BY_KEY["case.grant_access"])
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        select = form.query_one("#f-officer_id", Select)
        labels = [str(label) for label, _ in select._options]
        assert "Mary Akinyi (attache2)" in labels
        assert str(form.query_one("#l-officer_id").render()) == "Officer"
        fill(form, officer_id=str(officers.attache2.officer_id), reason="Covering her cases")
        fill(form, expires_at=days_ahead(7))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen), str(form.query_one("#form-error").render())
    [grant] = system.read_models.queries.case_access(str(migrant_id))
    assert grant.officer_id == str(officers.attache2.officer_id)


def days_ahead(days: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%d %H:%M")
