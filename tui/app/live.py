"""Live updates: refresh the screens whose read models changed, when NATS says so.

With MSAFIRI_NATS_URL set, the app subscribes to the published event log
(`integration.live`). Each notification hops to the UI thread; the changes
are gathered, a worker waits until the read models have reached the latest
change's position (so a refresh shows it), and then the screens that care
refresh once for the whole batch - a burst of a thousand events is one
refresh, not a thousand. Screens further down the stack refresh when they
are shown again.

Without a URL nothing here touches NATS (nats-py is not even imported) and
the app polls the read models; an unreachable server is one notification,
and the app polls too. While subscribed the app still polls, slowly: a core
NATS subscription misses what is published while it reconnects.
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from typing import Any

# How long a refresh waits for the read models to reach a change before it
# refreshes anyway (a stopped projection must not freeze live updates).
CATCH_UP_WAIT_SECONDS = 30.0
# Changes remembered per batch; beyond it the batch means "everything".
BATCH_CHANGES_MAX = 1000


def wants(screen: Any, changes: list[Any] | None) -> bool:
    """Does a screen show what these changes touched? (None: anything.)
    Screens say so with `wants_change(change)` or `live_contexts`
    (e.g. {"fund", "cases"}); a screen with neither refreshes on any."""
    if getattr(screen, "refresh_data", None) is None:
        return False
    if changes is None:
        return True
    wants_change = getattr(screen, "wants_change", None)
    if wants_change is not None:
        return any(wants_change(change) for change in changes)
    contexts = getattr(screen, "live_contexts", None)
    return contexts is None or any(change.context in contexts for change in changes)


class LiveUpdates:
    """Owned by the app; every method but `_from_nats` runs on the UI thread."""

    def __init__(self, app: Any):
        self.app = app
        self.state = "off: polling the read models"
        self.subscription: Any = None
        self.refreshes = 0  # batches refreshed because of NATS (tests read it)
        self.refreshed_position = 0
        self._pending: list[Any] | None = []  # None: too many to tell apart
        self._target = 0
        self._waiting = False
        self._closing = False
        self._stale: weakref.WeakSet = weakref.WeakSet()

    @property
    def active(self) -> bool:
        return self.subscription is not None

    # -- subscribing ------------------------------------------------------------

    def start(self) -> None:
        settings = self.app.system.settings
        self.app.screen_change_signal.subscribe(self.app, self._shown)
        if not settings.nats_url:
            self.state = "off (NATS not configured): polling the read models"
            return
        self.state = f"connecting to {settings.nats_url}..."
        self.app.call(self._subscribe, settings, then=self._subscribed, group="live")

    def _subscribe(self, settings: Any) -> Any:
        """Worker thread: at most a few seconds (integration bounds the connect)."""
        from integration.connection import NatsUnavailable
        from integration.live import subscribe_changes

        try:
            return subscribe_changes(settings, self._from_nats)
        except NatsUnavailable as error:
            return error

    def _subscribed(self, result: Any) -> None:
        if isinstance(result, Exception):
            self.state = f"unavailable ({result}): polling the read models"
            self.app.notify(
                f"{result}. Screens refresh by polling instead.",
                title="Live updates off",
                severity="warning",
                timeout=10,
            )
            return
        if self._closing:  # the app ended while we were connecting
            self._close_subscription(result)
            return
        self.subscription = result
        self.state = f"on: subscribed to {self.app.system.settings.nats_url}"
        self.app.live_started()

    def close(self) -> None:
        self._closing = True
        subscription, self.subscription = self.subscription, None
        if subscription is not None:
            self._close_subscription(subscription)

    @staticmethod
    def _close_subscription(subscription: Any) -> None:
        # Not on the UI thread: its callback may be waiting for this very
        # thread (call_from_thread), and joining it here would deadlock.
        threading.Thread(target=subscription.close, name="msafiri-live-close", daemon=True).start()

    # -- notifications ------------------------------------------------------------

    def _from_nats(self, change: Any) -> None:
        """The subscription's thread: hop over to the UI thread."""
        if self._closing:
            return
        with contextlib.suppress(RuntimeError):  # the app is not running (any more)
            self.app.call_from_thread(self.on_change, change)

    def on_change(self, change: Any) -> None:
        self._target = max(self._target, change.position)
        if self._pending is not None:
            self._pending.append(change)
            if len(self._pending) > BATCH_CHANGES_MAX:
                self._pending = None
        if not self._waiting:
            self._wait_then_refresh()

    def _wait_then_refresh(self) -> None:
        self._waiting = True
        target, batch = self._target, self._pending
        self._pending = []
        read_side = self.app.read_side

        def reached() -> int:
            """Worker: wait (bounded) until the read models show `target`."""
            deadline = time.monotonic() + CATCH_UP_WAIT_SECONDS
            if read_side.follows_here:
                # Don't wait for the follower's next poll (a busy database:
                # the follower gets there anyway).
                with contextlib.suppress(Exception):
                    read_side.catch_up()
            while (position := read_side.position()) < target:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            return position

        def done(position: int) -> None:
            self._waiting = False
            self.refreshed_position = max(self.refreshed_position, position)
            self.app.note_position(position)
            self.refresh(batch)
            self.refreshes += 1
            if self._target > target or self._pending:
                self._wait_then_refresh()

        self.app.call(reached, then=done, group="live-wait")

    def refresh(self, changes: list[Any] | None) -> None:
        """Refresh the shown screen if it cares; mark the others to refresh
        when they are shown again."""
        app = self.app
        if app.session is None:
            return
        shown = app.screen
        for screen in app.screen_stack:
            if screen is not shown and wants(screen, changes):
                self._stale.add(screen)
        if wants(shown, changes):
            self._stale.discard(shown)
            shown.refresh_data()

    def _shown(self, screen: Any) -> None:
        if screen in self._stale:
            self._stale.discard(screen)
            screen.refresh_data()
