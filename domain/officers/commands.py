from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from domain.commands import Command, Reason, Text
from domain.values import Role

Username = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[a-z][a-z0-9._-]{2,39}$"),
]
Password = Annotated[str, StringConstraints(min_length=10, max_length=200)]

OFFICER_ROLES = tuple(role for role in Role if role is not Role.SYSTEM)


class RegisterOfficer(Command):
    username: Username
    full_name: Text
    station: Text = Field(description="Where they work, e.g. 'Nairobi HQ' or 'Embassy Riyadh'")
    roles: tuple[Role, ...] = Field(min_length=1)
    password: Password | None = None


class CreateFirstAdministrator(Command):
    username: Username
    full_name: Text
    station: Text = "Headquarters"
    password: Password


class GrantRole(Command):
    username: Username
    role: Role
    reason: Reason


class RevokeRole(Command):
    username: Username
    role: Role
    reason: Reason


class DeactivateOfficer(Command):
    username: Username
    reason: Reason


class SetPassword(Command):
    username: Username
    password: Password
