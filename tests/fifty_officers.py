"""Fifty officers at work at the same moment, on one fund: the workload shared
by tests/test_fifty_officers.py and bench/bench_fifty_officers.py.

Set-up (one process): a fund with a grant; per fund officer a migrant abroad
with an incident and an attaché's request for money waiting. Then
`PROCESSES` spawned processes (each its own system, as separate CLI/TUI
sessions would be) run `THREADS` officers each, all released together:
- fund officers search, approve the request waiting for them, pay it, and
  make a new request of their own; one of them imports a contributions CSV;
- attachés search and report a new incident on one of their migrants;
- registrars search and register a new migrant.
Every command is timed; anything raised is reported as that command's error.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from domain.cases import commands as cc
from domain.incidents import commands as ic
from domain.model import Actor
from domain.officers.commands import RegisterOfficer
from domain.values import Role
from ledger import commands as c
from msafiri.bootstrap import build_system
from msafiri.registry_import import import_contributions
from msafiri.settings import Settings
from tests.factories import contract, days_ago, registration
from tests.fund_helpers import kes

PROCESSES = 5
THREADS = 10  # per process: 6 fund officers, 2 attachés, 2 registrars
FUND_PER_PROCESS, ATTACHES_PER_PROCESS, REGISTRARS_PER_PROCESS = 6, 2, 2
# Every officer, by role and number; process p of n runs every n-th of them
# (n = 5: the ten above each; n = 50: one officer a process, as in production,
# where each officer's TUI or browser session is a process of its own).
OFFICERS = (
    [("fund", i) for i in range(PROCESSES * FUND_PER_PROCESS)]
    + [("attache", i) for i in range(PROCESSES * ATTACHES_PER_PROCESS)]
    + [("registrar", i) for i in range(PROCESSES * REGISTRARS_PER_PROCESS)]
)
MONEY = ("request", "approve", "pay", "import contributions")
PHASES = (
    "authz_ms",
    "prefetch_ms",
    "catch_up_ms",
    "select_after_ms",
    "load_keys_ms",
    "key_queries_ms",
)
CPU = "process cpu"  # one row per process: its CPU time for the officers' work


def machine_jiffies() -> tuple[int, int]:
    """(busy, all) clock ticks of every core since boot (/proc/stat's "cpu"
    line): read around the burst, how busy the whole machine was - this
    process, the others and the database server."""
    with open("/proc/stat") as stat:
        ticks = [int(n) for n in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return sum(ticks) - idle, sum(ticks)


@dataclass
class Plan:
    """What the set-up made, passed to each process (plain strings pickle)."""

    url: str
    fund: list[str]  # officer ids
    attaches: list[str]
    registrars: list[str]
    migrants: list[str]  # one per fund officer
    incidents: list[str]
    waiting: list[str]  # the request waiting for each fund officer
    contributions_csv: str


def migrant_abroad(system, registrar: Actor, attache: Actor, n: int) -> UUID:
    migrant_id = system.cases.register(
        registrar,
        registration(
            full_name=f"Officer Load {n}",
            national_id=f"{40_000_000 + n}",
            passport_number=f"AL{6_000_000 + n}",
        ),
    )
    run = system.cases.execute
    run(registrar, contract(migrant_id))
    run(
        registrar,
        cc.StartMembership(
            migrant_id=migrant_id,
            membership_number=f"MWF-{700_000 + n}",
            starts_on=days_ago(370),
            ends_on=days_ago(370) + timedelta(days=730),
        ),
    )
    run(registrar, cc.RecordDeparture(migrant_id=migrant_id, departed_on=days_ago(360)))
    run(attache, cc.RecordArrival(migrant_id=migrant_id, arrived_on=days_ago(359)))
    return migrant_id


def report(system, attache: Actor, migrant_id: UUID, days: int) -> UUID:
    incident_id = uuid4()
    system.incidents.report(
        attache,
        ic.ReportIncident(
            incident_id=incident_id,
            migrant_id=migrant_id,
            category="injury",
            severity="high",
            occurred_at=f"{days_ago(days)}T10:00:00+03:00",
            reported_at=f"{days_ago(days)}T12:00:00+03:00",
            channel="hotline",
            description="Hurt at work; taken to hospital.",
        ),
    )
    return incident_id


def set_up(system, officers, url: str, folder: Path) -> Plan:
    """A fund, the fifty officers and the work waiting for them."""
    ledger = system.ledger
    ledger.open_fund(officers.admin, c.OpenFund(command_id=uuid4(), opened_on=days_ago(400)))
    ledger.record_grant(
        officers.fund,
        c.RecordGrant(
            command_id=uuid4(),
            donor="Treasury",
            amount=kes(5_000_000),
            received_on=days_ago(30),
            reference="LOAD-1",
        ),
    )

    def register(role: Role, count: int, label: str) -> list[str]:
        return [
            str(
                system.officers.register(
                    officers.admin,
                    RegisterOfficer(
                        username=f"load-{label}{i}",
                        full_name=f"{label.title()} Officer {i}",
                        station="Nairobi HQ",
                        roles=(role,),
                    ),
                )
            )
            for i in range(count)
        ]

    fund = register(Role.FUND_OFFICER, PROCESSES * FUND_PER_PROCESS, "fund")
    attaches = register(Role.LABOUR_ATTACHE, PROCESSES * ATTACHES_PER_PROCESS, "attache")
    registrars = register(
        Role.REGISTRATION_OFFICER, PROCESSES * REGISTRARS_PER_PROCESS, "registrar"
    )
    migrants, incidents, waiting = [], [], []
    for n in range(len(fund)):
        migrant_id = migrant_abroad(system, officers.registrar, officers.attache, n)
        incident_id = report(system, officers.attache, migrant_id, days=20)
        d = uuid4()
        ledger.request_disbursement(
            officers.attache,
            c.RequestDisbursement(
                command_id=d,
                migrant_id=migrant_id,
                incident_id=incident_id,
                category="medical",
                amount=kes(20_000),
                payee="Kings Faisal Hospital",
                justification="Surgery after the injury.",
            ),
        )
        migrants.append(str(migrant_id))
        incidents.append(str(incident_id))
        waiting.append(str(d))
    csv_path = folder / "contributions.csv"
    lines = ["membership_number,amount,currency,received_on,reference"]
    lines += [f"MWF-{700_000 + n},500.00,KES,{days_ago(3)},LOAD-C{n}" for n in range(len(fund))]
    csv_path.write_text("\n".join(lines) + "\n")
    return Plan(url, fund, attaches, registrars, migrants, incidents, waiting, str(csv_path))


# Per officer (thread): how long its current command waited for the fund
# and held it (`watch_the_fund`), reported with the command's time.
_fund = threading.local()


def watch_the_fund(store) -> None:
    """Time each money decision's wait for the fund and its hold of it
    (EventStore.serialised), per thread, to tell queueing from work."""
    serialised = store.serialised

    @contextmanager
    def timed(key):
        asked = time.perf_counter()
        with serialised(key):
            got = time.perf_counter()
            try:
                yield
            finally:
                _fund.wait_ms = getattr(_fund, "wait_ms", 0.0) + (got - asked) * 1000
                _fund.held_ms = getattr(_fund, "held_ms", 0.0) + (time.perf_counter() - got) * 1000

    store.serialised = timed


class _TimedTurn:
    """A process's turn to decide (LedgerService._deciding), its wait counted
    as waiting for the fund: the wait before `serialised` is part of it."""

    def __init__(self, lock):
        self._lock = lock

    def __enter__(self):
        asked = time.perf_counter()
        self._lock.__enter__()
        _fund.wait_ms = getattr(_fund, "wait_ms", 0.0) + (time.perf_counter() - asked) * 1000

    def __exit__(self, *exc):
        return self._lock.__exit__(*exc)


def watch_phases(system) -> None:
    """Time a money command's phases (bench only): the role check, the reads
    before waiting for the fund, the catch-up holding it (ledger/service.py
    `_run`), and within them the one-query catch-up and the data keys' reads."""
    for owner, name, label in (
        (system.authz, "require", "authz_ms"),
        (system.ledger, "_prefetched", "prefetch_ms"),
        (system.ledger, "_catch_up", "catch_up_ms"),
        (system.store.recorder, "select_events_after", "select_after_ms"),
        (system.store.mapper.data_keys, "load_many", "load_keys_ms"),
        (system.store.mapper.data_keys, "_query", "key_queries_ms"),
    ):
        original = getattr(owner, name)  # AttributeError: a phase renamed - rename it here

        def timed(*args, _original=original, _label=label, **kwargs):
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                spent = (time.perf_counter() - started) * 1000
                setattr(_fund, _label, getattr(_fund, _label, 0.0) + spent)

        setattr(owner, name, timed)


