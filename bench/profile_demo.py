"""Where `msafiri demo` spends its time, phase by phase, under cProfile (in-process).

uv run python -m bench.profile_demo 5000 /tmp/demo [sqlite|postgresql]
    -> /tmp/demo.write.prof (populate_with_fund: the cases and the fund, interleaved)
       /tmp/demo.catchup.prof (after_write + ANALYZE: fund process, read models, audit chain)
uv run python -m pstats /tmp/demo.write.prof   # then: sort cumulative, stats 40

Only the main process is profiled: building the stories runs in worker
processes beside it (msafiri/demo/population.py), and what the main process
waits for them shows as `result`/`_wait` time.
"""

from __future__ import annotations

import contextlib
import cProfile
import sys
import tempfile
import time

from bench.common import postgres_database
from msafiri.bootstrap import build_system
from msafiri.demo.officers import ensure_demo_officers
from msafiri.demo.population import DEMO_TODAY, history_start, populate_with_fund
from msafiri.settings import Settings


def main() -> None:
    migrants, out = int(sys.argv[1]), sys.argv[2]
    backend = sys.argv[3] if len(sys.argv) > 3 else "sqlite"
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        url = f"sqlite:///{tmp}/profile.db"
        if backend == "postgresql":
            url = stack.enter_context(postgres_database())
        system = build_system(Settings(database_url=url), create=True)
        actors = ensure_demo_officers(system, at=history_start(DEMO_TODAY))
        before = system.store.recorder.max_notification_id() or 0
        for phase, work in (
            ("write", lambda: populate_with_fund(system, actors, migrants, 2026)),
            ("catchup", lambda: (system.keep_current(), system.read_models.analyze(events=True))),
        ):
            profile = cProfile.Profile()
            started = time.perf_counter()
            profile.enable()
            work()
            profile.disable()
            seconds = time.perf_counter() - started
            profile.dump_stats(f"{out}.{phase}.prof")
            events = (system.store.recorder.max_notification_id() or 0) - before
            print(f"{phase}: {seconds:.1f} s under cProfile ({events:,} events in the log)")
        system.close()


if __name__ == "__main__":
    main()
