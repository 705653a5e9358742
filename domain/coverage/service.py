"""Use cases on coverage and agreements. Registration officers (before
departure) and labour attachés (abroad) record coverage; only an
administrator edits the agreements table."""

from __future__ import annotations

from domain.authz import Authoriser
from domain.coverage import commands as c
from domain.coverage.aggregate import AGREEMENT_TABLE_ID, AgreementTable, Coverage, coverage_id
from domain.errors import NotFound
from domain.model import Actor
from domain.persistence import EventStore
from domain.values import Role

COVERAGE_RECORDERS = (Role.REGISTRATION_OFFICER, Role.LABOUR_ATTACHE)


class CoverageService:
    def __init__(self, store: EventStore, authz: Authoriser):
        self._store = store
        self._authz = authz

    def record_insurance(self, actor: Actor, command: c.RecordInsurance) -> Coverage:
        self._authz.require(actor, "record insurance", *COVERAGE_RECORDERS)
        migrant, coverage = self._load(command.migrant_id)
        coverage.record_insurance(actor, migrant, command)
        self._store.save_all(coverage)
        return coverage

    def record_registration(
        self, actor: Actor, command: c.RecordSocialSecurityRegistration
    ) -> Coverage:
        self._authz.require(actor, "record social-security registrations", *COVERAGE_RECORDERS)
        migrant, coverage = self._load(command.migrant_id)
        coverage.record_registration(actor, migrant, command)
        self._store.save_all(coverage)
        return coverage

    def _load(self, migrant_id) -> tuple:
        migrant = self._store.get(migrant_id, "case")
        migrant.check_not_erased()
        key = coverage_id(migrant.id, migrant.cycle)
        try:
            return migrant, self._store.get(key, "coverage")
        except NotFound:
            return migrant, Coverage(key)

    def set_agreement(self, actor: Actor, command: c.SetAgreement) -> None:
        self._authz.require(actor, "edit the agreements table", Role.ADMINISTRATOR)
        table = self._table()
        table.set(actor, command)
        self._store.save_all(table)

    def remove_agreement(self, actor: Actor, command: c.RemoveAgreement) -> None:
        self._authz.require(actor, "edit the agreements table", Role.ADMINISTRATOR)
        table = self._table()
        table.remove(actor, command)
        self._store.save_all(table)

    def _table(self) -> AgreementTable:
        try:
            return self._store.get(AGREEMENT_TABLE_ID, "agreements table")
        except NotFound:
            return AgreementTable(AGREEMENT_TABLE_ID)
