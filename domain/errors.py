"""The named errors of the domain.

Every refusal an officer can meet is one of these, with a message written for
the officer, not for a programmer. User and operating errors are exceptions;
programmer errors may assert.
"""

from __future__ import annotations


class MsafiriError(Exception):
    """Base of every refusal Msafiri reports to a user."""


class InvalidCommand(MsafiriError):
    """A command's fields failed validation; nothing was stored.

    `errors` lists (field, rule) pairs so a form can show each beside its field.
    """

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {rule}" for field, rule in errors))


class NeedsJustification(InvalidCommand):
    """A contract names a watchlisted employer or agency, or an agency whose
    licence is expired, suspended or revoked: it goes ahead only with a
    written justification, which is recorded. `warnings` says why."""

    def __init__(self, warnings: list[str]):
        self.warnings = warnings
        super().__init__(
            [("justification", "a written justification is required: " + "; ".join(warnings))]
        )


class NotAuthorised(MsafiriError):
    """The acting officer may not do this (role missing, revoked or deactivated)."""


class NotFound(MsafiriError):
    """The record named does not exist."""


class AlreadyExists(MsafiriError):
    """A record with this identity already exists (a username, a national id)."""


class IllegalTransition(MsafiriError):
    """The command does not fit the current stage of the record."""


class ConcurrentUpdate(MsafiriError):
    """Someone else changed the record first. Reload and try again: it is safe."""

    retryable = True
