"""Msafiri's outward edge: the event log published to NATS JetStream.

Nothing here is imported unless NATS is configured (`MSAFIRI_NATS_URL`); the
domain, the ledger and the TUI run unchanged without it.
"""
