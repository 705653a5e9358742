"""Live updates over a real NATS JetStream server: a fund officer's open
approval queue shows a request an attaché submits on another machine (here:
another System on the same database, published by Msafiri's publisher);
an unreachable server is one notification and the screens poll instead."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest
from textual.widgets import DataTable

from domain.officers.commands import SetPassword
from integration.connection import connect
from integration.publisher import publish
from integration.stream import ensure_stream
from msafiri.bootstrap import build_system
from msafiri.settings import Settings
from tests import fund_helpers, nats_server
from tests.conftest import Officers
from tests.tui.conftest import PASSWORD, SIZE, USERNAMES, settle, sign_in, signed_in
from tui.app.app import POLL_SECONDS, MsafiriApp
from tui.app.screens.fund import FundHomeScreen


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory) -> Iterator[str]:
    url, server = nats_server.server_url(tmp_path_factory.mktemp("nats"))
    yield url
    if server:
        server.stop()


async def _stream(settings: Settings, delete: bool = False) -> None:
    client = await connect(settings, keep_reconnecting=False)
    try:
        js = client.jetstream(timeout=10)
        if delete:
            await js.delete_stream(settings.nats_stream)
        else:
            await ensure_stream(js, settings)
    finally:
        await client.close()


@pytest.fixture
def nats_settings(database_url, nats_url) -> Iterator[Settings]:
    # A stream and subject prefix of this test's own.
    tag = uuid.uuid4().hex[:10]
    settings = Settings(
        database_url=database_url,
        nats_url=nats_url,
        nats_stream=f"TEST_{tag}",
        nats_subject_prefix=f"t{tag}",
    )
    asyncio.run(_stream(settings))
    yield settings
    asyncio.run(_stream(settings, delete=True))


async def until(pilot, condition, seconds: float = 30.0) -> None:
    """Wait (generously) for something another thread brings about."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


async def test_an_open_approval_queue_shows_a_request_made_elsewhere(nats_settings):
    # Here: the fund officer's machine, with a fund, a migrant abroad and an
    # incident, all already published.
    here = build_system(nats_settings)
    officers = Officers(here)
    for username in USERNAMES:
        here.officers.set_password(
            getattr(officers, username), SetPassword(username=username, password=PASSWORD)
        )
    fund_helpers.open_fund(here, officers)
    migrant_id, incident_id = fund_helpers.incident_abroad(here, officers)
    await asyncio.to_thread(publish, here)
    here.keep_current()
    elsewhere = build_system(nats_settings)
    app = MsafiriApp(system=here, blink=False)  # following the log, as in production
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await sign_in(pilot, "fund")
            await until(pilot, lambda: app.live.active)
            assert isinstance(app.screen, FundHomeScreen)
            queue = app.screen.query_one("#queue", DataTable)
            assert queue.row_count == 0
            assert app.live.state.startswith("on: subscribed")

            # Elsewhere, an attaché asks for money on the incident (the fund
            # process turns it into a disbursement request) and it is published.
            fund_helpers.request_assistance(
                elsewhere, officers, incident_id, "medical_care", 80_000
            )
            elsewhere.keep_current()
            head = elsewhere.store.recorder.max_notification_id()
            await asyncio.to_thread(publish, elsewhere)

            # The open queue shows it, refreshed by the NATS notification.
            await until(pilot, lambda: queue.row_count == 1)
            assert app.screen.queue[0].migrant_id == str(migrant_id)
            assert app.screen.queue[0].amount_minor == 8_000_000
            assert app.live.refreshes >= 1 and app.live.refreshed_position >= head
    finally:
        elsewhere.close()
        here.close()


async def test_an_unreachable_nats_is_one_notification_and_the_screens_poll(database_url):
    [port] = nats_server.free_ports(1)  # nothing listens there
    settings = Settings(
        database_url=database_url,
        nats_url=f"nats://127.0.0.1:{port}",
        connect_timeout_seconds=1,
    )
    system = build_system(settings)
    app = MsafiriApp(system=system, blink=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await until(pilot, lambda: app.live.state.startswith("unavailable"))
            assert not app.live.active
            [note] = [n for n in app._notifications if n.title == "Live updates off"]
            assert f"127.0.0.1:{port}" in note.message and "polling" in note.message
            # Polling as without NATS: every second.
            assert app._poll is not None and app._poll._interval == POLL_SECONDS
            assert app.is_running
    finally:
        system.close()


async def test_a_burst_of_changes_is_one_refresh_of_the_screens_that_show_them(system, officers):
    from integration.live import Change
    from tui.app.live import wants
    from tui.app.screens.statistics import StatisticsScreen

    async with signed_in(system, "fund") as (app, pilot):
        fund_screen = app.screen
        calls: list[str] = []
        fund_screen.refresh_data = lambda: calls.append("fund")
        position = app.read_side.position()
        burst = [
            Change("fund", "DisbursementRequested", str(uuid.uuid4()), position, "")
            for _ in range(500)
        ]
        for change in burst:
            app.live.on_change(change)
        await until(pilot, lambda: not app.live._waiting)
        await settle(pilot)
        assert 1 <= len(calls) <= 2 and app.live.refreshes == len(calls)
        # Statistics do not show the fund; the fund desk does not show a new case.
        case_change = Change("cases", "MigrantRegistered", str(uuid.uuid4()), position, "")
        assert not wants(StatisticsScreen(), burst[:1]) and wants(StatisticsScreen(), [case_change])
        assert not wants(fund_screen, [case_change])

        # A screen under another one refreshes when it is shown again.
        await pilot.press("f3")
        await settle(pilot)
        calls.clear()
        app.live.on_change(burst[0])
        await until(pilot, lambda: not app.live._waiting)
        assert calls == []
        await pilot.press("escape")
        await settle(pilot)
        assert calls == ["fund"]
