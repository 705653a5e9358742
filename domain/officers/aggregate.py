"""The Officer aggregate and the one-off installation record."""

from __future__ import annotations

from uuid import UUID

from domain.errors import IllegalTransition
from domain.model import Actor, Aggregate, DomainEvent
from domain.values import Role


class Officer(Aggregate):
    def __init__(self, id: UUID):
        super().__init__(id)
        self.username = ""
        self.full_name = ""
        self.station = ""
        self.roles: set[Role] = set()
        self.active = True
        self.password_hash: str | None = None
        # Set by an administrator's reset: the officer must choose a new
        # password before anything else.
        self.must_change_password = False

    def holds(self, role: Role) -> bool:
        return self.active and role in self.roles

    def grant_role(self, actor: Actor, role: Role, reason: str) -> None:
        self.check_is_active()
        if role in self.roles:
            raise IllegalTransition(f"{self.username} already holds the role {role}")
        self.trigger(RoleGranted, actor, role=role, reason=reason)

    def revoke_role(self, actor: Actor, role: Role, reason: str) -> None:
        if role not in self.roles:
            raise IllegalTransition(f"{self.username} does not hold the role {role}")
        self.trigger(RoleRevoked, actor, role=role, reason=reason)

    def deactivate(self, actor: Actor, reason: str) -> None:
        self.check_is_active()
        self.trigger(OfficerDeactivated, actor, reason=reason)

    def set_password_hash(self, actor: Actor, password_hash: str) -> None:
        self.check_is_active()
        self.trigger(PasswordSet, actor, password_hash=password_hash)

    def reset_password(self, actor: Actor, password_hash: str) -> None:
        """An administrator sets someone else's password: a temporary one,
        changed by its officer at the next sign-in."""
        self.check_is_active()
        self.trigger(PasswordReset, actor, password_hash=password_hash)

    def check_is_active(self) -> None:
        if not self.active:
            raise IllegalTransition(f"officer {self.username} is deactivated")


class OfficerRegistered(DomainEvent):
    username: str
    full_name: str
    station: str
    roles: tuple[Role, ...]

    def new_aggregate(self) -> Officer:
        return Officer(self.originator_id)

    def apply(self, officer: Officer) -> None:
        officer.username = self.username
        officer.full_name = self.full_name
        officer.station = self.station
        officer.roles = set(self.roles)


class RoleGranted(DomainEvent):
    role: Role
    reason: str

    def apply(self, officer: Officer) -> None:
        officer.roles.add(self.role)


class RoleRevoked(DomainEvent):
    role: Role
    reason: str

    def apply(self, officer: Officer) -> None:
        officer.roles.discard(self.role)


class OfficerDeactivated(DomainEvent):
    reason: str

    def apply(self, officer: Officer) -> None:
        officer.active = False


class PasswordSet(DomainEvent):
    # An argon2 hash (never the password); kept in the log so sign-in works
    # from the event store alone.
    password_hash: str

    def apply(self, officer: Officer) -> None:
        officer.password_hash = self.password_hash
        officer.must_change_password = False


class PasswordReset(DomainEvent):
    # An administrator's reset: the hash of a temporary password that its
    # officer must change at the next sign-in.
    password_hash: str

    def apply(self, officer: Officer) -> None:
        officer.password_hash = self.password_hash
        officer.must_change_password = True


class Installation(Aggregate):
    """Exists once the first administrator has been created; its deterministic
    id makes 'first run' a race the store decides, not the UI."""

    def __init__(self, id: UUID):
        super().__init__(id)
        self.first_administrator_id: UUID | None = None


class InstallationInitialised(DomainEvent):
    first_administrator_id: UUID

    def new_aggregate(self) -> Installation:
        return Installation(self.originator_id)

    def apply(self, installation: Installation) -> None:
        installation.first_administrator_id = self.first_administrator_id
