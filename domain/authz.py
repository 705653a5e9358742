"""Role checks, enforced in the application services (the UI only hides)."""

from __future__ import annotations

from domain.errors import NotAuthorised, NotFound
from domain.ids import SYSTEM_ACTOR_ID
from domain.model import Actor
from domain.persistence import EventStore
from domain.values import Role


class Authoriser:
    def __init__(self, store: EventStore):
        self._store = store

    def require(self, actor: Actor, action: str, *allowed: Role) -> None:
        """Refuse unless the actor acts in an allowed role that they actually
        hold, on an active account. Raises NotAuthorised; nothing is stored."""
        if actor.role not in allowed:
            names = ", ".join(role.value for role in allowed)
            raise NotAuthorised(f"{actor.role.with_article} may not {action} (needs: {names})")
        if actor.role is Role.SYSTEM:
            if actor.officer_id != SYSTEM_ACTOR_ID:
                raise NotAuthorised("only Msafiri's own processes act as system")
            return
        try:
            officer = self._store.get(actor.officer_id, "officer")
        except NotFound:
            raise NotAuthorised(f"unknown officer {actor.officer_id}") from None
        if not officer.active:
            raise NotAuthorised(f"officer {officer.username} is deactivated")
        if actor.role not in officer.roles:
            raise NotAuthorised(f"officer {officer.username} does not hold the role {actor.role}")