def _timed(results: list[dict[str, Any]], kind: str, action) -> Any:
    started = time.perf_counter()
    _fund.wait_ms = _fund.held_ms = 0.0
    for phase in PHASES:
        setattr(_fund, phase, 0.0)
    for _ in range(40):
        try:
            value = action()
            error = None
        except Exception as exc:  # reported, and the test fails on it
            value, error = None, f"{type(exc).__name__}: {exc}"
            # The test server's connection slots (max_connections) are shared
            # with the other test worker: a refused connection stored nothing
            # and is not contention between officers, so it is tried again.
            if "too many clients" in error:
                time.sleep(0.25)
                continue
        break
    ms = (time.perf_counter() - started) * 1000
    results.append(
        {
            "kind": kind,
            "ms": ms,
            "error": error,
            "wait_ms": _fund.wait_ms,
            "held_ms": _fund.held_ms,
            "phases": {k: getattr(_fund, k) for k in PHASES},
            "at": time.time(),  # when it ended (wall clock, shared by the processes)
        }
    )
    return value


def officer_commands(system, plan: Plan, i: int, reference: str = "MP-LOAD") -> dict:
    """Fund officer i's money commands, in the order the workload runs them
    (bench/profile_money_decision.py times the same ones one at a time)."""
    actor = Actor(officer_id=UUID(plan.fund[i]), role=Role.FUND_OFFICER)
    d = UUID(plan.waiting[i])
    return {
        "approve": lambda: system.ledger.approve(
            actor, c.ApproveDisbursement(command_id=uuid4(), disbursement_id=d)
        ),
        "pay": lambda: system.ledger.pay(
            actor,
            c.PayDisbursement(
                command_id=uuid4(),
                disbursement_id=d,
                channel="mobile_money",
                payment_reference=f"{reference}-{i}",
            ),
        ),
        "request": lambda: system.ledger.request_disbursement(
            actor,
            c.RequestDisbursement(
                command_id=uuid4(),
                migrant_id=UUID(plan.migrants[i]),
                incident_id=UUID(plan.incidents[i]),
                category="counselling",
                amount=kes(3_000),
                payee="Nairobi Counselling Centre",
                justification="Counselling after the injury.",
            ),
        ),
    }


