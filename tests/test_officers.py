"""Officers are records too: registered, roles granted and revoked, deactivated."""

from __future__ import annotations

import pytest

from domain.errors import AlreadyExists, IllegalTransition, InvalidCommand, NotAuthorised
from domain.officers import commands as oc
from domain.values import Role
from tests.factories import registration


def test_the_first_administrator_is_created_once(system):
    assert not system.officers.is_installed()
    system.officers.create_first_administrator(
        oc.CreateFirstAdministrator(
            username="amina", full_name="Amina H", password="amina picks a passphrase"
        )
    )
    assert system.officers.is_installed()
    with pytest.raises(NotAuthorised, match="already has an administrator"):
        system.officers.create_first_administrator(
            oc.CreateFirstAdministrator(
                username="mallory", full_name="M", password="amina picks a passphrase"
            )
        )


def test_roles_are_granted_and_revoked_with_reasons(system, officers):
    admin = officers.admin
    # The registrar also becomes a reintegration officer, then loses registration.
    system.officers.grant_role(
        admin,
        oc.GrantRole(username="registrar", role="reintegration_officer", reason="Covers Kakamega"),
    )
    system.officers.revoke_role(
        admin,
        oc.RevokeRole(username="registrar", role="registration_officer", reason="Moved post"),
    )
    registrar = system.officers.get("registrar")
    assert registrar.roles == {Role.REINTEGRATION_OFFICER}
    with pytest.raises(NotAuthorised, match="does not hold the role registration_officer"):
        system.cases.register(officers.registrar, registration())
    with pytest.raises(IllegalTransition, match="does not hold"):
        system.officers.revoke_role(
            admin, oc.RevokeRole(username="registrar", role="auditor", reason="Not held")
        )
    # Only administrators manage officers, and nobody can be made 'system'.
    with pytest.raises(NotAuthorised):
        system.officers.grant_role(
            officers.fund, oc.GrantRole(username="fund", role="administrator", reason="Mine now")
        )
    with pytest.raises(InvalidCommand, match="system role"):
        system.officers.grant_role(
            admin, oc.GrantRole(username="fund", role="system", reason="No one may")
        )


def test_usernames_are_unique_and_passwords_are_checked(system, officers):
    with pytest.raises(AlreadyExists, match="taken"):
        system.officers.register(
            officers.admin,
            oc.RegisterOfficer(
                username="Attache", full_name="Another", station="X", roles=["auditor"]
            ),
        )
    system.officers.set_password(
        officers.attache, oc.SetPassword(username="attache", password="correct horse battery")
    )
    assert system.officers.sign_in("attache", "correct horse battery").username == "attache"
    for username, password in (("attache", "wrong password!"), ("nobody", "whatever12345")):
        with pytest.raises(NotAuthorised, match="unknown username or wrong password"):
            system.officers.sign_in(username, password)
    # One may not set another officer's password without being an administrator.
    with pytest.raises(NotAuthorised):
        system.officers.set_password(
            officers.attache, oc.SetPassword(username="fund", password="hijacked123456")
        )
    # The hash, never the password, is stored.
    stored = b"".join(
        system.store.mapper.open(n)
        for n in system.store.recorder.select_notifications(start=1, limit=10_000)
    )
    assert b"correct horse battery" not in stored and b"$argon2" in stored


def test_a_deactivated_officer_can_neither_sign_in_nor_act(system, officers):
    system.officers.set_password(
        officers.admin, oc.SetPassword(username="attache2", password="attache2-secret")
    )
    system.officers.deactivate(
        officers.admin, oc.DeactivateOfficer(username="attache2", reason="Contract ended")
    )
    with pytest.raises(NotAuthorised):
        system.officers.sign_in("attache2", "attache2-secret")
    with pytest.raises(IllegalTransition, match="deactivated"):
        system.officers.grant_role(
            officers.admin, oc.GrantRole(username="attache2", role="auditor", reason="Returns")
        )
