"""The first read models: tracking, officers, cases (+ search terms), incidents,
case timeline and the statistics counters.

One SQL text serves both backends; the few differences (PostgreSQL's "C"
collation on the search columns, so a prefix range scan on a btree is a plain
byte comparison as in SQLite) are filled in by `dialect()`. Times are stored
as fixed-width ISO 8601 UTC text ("2026-11-01T08:00:00.000000Z"), dates as
"YYYY-MM-DD": they sort chronologically on both backends and compare equal
row for row.
"""

from yoyo import step

__depends__: list[str] = []

TABLES = """
CREATE TABLE rm_tracking (
    projection TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    failed_id BIGINT,
    error TEXT
);

CREATE TABLE rm_officers (
    officer_id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    full_name TEXT NOT NULL,
    station TEXT NOT NULL,
    roles TEXT NOT NULL,
    active INTEGER NOT NULL
);

CREATE TABLE rm_cases (
    migrant_id TEXT PRIMARY KEY,
    case_number TEXT NOT NULL,
    full_name TEXT NOT NULL,
    name_key TEXT {C} NOT NULL,
    sex TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    age_band TEXT NOT NULL,
    county TEXT NOT NULL,
    national_id TEXT,
    passport_number TEXT,
    phone TEXT NOT NULL,
    education TEXT NOT NULL,
    stage TEXT NOT NULL,
    cycle INTEGER NOT NULL,
    destination TEXT NOT NULL,
    employer TEXT NOT NULL,
    sector TEXT NOT NULL,
    job_title TEXT NOT NULL,
    wage_minor BIGINT,
    wage_currency TEXT,
    membership_number TEXT,
    open_incidents INTEGER NOT NULL,
    incidents INTEGER NOT NULL,
    assigned_officer_id TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    last_activity_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX rm_cases_name ON rm_cases (name_key, migrant_id);
CREATE INDEX rm_cases_stage ON rm_cases (stage, name_key, migrant_id);
CREATE INDEX rm_cases_destination ON rm_cases (destination, name_key, migrant_id);
CREATE INDEX rm_cases_open ON rm_cases (name_key, migrant_id) WHERE open_incidents > 0;
CREATE INDEX rm_cases_officer ON rm_cases (assigned_officer_id, name_key, migrant_id);

CREATE TABLE rm_case_search (
    term TEXT {C} NOT NULL,
    migrant_id TEXT NOT NULL,
    PRIMARY KEY (term, migrant_id)
);
CREATE INDEX rm_case_search_migrant ON rm_case_search (migrant_id);

CREATE TABLE rm_incidents (
    incident_id TEXT PRIMARY KEY,
    migrant_id TEXT NOT NULL,
    case_number TEXT NOT NULL,
    full_name TEXT NOT NULL,
    sex TEXT NOT NULL,
    category TEXT NOT NULL,
    gbv_subtype TEXT,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    is_open INTEGER NOT NULL,
    country TEXT NOT NULL,
    channel TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    reported_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    assistance_status TEXT NOT NULL,
    assistance_requests INTEGER NOT NULL,
    closed_at TEXT,
    last_activity_at TEXT NOT NULL,
    reported_by TEXT NOT NULL
);
CREATE INDEX rm_incidents_open ON rm_incidents (is_open, occurred_at, incident_id);
CREATE INDEX rm_incidents_migrant ON rm_incidents (migrant_id, occurred_at);
CREATE INDEX rm_incidents_country ON rm_incidents (country, category, occurred_at);

CREATE TABLE rm_timeline (
    migrant_id TEXT NOT NULL,
    notification_id BIGINT NOT NULL,
    subject_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    version INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    summary TEXT NOT NULL,
    PRIMARY KEY (migrant_id, notification_id)
);

CREATE TABLE rm_timeline_subjects (
    subject_id TEXT PRIMARY KEY,
    migrant_id TEXT NOT NULL
);

CREATE TABLE rm_stats_migrants (
    sex TEXT NOT NULL,
    destination TEXT NOT NULL,
    sector TEXT NOT NULL,
    stage TEXT NOT NULL,
    migrants BIGINT NOT NULL,
    PRIMARY KEY (sex, destination, sector, stage)
);

CREATE TABLE rm_stats_incidents (
    category TEXT NOT NULL,
    country TEXT NOT NULL,
    sex TEXT NOT NULL,
    incidents BIGINT NOT NULL,
    open_incidents BIGINT NOT NULL,
    PRIMARY KEY (category, country, sex)
);

CREATE TABLE rm_stats_migrant_keys (
    migrant_id TEXT PRIMARY KEY,
    sex TEXT NOT NULL,
    destination TEXT NOT NULL,
    sector TEXT NOT NULL,
    stage TEXT NOT NULL
);

CREATE TABLE rm_stats_incident_keys (
    incident_id TEXT PRIMARY KEY,
    category TEXT NOT NULL,
    country TEXT NOT NULL,
    sex TEXT NOT NULL,
    is_open INTEGER NOT NULL
)
"""

DROPS = """
DROP TABLE rm_stats_incident_keys;
DROP TABLE rm_stats_migrant_keys;
DROP TABLE rm_stats_incidents;
DROP TABLE rm_stats_migrants;
DROP TABLE rm_timeline_subjects;
DROP TABLE rm_timeline;
DROP TABLE rm_incidents;
DROP TABLE rm_case_search;
DROP TABLE rm_cases;
DROP TABLE rm_officers;
DROP TABLE rm_tracking
"""


def is_postgres(conn) -> bool:
    return not type(conn).__module__.startswith("sqlite3")


def dialect(conn, text: str) -> str:
    return text.replace("{C}", 'COLLATE "C"' if is_postgres(conn) else "")


def run(conn, text: str) -> None:
    cursor = conn.cursor()
    for statement in dialect(conn, text).split(";"):
        if statement.strip():
            cursor.execute(statement)


steps = [step(lambda conn: run(conn, TABLES), lambda conn: run(conn, DROPS))]
