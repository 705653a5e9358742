"""The NATS publisher against a real JetStream server (tests/nats_server.py).

Each test gets its own stream and subject prefix, so runs never collide on a
shared server, and deletes its stream afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from integration.connection import NatsUnavailable, connect
from integration.live import subscribe_changes
from integration.payloads import (
    UNPUBLISHED,
    EventEnvelope,
    all_event_classes,
    keyed_hasher,
    public_model,
)
from integration.position import PositionStore, publisher_name
from integration.publisher import Publisher, StreamMissing, publisher_status
from integration.schemas import stale
from integration.stream import ensure_stream
from msafiri.bootstrap import build_system
from msafiri.demo.officers import ensure_demo_officers
from msafiri.demo.population import populate
from tests import nats_server

ROOT = Path(__file__).resolve().parent.parent
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory):
    url, server = nats_server.server_url(tmp_path_factory.mktemp("nats"))
    yield url
    if server:
        server.stop()


def unique_nats_settings(settings, url, **overrides):
    tag = uuid.uuid4().hex[:10]
    values = {"nats_url": url, "nats_stream": f"TEST_{tag}", "nats_subject_prefix": f"t{tag}"}
    return settings.model_copy(update=values | overrides)


async def _delete_stream(settings) -> None:
    client = await connect(settings, keep_reconnecting=False)
    try:
        await client.jetstream().delete_stream(settings.nats_stream)
    except Exception:
        pass
    finally:
        await client.close()


async def _setup(settings) -> str:
    client = await connect(settings, keep_reconnecting=False)
    try:
        return await ensure_stream(client.jetstream(timeout=10), settings)
    finally:
        await client.close()


@pytest.fixture
def nats_settings(settings, nats_url):
    nats = unique_nats_settings(settings, nats_url)
    asyncio.run(_setup(nats))
    yield nats
    asyncio.run(_delete_stream(nats))


@pytest.fixture
def nats_system(nats_settings):
    system = build_system(nats_settings)
    yield system
    system.close()


def read_stream(settings) -> list[tuple[str, dict, dict]]:
    """Every message in the stream, in stream order: (subject, headers, payload)."""

    async def read():
        client = await connect(settings, keep_reconnecting=False)
        try:
            js = client.jetstream(timeout=10)
            info = await js.stream_info(settings.nats_stream)
            out = []
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                msg = await js.get_msg(settings.nats_stream, seq)
                out.append((msg.subject, msg.headers or {}, json.loads(msg.data)))
            return out
        finally:
            await client.close()

    return asyncio.run(read())


def log_ids(system) -> list[tuple[int, str]]:
    """(position, Msg-Id) of every event in the log, in log order."""
    out, start = [], 1
    while True:
        page = system.store.recorder.select_notifications(start=start, limit=5000)
        if not page:
            return out
        out += [
            (n.id, f"{n.originator_id}:{n.originator_version}")
            for n in page
            if n.topic.rpartition(":")[2] not in UNPUBLISHED
        ]
        start = page[-1].id + 1


def assert_exactly_once_in_log_order(system, messages) -> None:
    ours = [m for m in messages if "Msafiri-Position" in m[1]]
    published = [(int(h["Msafiri-Position"]), h["Nats-Msg-Id"]) for _, h, _ in ours]
    ids = [msg_id for _, msg_id in published]
    assert len(ids) == len(set(ids)), "an event was published twice"
    # The whole log, once, in log order (so also in order per aggregate).
    assert published == log_ids(system)
    versions: dict[str, int] = {}
    for _, headers, _ in ours:
        aggregate, version = (
            headers["Msafiri-Aggregate-Id"],
            int(headers["Msafiri-Aggregate-Version"]),
        )
        assert version == versions.get(aggregate, 0) + 1
        versions[aggregate] = version


def demo_run(system, migrants: int = 50, seed: int = 7) -> None:
    from msafiri.demo.population import populate_with_fund

    actors = ensure_demo_officers(system)
    populate_with_fund(system, actors, migrants, seed, workers=0)
    system.fund_process.run_once()


def publish_all(system, **options):
    publisher = Publisher(system, **options)
    try:
        return asyncio.run(publisher.run())
    finally:
        publisher.close()


# --- every event, once, in order ----------------------------------------------------


def test_demo_run_arrives_exactly_once_in_log_order(nats_system, nats_settings):
    demo_run(nats_system)
    head = nats_system.store.recorder.max_notification_id()
    progress = publish_all(nats_system, page_size=300)
    assert progress.position == head
    assert progress.published == len(log_ids(nats_system)) < head  # identity claims stay home

    messages = read_stream(nats_settings)
    assert_exactly_once_in_log_order(nats_system, messages)
    contexts = {subject.split(".")[1] for subject, _, _ in messages}
    # The demo's contracts name registered employers and agencies, and it
    # records claims, coverage and the agreements table (issue 16).
    assert contexts == {
        "officers", "cases", "incidents", "fund", "employers", "claims", "coverage"
    }  # fmt: skip

    # Every payload is a valid envelope whose data matches its event's public schema.
    classes = {cls.__name__: cls for cls in all_event_classes()}
    for subject, headers, payload in messages:
        envelope = EventEnvelope.model_validate(payload)
        assert subject == f"{nats_settings.nats_subject_prefix}.{envelope.context}.{envelope.type}"
        assert envelope.id == headers["Nats-Msg-Id"]
        assert str(envelope.position) == headers["Msafiri-Position"]
        assert headers["Msafiri-Actor-Role"] == envelope.actor_role
        public_model(classes[envelope.type]).model_validate(envelope.data)

    # A second run finds nothing new and sends nothing.
    again = publish_all(nats_system)
    assert again.published == 0
    assert len(read_stream(nats_settings)) == len(messages)
    assert publisher_status(nats_system).lag == 0


@SQLITE_ONLY
def test_personal_data_is_left_out_or_pseudonymised(nats_system, nats_settings):
    demo_run(nats_system, migrants=20)
    publish_all(nats_system)
    raw = b"".join(json.dumps(p).encode() for _, _, p in read_stream(nats_settings))

    key = PositionStore(nats_system.database, "any").pseudonym_key()
    pseudonym = keyed_hasher(key)
    registered = [
        (n, nats_system.store.mapper.to_domain_event(n))
        for n in nats_system.store.recorder.select_notifications(start=1, limit=100_000)
        if n.topic.endswith("MigrantRegistered")
    ]
    assert len(registered) == 20
    payloads = {p["aggregate_id"]: p for _, _, p in read_stream(nats_settings)
                if p["type"] == "MigrantRegistered"}  # fmt: skip
    for _, event in registered:
        for secret in (event.full_name, event.phone, event.date_of_birth.isoformat()):
            assert secret.encode() not in raw
        data = payloads[str(event.originator_id)]["data"]
        assert not {"full_name", "phone", "date_of_birth", "national_id"} & set(data)
        if event.national_id:
            assert event.national_id.encode() not in raw
            assert data["national_id_ref"] == pseudonym("national_id", event.national_id)
    # Free text typed by officers never leaves.
    incidents = [p for _, _, p in read_stream(nats_settings) if p["type"] == "IncidentReported"]
    assert incidents and all("description" not in p["data"] for p in incidents)


# --- crashes and restarts -------------------------------------------------------------


def _cli_env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSAFIRI_")}
    env.update(
        MSAFIRI_DATABASE_URL=settings.database_url,
        MSAFIRI_NATS_URL=settings.nats_url or "",
        MSAFIRI_NATS_STREAM=settings.nats_stream,
        MSAFIRI_NATS_SUBJECT_PREFIX=settings.nats_subject_prefix,
        MSAFIRI_KEY_FILE=str(settings.key_file),
    )
    return env


def start_publisher(settings, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "msafiri.cli.main", "nats", "publish", "--json", *args],
        cwd=ROOT,
        env=_cli_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for_position(system, settings, above: int, seconds: float = 60) -> int:
    positions = PositionStore(
        system.database, publisher_name(settings.nats_stream, settings.nats_subject_prefix)
    )
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            position = positions.load()
            if position > above:
                return position
            time.sleep(0.02)
        raise AssertionError(f"publisher did not pass position {above} in {seconds} s")
    finally:
        positions.close()


@pytest.mark.parametrize("window", [120, 1], ids=["in-window", "after-window"])
def test_publisher_killed_mid_run_restarts_exactly_once(settings, nats_url, window):
    # window=1: the restart comes after the duplicate window has passed, so
    # the server's de-duplication cannot help; resuming from the stream's
    # last event must.
    nats_settings = unique_nats_settings(settings, nats_url, nats_duplicate_window_seconds=window)
    asyncio.run(_setup(nats_settings))
    system = build_system(nats_settings)
    try:
        actors = ensure_demo_officers(system)
        populate(system.store, actors, 1500, 11, workers=0)
        head = system.store.recorder.max_notification_id()

        publisher = start_publisher(nats_settings, "--page-size", "100")
        try:
            killed_at = wait_for_position(system, nats_settings, above=0)
            publisher.send_signal(signal.SIGKILL)
            publisher.wait(10)
        finally:
            if publisher.poll() is None:
                publisher.kill()
        assert publisher.returncode == -signal.SIGKILL
        assert killed_at < head, "the publisher finished before it could be killed"
        in_stream = len(read_stream(nats_settings))
        assert in_stream < head
        if window == 1:
            time.sleep(window + 1)

        progress = publish_all(system)
        assert progress.position == head
        assert_exactly_once_in_log_order(system, read_stream(nats_settings))
    finally:
        system.close()
        asyncio.run(_delete_stream(nats_settings))


def test_one_shot_publish_gives_up_when_nats_goes_away_then_resumes_exactly_once(
    settings, tmp_path
):
    # A server of its own, so the test can kill it mid-run.
    server = nats_server.start_single(tmp_path)
    nats_settings = unique_nats_settings(settings, server.url)
    system = None
    try:
        asyncio.run(_setup(nats_settings))
        system = build_system(nats_settings)
        populate(system.store, ensure_demo_officers(system), 60, 5, workers=0)
        head = system.store.recorder.max_notification_id()
        acked: list[int] = []

        def kill_after_first_page(progress):
            if not acked:
                acked.append(progress.position)
                server.kill()

        publisher = Publisher(
            system,
            page_size=100,
            ack_timeout=0.5,
            give_up_seconds=2,
            on_progress=kill_after_first_page,
        )
        try:
            with pytest.raises(NatsUnavailable, match="run it again when NATS is back"):
                asyncio.run(publisher.run())
        finally:
            publisher.close()
        # Nothing past the last page acked in full was marked published.
        assert acked and acked[0] < head
        assert publisher_status(system).position == acked[0]

        server.start()
        server.wait_healthy()
        assert publish_all(system).position == head
        assert_exactly_once_in_log_order(system, read_stream(nats_settings))
    finally:
        if system:
            system.close()
        server.stop()


@SQLITE_ONLY
def test_follow_publishes_new_events_and_stops_on_sigterm(nats_system, nats_settings):
    publisher = start_publisher(nats_settings, "--follow")
    try:
        actors = ensure_demo_officers(nats_system)
        for seed in range(3):
            populate(nats_system.store, actors, 5, seed, workers=0)
            time.sleep(0.2)
        head = nats_system.store.recorder.max_notification_id()
        wait_for_position(nats_system, nats_settings, above=head - 1)
        publisher.send_signal(signal.SIGTERM)
        out, err = publisher.communicate(timeout=30)
    finally:
        if publisher.poll() is None:
            publisher.kill()
    assert publisher.returncode == 0, err
    assert json.loads(out)["position"] == head
    assert_exactly_once_in_log_order(nats_system, read_stream(nats_settings))


@SQLITE_ONLY
def test_foreign_message_in_the_stream_is_tolerated(nats_system, nats_settings):
    # Someone else publishes into our subjects: the chain of expected ids
    # breaks once; the publisher re-anchors and loses nothing.
    actors = ensure_demo_officers(nats_system)
    publish_all(nats_system)

    async def intrude():
        client = await connect(nats_settings, keep_reconnecting=False)
        try:
            await client.jetstream().publish(
                f"{nats_settings.nats_subject_prefix}.other.Hello", b"{}",
                headers={"Nats-Msg-Id": "not-ours"},
            )  # fmt: skip
        finally:
            await client.close()

    asyncio.run(intrude())
    populate(nats_system.store, actors, 5, 3, workers=0)
    progress = publish_all(nats_system)
    assert progress.position == nats_system.store.recorder.max_notification_id()
    messages = read_stream(nats_settings)
    assert [s for s, _, _ in messages].count(
        f"{nats_settings.nats_subject_prefix}.other.Hello"
    ) == 1
    assert_exactly_once_in_log_order(nats_system, messages)


# --- set-up, configuration and errors ------------------------------------------------


@SQLITE_ONLY
def test_stream_setup_is_idempotent(settings, nats_url):
    nats_settings = unique_nats_settings(settings, nats_url)
    try:
        assert asyncio.run(_setup(nats_settings)) == "created"
        assert asyncio.run(_setup(nats_settings)) == "unchanged"
        wider = nats_settings.model_copy(update={"nats_duplicate_window_seconds": 300})
        assert asyncio.run(_setup(wider)) == "updated"
        assert asyncio.run(_setup(wider)) == "unchanged"

        async def window():
            client = await connect(wider, keep_reconnecting=False)
            try:
                info = await client.jetstream().stream_info(wider.nats_stream)
                return info.config.duplicate_window, info.config.subjects
            finally:
                await client.close()

        assert asyncio.run(window()) == (300, [f"{nats_settings.nats_subject_prefix}.>"])
    finally:
        asyncio.run(_delete_stream(nats_settings))


@SQLITE_ONLY
def test_publishing_without_a_stream_says_run_setup(settings, nats_url):
    system = build_system(unique_nats_settings(settings, nats_url))
    try:
        with pytest.raises(StreamMissing, match="msafiri nats setup"):
            publish_all(system)
    finally:
        system.close()


def _closed_port_url() -> str:
    return f"nats://127.0.0.1:{nats_server.free_ports(1)[0]}"


@SQLITE_ONLY
def test_wrong_url_is_reported_in_one_line_quickly(settings, system):
    # `system`: the database exists (a missing SQLite file is refused first).
    bad = settings.model_copy(update={"nats_url": _closed_port_url()})
    with pytest.raises(NatsUnavailable, match="cannot connect to NATS at "):
        asyncio.run(connect(bad))
    # The CLI: one line on stderr, exit 1, long before nats-py's two minutes
    # of retries (the timeout below would fail the test).
    for command in (["publish"], ["setup"], ["status"]):
        result = subprocess.run(
            [sys.executable, "-m", "msafiri.cli.main", "nats", *command],
            cwd=ROOT, env=_cli_env(bad), capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: cannot connect to NATS at")


@SQLITE_ONLY
def test_without_a_nats_url_nothing_touches_nats(settings):
    assert settings.nats_url is None
    assert subscribe_changes(settings, lambda change: None) is None
    probe = (
        "import sys\n"
        "from msafiri.cli.main import main\n"
        "try:\n"
        "    main(['officer', 'list'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = [m for m in sys.modules if m == 'nats' or m.startswith('nats.')]\n"
        "assert not loaded, loaded\n"
        "assert 'integration.publisher' not in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=_cli_env(settings),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "msafiri.cli.main", "nats", "publish"],
        cwd=ROOT, env=_cli_env(settings), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "MSAFIRI_NATS_URL" in result.stderr


# --- status, live updates, the consumer example, schemas -------------------------------


@SQLITE_ONLY
def test_status_shows_position_and_lag(nats_system, nats_settings):
    demo_run(nats_system, migrants=5)
    head = nats_system.store.recorder.max_notification_id()

    def status():
        result = subprocess.run(
            [sys.executable, "-m", "msafiri.cli.main", "nats", "status", "--json"],
            cwd=ROOT, env=_cli_env(nats_settings), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    before = status()
    assert (before["position"], before["lag"], before["stream"]["messages"]) == (0, head, 0)
    publish_all(nats_system)
    after = status()
    published = len(log_ids(nats_system))
    assert (after["position"], after["lag"], after["stream"]["messages"]) == (head, 0, published)


@SQLITE_ONLY
def test_live_changes_reach_a_subscriber(nats_system, nats_settings):
    received: queue.Queue = queue.Queue()
    subscription = subscribe_changes(nats_settings, received.put)
    assert subscription is not None
    try:
        actors = ensure_demo_officers(nats_system)
        populate(nats_system.store, actors, 3, 5, workers=0)
        publish_all(nats_system)
        published = [position for position, _ in log_ids(nats_system)]
        changes = [received.get(timeout=30) for _ in published]
    finally:
        subscription.close()
    assert [c.position for c in changes] == published
    registered = [c for c in changes if c.event_type == "MigrantRegistered"]
    assert len(registered) == 3 and {c.context for c in registered} == {"cases"}


@SQLITE_ONLY
def test_consumer_example_prints_every_reported_incident(nats_system, nats_settings):
    demo_run(nats_system, migrants=40)
    publish_all(nats_system)
    reported = [
        n for n in nats_system.store.recorder.select_notifications(start=1, limit=100_000)
        if n.topic.endswith(":IncidentReported")
    ]  # fmt: skip
    assert reported
    # --once ends at the first wait that brings nothing: long enough for a loaded machine.
    command = [
        sys.executable, str(ROOT / "docs" / "consumer_example.py"),
        "--url", nats_settings.nats_url, "--stream", nats_settings.nats_stream,
        "--prefix", nats_settings.nats_subject_prefix, "--once", "--wait", "5",
    ]  # fmt: skip
    first = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.strip().splitlines()
    assert len(lines) == len(reported)
    assert {str(n.originator_id) for n in reported} == {line.split()[5] for line in lines}
    # Durable: a second run has nothing left to print.
    second = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0 and second.stdout == ""


def test_schema_files_are_up_to_date():
    assert stale() == [], "run: uv run python -m integration.schemas"


def test_pseudonyms_are_keyed_and_stable():
    one, other = keyed_hasher(b"a" * 32), keyed_hasher(b"b" * 32)
    assert one("national_id", "12345678") == one("national_id", "12345678")
    assert one("national_id", "12345678") != other("national_id", "12345678")
    assert one("national_id", "12345678") != one("passport_number", "12345678")
