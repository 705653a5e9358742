"""Where `import_members()` spends its time, under cProfile (in-process).

uv run python -m bench.profile_import 4000 /tmp/import.prof
uv run python -m bench.profile_import 4000 /tmp/import.prof postgresql   # a fresh PG database
uv run python -m pstats /tmp/import.prof   # then: sort cumulative, stats 40
"""

from __future__ import annotations

import contextlib
import cProfile
import sys
import tempfile
from pathlib import Path

from bench.bench_import import write_members
from bench.common import postgres_database
from msafiri.bootstrap import build_system
from msafiri.demo.officers import ensure_demo_officers
from msafiri.registry_import import import_members
from msafiri.settings import Settings


def main() -> None:
    members, out = int(sys.argv[1]), sys.argv[2]
    backend = sys.argv[3] if len(sys.argv) > 3 else "sqlite"
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        source = Path(tmp) / "members.csv"
        write_members(source, members)
        url = f"sqlite:///{tmp}/profile.db"
        if backend == "postgresql":
            url = stack.enter_context(postgres_database())
        system = build_system(Settings(database_url=url))
        actors = ensure_demo_officers(system)
        profile = cProfile.Profile()
        profile.enable()
        import_members(system, actors["registrar"], source)
        profile.disable()
        profile.dump_stats(out)
        system.close()


if __name__ == "__main__":
    main()
