"""Fault test: a 3-node JetStream cluster on loopback, an R3 stream, and the
stream leader SIGKILLed while officers keep writing and the publisher keeps
publishing. After re-election every event is in the stream exactly once, in
log order.

The servers are started by the test (tests/nats_server.py): loopback only,
ports allocated up front, killed with the test process.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time

import pytest

from integration.connection import connect
from msafiri.bootstrap import build_system
from msafiri.demo.officers import ensure_demo_officers
from msafiri.demo.population import populate
from tests import nats_server
from tests.test_nats import (
    SQLITE_ONLY,
    _setup,
    assert_exactly_once_in_log_order,
    log_ids,
    read_stream,
    start_publisher,
    wait_for_position,
)

pytestmark = pytest.mark.slow


def retry(action, seconds: float = 60):
    """The cluster needs a meta leader (and, after a kill, a new stream
    leader) before it accepts requests: retry generously."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return action()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def stream_leader(settings) -> str:
    async def leader():
        client = await connect(settings, keep_reconnecting=False)
        try:
            info = await client.jetstream(timeout=5).stream_info(settings.nats_stream)
            assert info.cluster and info.cluster.leader, "no stream leader yet"
            return info.cluster.leader
        finally:
            await client.close()

    return asyncio.run(leader())


@SQLITE_ONLY
def test_stream_leader_killed_while_publishing(settings, tmp_path):
    servers = nats_server.start_cluster(tmp_path / "cluster")
    try:
        urls = ",".join(s.url for s in servers)
        nats_settings = settings.model_copy(
            update={
                "nats_url": urls,
                "nats_stream": "FAULT",
                "nats_subject_prefix": "fault",
                "nats_replicas": 3,
            }
        )
        assert retry(lambda: asyncio.run(_setup(nats_settings))) == "created"
        leader_name = retry(lambda: stream_leader(nats_settings))
        leader = next(s for s in servers if s.name == leader_name)

        system = build_system(nats_settings)
        try:
            actors = ensure_demo_officers(system)
            populate(system.store, actors, 300, 1, workers=0)

            # Officers keep writing the whole time, whatever NATS is doing.
            stop_writing = threading.Event()
            rounds: list[int] = []

            def write() -> None:
                seed = 100
                while not stop_writing.is_set():
                    populate(system.store, actors, 10, seed, workers=0)
                    rounds.append(seed)
                    seed += 1
                    time.sleep(0.1)

            writer = threading.Thread(target=write)
            writer.start()
            publisher = start_publisher(nats_settings, "--follow", "--page-size", "200")
            try:
                wait_for_position(system, nats_settings, above=0)
                leader.kill()  # SIGKILL
                killed_at_round = len(rounds)
                # Keep writing through the election (nats-server takes ~4-9 s).
                time.sleep(12)
                stop_writing.set()
                writer.join(60)
                assert len(rounds) > killed_at_round, "officers' writes stalled"
                head = system.store.recorder.max_notification_id()
                wait_for_position(system, nats_settings, above=head - 1, seconds=180)
                publisher.send_signal(signal.SIGTERM)
                out, err = publisher.communicate(timeout=60)
            finally:
                stop_writing.set()
                if publisher.poll() is None:
                    publisher.kill()
            assert publisher.returncode == 0, err.decode()[-2000:]
            progress = json.loads(out)
            assert progress["position"] == head

            survivors = [s for s in servers if s is not leader]
            new_leader = retry(lambda: stream_leader(nats_settings))
            assert new_leader != leader.name and new_leader in {s.name for s in survivors}
            messages = retry(lambda: read_stream(nats_settings))
            assert len(messages) == len(log_ids(system))
            assert_exactly_once_in_log_order(system, messages)
        finally:
            system.close()
    finally:
        for server in servers:
            server.stop()
