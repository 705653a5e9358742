"""What encryption at rest costs: the same work with it on and off, one run.

    uv run python -m bench.bench_encryption --migrants 5000 --repeat 3 [--backend ...]

For each backend, `--repeat` rounds; in each round, for each setting
(MSAFIRI_ENCRYPTION off and on, the order alternating between rounds; the
master key in a temporary file, never the user's) a fresh database is
filled and timed:
- demo load: `populate()` (the body of `msafiri demo`): build, map, seal, write;
- rebuild: every projection emptied and rebuilt from the log (each event
  authenticated and decrypted by the projections' decoder);
- chain: the audit chain extended over the whole log (each row authenticated);
- verify walk: the chain recomputed and every row authenticated (the log
  walk inside `audit verify`);
- audit verify: the whole `msafiri audit verify` command, in this process
  (the walk plus its replays of the cases and the fund against the read models).
Then, with encryption on only (there is nothing to shred with it off), the
erasure of one person (`msafiri case erase --approve`'s work: the approval
recorded, the person's data keys destroyed, the read models rebuilt, the
SQLite WAL truncated / the PostgreSQL tables vacuumed), timed in a fresh
process on the filled database, after `audit verify`.
Reported: the median seconds of each step over the rounds, and on/off of the
medians (the target is <= 1.3x); and the sealing alone - every stored row
opened, then sealed again, in a tight loop - which is what encryption adds to
each step, whatever the noise. The machine is shared: the rounds and the
alternating order are there to make noise hit both settings alike.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import postgres_database
from msafiri.bootstrap import build_system
from msafiri.demo.officers import ensure_demo_officers
from msafiri.demo.population import populate
from msafiri.settings import Settings
from projections.audit.authenticity import Authenticated
from projections.audit.chain import verify

STEPS = ("demo load", "rebuild", "chain", "verify walk", "audit verify")


def measure(url: str, migrants: int, encryption: str, key_file: Path) -> dict[str, float]:
    system = build_system(Settings(database_url=url, encryption=encryption, key_file=key_file))
    seconds: dict[str, float] = {}
    try:
        actors = ensure_demo_officers(system)
        started = time.perf_counter()
        populate(system.store, actors, migrants, seed=5)
        seconds["demo load"] = time.perf_counter() - started
        started = time.perf_counter()
        system.read_models.rebuild()
        seconds["rebuild"] = time.perf_counter() - started
        started = time.perf_counter()
        system.audit.extend_chain()
        seconds["chain"] = time.perf_counter() - started
        started = time.perf_counter()
        rows = Authenticated(system.audit.rows(), system.audit.authenticate)
        result = verify(rows, system.audit.chain())
        seconds["verify walk"] = time.perf_counter() - started
        assert result.ok and not rows.findings and result.checked > 0
        seconds["events"] = result.checked
        if system.store.mapper.keyring is not None:
            seconds.update(crypto_alone(system))
    finally:
        system.close()
    seconds["audit verify"] = audit_verify_command(url, encryption, key_file)
    if encryption == "on":
        seconds.update(erase_one(url, key_file))
    return seconds


def erase_one(url: str, key_file: Path) -> dict[str, float]:
    """One person erased (the first registered), as `case erase --approve`
    does it; the rebuild inside it timed apart."""
    from uuid import UUID

    from domain.cases.commands import RequestErasure
    from msafiri.erasure import approve_and_erase

    system = build_system(Settings(database_url=url, encryption="on", key_file=key_file))
    try:
        actors = ensure_demo_officers(system)
        [(migrant_id,)] = system.read_models.queries.db.fetchall(
            "SELECT migrant_id FROM rm_cases ORDER BY registered_at, migrant_id LIMIT 1"
        )
        system.cases.request_erasure(
            actors["dpo"],
            RequestErasure(migrant_id=UUID(migrant_id), legal_basis="bench: DPA 2019 s.40"),
        )
        rebuild = system.read_models.rebuild
        rebuilt: list[float] = []

        def timed_rebuild() -> None:
            started = time.perf_counter()
            rebuild()
            rebuilt.append(time.perf_counter() - started)

        system.read_models.rebuild = timed_rebuild  # type: ignore[method-assign]
        started = time.perf_counter()
        assert approve_and_erase(system, actors["dpo2"], UUID(migrant_id)) >= 1
        total = time.perf_counter() - started
    finally:
        system.close()
    return {"erase one person": total, "erase: of which rebuild": rebuilt[0]}


def crypto_alone(system) -> dict[str, float]:
    """The sealing itself, apart from the machine's noise: every stored row
    opened, then sealed again, in a tight loop (rows already in memory)."""
    keyring = system.store.mapper.keyring
    rows = system.audit.rows()
    stored = [(r.state, r.originator_id, r.originator_version, r.topic) for r in rows]
    started = time.perf_counter()
    plain = [keyring.open(*row) for row in stored]
    opened = time.perf_counter() - started
    started = time.perf_counter()
    for data, (_, originator_id, version, topic) in zip(plain, stored, strict=True):
        keyring.seal(data, originator_id, version, topic)
    return {"open every row": opened, "seal every row": time.perf_counter() - started}


def audit_verify_command(url: str, encryption: str, key_file: Path) -> float:
    from msafiri.cli.main import main

    environment = {
        "MSAFIRI_DATABASE_URL": url,
        "MSAFIRI_ENCRYPTION": encryption,
        "MSAFIRI_KEY_FILE": str(key_file),
    }
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    output = io.StringIO()
    started = time.perf_counter()
    try:
        with contextlib.redirect_stdout(output):
            main(["audit", "verify", "--json"])
    except SystemExit as exit_:
        raise AssertionError(f"audit verify failed: {output.getvalue()}") from exit_
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    seconds = time.perf_counter() - started
    assert json.loads(output.getvalue())["ok"], output.getvalue()
    return seconds


def report(backend: str, runs: dict[str, list[dict[str, float]]]) -> None:
    events = int(runs["on"][0]["events"])
    for step in STEPS:
        off = statistics.median(run[step] for run in runs["off"])
        on = statistics.median(run[step] for run in runs["on"])
        print(f"| {backend} | {events:,} | {step} | {off:.2f} | {on:.2f} | {on / off:.2f}x |")
    for step in ("open every row", "seal every row"):
        alone = statistics.median(run[step] for run in runs["on"])
        print(
            f"| {backend} | {events:,} | AES-GCM alone: {step} | - | {alone:.2f} "
            f"| {alone / events * 1e6:.1f} us/event |"
        )
    for step in ("erase one person", "erase: of which rebuild"):
        alone = statistics.median(run[step] for run in runs["on"])
        print(f"| {backend} | {events:,} | {step} (on only) | - | {alone:.2f} | - |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--migrants", type=int, default=5000)
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| backend | events | step | off (s, median) | on (s, median) | on/off |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        key_file = Path(tmp) / "master.key"
        for backend in ("sqlite", "postgresql"):
            if args.backend not in (backend, "both"):
                continue
            runs: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
            for round_ in range(args.repeat):
                order = ("off", "on") if round_ % 2 == 0 else ("on", "off")
                for encryption in order:
                    if backend == "sqlite":
                        url = f"sqlite:///{Path(tmp) / f'bench-{round_}-{encryption}.db'}"
                        runs[encryption].append(measure(url, args.migrants, encryption, key_file))
                    else:
                        with postgres_database() as url:
                            runs[encryption].append(
                                measure(url, args.migrants, encryption, key_file)
                            )
            report("SQLite" if backend == "sqlite" else "PostgreSQL", runs)


if __name__ == "__main__":
    main()
