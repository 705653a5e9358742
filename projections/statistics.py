"""Gender-disaggregated counters, kept incrementally.

Each migrant (and incident) has one current key in a private table
(`rm_stats_migrant_keys`: sex, destination, sector, stage). A page compares
every touched migrant's key before and after the page and adds -1 to the old
cell and +1 to the new one, so a stage change moves a migrant between cells
and is never counted twice. Empty cells are deleted, so a table built in
many pages equals one built in a single pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from projections.base import Projection, RowCache
from projections.cases import STAGE_AFTER
from projections.db import ReadModelDb
from projections.log import Record

MIGRANT_KEY = ("migrant_id", "sex", "destination", "sector", "stage")
INCIDENT_KEY = ("incident_id", "migrant_id", "category", "country", "sex", "is_open")

MIGRANT_TYPES = frozenset(
    {"MigrantRegistered", "ContractRegistered", "CycleStarted", "RegistrationCorrected"}
) | frozenset(STAGE_AFTER)
INCIDENT_TYPES = frozenset({"IncidentReported", "IncidentResolved", "IncidentClosed"})
# Events that leave an incident in an open status (referred, assisted), as
# the Incident aggregate applies them; resolved and closed are not open.
OPENING = frozenset({"IncidentReferred", "AssistanceProvided", "AssistancePaid"})


class StatisticsProjection(Projection):
    name = "statistics"
    rebuild_weight = 3.0
    tables = (
        "rm_stats_migrants",
        "rm_stats_incidents",
        "rm_stats_migrant_keys",
        "rm_stats_incident_keys",
    )
    types = MIGRANT_TYPES | INCIDENT_TYPES | OPENING

    def apply(self, db: ReadModelDb, records: Sequence[Record]) -> None:
        migrants = RowCache(db, "rm_stats_migrant_keys", MIGRANT_KEY, "migrant_id")
        incidents = RowCache(db, "rm_stats_incident_keys", INCIDENT_KEY, "incident_id")
        # Rows whose first event is in this page cannot be stored yet.
        registered_now = {r.originator_id for r in records if r.type == "MigrantRegistered"}
        reported_now = {r.originator_id for r in records if r.type == "IncidentReported"}
        incidents.load(
            {r.originator_id for r in records if r.type not in MIGRANT_TYPES} - reported_now
        )
        # A corrected sex moves the migrant's incidents too.
        resexed = {
            r.originator_id
            for r in records
            if r.type == "RegistrationCorrected" and "sex" in r.data["corrections"]
        }
        incidents.load_where("migrant_id", resexed)
        migrants.load(
            (
                {r.originator_id for r in records if r.type in MIGRANT_TYPES}
                | {r.data["migrant_id"] for r in records if r.type == "IncidentReported"}
            )
            - registered_now
        )
        before_m = {k: _cell(row, MIGRANT_KEY) for k, row in migrants.rows.items()}
        before_i = {k: _cell(row, INCIDENT_KEY) for k, row in incidents.rows.items()}
        for record in records:
            if record.type in MIGRANT_TYPES:
                self.apply_migrant(migrants, incidents, record)
            else:
                self.apply_incident(migrants, incidents, record)
        migrant_cells: Counter = Counter()
        for key in migrants.dirty:
            _move(migrant_cells, before_m.get(key), _cell(migrants.rows[key], MIGRANT_KEY))
        incident_cells: Counter = Counter()
        open_cells: Counter = Counter()
        for key in incidents.dirty:
            old, new = before_i.get(key), _cell(incidents.rows[key], INCIDENT_KEY)
            _move(incident_cells, old and old[:3], new[:3])
            _move(open_cells, old and old[3] and old[:3], new[3] and new[:3])
        migrants.flush()
        incidents.flush()
        self.add(db, migrant_cells, incident_cells, open_cells)

    @staticmethod
    def apply_migrant(migrants: RowCache, incidents: RowCache, record: Record) -> None:
        d, migrant_id = record.data, record.originator_id
        if record.type == "MigrantRegistered":
            migrants.put(
                migrant_id,
                {
                    "migrant_id": migrant_id,
                    "sex": d["sex"],
                    "destination": "",
                    "sector": "",
                    "stage": "pre_departure",
                },
            )
            return
        row = migrants.get(migrant_id)
        if row is None:
            raise LookupError(f"{record.type} for unknown migrant {migrant_id}")
        migrants.touch(migrant_id)
        if record.type == "ContractRegistered":
            row["destination"] = d["contract"]["destination_country"]
            row["sector"] = d["contract"]["sector"]
        if record.type == "CycleStarted":
            row["destination"] = row["sector"] = ""
        if record.type in STAGE_AFTER:
            row["stage"] = STAGE_AFTER[record.type]
        if record.type == "RegistrationCorrected" and "sex" in d["corrections"]:
            row["sex"] = d["corrections"]["sex"]["now"]
            for incident_id, incident in incidents.rows.items():
                if incident["migrant_id"] == migrant_id and incident["sex"] != row["sex"]:
                    incident["sex"] = row["sex"]
                    incidents.touch(incident_id)

    @staticmethod
    def apply_incident(migrants: RowCache, incidents: RowCache, record: Record) -> None:
        d, incident_id = record.data, record.originator_id
        if record.type == "IncidentReported":
            migrant = migrants.get(d["migrant_id"])
            if migrant is None:
                raise LookupError(f"incident {incident_id} for unknown migrant {d['migrant_id']}")
            incidents.put(
                incident_id,
                {
                    "incident_id": incident_id,
                    "migrant_id": d["migrant_id"],
                    "category": d["category"],
                    "country": d["country"],
                    "sex": migrant["sex"],
                    "is_open": 1,
                },
            )
            return
        row = incidents.get(incident_id)
        if row is None:
            raise LookupError(f"{record.type} for unknown incident {incident_id}")
        incidents.touch(incident_id)
        if record.type in ("IncidentResolved", "IncidentClosed"):
            row["is_open"] = 0
        elif record.type in OPENING:
            row["is_open"] = 1

    @staticmethod
    def add(db: ReadModelDb, migrant_cells: Counter, incident_cells: Counter, open_cells):
        db.executemany(
            "INSERT INTO rm_stats_migrants (sex, destination, sector, stage, migrants) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (sex, destination, sector, stage) "
            "DO UPDATE SET migrants = rm_stats_migrants.migrants + excluded.migrants",
            [(*cell, n) for cell, n in sorted(migrant_cells.items()) if n],
        )
        cells = sorted(set(incident_cells) | set(open_cells))
        db.executemany(
            "INSERT INTO rm_stats_incidents (category, country, sex, incidents, open_incidents) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (category, country, sex) DO UPDATE SET "
            "incidents = rm_stats_incidents.incidents + excluded.incidents, "
            "open_incidents = rm_stats_incidents.open_incidents + excluded.open_incidents",
            [
                (*c, incident_cells[c], open_cells[c])
                for c in cells
                if incident_cells[c] or open_cells[c]
            ],
        )
        if migrant_cells:
            db.execute("DELETE FROM rm_stats_migrants WHERE migrants = 0")
        if cells:
            db.execute("DELETE FROM rm_stats_incidents WHERE incidents = 0")


def _cell(row: dict, columns: tuple[str, ...]) -> tuple:
    """The counter cell a key row falls in (incidents: category, country,
    sex, then whether open)."""
    return tuple(row[c] for c in columns if c not in ("migrant_id", "incident_id"))


def _move(cells: Counter, old, new) -> None:
    if old == new:
        return
    if old:
        cells[old] -= 1
    if new:
        cells[new] += 1
