"""Live updates for open screens: "something changed" notifications from NATS.

A screen does not need the event itself (its read models have it, or soon
will): it needs to know *what kind* of thing changed to refresh the right
view. So this listens with a plain (core NATS) subscription on every
published subject and hands the headers over as a `Change`. Nothing is
stored server-side for it and a missed notification costs only a refresh -
the screens' polling fallback covers it.

Without MSAFIRI_NATS_URL, `subscribe_changes` returns None and never
touches NATS; with an unreachable server it raises `NatsUnavailable` within
a few seconds, and the caller polls instead.

    sub = subscribe_changes(settings, lambda change: app.call_from_thread(on_change, change))
    ...
    sub.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from integration.connection import connect
from msafiri.settings import Settings

log = logging.getLogger("msafiri.nats.live")


@dataclass(frozen=True)
class Change:
    context: str  # cases, incidents, officers, fund
    event_type: str  # e.g. DisbursementRequested
    aggregate_id: str
    position: int
    actor_id: str


def change_from(subject: str, headers: dict[str, str] | None) -> Change | None:
    headers = headers or {}
    parts = subject.split(".")
    if len(parts) < 3 or "Msafiri-Position" not in headers:
        return None
    return Change(
        context=parts[-2],
        event_type=parts[-1],
        aggregate_id=headers.get("Msafiri-Aggregate-Id", ""),
        position=int(headers["Msafiri-Position"]),
        actor_id=headers.get("Msafiri-Actor-Id", ""),
    )


async def open_changes(settings: Settings, callback: Callable[[Change], Any]) -> Any:
    """In the caller's event loop (e.g. Textual's): returns the connected
    client; close it with `await client.close()`. `callback` runs in the loop."""

    async def on_message(msg: Any) -> None:
        change = change_from(msg.subject, msg.headers)
        if change is None:
            return
        try:
            callback(change)
        except Exception:  # a screen's bug must not kill the subscription
            log.exception("live-update callback failed")

    client = await connect(settings, name="msafiri-live")
    await client.subscribe(f"{settings.nats_subject_prefix}.>", cb=on_message)
    await client.flush(timeout=settings.connect_timeout_seconds)
    return client


class LiveSubscription:
    """A subscription running in its own thread and event loop."""

    def __init__(self, settings: Settings, callback: Callable[[Change], Any]):
        self._loop = asyncio.new_event_loop()
        self._client: Any = None
        self._thread = threading.Thread(target=self._run, name="msafiri-live", daemon=True)
        self._settings = settings
        self._callback = callback
        self._started = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> LiveSubscription:
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            self._thread.join(5)
            raise self._error
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._client = self._loop.run_until_complete(
                open_changes(self._settings, self._callback)
            )
        except BaseException as error:
            self._error = error
            self._started.set()
            self._loop.close()
            return
        self._started.set()
        self._loop.run_forever()
        with contextlib.suppress(Exception):
            self._loop.run_until_complete(asyncio.wait_for(self._client.close(), 5))
        self._loop.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


def subscribe_changes(
    settings: Settings, callback: Callable[[Change], Any]
) -> LiveSubscription | None:
    """Call `callback(change)` (from a background thread) for every event
    published from now on. None when NATS is not configured."""
    if not settings.nats_url:
        return None
    return LiveSubscription(settings, callback).start()
