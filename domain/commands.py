"""Shared parts of command models.

Commands are imperative pydantic models validated before anything reaches an
aggregate; the TUI's forms use the very same models. Their fields are made
of the shared types in `domain/fields.py` (text, amounts, dates), so every
command refuses what the store or a follower of the log cannot hold.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.errors import InvalidCommand
from domain.fields import Counter, LongText, PastDate, Reason, Text, no_later_than_today

# Re-exported: command modules and the terminal UI's forms import them from here.
__all__ = [
    "CaseCommand",
    "Command",
    "LongText",
    "PastDate",
    "Reason",
    "Text",
    "at_noon_utc",
    "explain",
    "no_later_than_today",
]


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
    items = error.errors()
    # A list with a bad item is also "too short after validation" (pydantic
    # drops the bad item before counting): the item's own error says it.
    inner = {item["loc"][:-1] for item in items if item["loc"]}
    inner |= {loc[:n] for loc in inner for n in range(len(loc))}
    for item in items:
        if item["type"] == "too_short" and item["loc"] in inner:
            continue
        field = ".".join(str(part) for part in item["loc"]) or "(form)"
        problems.append((field, _plain(item)))
    return problems


def _plain(item: Any) -> str:
    """pydantic's message for an error, in the plain words the rest of Msafiri uses."""
    message = item["msg"]
    if message.startswith("Value error, "):
        return message.removeprefix("Value error, ")
    ctx = item.get("ctx") or {}
    plain = {
        "missing": "is required",
        "extra_forbidden": "is not a field of this command",
        "greater_than": "must be more than {gt}",
        "greater_than_equal": "must be at least {ge}",
        "less_than": "must be less than {lt}",
        "less_than_equal": "must be at most {le}",
        "too_short": "must have at least {min_length} item(s)",
        "too_long": "must have at most {max_length} items",
        "string_too_short": "must be at least {min_length} characters",
        "string_too_long": "must be at most {max_length} characters",
        "int_parsing": "must be a whole number",
        "int_type": "must be a whole number",
        "int_from_float": "must be a whole number",
        # What pydantic says of a lone surrogate (half of a UTF-16 pair).
        "string_unicode": "must be valid Unicode text (found a lone surrogate)",
    }.get(item["type"])
    try:
        return plain.format(**ctx) if plain else message
    except (KeyError, IndexError):  # a context pydantic did not give: its own words
        return message


def at_noon_utc(day: date) -> datetime:
    """The instant an officer's calendar date is stored as: noon UTC is the
    same calendar day in every time zone from UTC-11 to UTC+11."""
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


class CaseCommand(Command):
    """A command on an existing case. `expected_version` is the version the
    officer was looking at: if the case has moved on since, the command is
    refused as a concurrent update rather than applied blind."""

    migrant_id: UUID
    expected_version: Counter | None = Field(default=None, ge=1)
