"""Command receipts: the memory that makes every money command idempotent.

A receipt's id is derived from the client-chosen command id, so two
processes racing on the same command collide on the receipt's version and
exactly one of them wins; the loser reads the winner's answer.
"""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID, uuid5

import orjson
from pydantic import BaseModel

from domain.ids import MSAFIRI_NAMESPACE
from domain.model import Actor, Aggregate
from ledger import events as e


def receipt_id(command_id: UUID) -> UUID:
    return uuid5(MSAFIRI_NAMESPACE, f"command:{command_id}")


def content_hash(command: BaseModel, actor: Actor) -> str:
    """What 'the same command' means: the same fields, by the same officer in
    the same role."""
    body = {
        "command": type(command).__name__,
        "fields": command.model_dump(mode="json"),
        "actor": str(actor.officer_id),
        "role": actor.role.value,
    }
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


class CommandReceipt(Aggregate):
    def __init__(self, id: UUID):
        super().__init__(id)
        self.command = ""
        self.content_hash = ""
        self.result: dict[str, Any] | None = None
        self.refusal: tuple[str, str] | None = None

    def record(
        self,
        command: str,
        digest: str,
        result: dict[str, Any] | None,
        refusal: tuple[str, str] | None,
    ) -> None:
        self.command, self.content_hash = command, digest
        self.result, self.refusal = result, refusal

    @classmethod
    def accepted(
        cls, command_id: UUID, actor: Actor, command: str, digest: str, result: dict[str, Any]
    ) -> CommandReceipt:
        return cls.start(
            receipt_id(command_id),
            e.CommandAccepted,
            actor,
            command=command,
            content_hash=digest,
            result=result,
        )

    @classmethod
    def refused(
        cls, command_id: UUID, actor: Actor, command: str, digest: str, error: Exception
    ) -> CommandReceipt:
        return cls.start(
            receipt_id(command_id),
            e.CommandRefused,
            actor,
            command=command,
            content_hash=digest,
            error=type(error).__name__,
            message=str(error),
        )
