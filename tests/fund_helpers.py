"""Builders for fund tests: an open fund with money in it and a migrant
abroad with an incident."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from domain.incidents import commands as ic
from domain.values import Money
from ledger import commands as c
from tests.factories import days_ago, send_abroad

FUND_AGE_DAYS = 400


def kes(shillings: int) -> Money:
    return Money(amount_minor=shillings * 100, currency="KES")


def open_fund(system, officers, grant_shillings: int = 1_000_000) -> None:
    # Opened a year ago, so the tests' back-dated grants and contributions fit.
    system.ledger.open_fund(
        officers.admin, c.OpenFund(command_id=uuid4(), opened_on=days_ago(FUND_AGE_DAYS))
    )
    if grant_shillings:
        system.ledger.record_grant(
            officers.fund,
            c.RecordGrant(
                command_id=uuid4(),
                donor="Ministry of Labour",
                amount=kes(grant_shillings),
                received_on=days_ago(30),
                reference="GOK-2026-001",
            ),
        )


def incident_abroad(system, officers, **registration: Any) -> tuple[UUID, UUID]:
    migrant_id = send_abroad(system, officers, **registration)
    return migrant_id, report_injury(system, officers, migrant_id)


def report_injury(
    system,
    officers,
    migrant_id: UUID,
    occurred_at: str | None = None,
    reported_at: str | None = None,
) -> UUID:
    incident_id = uuid4()
    system.incidents.report(
        officers.attache,
        ic.ReportIncident(
            incident_id=incident_id,
            migrant_id=migrant_id,
            category="injury",
            severity="high",
            occurred_at=occurred_at or f"{days_ago(20)}T10:00:00+03:00",
            reported_at=reported_at or f"{days_ago(19)}T10:00:00+03:00",
            channel="hotline",
            description="Fell from a ladder while cleaning windows.",
        ),
    )
    return incident_id


def request_assistance(system, officers, incident_id: UUID, kind: str, shillings: int) -> UUID:
    """The attaché asks for money on an incident (the fund process takes it on)."""
    request_id = uuid4()
    system.incidents.execute(
        officers.attache,
        ic.RequestAssistance(
            incident_id=incident_id,
            request_id=request_id,
            kind=kind,
            estimate=kes(shillings),
            payee="Kings Faisal Hospital",
            justification="Needed after the incident.",
        ),
    )
    return request_id


def request(system, actor, migrant_id, incident_id, shillings: int, category="medical", **kw):
    command = c.RequestDisbursement(
        command_id=kw.pop("command_id", uuid4()),
        migrant_id=migrant_id,
        incident_id=incident_id,
        category=category,
        amount=kes(shillings),
        payee=kw.pop("payee", "Kings Faisal Hospital"),
        justification="Surgery for a fractured leg.",
    )
    result = system.ledger.request_disbursement(actor, command)
    return UUID(result["disbursement_id"])


def snapshotted_fund_with_a_request(system, officers, monkeypatch) -> tuple[UUID, UUID]:
    """An open fund with one request, the book snapshotted after every event
    and the read models current: (migrant id, incident id)."""
    monkeypatch.setattr("ledger.service.SNAPSHOT_EVERY", 1)
    open_fund(system, officers)
    migrant_id, incident_id = incident_abroad(system, officers)
    request(system, officers.attache, migrant_id, incident_id, 30_000)
    system.ledger.book()
    system.keep_current()
    return migrant_id, incident_id


def approve(system, actor, disbursement_id, **kw):
    return system.ledger.approve(
        actor, c.ApproveDisbursement(command_id=uuid4(), disbursement_id=disbursement_id, **kw)
    )


def pay(system, actor, disbursement_id, **kw):
    fields = {"channel": "bank_transfer", "payment_reference": "EFT-0001"} | kw
    return system.ledger.pay(
        actor, c.PayDisbursement(command_id=uuid4(), disbursement_id=disbursement_id, **fields)
    )


def bank(system):
    from ledger.chart import BANK

    return system.ledger.book().account(BANK, "KES")
