"""The JetStream stream Msafiri publishes into, made from the settings.

`ensure_stream` is idempotent: it creates the stream, updates it when a
setting changed, and leaves it alone otherwise, on one server or an R3
cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from msafiri.settings import Settings


@dataclass(frozen=True)
class Retention:
    """Limits on what the stream keeps (0 = unlimited)."""

    max_age_days: float = 0
    max_bytes: int = 0


def stream_config(settings: Settings, retention: Retention | None = None) -> StreamConfig:
    retention = retention or Retention(settings.nats_max_age_days, settings.nats_max_bytes)
    return StreamConfig(
        name=settings.nats_stream,
        description="Msafiri: every event of the log, once, in log order",
        subjects=[f"{settings.nats_subject_prefix}.>"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        num_replicas=settings.nats_replicas,
        # The window in which a re-sent Nats-Msg-Id is recognised as a duplicate.
        duplicate_window=float(settings.nats_duplicate_window_seconds),
        max_age=retention.max_age_days * 86_400 or None,
        max_bytes=retention.max_bytes or None,
        discard=DiscardPolicy.OLD,
    )


# What `ensure_stream` compares: the settings it is responsible for.
_MANAGED = ("subjects", "num_replicas", "duplicate_window", "max_age", "max_bytes", "retention")


def _normal(config: StreamConfig, field: str) -> object:
    value = getattr(config, field)
    if field in ("max_age", "max_bytes"):
        return value if value and value > 0 else None
    if field == "subjects":
        return sorted(value or [])
    return value


async def ensure_stream(
    js: JetStreamContext, settings: Settings, retention: Retention | None = None
) -> str:
    """Create or update the stream; returns "created", "updated" or "unchanged"."""
    wanted = stream_config(settings, retention)
    try:
        info = await js.stream_info(wanted.name)
    except NotFoundError:
        await js.add_stream(wanted)
        return "created"
    current = info.config
    if all(_normal(current, f) == _normal(wanted, f) for f in _MANAGED):
        return "unchanged"
    await js.update_stream(wanted)
    return "updated"


async def stream_summary(settings: Settings) -> dict | None:
    """Messages, replicas and leader of the stream; None when it is missing."""
    from integration.connection import connect

    client = await connect(settings, keep_reconnecting=False)
    try:
        try:
            info = await client.jetstream(timeout=5).stream_info(settings.nats_stream)
        except NotFoundError:
            return None
        return {
            "messages": info.state.messages,
            "last_seq": info.state.last_seq,
            "replicas": info.config.num_replicas,
            "leader": info.cluster.leader if info.cluster else None,
        }
    finally:
        await client.close()