def fund_officer(system, plan: Plan, i: int, results: list) -> None:
    actor = Actor(officer_id=UUID(plan.fund[i]), role=Role.FUND_OFFICER)
    queries = system.read_models.queries
    _timed(results, "search", lambda: queries.search_cases("officer load", limit=20))
    for kind, command in officer_commands(system, plan, i).items():
        _timed(results, kind, command)
    if i == 0:
        _timed(
            results,
            "import contributions",
            lambda: import_contributions(system, actor, Path(plan.contributions_csv)),
        )


def attache(system, plan: Plan, i: int, results: list) -> None:
    actor = Actor(officer_id=UUID(plan.attaches[i]), role=Role.LABOUR_ATTACHE)
    queries = system.read_models.queries
    _timed(results, "search", lambda: queries.search_cases("officer", limit=20))
    migrant_id = UUID(plan.migrants[i])
    _timed(results, "report incident", lambda: report(system, actor, migrant_id, days=2))


def registrar(system, plan: Plan, i: int, results: list) -> None:
    actor = Actor(officer_id=UUID(plan.registrars[i]), role=Role.REGISTRATION_OFFICER)
    queries = system.read_models.queries
    _timed(results, "search", lambda: queries.search_cases("load", limit=20))
    _timed(
        results,
        "register migrant",
        lambda: system.cases.register(
            actor,
            registration(
                full_name=f"New Registrant {i}",
                national_id=f"{41_000_000 + i}",
                passport_number=f"AN{7_000_000 + i}",
            ),
        ),
    )


