"""Use cases for managing officers. Only administrators manage officers."""

from __future__ import annotations

from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

from domain.authz import Authoriser
from domain.errors import AlreadyExists, ConcurrentUpdate, InvalidCommand, NotAuthorised
from domain.ids import INSTALLATION_ID, officer_id
from domain.model import Actor
from domain.officers.aggregate import (
    Installation,
    InstallationInitialised,
    Officer,
    OfficerRegistered,
)
from domain.officers.commands import (
    CreateFirstAdministrator,
    DeactivateOfficer,
    GrantRole,
    RegisterOfficer,
    RevokeRole,
    SetPassword,
)
from domain.persistence import EventStore
from domain.values import Role

_hasher = PasswordHasher()


class OfficerService:
    def __init__(self, store: EventStore, authz: Authoriser):
        self._store = store
        self._authz = authz

    def is_installed(self) -> bool:
        return self._store.exists(INSTALLATION_ID)

    def create_first_administrator(self, command: CreateFirstAdministrator) -> UUID:
        """First run on an empty database: the first administrator creates
        themself. Allowed exactly once; the store decides a race."""
        if self.is_installed():
            raise NotAuthorised("Msafiri already has an administrator; ask them for an account")
        new_id = officer_id(command.username)
        actor = Actor(officer_id=new_id, role=Role.ADMINISTRATOR)
        officer = Officer.start(
            new_id,
            OfficerRegistered,
            actor,
            username=command.username,
            full_name=command.full_name,
            station=command.station,
            roles=(Role.ADMINISTRATOR,),
        )
        officer.set_password_hash(actor, _hasher.hash(command.password))
        installation = Installation.start(
            INSTALLATION_ID, InstallationInitialised, actor, first_administrator_id=new_id
        )
        try:
            self._store.save_all(officer, installation)
        except ConcurrentUpdate:
            raise NotAuthorised("Msafiri already has an administrator") from None
        return new_id

    def register(self, actor: Actor, command: RegisterOfficer) -> UUID:
        self._authz.require(actor, "register officers", Role.ADMINISTRATOR)
        if Role.SYSTEM in command.roles:
            raise InvalidCommand([("roles", "the system role cannot be granted to an officer")])
        new_id = officer_id(command.username)
        officer = Officer.start(
            new_id,
            OfficerRegistered,
            actor,
            username=command.username,
            full_name=command.full_name,
            station=command.station,
            roles=tuple(dict.fromkeys(command.roles)),
        )
        if command.password:
            officer.set_password_hash(actor, _hasher.hash(command.password))
        try:
            self._store.save_all(officer)
        except ConcurrentUpdate:
            raise AlreadyExists(f"the username {command.username} is taken") from None
        return new_id

    def grant_role(self, actor: Actor, command: GrantRole) -> None:
        self._authz.require(actor, "grant roles", Role.ADMINISTRATOR)
        if command.role is Role.SYSTEM:
            raise InvalidCommand([("role", "the system role cannot be granted to an officer")])
        officer = self.get(command.username)
        officer.grant_role(actor, command.role, command.reason)
        self._store.save_all(officer)

    def revoke_role(self, actor: Actor, command: RevokeRole) -> None:
        self._authz.require(actor, "revoke roles", Role.ADMINISTRATOR)
        officer = self.get(command.username)
        officer.revoke_role(actor, command.role, command.reason)
        self._store.save_all(officer)

    def deactivate(self, actor: Actor, command: DeactivateOfficer) -> None:
        self._authz.require(actor, "deactivate officers", Role.ADMINISTRATOR)
        officer = self.get(command.username)
        officer.deactivate(actor, command.reason)
        self._store.save_all(officer)

    def set_password(self, actor: Actor, command: SetPassword) -> None:
        # Officers set their own password; administrators reset anyone's.
        if actor.officer_id != officer_id(command.username):
            self._authz.require(actor, "reset other officers' passwords", Role.ADMINISTRATOR)
        officer = self.get(command.username)
        officer.set_password_hash(actor, _hasher.hash(command.password))
        self._store.save_all(officer)

    def get(self, username: str) -> Officer:
        return self._store.get(officer_id(username), f"officer named {username!r}")

    def sign_in(self, username: str, password: str) -> Officer:
        """Check a password; one error for every failure so it leaks nothing."""
        refused = NotAuthorised("unknown username or wrong password")
        if not self._store.exists(officer_id(username)):
            raise refused
        officer = self.get(username)
        if not officer.active or not officer.password_hash:
            raise refused
        try:
            _hasher.verify(officer.password_hash, password)
        except VerificationError:
            raise refused from None
        return officer
