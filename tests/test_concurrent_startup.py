"""Several Msafiri processes (officers' TUIs, the projection runner) start at
the same moment against one PostgreSQL database: none may crash while the
event store creates its tables. PostgreSQL answers concurrent CREATE OR
REPLACE FUNCTION on the same name with "tuple concurrently updated"."""

from __future__ import annotations

import multiprocessing

import pytest

from msafiri.bootstrap import build_system
from msafiri.settings import Settings

PROCESSES = 6


def _start(url: str, gate, out) -> None:
    gate.wait()
    try:
        system = build_system(Settings(database_url=url))
        system.close()
        out.put("started")
    except BaseException as error:
        out.put(f"{type(error).__name__}: {error}")


@pytest.mark.parametrize("database_url", ["postgresql", "sqlite"], indirect=True)
def test_processes_starting_together_all_start(database_url):
    context = multiprocessing.get_context("spawn")
    gate = context.Barrier(PROCESSES)
    out = context.Queue()
    workers = [
        context.Process(target=_start, args=(database_url, gate, out)) for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    outcomes = [out.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert outcomes == ["started"] * PROCESSES
