"""Reads of the employer and agency registries (projections/employers.py):
search with name similarity within a country, one record, its history at a
glance, and the watchlist proposals waiting for a checker.

    search_parties(db, "employer", "alharbi", country="SA")   # best first
    party_history(db, party_id)                               # PartyHistory
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from rapidfuzz import fuzz, process

from domain.amounts import format_major
from domain.employers.vocabulary import name_key
from projections.db import ReadModelDb
from projections.disclosure import incident_counts
from projections.terms import prefix_range

# How alike two name keys must be (rapidfuzz WRatio, 0-100) to be offered
# as a possible duplicate.
SIMILAR = 80


@dataclass(frozen=True)
class PartyRow:
    party_id: str
    party_kind: str  # employer, agency
    name: str
    kind: str | None  # household, company (employers)
    country: str
    city: str | None
    sector: str | None
    registration_number: str | None
    licence_number: str | None
    licence_valid_from: str | None
    licence_valid_until: str | None
    licence_status: str | None  # active, suspended, revoked (agencies)
    licence_reason: str | None
    watchlist: str  # not_listed, listing_proposed, listed, delisting_proposed
    listing_reason: str | None
    proposed_by: str | None
    proposal_reason: str | None
    canonical_id: str  # itself, or the record it was merged into
    registered_at: str
    version: int

    @property
    def merged(self) -> bool:
        return self.canonical_id != self.party_id


PARTY_COLS = ", ".join(f.name for f in fields(PartyRow))


@dataclass(frozen=True)
class Match:
    row: PartyRow
    score: float  # 0-100, 100 the same name key


@dataclass(frozen=True)
class PartyHistory:
    party: PartyRow  # the record that stands for the one asked (after merges)
    merged_ids: tuple[str, ...]  # every id counted under it, itself included
    migrants_placed: int
    placements: int
    incidents: list[dict[str, Any]]  # disclosure.incident_counts
    # Money claims (issue 16 item 4) on the party's incidents, and what is
    # owed on return to migrants it placed last: how many are open, how many
    # recovered money, and the money recovered per currency (minor units).
    open_claims: int = 0
    recovered_claims: int = 0
    recovered: dict[str, int] = field(default_factory=dict)

    @property
    def incident_total(self) -> int:
        return sum(row["incidents"] for row in self.incidents)


def get_party(db: ReadModelDb, party_id: str) -> PartyRow | None:
    row = db.fetchone(f"SELECT {PARTY_COLS} FROM rm_parties WHERE party_id = ?", (party_id,))
    return PartyRow(*row) if row else None


def resolve(db: ReadModelDb, party_id: str) -> PartyRow | None:
    """The record `party_id` stands for now (itself, or the one it was merged into)."""
    row = get_party(db, party_id)
    if row is not None and row.merged:
        return get_party(db, row.canonical_id)
    return row


def search_parties(
    db: ReadModelDb,
    party_kind: str,
    text: str,
    country: str | None = None,
    limit: int = 10,
    cutoff: float = SIMILAR,
) -> list[Match]:
    """Records of one kind whose name is like `text`, best first. With a
    country: name similarity (rapidfuzz) among that country's surviving
    records - what a new contract offers to avoid duplicates. Without: the
    names starting with it, in order."""
    key = name_key(text)
    if not key:
        return []
    limit = max(1, min(int(limit), 100))
    if country is None:
        low, high = prefix_range(key)
        rows = db.fetchall(
            f"SELECT {PARTY_COLS} FROM rm_parties WHERE party_kind = ? AND name_key >= ? "
            "AND name_key < ? AND canonical_id = party_id ORDER BY name_key, party_id LIMIT ?",
            (party_kind, low, high, limit),
        )
        return [Match(PartyRow(*row), 100.0) for row in rows]
    ids, keys, words, holders = _candidates(db, party_kind, country)
    found = _similar(key, keys, words, holders, limit, cutoff)
    if not found:
        return []
    chosen = {ids[index]: score for index, score in found}
    marks = ", ".join("?" for _ in chosen)
    rows = db.fetchall(
        f"SELECT {PARTY_COLS} FROM rm_parties WHERE party_id IN ({marks})", tuple(chosen)
    )
    matches = [Match(PartyRow(*row), chosen[row[0]]) for row in rows]
    return sorted(matches, key=lambda m: (-m.score, m.row.name, m.row.party_id))


def _similar(
    key: str,
    keys: list[str],
    words: list[str],
    holders: dict[str, list[int]],
    limit: int,
    cutoff: float,
) -> list[tuple[int, float]]:
    """Indexes of `keys` like `key`, best first. WRatio (whole names, parts,
    word order) is the judge, but over a few hundred candidates only: those
    whose whole key is near (QRatio, cheap), and those holding a word near
    one of the typed words (a surname typed alone, with a typo)."""
    near = process.extract(key, keys, scorer=fuzz.QRatio, limit=50, score_cutoff=50)
    candidates = {index for _, _, index in near}
    for word in key.split():
        if len(word) < 3:
            continue
        for _, _, at in process.extract(word, words, scorer=fuzz.ratio, limit=5, score_cutoff=80):
            candidates.update(holders[words[at]][:200])
    scored = []
    for index in candidates:
        score = fuzz.WRatio(key, keys[index], score_cutoff=cutoff)
        if score:
            scored.append((index, score))
    scored.sort(key=lambda pair: (-pair[1], keys[pair[0]]))
    return scored[:limit]


# (database, kind, country) -> (stamp, ids, name keys, words, word -> key
# indexes): the surviving records' names of one country, kept between
# keystrokes while the `employers` projection has not moved (its position
# in rm_tracking: one primary-key read). Any change to the registry moves
# it; so do contracts and incidents, which only costs a reload.
_CACHE: dict[tuple[str, str, str], tuple[object, list, list, list, dict]] = {}
_CACHE_MAX = 64


def _candidates(
    db: ReadModelDb, party_kind: str, country: str
) -> tuple[list[str], list[str], list[str], dict[str, list[int]]]:
    stamp = db.fetchone("SELECT position FROM rm_tracking WHERE projection = 'employers'")
    cache_key = (str(db.database), party_kind, country)
    held = _CACHE.get(cache_key)
    if held is not None and held[0] == stamp:
        return held[1], held[2], held[3], held[4]
    rows = db.fetchall(
        "SELECT party_id, name_key FROM rm_parties WHERE party_kind = ? AND country = ? "
        "AND canonical_id = party_id ORDER BY party_id",
        (party_kind, country),
    )
    ids, keys = [row[0] for row in rows], [row[1] for row in rows]
    holders: dict[str, list[int]] = {}
    for index, name in enumerate(keys):
        for word in set(name.split()):
            holders.setdefault(word, []).append(index)
    words = sorted(holders)
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[cache_key] = (stamp, ids, keys, words, holders)
    return ids, keys, words, holders


def party_history(db: ReadModelDb, party_id: str) -> PartyHistory | None:
    party = resolve(db, party_id)
    if party is None:
        return None
    ids = tuple(
        row[0]
        for row in db.fetchall(
            "SELECT party_id FROM rm_parties WHERE canonical_id = ? ORDER BY party_id",
            (party.party_id,),
        )
    )
    column = "employer_id" if party.party_kind == "employer" else "agency_id"
    marks = ", ".join("?" for _ in ids)
    placed = db.fetchone(
        "SELECT COUNT(DISTINCT migrant_id), COUNT(*) FROM rm_placements "
        f"WHERE {column} IN ({marks})",
        ids,
    )
    counts = db.fetchall(
        f"SELECT category, severity, COUNT(*), SUM(is_open) FROM rm_party_incidents "
        f"WHERE {column} IN ({marks}) GROUP BY category, severity ORDER BY category, severity",
        ids,
    )
    assert placed is not None
    # A claim is the party's when its incident is (the employer and agency
    # of the contract when it happened); one without an incident (owed on
    # return) is the migrant's last employer's or agency's.
    claims = db.fetchall(
        "SELECT status, currency, recovered_minor FROM rm_claims WHERE incident_id IN "
        f"(SELECT incident_id FROM rm_party_incidents WHERE {column} IN ({marks})) "
        "UNION ALL SELECT c.status, c.currency, c.recovered_minor FROM rm_claims c "
        "JOIN rm_cases k ON k.migrant_id = c.migrant_id "
        f"WHERE c.incident_id IS NULL AND k.{column} IN ({marks})",
        ids + ids,
    )
    recovered: dict[str, int] = {}
    for _, currency, amount in claims:
        if amount:
            recovered[currency] = recovered.get(currency, 0) + int(amount)
    return PartyHistory(
        party=party,
        merged_ids=ids,
        migrants_placed=int(placed[0]),
        placements=int(placed[1]),
        incidents=incident_counts([(c, s, int(n), int(o or 0)) for c, s, n, o in counts]),
        open_claims=sum(1 for status, _, _ in claims if status == "open"),
        recovered_claims=sum(1 for _, _, amount in claims if amount),
        recovered=dict(sorted(recovered.items())),
    )


def watchlist_proposals(db: ReadModelDb, limit: int = 200) -> list[PartyRow]:
    """Listings and delistings waiting for a checker, oldest record first."""
    rows = db.fetchall(
        f"SELECT {PARTY_COLS} FROM rm_parties WHERE watchlist IN "
        "('listing_proposed', 'delisting_proposed') ORDER BY registered_at, party_id LIMIT ?",
        (limit,),
    )
    return [PartyRow(*row) for row in rows]


def watchlisted(db: ReadModelDb, limit: int = 500) -> list[PartyRow]:
    rows = db.fetchall(
        f"SELECT {PARTY_COLS} FROM rm_parties WHERE watchlist IN "
        "('listed', 'delisting_proposed') ORDER BY party_kind, name_key, party_id LIMIT ?",
        (limit,),
    )
    return [PartyRow(*row) for row in rows]


def history_lines(history: PartyHistory) -> list[str]:
    """History at a glance, as text (the TUI's employer screen shows the same)."""
    party = history.party
    where = ", ".join(x for x in (party.city, party.country) if x)
    lines = [f"{party.name} ({party.kind or party.party_kind}, {where})"]
    if party.party_kind == "agency":
        lines.append(
            f"licence {party.licence_number}: {party.licence_status}, valid "
            f"{party.licence_valid_from} to {party.licence_valid_until}"
            + (f" ({party.licence_reason})" if party.licence_reason else "")
        )
    status = party.watchlist.replace("_", " ")
    if party.listing_reason:
        status += f": {party.listing_reason}"
    if party.proposal_reason:
        status += f" (proposed: {party.proposal_reason})"
    lines.append(f"watchlist: {status}")
    lines.append(f"migrants placed: {history.migrants_placed} ({history.placements} placements)")
    money = ", ".join(format_major(n, cur) for cur, n in history.recovered.items())
    lines.append(
        f"claims: {history.open_claims} open, {history.recovered_claims} with money recovered"
        + (f" ({money})" if money else "")
    )
    lines.append(f"incidents: {history.incident_total}")
    for row in history.incidents:
        mark = " (restricted: counts only)" if row["restricted"] else ""
        lines.append(
            f"  {row['category'].replace('_', ' ')}, {row['severity']}: "
            f"{row['incidents']} ({row['open']} open){mark}"
        )
    if len(history.merged_ids) > 1:
        lines.append("also known as: " + ", ".join(i[:8] for i in history.merged_ids[1:]))
    return lines
