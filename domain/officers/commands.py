from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from domain.commands import Command, Reason, Text
from domain.fields import Pattern, Secret
from domain.values import Role

Username = Annotated[
    str,
    Pattern(
        r"[a-z][a-z0-9._-]{2,39}",
        "3 to 40 letters, digits, '.', '_' or '-', starting with a letter",
        40,
        case="lower",
    ),
]
# Kept as typed, spaces included: sign-in compares what is typed there.
Password = Annotated[
    str, StringConstraints(strip_whitespace=False), Secret(max_length=200, min_length=10)
]

OFFICER_ROLES = tuple(role for role in Role if role is not Role.SYSTEM)


class RegisterOfficer(Command):
    """Register an officer with a username, name, station and first role."""

    username: Username
    full_name: Text
    station: Text = Field(description="Where they work, e.g. 'Nairobi HQ' or 'Embassy Riyadh'")
    roles: tuple[Role, ...] = Field(min_length=1, max_length=len(Role))
    password: Password | None = None


class CreateFirstAdministrator(Command):
    username: Username
    full_name: Text
    station: Text = "Headquarters"
    password: Password


class GrantRole(Command):
    """Give an officer another role."""

    username: Username
    role: Role
    reason: Reason


class RevokeRole(Command):
    """Take a role away from an officer."""

    username: Username
    role: Role
    reason: Reason


class DeactivateOfficer(Command):
    """Deactivate an officer's account (their history stays)."""

    username: Username
    reason: Reason


class SetPassword(Command):
    """Set an officer's password (an administrator's reset: the officer
    must change it at their next sign-in)."""

    username: Username
    password: Password


class ChangePassword(Command):
    """Change your own password (your current one proves it is you)."""

    current_password: Password
    new_password: Password
