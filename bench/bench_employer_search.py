"""p95 latency of employer and agency search (issue 16), SQLite and PostgreSQL.

    uv run python -m bench.bench_employer_search --employers 50000 --agencies 500 --queries 2000

The registry read model (rm_parties, migration 0017) is filled directly with
synthetic rows - `--employers` over the demo's nine destinations, a third of
them merged duplicates' survivors' look-alikes - not through the 1M-migrant
demo: search reads rm_parties only, whose size is what matters. Queries are
what an officer types on a new contract: a registered name with a typo, a
word of it, a different word order, each within the destination country
(rapidfuzz over that country's surviving records), and a name prefix
without a country. The raw baseline, in the same run, is the candidate
query alone through the bare driver (sqlite3 / psycopg), no similarity.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import postgres_database
from domain.employers.vocabulary import name_key
from msafiri.settings import parse_database_url
from projections.db import ReadModelDb
from projections.employer_queries import search_parties
from projections.employers import PARTY_COLUMNS
from projections.schema import upgrade

COUNTRIES = ("SA", "AE", "QA", "KW", "OM", "BH", "LB", "JO", "IQ")
WEIGHTS = (45, 18, 10, 7, 6, 4, 4, 3, 3)
SYLLABLES = (
    "al", "har", "bi", "qah", "ta", "ni", "ot", "ai", "do", "sa", "ri", "mu", "shi",
    "zah", "ra", "gham", "di", "mak", "tum", "nu", "ku", "wa", "ba", "kha", "li", "fa",
    "had", "dad", "kho", "ury", "nas", "ser", "jab", "er", "sul", "man", "ham", "dan",
)  # fmt: skip
KINDS = (("household", "household"), ("company", "Trading Co."), ("company", "Contracting"))


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def rows(employers: int, agencies: int, rng: random.Random) -> list[tuple]:
    out, seen = [], set()
    while len(out) < employers:
        country = rng.choices(COUNTRIES, WEIGHTS)[0]
        kind, tail = rng.choice(KINDS)
        name = f"Al-{word(rng)} {word(rng)} {tail}"
        if (country, name_key(name)) in seen:
            continue
        seen.add((country, name_key(name)))
        out.append(party(rng, "employer", name, kind, country))
    for _ in range(agencies):
        name = f"{word(rng)} {word(rng)} Recruitment Agency"
        out.append(party(rng, "agency", name, None, "KE"))
    return out


def party(rng: random.Random, party_kind: str, name: str, kind: str | None, country: str):
    party_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    agency = party_kind == "agency"
    row = {
        "party_id": party_id,
        "party_kind": party_kind,
        "name": name,
        "name_key": name_key(name),
        "kind": kind,
        "country": country,
        "city": None if agency else "City",
        "sector": None if agency else "domestic_work",
        "registration_number": None,
        "licence_number": f"L-{party_id[:6]}" if agency else None,
        "licence_valid_from": "2024-01-01" if agency else None,
        "licence_valid_until": "2028-01-01" if agency else None,
        "licence_status": "active" if agency else None,
        "licence_reason": None,
        "watchlist": "listed" if rng.random() < 0.01 else "not_listed",
        "listing_reason": None,
        "proposed_by": None,
        "proposal_reason": None,
        "proposal_incidents": None,
        "canonical_id": party_id,
        "registered_at": "2026-01-01T09:00:00.000000Z",
        "version": 1,
    }
    return tuple(row[c] for c in PARTY_COLUMNS)


def typo(text: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(text) - 1)
    return text[:i] + text[i + 1 :]


def queries(data: list[tuple], n: int, rng: random.Random) -> list[tuple[str, str, str | None]]:
    employers = [r for r in data if r[1] == "employer"]
    out = []
    for _ in range(n):
        r = rng.choice(employers)
        name, country = r[2], r[5]
        words = name.split()
        kind = rng.randrange(4)
        if kind == 0:
            out.append(("employer", typo(name, rng), country))
        elif kind == 1:
            out.append(("employer", words[1], country))
        elif kind == 2:
            out.append(("employer", " ".join(reversed(words)), country))
        else:
            out.append(("employer", name_key(name)[:6], None))
    return out


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(ms: list[float]) -> dict:
    return {
        "p50_ms": round(statistics.median(ms), 3),
        "p95_ms": round(p(ms, 0.95), 3),
        "p99_ms": round(p(ms, 0.99), 3),
    }


def run(url: str, data: list[tuple], asked: list, raw_connect) -> dict:
    database = parse_database_url(url)
    upgrade(database)
    db = ReadModelDb(database)
    with db.transaction():
        db.insert_many("rm_parties", PARTY_COLUMNS, data)
    db.execute("ANALYZE rm_parties")
    ours, raw = [], []
    found = 0
    for party_kind, text, country in asked[:50]:  # warm-up
        search_parties(db, party_kind, text, country)
    for party_kind, text, country in asked:
        start = time.perf_counter()
        found += bool(search_parties(db, party_kind, text, country))
        ours.append((time.perf_counter() - start) * 1000)
    conn, mark = raw_connect()
    candidate = (
        f"SELECT party_id, name_key FROM rm_parties WHERE party_kind = {mark} "
        f"AND country = {mark} AND canonical_id = party_id"
    )
    prefix = (
        f"SELECT party_id, name FROM rm_parties WHERE party_kind = {mark} AND name_key >= {mark} "
        f"AND name_key < {mark} AND canonical_id = party_id ORDER BY name_key, party_id LIMIT 10"
    )
    for party_kind, text, country in asked:
        key = name_key(text)
        start = time.perf_counter()
        cursor = conn.cursor()
        if country:
            cursor.execute(candidate, (party_kind, country))
        else:
            cursor.execute(prefix, (party_kind, key, key + "\U0010ffff"))
        cursor.fetchall()
        raw.append((time.perf_counter() - start) * 1000)
    conn.close()
    db.close()
    result = {"ours": summary(ours), "raw": summary(raw), "found": found, "queries": len(asked)}
    result["p95_ratio"] = round(result["ours"]["p95_ms"] / max(result["raw"]["p95_ms"], 1e-6), 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employers", type=int, default=50_000)
    parser.add_argument("--agencies", type=int, default=500)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    data = rows(args.employers, args.agencies, rng)
    asked = queries(data, args.queries, rng)
    out: dict = {"employers": args.employers, "agencies": args.agencies}
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bench.db"
            out["sqlite"] = run(
                f"sqlite:///{path}", data, asked, lambda: (sqlite3.connect(path), "?")
            )
    if args.backend in ("postgresql", "both"):
        with postgres_database() as url:
            import psycopg

            conninfo = parse_database_url(url).conninfo()
            out["postgresql"] = run(url, data, asked, lambda: (psycopg.connect(conninfo), "%s"))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
