"""Shared parts of command models.

Commands are imperative pydantic models validated before anything reaches an
aggregate; the TUI's forms use the very same models.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from domain.errors import InvalidCommand
from domain.values import utcnow

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    @classmethod
    def parse(cls, data: dict[str, Any]):
        """Validate raw input (a form, CLI arguments, an import row) into the
        command, or raise InvalidCommand naming each field and its rule."""
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise InvalidCommand(explain(error)) from None


def explain(error: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "(form)"
        message = item["msg"]
        if message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        problems.append((field, message))
    return problems


def no_later_than_today(value: date) -> date:
    # A day of slack: an officer in Riyadh at 01:00 is already 'tomorrow' in UTC.
    if value > (utcnow() + timedelta(days=1)).date():
        raise ValueError("cannot be in the future")
    return value


PastDate = Annotated[date, AfterValidator(no_later_than_today)]


def at_noon_utc(day: date) -> datetime:
    """The instant an officer's calendar date is stored as: noon UTC is the
    same calendar day in every time zone from UTC-11 to UTC+11."""
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


class CaseCommand(Command):
    """A command on an existing case. `expected_version` is the version the
    officer was looking at: if the case has moved on since, the command is
    refused as a concurrent update rather than applied blind."""

    migrant_id: UUID
    expected_version: int | None = Field(default=None, ge=1)
