"""One case per identity document: an index aggregate per national id or
passport number, created in the same atomic save as the case."""

from __future__ import annotations

from uuid import UUID

from domain.model import Aggregate, DomainEvent


class IdentityDocumentIndex(Aggregate):
    def __init__(self, id: UUID):
        super().__init__(id)
        self.migrant_id: UUID | None = None


class IdentityDocumentClaimed(DomainEvent):
    kind: str
    migrant_id: UUID

    def new_aggregate(self) -> IdentityDocumentIndex:
        return IdentityDocumentIndex(self.originator_id)

    def apply(self, index: IdentityDocumentIndex) -> None:
        index.migrant_id = self.migrant_id
