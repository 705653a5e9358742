"""A shadow rebuild split across processes (`msafiri projections rebuild
--shadow --processes N`, PostgreSQL).

projections/shadow.py prepares the shadow tables and swaps them; this runs
the parts in between, each a fresh process that builds the system from the
same settings (its own keyring and data keys to open sealed fields, its own
connections) and fills the shadow tables of its group of projections up to
the head the build started from. Processes rather than threads: decoding and
the projections' Python are most of a rebuild's client work, and threads
would share one interpreter lock (two threads were measured slower than one
in session 9: docs/benchmarks.md, "Item 5, rebuild throughput").

A part stops at its next page when its parent is gone (SIGKILL of the CLI),
so no part outlives the build it belonged to for longer than a page.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
from collections.abc import Callable

from msafiri.settings import Settings
from projections.shadow import ShadowRebuild, ShadowRebuildFailed

# How often the parent reports progress while the parts work, in seconds.
REPORT_EVERY = 1.0


def run_parts(
    settings: Settings,
    groups: list[list[str]],
    head: int,
    report: Callable[[], None],
    stop: threading.Event | None = None,
) -> int:
    """Fill each group's shadow tables in a process of its own (page size:
    `settings.projection_batch_size`); returns the log entries read, which is
    the same range for every part. Raises ShadowRebuildFailed naming the
    first part that failed (the others are stopped)."""
    context = multiprocessing.get_context("spawn")  # no inherited connections
    results = context.Queue()
    parts = [
        context.Process(
            target=_fill,
            args=(settings, names, head, os.getpid(), results),
            name=f"msafiri-shadow-{'+'.join(names)}",
            daemon=True,
        )
        for names in groups
    ]
    for part in parts:
        part.start()
    try:
        while True:
            running = [part for part in parts if part.is_alive()]
            if not running:
                break
            if stop is not None and stop.is_set():
                raise ShadowRebuildFailed("stopped before the swap: the live tables are unchanged")
            running[0].join(REPORT_EVERY)
            report()
            if any(part.exitcode not in (None, 0) for part in parts):
                break  # one failed: the others are stopped below
        outcomes = []
        for _ in [part for part in parts if part.exitcode is not None]:
            try:
                outcomes.append(results.get(timeout=5))
            except queue.Empty:
                break  # a part killed outright says nothing
        failures = [error for _, _, error in outcomes if error]
        failures += [
            f"part {part.name} exited with code {part.exitcode}"
            for part in parts
            if part.exitcode not in (None, 0)
        ]
        if failures or len(outcomes) != len(parts):
            raise ShadowRebuildFailed(
                failures[0] if failures else "a part of the shadow build did not finish"
            )
        # Each part reads the same log entries (its own types from them).
        return max(read for _, read, _ in outcomes)
    finally:
        for part in parts:
            if part.is_alive():
                part.terminate()
            part.join()
        results.close()


def _fill(
    settings: Settings,
    names: list[str],
    head: int,
    parent: int,
    results,
) -> None:
    """One part, in its own process."""
    from msafiri.bootstrap import build_system

    system = shadow = None
    try:
        system = build_system(settings, create=False)
        shadow = ShadowRebuild(system.read_models, names)
        read = shadow.fill_part(head, alive=lambda: os.getppid() == parent)
    except Exception as error:  # reported by the parent, one line
        results.put((names, 0, f"{'+'.join(names)}: {type(error).__name__}: {error}"))
        raise SystemExit(1) from None
    finally:
        if shadow is not None:
            shadow.close()
        if system is not None:
            system.close()
    results.put((names, read, None))