def warm_up(system) -> None:
    """A process that has been at work a while (bench only, to tell start-up
    from steady state): its event-store connections open and the fund's book
    in memory, as in a TUI open since the morning."""
    system.ledger.book()
    openers = [threading.Thread(target=system.store.exists, args=(uuid4(),)) for _ in range(5)]
    for opener in openers:
        opener.start()
    for opener in openers:
        opener.join()


def run_process(plan: Plan, p: int, start, out, processes: int = PROCESSES) -> None:
    """One process: its officers (every `processes`-th) on threads, released
    with all others."""
    try:
        # Few event-store connections per process: fifty officers on one
        # server (max_connections 100 by default) share it with the read
        # models' connections and with whatever else runs beside the test.
        # One officer a process needs no more than two.
        pool = (2, 3) if processes <= PROCESSES else (1, 1)
        system = build_system(
            Settings(database_url=plan.url, pool_size=pool[0], pool_max_overflow=pool[1])
        )
        watch_the_fund(system.store)
        if hasattr(system.ledger, "_deciding"):
            system.ledger._deciding = _TimedTurn(system.ledger._deciding)
        if os.environ.get("FIFTY_OFFICERS_PHASES"):
            watch_phases(system)
        results: list[dict[str, Any]] = []
        roles = {"fund": fund_officer, "attache": attache, "registrar": registrar}
        threads = [
            threading.Thread(target=roles[role], args=(system, plan, i, results))
            for role, i in OFFICERS[p::processes]
        ]
        if os.environ.get("FIFTY_OFFICERS_WARM"):
            warm_up(system)
        if os.environ.get("FIFTY_OFFICERS_SWITCH_MS"):
            # How long a thread back from the server waits for the GIL while
            # this process's other officers compute (default 5 ms).
            sys.setswitchinterval(float(os.environ["FIFTY_OFFICERS_SWITCH_MS"]) / 1000)
        start.wait(timeout=120)
        machine = (time.time(), *machine_jiffies())
        cpu = time.process_time()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # What the officers' work cost this process (all threads), not a command.
        results.append(
            {
                "kind": CPU,
                "ms": (time.process_time() - cpu) * 1000,
                "error": None,
                "machine": (machine, (time.time(), *machine_jiffies())),
            }
        )
        system.close()
        out.put(results)
    except BaseException as error:
        out.put([{"kind": "process", "ms": 0.0, "error": f"{type(error).__name__}: {error}"}])
        raise


def run_all(plan: Plan, processes: int = PROCESSES) -> list[dict[str, Any]]:
    """Every process's results, once all have finished."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    start = context.Barrier(processes)
    workers = [
        context.Process(target=run_process, args=(plan, p, start, out, processes))
        for p in range(processes)
    ]
    for worker in workers:
        worker.start()
    results = [row for _ in workers for row in out.get(timeout=300)]
    for worker in workers:
        worker.join(timeout=60)
    return results


def counts(results: list[dict[str, Any]]) -> Counter[str]:
    return Counter(row["kind"] for row in results if row["kind"] != CPU)
