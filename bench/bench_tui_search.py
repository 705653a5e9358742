"""Keystroke-to-results latency of the TUI's case search screen.

A Textual Pilot types real search texts into the search box one key at a
time; each keystroke is timed from the key press until the results table
holds the page for the new text (the screen's own timestamp, taken on the
UI thread right after it filled the table). Between keystrokes the bench
waits for the page, as an officer who looks at the results would.

    # A small demo in a temporary SQLite file (the default):
    uv run python -m bench.bench_tui_search
    # The issue's target: a 1,000,000-migrant demo with its read models current
    # (`msafiri demo --migrants 1000000`, then `msafiri projections rebuild`):
    MSAFIRI_DATABASE_URL=sqlite:////tmp/msafiri-1m.db uv run python -m bench.bench_tui_search

The texts come from rows picked at random: a surname, a first name, a case
number and a phone number as dialled locally (07...), typed up to 8 keys.
The app runs without its background follower (nothing else moves the read
models while it measures).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from bench.bench_search import sample_cases
from domain.values import Role
from msafiri.bootstrap import System, build_system
from msafiri.settings import Settings
from tui.app.app import MsafiriApp
from tui.app.screens.case_search import CaseSearchScreen
from tui.app.session import Session

KEYS_MAX = 8
PAGE_WAIT_SECONDS = 30.0


def texts(case: Any, rng: random.Random) -> list[tuple[str, str]]:
    first, *_, last = case.full_name.split()
    local_phone = "0" + case.phone.removeprefix("+254")
    kinds = [
        ("surname", last.lower()),
        ("first name", first.lower()),
        ("case number", case.case_number),
        ("phone 07..", local_phone),
    ]
    kind, text = rng.choice(kinds)
    return [(kind, text[:KEYS_MAX])]


def small_demo(directory: Path, migrants: int, seed: int) -> str:
    """A demo population in a fresh SQLite file, read models current."""
    from msafiri.demo.officers import ensure_demo_officers
    from msafiri.demo.population import populate

    url = f"sqlite:///{directory / 'msafiri-bench.db'}"
    system = build_system(Settings(database_url=url))
    try:
        actors = ensure_demo_officers(system)
        populate(system.store, actors, migrants, seed, workers=0)
        system.read_models.catch_up()
    finally:
        system.close()
    return url


def session_for(system: System) -> Session:
    """A labour attaché's session (searching writes nothing): the demo's own
    attaché when there is one."""
    for officer in system.read_models.queries.officers():
        if Role.LABOUR_ATTACHE.value in officer.roles:
            return Session(
                officer_id=UUID(officer.officer_id),
                username=officer.username,
                full_name=officer.full_name,
                station=officer.station,
                role=Role.LABOUR_ATTACHE,
            )
    return Session(uuid4(), "bench", "Bench Attaché", "Nairobi HQ", Role.LABOUR_ATTACHE)


async def wait_for_page(screen: CaseSearchScreen, after_seq: int) -> float:
    """The moment the table showed the search started after `after_seq`."""
    deadline = time.monotonic() + PAGE_WAIT_SECONDS
    while not (screen._seq > after_seq and screen.shown_seq == screen._seq):
        if time.monotonic() > deadline:
            raise TimeoutError("the results never came")
        await asyncio.sleep(0.0005)
    return screen.shown_at


async def measure(system: System, typed: list[tuple[str, str]]) -> dict[str, list[float]]:
    app = MsafiriApp(system=system, blink=False, follow=False)
    timings: dict[str, list[float]] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.session = session_for(system)
        screen = CaseSearchScreen()
        await app.switch_screen(screen)
        await wait_for_page(screen, 0)  # the first page, before any key
        search = screen.query_one("#search")
        for kind, text in typed:
            if search.value:
                seq = screen._seq
                search.value = ""
                await wait_for_page(screen, seq)
            for key in text:
                seq = screen._seq
                started = time.perf_counter()
                await pilot.press(key if key != " " else "space")
                shown = await wait_for_page(screen, seq)
                timings.setdefault(kind, []).append((shown - started) * 1000)
    return timings


def percentile(values: list[float], pct: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * pct))], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("MSAFIRI_DATABASE_URL"),
        help="default: MSAFIRI_DATABASE_URL, else a small demo in a temporary SQLite file",
    )
    parser.add_argument("--searches", type=int, default=60, help="texts typed (each up to 8 keys)")
    parser.add_argument("--migrants", type=int, default=3000, help="size of the small demo")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="msafiri-bench-") as directory:
        url = args.database_url or small_demo(Path(directory), args.migrants, args.seed)
        system = build_system(Settings(database_url=url))
        try:
            lag = max(s.lag for s in system.read_models.queries.status())
            cases = system.read_models.queries.count_cases()
            picked = sample_cases(system.read_models, args.searches, rng)
            typed = [t for case in picked for t in texts(case, rng)]
            timings = asyncio.run(measure(system, typed))
        finally:
            system.close()
    everything = [t for ts in timings.values() for t in ts]
    result = {
        "backend": url.split(":", 1)[0],
        "cases": cases,
        "read_models_lag": lag,
        "keystrokes": len(everything),
        "p50_ms": percentile(everything, 0.50),
        "p95_ms": percentile(everything, 0.95),
        "max_ms": round(max(everything), 2),
        "mean_ms": round(statistics.fmean(everything), 2),
        "by_kind_p95_ms": {kind: percentile(ts, 0.95) for kind, ts in sorted(timings.items())},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
