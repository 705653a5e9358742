"""Social-protection coverage per contract and the BLA / SSA table (issue 16)."""

from __future__ import annotations

import pytest

from domain.coverage import commands as vc
from domain.coverage.aggregate import AGREEMENT_TABLE_ID, coverage_id
from domain.errors import IllegalTransition, InvalidCommand, NotAuthorised, NotFound
from tests.factories import days_ago, registration, send_abroad


def insurance(migrant_id, **overrides):
    fields = {
        "migrant_id": migrant_id,
        "insurer": "Tawuniya",
        "policy_number": "TW-2025-99812",
        "valid_from": days_ago(360),
        "valid_until": days_ago(-370),
    }
    fields.update(overrides)
    return vc.RecordInsurance.parse(fields)


def test_coverage_is_recorded_per_contract(system, officers):
    migrant_id = send_abroad(system, officers)
    system.coverage.record_insurance(officers.registrar, insurance(migrant_id))
    coverage = system.coverage.record_registration(
        officers.attache,
        vc.RecordSocialSecurityRegistration(
            migrant_id=migrant_id,
            scheme="GOSI",
            social_security_number="GOSI-1234567",
            registered_on=days_ago(300),
        ),
    )
    migrant = system.cases.get(migrant_id)
    assert coverage.id == coverage_id(migrant_id, migrant.cycle)
    assert coverage.registered and coverage.insured_until == days_ago(-370)
    # Registered once per contract.
    with pytest.raises(IllegalTransition, match="already registered"):
        system.coverage.record_registration(
            officers.attache,
            vc.RecordSocialSecurityRegistration(
                migrant_id=migrant_id,
                scheme="GOSI",
                social_security_number="GOSI-1234567",
                registered_on=days_ago(300),
            ),
        )


def test_coverage_refusals(system, officers):
    # Validity must run forwards.
    with pytest.raises(InvalidCommand, match="valid_until"):
        insurance("00000000-0000-0000-0000-000000000001", valid_until=days_ago(400))
    # No contract, no coverage.
    migrant_id = system.cases.register(officers.registrar, registration())
    with pytest.raises(IllegalTransition, match="no contract"):
        system.coverage.record_insurance(officers.registrar, insurance(migrant_id))
    # Fund officers, auditors, reintegration officers read only.
    for who in ("fund", "auditor", "reintegrator"):
        with pytest.raises(NotAuthorised, match="record insurance"):
            system.coverage.record_insurance(getattr(officers, who), insurance(migrant_id))


def test_agreements_table_is_edited_by_an_administrator(system, officers):
    ssa = vc.SetAgreement(
        country="SA", kind="ssa", title="Kenya-Saudi SSA", in_force_from=days_ago(900)
    )
    for who in ("attache", "registrar", "fund"):
        with pytest.raises(NotAuthorised, match="agreements table"):
            system.coverage.set_agreement(getattr(officers, who), ssa)
    system.coverage.set_agreement(officers.admin, ssa)
    system.coverage.set_agreement(
        officers.admin,
        vc.SetAgreement(
            country="SA",
            kind="bla",
            title="Kenya-Saudi BLA (domestic workers)",
            in_force_from=days_ago(900),
        ),
    )
    table = system.store.get(AGREEMENT_TABLE_ID)
    assert set(table.rows) == {("SA", "ssa"), ("SA", "bla")}
    system.coverage.remove_agreement(
        officers.admin, vc.RemoveAgreement(country="SA", kind="ssa", reason="Entered in error.")
    )
    with pytest.raises(NotFound, match="no SSA with SA"):
        system.coverage.remove_agreement(
            officers.admin, vc.RemoveAgreement(country="SA", kind="ssa", reason="Twice.")
        )
    with pytest.raises(InvalidCommand, match="in_force_until"):
        vc.SetAgreement.parse(
            {
                "country": "QA",
                "kind": "bla",
                "title": "x",
                "in_force_from": days_ago(1),
                "in_force_until": days_ago(2),
            }
        )
