"""Use cases for managing officers. Only administrators manage officers;
every officer signs in and changes their own password."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from datetime import datetime
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
    ChangePassword,
    CreateFirstAdministrator,
    DeactivateOfficer,
    GrantRole,
    RegisterOfficer,
    RevokeRole,
    SetPassword,
)
from domain.officers.passwords import (
    DEMO_ADMINISTRATOR,
    DEMO_PASSWORD,
    PasswordPolicy,
    is_demo_officer,
)
from domain.officers.sign_in import (
    BY_OFFICER,
    FAILED,
    PASSWORD_CHANGE,
    REFUSED_LOCKED,
    SIGN_IN,
    SIGN_OUT,
    SUCCEEDED,
    AccessEntry,
    LockoutRule,
    SignInRecords,
)
from domain.persistence import EventStore
from domain.values import Role, utcnow

_hasher = PasswordHasher()


@functools.cache
def _unknown_officer_hash() -> str:
    """Checked against when the username names no officer, so that an unknown
    username costs as long as a wrong password (the time says nothing). Made on
    the first sign-in, not at import: hashing takes ~0.2 s, which every CLI
    command paid at start-up whether it signed anyone in or not."""
    return _hasher.hash("no officer has this password")


REFUSED = "unknown username or wrong password"


class PasswordChangeRequired(NotAuthorised):
    """An administrator reset this officer's password: nothing else until
    they choose their own."""


class OfficerService:
    def __init__(
        self,
        store: EventStore,
        authz: Authoriser,
        records: SignInRecords | None = None,
        *,
        policy: PasswordPolicy | None = None,
        lockout: LockoutRule | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self._store = store
        self._authz = authz
        # None: nothing is counted or logged (a system built without the
        # sign-in tables, e.g. a read-only tool); the composition root
        # always gives one.
        self.records = records
        self.policy = policy or PasswordPolicy()
        self.lockout = lockout or LockoutRule()
        self.clock = clock  # tests move it to see a lock expire

    # -- passwords ---------------------------------------------------------------

    def _demo_installation(self) -> bool | None:
        if not self.is_installed():
            return None
        installation = self._store.get(INSTALLATION_ID)
        return installation.first_administrator_id == officer_id(DEMO_ADMINISTRATOR)

    def _check_new_password(
        self, username: str, context: list[str], password: str, field: str = "password"
    ) -> None:
        if password == DEMO_PASSWORD and is_demo_officer(username, self._demo_installation()):
            return  # the demo's published password, for the demo's own accounts
        self.policy.check(password, [username, *context], field)

    def is_installed(self) -> bool:
        return self._store.exists(INSTALLATION_ID)

    def create_first_administrator(self, command: CreateFirstAdministrator) -> UUID:
        """First run on an empty database: the first administrator creates
        themself. Allowed exactly once; the store decides a race."""
        if self.is_installed():
            raise NotAuthorised("Msafiri already has an administrator; ask them for an account")
        self._check_new_password(
            command.username, [command.full_name, command.station], command.password
        )
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
        if command.password:
            self._check_new_password(
                command.username, [command.full_name, command.station], command.password
            )
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
        """An administrator's reset of another officer's password (they must
        change it at their next sign-in), or an officer setting their own."""
        own = actor.officer_id == officer_id(command.username)
        if not own:
            self._authz.require(actor, "reset other officers' passwords", Role.ADMINISTRATOR)
        officer = self.get(command.username)
        self._check_new_password(
            officer.username, [officer.full_name, officer.station], command.password
        )
        if own:
            officer.set_password_hash(actor, _hasher.hash(command.password))
        else:
            officer.reset_password(actor, _hasher.hash(command.password))
        self._store.save_all(officer)

    def change_password(
        self,
        username: str,
        command: ChangePassword,
        interface: str = "cli",
        connection: str = "terminal",
    ) -> Officer:
        """An officer changes their own password; the current one proves who
        they are (a wrong one counts as a failed sign-in). Also the way out
        of an administrator's reset."""
        officer = self.sign_in(
            username,
            command.current_password,
            interface=interface,
            connection=connection,
            allow_reset=True,
        )
        if command.new_password == command.current_password:
            raise InvalidCommand([("new_password", "must differ from the current password")])
        self._check_new_password(
            officer.username,
            [officer.full_name, officer.station],
            command.new_password,
            "new_password",
        )
        actor = Actor(officer_id=officer.id, role=self._acting_role(officer))
        officer.set_password_hash(actor, _hasher.hash(command.new_password))
        self._store.save_all(officer)
        self._log(
            officer.username, PASSWORD_CHANGE, SUCCEEDED, officer.id, None, interface, connection
        )
        return officer

    @staticmethod
    def _acting_role(officer: Officer) -> Role:
        # Events need a role; changing one's own password needs none in
        # particular, so the first role the officer holds is recorded.
        roles = sorted(officer.roles - {Role.SYSTEM}, key=list(Role).index)
        return roles[0] if roles else Role.SYSTEM

    def get(self, username: str) -> Officer:
        return self._store.get(officer_id(username), f"officer named {username!r}")

    # -- signing in and out ----------------------------------------------------

    def sign_in(
        self,
        username: str,
        password: str,
        *,
        role: Role | None = None,
        interface: str = "cli",
        connection: str = "terminal",
        allow_reset: bool = False,
    ) -> Officer:
        """Check a password, counting failures per username in the database:
        `lockout.max_failures` within `lockout.period` lock the username (known
        or not) for `lockout.period`. One message for a wrong password and an
        unknown username, and one for a lock, so neither says who exists.
        Every attempt is logged. An officer whose password an administrator
        reset is refused (PasswordChangeRequired) unless `allow_reset`."""
        username = username.strip().lower()
        now = self.clock()
        if self.records is not None:
            locked_until = self.records.locked_until(username, now)
            if locked_until is not None:
                self._log(username, SIGN_IN, REFUSED_LOCKED, None, role, interface, connection)
                raise NotAuthorised(self._lock_message(locked_until, now))
        officer = self._find(username)
        if not self._password_matches(officer, username, password):
            known = officer.id if officer is not None else None
            if self.records is not None:
                entry = AccessEntry(
                    username=username,
                    action=SIGN_IN,
                    outcome=FAILED,
                    at=now,
                    officer_id=known,
                    role=role.value if role else None,
                    interface=interface,
                    connection=connection,
                )
                locked_until = self.records.record_failure(entry, self.lockout)
                if locked_until is not None:
                    raise NotAuthorised(self._lock_message(locked_until, now))
            raise NotAuthorised(REFUSED)
        assert officer is not None
        if role is None:
            # The TUI asks for the role after the password: one held is the one.
            held = officer.roles - {Role.SYSTEM}
            role = next(iter(held)) if len(held) == 1 else None
        if self.records is not None:
            self.records.record_success(
                AccessEntry(
                    username=username,
                    action=SIGN_IN,
                    outcome=SUCCEEDED,
                    at=now,
                    officer_id=officer.id,
                    role=role.value if role else None,
                    interface=interface,
                    connection=connection,
                    detail="must change the password an administrator reset"
                    if officer.must_change_password
                    else None,
                )
            )
        if officer.must_change_password and not allow_reset:
            raise PasswordChangeRequired(
                "your password was reset: change it first with msafiri officer change-password"
            )
        return officer

    def signed_out(
        self,
        officer_id: UUID,
        username: str,
        role: Role | None,
        reason: str = BY_OFFICER,
        interface: str = "tui",
        connection: str = "terminal",
    ) -> None:
        """Log a sign-out (`reason`: by the officer, or idle)."""
        self._log(username, SIGN_OUT, reason, officer_id, role, interface, connection)

    def _find(self, username: str) -> Officer | None:
        if not self._store.exists(officer_id(username)):
            return None
        return self.get(username)

    def _password_matches(self, officer: Officer | None, username: str, password: str) -> bool:
        usable = officer is not None and officer.active and officer.password_hash
        # Made (once) whether or not the officer exists: the first sign-in of a
        # process costs the same either way.
        unknown = _unknown_officer_hash()
        try:
            _hasher.verify(officer.password_hash if usable else unknown, password)
        except VerificationError:
            return False
        if not usable:
            return False
        # The published demo password opens only the demo's own accounts,
        # whatever hash an older version let someone store.
        return password != DEMO_PASSWORD or is_demo_officer(username, self._demo_installation())

    def _lock_message(self, locked_until: datetime, now: datetime) -> str:
        # Capped: a racing process that started later may have set the lock
        # from a later "now" than this attempt's.
        remaining = min(locked_until - now, self.lockout.period)
        minutes = max(1, math.ceil(remaining.total_seconds() / 60))
        unit = "minute" if minutes == 1 else "minutes"
        return f"too many failed attempts; try again in {minutes} {unit}"

    def _log(
        self,
        username: str,
        action: str,
        outcome: str,
        officer: UUID | None,
        role: Role | None,
        interface: str,
        connection: str = "terminal",
    ) -> None:
        if self.records is None:
            return
        self.records.append(
            AccessEntry(
                username=username,
                action=action,
                outcome=outcome,
                at=self.clock(),
                officer_id=officer,
                role=role.value if role else None,
                interface=interface,
                connection=connection,
            )
        )
