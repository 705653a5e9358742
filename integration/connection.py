"""Connecting to NATS without ever hanging an officer's command.

nats-py's initial connect retries for about two minutes by default
(FIELD-NOTES.md). Every connect here is bounded: with no URL we never try,
with a wrong one the caller gets `NatsUnavailable` with one line within a
few seconds. Once connected, long-lived clients (the publisher, live
updates) reconnect forever in the background instead.
"""

from __future__ import annotations

import asyncio
from typing import Any

import nats
from nats.aio.client import Client

from msafiri.settings import Settings
from projections.outage import Backoff


class NatsNotConfigured(Exception):
    """MSAFIRI_NATS_URL is not set: Msafiri does not touch NATS."""


class NatsUnavailable(Exception):
    """The configured NATS server cannot be reached; the message is one line."""


def server_urls(settings: Settings) -> list[str]:
    if not settings.nats_url:
        raise NatsNotConfigured(
            "NATS is not configured: set MSAFIRI_NATS_URL (e.g. nats://127.0.0.1:4222)"
        )
    # A cluster is given as a comma-separated list of its servers.
    return [url.strip() for url in settings.nats_url.split(",") if url.strip()]


async def connect(
    settings: Settings,
    *,
    name: str = "msafiri",
    keep_reconnecting: bool = True,
    timeout: float | None = None,
    **callbacks: Any,
) -> Client:
    """Connect within `timeout` seconds (default: the settings' connect timeout)
    or raise `NatsUnavailable` naming the URL and the last error seen."""
    servers = server_urls(settings)
    seconds = float(timeout or settings.connect_timeout_seconds)
    last_error: list[BaseException] = []
    error_cb = callbacks.pop("error_cb", None)
    reconnected_cb = callbacks.pop("reconnected_cb", None)
    backoff = Backoff()

    async def remember(error: BaseException) -> None:
        # nats-py reports every failed attempt here; keep the last for the
        # one-line message instead of printing a stack of retries.
        last_error[:] = [error]
        if error_cb is not None:
            await error_cb(error)

    async def reconnected() -> None:
        backoff.reset()
        if reconnected_cb is not None:
            await reconnected_cb()

    def next_server(candidates: list[Any], _info: dict) -> tuple[Any, float]:
        # nats-py retries a lost server every 0.5 s for ever; ours waits
        # 0.5 s doubling to 30 s, jittered, taking the servers in turn.
        return candidates[backoff.attempts % len(candidates)], backoff.next()

    try:
        client = await asyncio.wait_for(
            nats.connect(
                servers=servers,
                name=name,
                connect_timeout=max(1, int(seconds)),
                # One attempt per server, quickly: the bound is ours, not the
                # library's two minutes of retries.
                max_reconnect_attempts=1,
                reconnect_time_wait=0.1,
                error_cb=remember,
                reconnected_cb=reconnected,
                # Used only once connected, when the connection is lost.
                reconnect_to_server_handler=next_server if keep_reconnecting else None,
                **callbacks,
            ),
            timeout=seconds * len(servers) + 1,
        )
    except (TimeoutError, OSError, nats.errors.Error) as error:
        cause = last_error[-1] if last_error else error
        if isinstance(cause, (TimeoutError, asyncio.TimeoutError)):
            reason = f"no answer within {seconds:g} s"
        else:
            reason = str(cause).strip() or type(cause).__name__
        raise NatsUnavailable(f"cannot connect to NATS at {settings.nats_url}: {reason}") from None
    if keep_reconnecting:
        # Established: from now on ride out restarts and leader elections in
        # the background (the library reads this option at each reconnect),
        # with capped jittered backoff (next_server).
        client.options["max_reconnect_attempts"] = -1
    return client
