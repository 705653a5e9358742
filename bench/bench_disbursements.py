"""Disbursement throughput (request -> approve -> pay) beside a raw baseline.

    uv run python -m bench.bench_disbursements --requests 300 [--backend postgresql|sqlite|both]

1. Set-up (not timed): a fund with a grant, and one migrant abroad with an
   incident per request.
2. Timed: for each request an attaché requests money, a fund officer approves
   and pays it - 3 commands, each one atomic save of the book, the
   disbursement, the claim and the command receipt, after loading them.
3. Baseline: the very rows those commands stored are read back and written
   again into an identical empty table by raw psycopg (or sqlite3), one
   transaction per command (split where each command's receipt row ends it),
   taking the same table lock the recorder takes.
The ratio is Msafiri commands/s over raw transactions/s, measured in the same run.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path
from uuid import uuid4

import psycopg
from eventsourcing.utils import get_topic

from bench.common import postgres_database
from ledger import commands as c
from ledger.events import CommandAccepted
from msafiri.bootstrap import build_system
from msafiri.settings import Settings
from tests.conftest import Officers
from tests.factories import days_ago, send_abroad
from tests.fund_helpers import kes, report_injury

RECEIPT_TOPIC = get_topic(CommandAccepted)


def run_msafiri(url: str, requests: int) -> tuple[int, float, int]:
    system = build_system(Settings(database_url=url))
    officers = Officers(system)
    ledger = system.ledger
    ledger.open_fund(officers.admin, c.OpenFund(command_id=uuid4(), opened_on=days_ago(30)))
    ledger.record_grant(
        officers.fund,
        c.RecordGrant(
            command_id=uuid4(),
            donor="Treasury",
            amount=kes(requests * 20_000),
            received_on=days_ago(5),
            reference="BENCH",
        ),
    )
    cases = []
    for i in range(requests):
        migrant_id = send_abroad(
            system, officers, national_id=f"{30_000_000 + i}", passport_number=f"AK{5_000_000 + i}"
        )
        incident_id = report_injury(system, officers, migrant_id)
        cases.append((migrant_id, incident_id))
    before = system.store.recorder.max_notification_id() or 0
    started = time.perf_counter()
    for migrant_id, incident_id in cases:
        d = uuid4()
        ledger.request_disbursement(
            officers.attache,
            c.RequestDisbursement(
                command_id=d,
                migrant_id=migrant_id,
                incident_id=incident_id,
                category="medical",
                amount=kes(10_000),
                payee="Hospital",
            ),
        )
        ledger.approve(officers.fund, c.ApproveDisbursement(command_id=uuid4(), disbursement_id=d))
        ledger.pay(
            officers.fund,
            c.PayDisbursement(
                command_id=uuid4(),
                disbursement_id=d,
                channel="mobile_money",
                payment_reference="MP-1",
            ),
        )
    seconds = time.perf_counter() - started
    system.close()
    return requests * 3, seconds, before


def transactions(rows: list[tuple]) -> list[list[tuple]]:
    """Split the stored rows into the commands that wrote them: each
    command's save ends with its receipt."""
    groups, current = [], []
    for row in rows:
        current.append(row)
        if row[2] == RECEIPT_TOPIC:
            groups.append(current)
            current = []
    return groups


def raw_postgresql(url: str, after: int) -> tuple[int, float]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM msafiri_events "
            "WHERE notification_id > %s ORDER BY notification_id",
            (after,),
        ).fetchall()
        conn.execute("CREATE TABLE raw_events (LIKE msafiri_events INCLUDING ALL)")
        conn.autocommit = False
        groups = transactions(rows)
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for group in groups:
                cursor.execute("LOCK TABLE raw_events IN EXCLUSIVE MODE")
                cursor.executemany(
                    "INSERT INTO raw_events (originator_id, originator_version, topic, state) "
                    "VALUES (%s, %s, %s, %s)",
                    group,
                )
                conn.commit()
        return len(groups), time.perf_counter() - started


def raw_sqlite(path: Path, after: int) -> tuple[int, float]:
    conn = sqlite3.connect(path, isolation_level=None)
    rows = conn.execute(
        "SELECT originator_id, originator_version, topic, state FROM stored_events "
        "WHERE rowid > ? ORDER BY rowid",
        (after,),
    ).fetchall()
    schema = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'stored_events'").fetchone()
    conn.execute(schema[0].replace("stored_events", "raw_events", 1))
    groups = transactions(rows)
    started = time.perf_counter()
    for group in groups:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO raw_events (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)",
            group,
        )
        conn.execute("COMMIT")
    conn.close()
    return len(groups), time.perf_counter() - started


def report(backend: str, ours: tuple[int, float, int], raw: tuple[int, float]) -> None:
    rate, raw_rate = ours[0] / ours[1], raw[0] / raw[1]
    print(
        f"| {backend} | {ours[0] // 3:,} | {rate:,.0f} | {rate / 3:,.1f} | {raw_rate:,.0f} "
        f"| {rate / raw_rate:.2f}x |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="both")
    args = parser.parse_args()
    print(
        "| backend | disbursements | commands/s | disbursements/s "
        "| raw transactions/s (same rows) | ratio |"
    )
    print("|---|---|---|---|---|---|")
    if args.backend in ("postgresql", "both"):
        with postgres_database() as url:
            ours = run_msafiri(url, args.requests)
            report("PostgreSQL", ours, raw_postgresql(url, ours[2]))
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.db"
            ours = run_msafiri(f"sqlite:///{path}", args.requests)
            report("SQLite", ours, raw_sqlite(path, ours[2]))


if __name__ == "__main__":
    main()
