"""The NATS publisher: every event of the log into JetStream, exactly once.

How "exactly once" holds:

- Each message carries `Nats-Msg-Id = <aggregate id>:<version>`, the event's
  identity, so a re-send within the stream's duplicate window is dropped by
  the server.
- Each message also carries `Nats-Expected-Last-Msg-Id` = the previous
  event's id. The server stores a message only right after its predecessor,
  so when one is lost (a leader dies mid-batch) the ones behind it are
  refused rather than stored out of order; the publisher re-sends from the
  first unacked one. The stream is therefore always a gap-free prefix of the
  log, in log order (and so in order per aggregate).
- The saved position advances only past acked messages. On start the
  publisher resumes after whichever is further: its saved position or the
  last event already in the stream - so a crash followed by a restart later
  than the duplicate window still publishes nothing twice.

eventsourcing is synchronous; the log is read (and messages built) in a
worker thread while the event loop waits on acks for the previous page.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import nats.errors
from nats.js import JetStreamContext
from nats.js.errors import APIError, NoStreamResponseError, NotFoundError

from integration.connection import NatsUnavailable, connect
from integration.partner_sharing import PartnerSharing
from integration.payloads import UNPUBLISHED, Message, build_message, keyed_hasher
from integration.position import PositionStore, publisher_name
from projections.outage import Outage, classify, reopen_store_connections

log = logging.getLogger("msafiri.nats")

WRONG_LAST_MSG_ID = 10070  # JSStreamWrongLastMsgIDErr


class PublishStalled(Exception):
    """The client accepted no more messages in time: replace the connection."""


class StreamMissing(Exception):
    """The configured stream does not exist (run `msafiri nats setup`)."""


class _Stopped(Exception):
    """Asked to stop while a page was still unacked: leave it unpublished."""


@dataclass
class Progress:
    position: int
    published: int
    resent: int
    # Events left out because their person withdrew partner sharing.
    withheld: int = 0


@cache
def _unpublished(topic: str) -> bool:
    return topic.rpartition(":")[2] in UNPUBLISHED


class Publisher:
    def __init__(
        self,
        system: Any,
        *,
        page_size: int = 1000,
        ack_timeout: float = 5.0,
        give_up_seconds: float = 60.0,
        on_progress: Callable[[Progress], None] | None = None,
        say: Callable[[str], object] | None = None,
    ):
        settings = system.settings
        self.settings = settings
        self.store = system.store
        self.prefix = settings.nats_subject_prefix
        self.stream = settings.nats_stream
        self.page_size = page_size
        self.ack_timeout = ack_timeout
        # A one-shot run (a script, `msafiri nats publish`) must end: after
        # this long without getting a page acked it stops with NatsUnavailable.
        # A follower (`--follow`, the projection worker) never gives up.
        self.give_up_seconds = give_up_seconds
        self.on_progress = on_progress
        # One line when NATS (or the database) goes, one when it is back.
        self.nats_outage = Outage("nats publisher", f"NATS at {settings.nats_url}", say)
        self.database_outage = Outage("nats publisher", "database", say)
        # Disconnections seen so far: a page sent before one is re-sent
        # quietly (the outage was reported already).
        self._disconnects = 0
        self._stop: asyncio.Event | None = None
        self._follow = False
        self._give_up_at: float | None = None
        self.positions = PositionStore(system.database, publisher_name(self.stream, self.prefix))
        self.pseudonym = keyed_hasher(self.positions.pseudonym_key())
        self.position = self.positions.load()
        # The Nats-Msg-Id of the stream's last message: the next one chains to it.
        self.anchor: str | None = None
        self.published = 0
        self.resent = 0
        self.sharing = PartnerSharing(self.store)
        self.withheld = 0

    # -- reading the log (worker thread) -------------------------------------------

    def read_page(self, after: int) -> tuple[list[Message], int]:
        """The next page's messages and the log position it ends at (events
        that are never published still move the position)."""
        notifications = self.store.recorder.select_notifications(
            start=after + 1, limit=self.page_size
        )
        # Consents first, up to the head: a withdrawal recorded after this
        # page still withholds the page's events of that person.
        self.sharing.refresh()
        messages = []
        for notification in notifications:
            if _unpublished(notification.topic):
                continue
            message = self.message(notification)
            if message is None:
                self.withheld += 1
            else:
                messages.append(message)
        return messages, (notifications[-1].id if notifications else after)

    def message(self, notification: Any) -> Message | None:
        """The event's message, or None when its person withdrew partner sharing."""
        # The stored state is the event's JSON already; decoding it without a
        # pydantic round trip keeps the publisher at the speed of the wire.
        event_class, state = self.store.mapper.to_state(notification)
        if self.sharing.withheld(event_class, state, notification.id):
            return None
        return build_message(self.prefix, notification.id, event_class, state, self.pseudonym)

    # -- the stream's tail ------------------------------------------------------------

    async def resume(self, js: JetStreamContext) -> None:
        """Start after the saved position or the stream's last event, whichever
        is further, chained to the stream's last message."""
        try:
            info = await js.stream_info(self.stream)
        except NotFoundError:
            raise StreamMissing(
                f"NATS stream {self.stream} does not exist: run `msafiri nats setup`"
            ) from None
        last_seq, first_seq = info.state.last_seq, info.state.first_seq
        self.anchor = None
        seq, looked = last_seq, 0
        while seq >= max(first_seq, 1) and looked < 1000:
            looked += 1
            try:
                msg = await js.get_msg(self.stream, seq)
            except NotFoundError:  # deleted by a limit
                seq -= 1
                continue
            headers = msg.headers or {}
            if self.anchor is None:
                self.anchor = headers.get("Nats-Msg-Id")
            position = headers.get("Msafiri-Position")
            if position and msg.subject and msg.subject.startswith(self.prefix + "."):
                if int(position) > self.position:
                    log.info("resuming after position %s found in the stream", position)
                    self.position = int(position)
                    await asyncio.to_thread(self.positions.save, self.position)
                break
            seq -= 1

    # -- publishing one page until every message is acked -------------------------

    async def publish_acked(self, js: JetStreamContext, messages: list[Message]) -> None:
        pending = messages
        anchor = self.anchor
        chain = True
        delay = 0.2
        while pending:
            await self._until_connected(pending[0].position)
            disconnects = self._disconnects
            futures: list[asyncio.Future] = []
            expected = anchor
            try:
                # Sending never blocks for long in health; a client stuck
                # mid-reconnect can, so sending is bounded too, and a stalled
                # client is replaced (see _publish_or_reconnect).
                async with asyncio.timeout(self.ack_timeout):
                    for message in pending:
                        headers = dict(message.headers)
                        if expected and chain:
                            headers["Nats-Expected-Last-Msg-Id"] = expected
                        chain = True
                        expected = message.msg_id
                        # No wait_stall: a page never exceeds the client's
                        # in-flight limit, and a timeout here costs a task
                        # per message.
                        futures.append(
                            await js.publish_async(
                                message.subject, message.payload, headers=headers
                            )
                        )
            except TimeoutError:
                for future in futures:
                    future.cancel()
                self.resent += len(pending)
                raise PublishStalled(
                    f"sending stalled; {len(pending)} messages from position "
                    f"{pending[0].position} will be re-sent on a new connection"
                ) from None
            if futures:
                await asyncio.wait(futures, timeout=self.ack_timeout)
            failed_at, error = None, None
            for index, future in enumerate(futures):
                if not future.done():
                    future.cancel()  # releases the client's in-flight slot
                    if failed_at is None:
                        failed_at, error = index, TimeoutError("no ack in time")
                    continue
                # Read every outcome, so none is reported as never retrieved.
                problem = None if future.cancelled() else future.exception()
                if failed_at is None and (future.cancelled() or problem):
                    failed_at, error = index, problem
            if failed_at is None:
                break
            if failed_at:
                anchor = pending[failed_at - 1].msg_id
            if (
                isinstance(error, APIError)
                and error.err_code == WRONG_LAST_MSG_ID
                and failed_at == 0
            ):
                # The predecessor is acked (or was read from the stream), yet
                # the stream's last message is another one (the stream was
                # purged or recreated, or someone else wrote to it): re-anchor
                # on what is there.
                log.warning("stream's last message is not ours (%s): re-anchoring", error)
                chain = False
            self.resent += len(pending) - failed_at
            # Lost with a connection already reported: no line of its own.
            quiet = self._disconnects != disconnects or self.nats_outage.active
            log.log(
                logging.INFO if quiet else logging.WARNING,
                "%d of %d messages unacked (%s); re-sending from position %d",
                len(pending) - failed_at,
                len(pending),
                _describe(error),
                pending[failed_at].position,
            )
            pending = pending[failed_at:]
            self._check_patience(pending[0].position)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        self.anchor = messages[-1].msg_id

    async def _until_connected(self, position: int) -> None:
        """Send nothing while the client is reconnecting (it would only pile
        up in its buffer and time out): wait, checking for a stop."""
        while self._client.is_reconnecting:
            self._check_patience(position)
            await asyncio.sleep(0.1)

    def _check_patience(self, position: int) -> None:
        """Called before every retry: stop when asked, and let a one-shot run
        give up instead of retrying for ever. Nothing is lost either way: the
        saved position is that of the last page acked in full."""
        if self._stop is not None and self._stop.is_set():
            raise _Stopped
        if self._give_up_at is not None and asyncio.get_running_loop().time() > self._give_up_at:
            raise NatsUnavailable(
                f"NATS at {self.settings.nats_url} did not acknowledge events for "
                f"{self.give_up_seconds:g} s; published up to position {self.position:,} "
                f"(next: {position:,}); run it again when NATS is back"
            )

    # -- the loop --------------------------------------------------------------------

    async def run(
        self,
        *,
        follow: bool = False,
        stop: asyncio.Event | None = None,
        poll_seconds: float | None = None,
    ) -> Progress:
        """Publish everything (and, with follow, keep publishing until `stop`).
        Survives NATS restarts and leader elections: the connection reconnects
        and unacked messages are re-sent; nothing is skipped."""
        stop = stop or asyncio.Event()
        self._stop = stop
        self._follow = follow
        poll = poll_seconds if poll_seconds is not None else self.settings.projection_poll_seconds
        self._client = await self._connect()
        try:
            await self.resume(self._jetstream())
            reading = self._read_ahead(self.position)
            try:
                while not stop.is_set():
                    try:
                        messages, last = await reading
                    except _Stopped:
                        break
                    if last == self.position:
                        if not follow:
                            break
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), poll)
                        reading = self._read_ahead(self.position)
                        continue
                    # Build the next page while this one is being acked.
                    reading = self._read_ahead(last)
                    if messages:
                        if not follow:
                            loop = asyncio.get_running_loop()
                            self._give_up_at = loop.time() + self.give_up_seconds
                        try:
                            await self._publish_or_reconnect(messages)
                        except _Stopped:
                            break
                    self.position = last
                    self.published += len(messages)
                    try:
                        await self._database(self.positions.save, self.position)
                    except _Stopped:
                        break  # unsaved: the next start finds it in the stream
                    if self.on_progress:
                        self.on_progress(self.progress())
            finally:
                reading.cancel()
                with contextlib.suppress(BaseException):
                    await reading
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._client.close(), 5)
        return self.progress()

    def _read_ahead(self, after: int) -> asyncio.Task:
        return asyncio.create_task(self._database(self.read_page, after))

    async def _database(self, work: Callable[..., Any], *args: Any) -> Any:
        """Run blocking database work in a thread. A follower rides out a
        database outage of any length: one line, capped jittered backoff,
        then the same work again (a page is read again, a position saved
        again: both harmless). A one-shot run fails at once."""
        while True:
            try:
                result = await asyncio.to_thread(work, *args)
            except Exception as error:
                kind = classify(error)
                if kind is None or not self._follow:
                    raise
                delay = self.database_outage.gone(error, kind)
                self._check_patience(self.position + 1)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                self._check_patience(self.position + 1)
                with contextlib.suppress(Exception):
                    # Our own connection first: it reopens itself, and the
                    # event store's pool is only checked once the server
                    # answers (else its reconnect attempts back off for long).
                    await asyncio.to_thread(self.positions.load)
                    await asyncio.to_thread(reopen_store_connections, self.store)
                continue
            if self.database_outage.active:
                # The server answers again. The reconnect above may have run
                # while it was still away (and been skipped): drop the pool's
                # other connections that died with it now, or the next read
                # fails once more on one of them and the outage is reported
                # a second time.
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(reopen_store_connections, self.store)
            self.database_outage.back()
            return result

    async def _connect(self) -> Any:
        connected: list[Any] = []

        async def disconnected() -> None:
            if connected and connected[0].is_closed:
                return  # closed on purpose (stopping, or replaced), not lost
            self._disconnects += 1
            self.nats_outage.gone(ConnectionError("connection lost"))

        async def reconnected() -> None:
            self.nats_outage.back()

        client = await connect(
            self.settings,
            name="msafiri-publisher",
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
        )
        connected.append(client)
        return client

    def _jetstream(self) -> JetStreamContext:
        return self._client.jetstream(publish_async_max_pending=max(4000, self.page_size * 2))

    async def _publish_or_reconnect(self, messages: list[Message]) -> None:
        # The client reconnects by itself; should it ever give up and close,
        # open a new one and re-send the page from its first unacked message.
        js = self._jetstream()
        while True:
            try:
                await self.publish_acked(js, messages)
                return
            except (
                nats.errors.ConnectionClosedError,
                nats.errors.OutboundBufferLimitError,
                PublishStalled,
            ) as error:
                delay = self.nats_outage.gone(error)
                self._check_patience(messages[0].position)
                await asyncio.sleep(delay)
                self._check_patience(messages[0].position)
                with contextlib.suppress(NatsUnavailable):
                    client = await self._connect()
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(self._client.close(), 5)
                    self._client = client
                    js = self._jetstream()
                    self.nats_outage.back()

    def progress(self) -> Progress:
        return Progress(
            position=self.position,
            published=self.published,
            resent=self.resent,
            withheld=self.withheld,
        )

    def close(self) -> None:
        self.positions.close()


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "cancelled"
    if isinstance(error, NoStreamResponseError):
        return "no stream leader responded"
    return str(error) or type(error).__name__


@dataclass
class Status:
    position: int
    head: int
    updated_at: str | None

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)


def publisher_status(system: Any) -> Status:
    """The publisher's position and lag, from the database alone (no NATS)."""
    settings = system.settings
    positions = PositionStore(
        system.database, publisher_name(settings.nats_stream, settings.nats_subject_prefix)
    )
    try:
        return Status(
            position=positions.load(),
            head=system.store.recorder.max_notification_id() or 0,
            updated_at=positions.updated_at(),
        )
    finally:
        positions.close()


def publish(system: Any, *, follow: bool = False, **options: Any) -> Progress:
    """Synchronous entry point (the CLI)."""
    publisher = Publisher(system, **options)
    try:
        return asyncio.run(publisher.run(follow=follow))
    finally:
        publisher.close()


__all__ = ["Progress", "Publisher", "Status", "StreamMissing", "publish", "publisher_status"]
