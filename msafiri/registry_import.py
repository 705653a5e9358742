"""Bringing in an existing registry: members and contributions from CSV files.

Funds start from spreadsheets and legacy databases. An import runs in two
passes over the file:

1. **Validate every line** through the very commands an officer's form or the
   CLI uses (`Command.parse`), so a problem is named exactly as the CLI names
   it: "line 17: phone: write the phone in international form, ...".
   Nothing is stored while any line is bad, unless the caller skips bad lines.
2. **Store in batches**, each batch ONE atomic save of many aggregates (one
   transaction: all of the batch or none of it; FIELD-NOTES: ~16k events/s
   batched against ~1.7k one save at a time on PostgreSQL).

Re-running a file stores nothing new. Every aggregate an import creates has
an id derived from the row's natural key, so a batch that holds an
already-imported row is refused whole by the store (a version conflict, no
read-model lookup, no race); the importer then sets those rows aside as
"already imported" and saves the rest. Natural keys (docs/import.md):

- members: the national id, else the passport number (each document is also
  claimed by its own index aggregate, exactly as `CaseService.register`
  does, so a person an officer registered by hand is "already registered");
- contributions: (membership number, reference). A membership number stands
  for one membership period, so this is the (member, period, reference) key.
  The lines of one reference (a remittance) and value date become one ledger
  `RecordContributionBatch` whose command id is derived from them: the
  ledger's own receipts make it idempotent.
"""

from __future__ import annotations

import csv
import gc
import multiprocessing
import os
import re
import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from eventsourcing.sqlite import SQLiteProcessRecorder
from eventsourcing.utils import get_topic

from domain.amounts import parse_major
from domain.cases import commands as cc
from domain.cases.aggregate import Migrant
from domain.cases.events import MembershipStarted
from domain.cases.identity import IdentityDocumentClaimed, IdentityDocumentIndex
from domain.cases.vocabulary import IdentityDocument
from domain.commands import Command
from domain.errors import ConcurrentUpdate, InvalidCommand, MsafiriError
from domain.ids import identity_document_id, name_id
from domain.model import Actor, Aggregate
from domain.persistence import OrjsonTranscoder, PydanticMapper
from domain.values import Role
from ledger import commands as lc
from ledger.receipts import receipt_id
from msafiri.demo.population import _die_with_parent

MEMBERS_PER_SAVE = 500  # ~1,500 events: the demo's ~1,660 per transaction
NO_ID = UUID(int=0)  # stands in for an id while a line is only validated
MAX_ATTEMPTS = 5
# Contribution references decided per hold of the fund: one hold for a
# file of this many (the officers' money commands wait behind it), each
# reference still its own transfer and receipt.
REFERENCES_PER_HOLD = 50

Progress = Callable[[int], None]


def imported_migrant_id(kind: str, number: str) -> UUID:
    """The case id of an imported member, from the natural key: the same line
    imported twice names the same case, and the store refuses the second."""
    return name_id(f"imported-migrant:{kind}:{number.strip().upper()}")


def contribution_batch_id(reference: str, received_on: Any, currency: str) -> UUID:
    return name_id(f"imported-contributions:{reference.strip()}|{received_on}|{currency}")


@dataclass(frozen=True)
class Problem:
    line: int
    field: str
    rule: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.rule}"


class BadFile(MsafiriError):
    """The file cannot be imported at all (unreadable, wrong columns)."""


@dataclass
class ImportReport:
    kind: str
    lines: int = 0
    problems: list[Problem] = field(default_factory=list)
    imported: int = 0
    already_imported: int = 0
    dry_run: bool = False
    stored: bool = False
    rejects_file: Path | None = None

    @property
    def bad_lines(self) -> int:
        return len({p.line for p in self.problems})

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "lines": self.lines,
            "bad_lines": self.bad_lines,
            "imported": self.imported,
            "already_imported": self.already_imported,
            "dry_run": self.dry_run,
            "stored": self.stored,
            "rejects_file": str(self.rejects_file) if self.rejects_file else None,
            "problems": [{"line": p.line, "field": p.field, "rule": p.rule} for p in self.problems],
        }


@dataclass
class Line:
    number: int
    raw: dict[str, str]
    problems: list[tuple[str, str]] = field(default_factory=list)
    parsed: Any = None


# --- reading and naming problems -------------------------------------------


# The two columns a rejects file adds: ignored, so a corrected rejects file
# imports as it is.
REJECTS_COLUMNS = {"line", "problems"}


def read_lines(path: Path, columns: set[str], required: set[str]) -> tuple[list[str], list[Line]]:
    """The file's header and its data lines, numbered as a text editor shows
    them (the header is line 1). Unknown or missing columns make the whole
    file unusable: one BadFile naming them."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise BadFile(f"cannot read {path}: {error.strerror or error}") from None
    with handle:
        reader = csv.DictReader(handle)
        try:
            header = [name.strip() for name in (reader.fieldnames or [])]
        except (csv.Error, UnicodeDecodeError) as error:
            raise BadFile(f"{path}: line 1: not a CSV file ({error})") from None
        reader.fieldnames = header
        if not header:
            raise BadFile(f"{path} is empty: the first line must name the columns")
        unknown = [name for name in header if name not in columns | REJECTS_COLUMNS]
        if unknown:
            raise BadFile(
                f"{path}: line 1: unknown column {', '.join(unknown)}; "
                f"the columns are {', '.join(sorted(columns))}"
            )
        missing = sorted(required - set(header))
        if missing:
            raise BadFile(f"{path}: line 1: missing column {', '.join(missing)}")
        lines = []
        start = 2
        try:
            for row in reader:
                line = Line(start, {k: (v or "") for k, v in row.items() if k is not None})
                if None in row:
                    line.problems.append(("(line)", f"more fields than the {len(header)} columns"))
                lines.append(line)
                start = reader.line_num + 1
        except (csv.Error, UnicodeDecodeError) as error:
            raise BadFile(f"{path}: line {start}: {error}") from None
    return header, lines


def _given(raw: dict[str, str], names) -> dict[str, Any]:
    """The columns given a value on this line, stripped (each stripped once)."""
    given = {}
    for name in names:
        value = raw.get(name)
        if value and (value := value.strip()):
            given[name] = value
    return given


def _parse(command_class: type[Command], data: dict[str, Any], line: Line, rename=None):
    """`command_class.parse(data)`, its problems added to the line, named by
    the CSV column (a rule on the whole form that names its field, like
    "date_of_birth: a migrant worker must be 18 to 75", is split there)."""
    try:
        return command_class.parse(data)
    except InvalidCommand as error:
        for name, rule in error.errors:
            if name == "(form)":
                name, rule = _form_field(rule, line.raw)
            line.problems.append(((rename or {}).get(name, name), rule))
        return None


def _form_field(rule: str, columns) -> tuple[str, str]:
    """A rule over several fields names the column it is about: "date_of_birth:
    a migrant worker must be 18 to 75" is split there, "ends_on must be after
    starts_on" is about ends_on (the first column it mentions)."""
    head, _, rest = rule.partition(": ")
    if rest and head in columns:
        return head, rest
    for word in re.findall(r"[a-z_]+", rule):
        if word in columns:
            return word, rule
    return "(form)", rule


# --- members -----------------------------------------------------------------

REGISTER_FIELDS = tuple(cc.RegisterMigrant.model_fields)
MEMBERSHIP_FIELDS = ("membership_number", "starts_on", "ends_on")
MEMBER_COLUMNS = set(REGISTER_FIELDS) | set(MEMBERSHIP_FIELDS)
MEMBER_REQUIRED = {n for n, f in cc.RegisterMigrant.model_fields.items() if f.is_required()}


class Member:
    """A validated members line and the ids its natural key gives it."""

    __slots__ = ("documents", "index_ids", "membership", "migrant_id", "register")

    def __init__(self, register: cc.RegisterMigrant, membership: cc.StartMembership | None):
        self.register = register
        self.membership = membership
        self.documents = [
            (kind, number)
            for kind, number in (
                (IdentityDocument.NATIONAL_ID, register.national_id),
                (IdentityDocument.PASSPORT, register.passport_number),
            )
            if number
        ]
        kind, number = self.documents[0]
        self.migrant_id = imported_migrant_id(kind.value, number)
        self.index_ids = [identity_document_id(k, n) for k, n in self.documents]

    @property
    def natural_ids(self) -> list[UUID]:
        return [self.migrant_id, *self.index_ids]

    def aggregates(self, actor: Actor) -> list[Aggregate]:
        """The case and its document indexes, exactly as `CaseService.register`
        (and `start_membership`) would make them."""
        migrant = Migrant.register(self.migrant_id, actor, self.register)
        if self.membership is not None:
            # Validated with a stand-in migrant_id (NO_ID): the aggregate
            # never reads a command's migrant_id (the service uses it to load
            # the case), so no copy naming the real one is needed.
            migrant.start_membership(actor, self.membership)
        indexes = [
            IdentityDocumentIndex.start(
                index_id, IdentityDocumentClaimed, actor, kind=kind, migrant_id=self.migrant_id
            )
            for index_id, (kind, _) in zip(self.index_ids, self.documents, strict=True)
        ]
        return [migrant, *indexes]


def validate_member(line: Line) -> None:
    data = _given(line.raw, REGISTER_FIELDS)
    if "skills" in data:  # one column: skills separated by semicolons
        data["skills"] = tuple(s.strip() for s in data["skills"].split(";") if s.strip())
    register = _parse(cc.RegisterMigrant, data, line)
    membership = None
    given = _given(line.raw, MEMBERSHIP_FIELDS)
    if given:
        membership = _parse(cc.StartMembership, {"migrant_id": NO_ID, **given}, line)
    if register is not None and not line.problems:
        line.parsed = Member(register, membership)


def _shown(value: str) -> str:
    """A value from the file for a problem line: as typed, or quoted and
    escaped when it holds a character that does not print (a zero-width
    space is valid inside a name), so the report stays one readable line."""
    return value if value.isprintable() else repr(value)


def _mark_duplicates(lines: list[Line], key: Callable[[Line], list[tuple[str, str]]]) -> None:
    """The same natural key twice in one file: the later line is bad."""
    seen: dict[tuple[str, str], int] = {}
    for line in lines:
        if line.parsed is None:
            continue
        for name, value in key(line):
            first = seen.setdefault((name, value), line.number)
            if first != line.number:
                line.problems.append(
                    (name, f"{_shown(value)} is already on line {first} of this file")
                )
                line.parsed = None


def import_members(
    system,
    actor: Actor,
    path: Path,
    *,
    dry_run: bool = False,
    skip_bad: bool = False,
    rejects: Path | None = None,
    validated: Progress | None = None,
    stored: Progress | None = None,
    storing: Progress | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Register every member of a members CSV (docs/import.md).

    With `workers` > 0 and more than one batch of lines, validating, building
    and mapping run in that many processes while this one seals and writes,
    as `msafiri demo` does (the keys stay here: workers return plain rows).
    The default is 0, all in this process: on a busy 2-core machine the
    workers' start-up and pickling cost more than they gave
    (docs/benchmarks.md). Either way one writer thread stores each batch
    while the next is built (`_store_batches`)."""
    system.authz.require(actor, "import members", Role.REGISTRATION_OFFICER)
    with _cyclic_gc_paused():
        return _import_members(
            system, actor, path, dry_run, skip_bad, rejects, validated, stored, storing, workers
        )


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, back as it was
    after. An import holds every validated line until it is stored (~15
    tracked objects a line), and each full collection walks all of them:
    ~7 full collections over a 20,000-line file at ~0.1 s each, freeing
    nothing - the import's objects are freed by reference counting (none
    left for the collector, measured: tests/test_import_fast_paths.py)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _import_members(
    system, actor, path, dry_run, skip_bad, rejects, validated, stored, storing, workers
) -> ImportReport:
    header, lines = read_lines(path, MEMBER_COLUMNS, MEMBER_REQUIRED)
    store = system.store
    chunks = [lines[i : i + MEMBERS_PER_SAVE] for i in range(0, len(lines), MEMBERS_PER_SAVE)]
    plain_mapper = store.mapper.cipher is None and store.mapper.compressor is None
    workers = workers or 0
    pool = _pool(workers) if workers > 0 and plain_mapper and len(chunks) > 1 else None
    try:
        checked = _in_order(pool, _validate_chunk, chunks)
        for chunk, results in zip(chunks, checked, strict=True):
            for line, (problems, parsed) in zip(chunk, results, strict=True):
                line.problems, line.parsed = problems, parsed
            if validated:
                validated(len(chunk))
        _mark_duplicates(lines, _member_keys)
        report = _judge("members", lines, dry_run, skip_bad, rejects, path, header)
        good = [line for line in lines if line.parsed is not None]
        if dry_run or (report.problems and not skip_bad):
            if dry_run:  # what a real run would find already there (reads only)
                ids = [n for line in good for n in line.parsed.natural_ids]
                there = _existing(store, ids) if ids else set()
                report.already_imported = sum(
                    1 for line in good if not there.isdisjoint(line.parsed.natural_ids)
                )
            return report
        if storing:
            storing(len(good))
        # Members already there (an earlier run, an officer) are set aside
        # before anything is built: one query per 10,000 ids (500 on
        # SQLite), so a re-run costs little more than the validation. A race
        # with another writer after this check is still caught by the store
        # (see _save_members).
        there = _existing(store, [n for line in good for n in line.parsed.natural_ids])
        batches = []
        for i in range(0, len(good), MEMBERS_PER_SAVE):
            batch = good[i : i + MEMBERS_PER_SAVE]
            fresh = [line for line in batch if there.isdisjoint(line.parsed.natural_ids)]
            report.already_imported += len(batch) - len(fresh)
            if stored and len(fresh) < len(batch):
                stored(len(batch) - len(fresh))
            if fresh:
                batches.append(fresh)
        mapper = store.mapper
        if pool:
            # Workers never see the key: the writing process seals their rows.
            build = partial(_build_batch, actor=actor)
            built = _in_order(pool, build, [[line.raw for line in b] for b in batches])
            finish = partial(_seal_batch, mapper)
        else:
            built = (_member_events([line.parsed for line in b], actor) for b in batches)
            finish = partial(_map_batch, mapper=mapper)
        _store_batches(store, built, finish, report, stored)
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    report.stored = report.imported > 0
    return report


def _store_batches(store, built: Iterator, finish, report: ImportReport, stored) -> None:
    """Each built batch finished (`finish`: its data keys made, its rows
    sealed) and saved (`_save_members`) in order, by one writer thread while
    this one builds the next batch: the insert waits on the database
    (PostgreSQL's server, SQLite's C code, a commit's fsync) with the GIL
    released, so building and writing overlap on two cores instead of
    taking turns. At most one batch is written while the next is built;
    each is still one atomic insert, in file order, and the first that fails
    stops the import with the batches before it stored, as when written in
    turn (the next batch, built meanwhile, is dropped; on PostgreSQL its
    data keys may be made already: keys without events, as after a
    conflict). On SQLite, one writer at a time: the data keys are made once
    the previous batch is written, since a writer waiting for the lock
    sleeps in steps of up to 100 ms (SQLite's busy handler)."""
    one_writer = isinstance(store.recorder, SQLiteProcessRecorder)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer") as writer:
        writing: tuple[Future, int] | None = None
        for item in built:
            if writing is not None and one_writer:
                _saved(report, stored, *writing)
                writing = None
            batch = finish(item)
            if writing is not None:
                _saved(report, stored, *writing)
            writing = (writer.submit(_save_members, store, batch), len(batch))
        if writing is not None:
            _saved(report, stored, *writing)


def _saved(report: ImportReport, stored, saving: Future, size: int) -> None:
    saved, already = saving.result()
    report.imported += saved
    report.already_imported += already
    if stored:
        stored(size)


def _seal_batch(mapper, batch: list[tuple[list[UUID], list]]) -> list[tuple[list[UUID], list]]:
    """A worker's plain rows sealed here, the batch's data keys made in one go."""
    sealed = iter(mapper.seal_many([row for _, rows in batch for row in rows]))
    return [(ids, [next(sealed) for _ in rows]) for ids, rows in batch]


@dataclass(frozen=True)
class Keys:
    """What the first pass keeps of a good line: its natural keys and ids."""

    columns: list[tuple[str, str]]
    natural_ids: list[UUID]


def _validate_chunk(chunk: list[Line]) -> list[tuple[list[tuple[str, str]], Any]]:
    """Each line's problems, and its Member (here) or Keys (in a worker: a
    Member is rebuilt there when stored, so memory stays small)."""
    results = []
    for line in chunk:
        if not line.problems:
            validate_member(line)
        parsed = line.parsed
        if parsed is not None and multiprocessing.parent_process() is not None:
            parsed = Keys(_member_keys(line), parsed.natural_ids)
        results.append((line.problems, parsed))
    return results


def _member_keys(line: Line) -> list[tuple[str, str]]:
    parsed = line.parsed
    if isinstance(parsed, Keys):
        return parsed.columns
    column = {
        IdentityDocument.NATIONAL_ID: "national_id",
        IdentityDocument.PASSPORT: "passport_number",
    }
    keys = [(column[kind], number) for kind, number in parsed.documents]
    if parsed.membership is not None:
        keys.append(("membership_number", parsed.membership.membership_number))
    return keys


def _build_batch(members: list, actor: Actor) -> list[tuple[list[UUID], list]]:
    """In a worker: per raw line, validated again here, its natural ids and
    the plain rows of its aggregates (sealed by the writing process)."""
    parsed = []
    for raw in members:
        line = Line(0, raw)
        validate_member(line)
        parsed.append(line.parsed)
    mapper = PydanticMapper(transcoder=OrjsonTranscoder())
    return [
        (ids, [mapper.to_plain_stored_event(e) for e in events])
        for ids, events in _member_events(parsed, actor)
    ]


def _member_events(members: list[Member], actor: Actor) -> list[tuple[list[UUID], list]]:
    """Per member: its natural ids and the events of its aggregates."""
    return [
        (
            member.natural_ids,
            [e for aggregate in member.aggregates(actor) for e in aggregate.collect_events()],
        )
        for member in members
    ]


def _map_batch(events: list[tuple[list[UUID], list]], mapper) -> list[tuple[list[UUID], list]]:
    """Per member: its natural ids and its events as sealed rows, the
    batch's data keys made in one go first."""
    mapper.prepare_data_keys([e for _, member_events in events for e in member_events])
    return [
        (ids, [mapper.to_stored_event(e) for e in member_events]) for ids, member_events in events
    ]


def _existing(store, ids: list[UUID]) -> set[UUID]:
    """Which of `ids` have events: one query per 500 ids on SQLite (its
    bound-parameter limit), per 10,000 on PostgreSQL (one `exists` per id
    took ~1.7 ms each). Asked of the recorder's own connection and table,
    as the library's recorders name them.

    On PostgreSQL the ids drive the query (each probes the log's primary
    key): `originator_id = ANY(ids)` was planned as a sequential scan of the
    whole log once it held a few thousand rows (its statistics lag behind
    an import), so each batch's check read every event stored before it -
    quadratic in the file's length, and most of a re-run's time."""
    recorder = store.recorder
    sqlite = isinstance(recorder, SQLiteProcessRecorder)
    table = recorder.events_table_name
    if not sqlite:
        table = f"{recorder.datastore.schema}.{table}"
    step = 500 if sqlite else 10_000
    found: set[UUID] = set()
    with recorder.datastore.transaction(commit=False) as cursor:
        for start in range(0, len(ids), step):
            part = ids[start : start + step]
            if sqlite:
                marks = ", ".join("?" for _ in part)
                cursor.execute(
                    f"SELECT DISTINCT originator_id FROM {table} WHERE originator_id IN ({marks})",
                    [i.hex for i in part],
                )
                found.update(UUID(row[0]) for row in cursor.fetchall())
            else:
                cursor.execute(
                    "SELECT wanted.id FROM unnest(%b::uuid[]) AS wanted(id) WHERE EXISTS "
                    f"(SELECT 1 FROM {table} AS e WHERE e.originator_id = wanted.id)",
                    (part,),
                )
                found.update(UUID(str(row["id"])) for row in cursor.fetchall())
    return found


def _save_members(store, batch: list[tuple[list[UUID], list]]) -> tuple[int, int]:
    """One atomic insert of the batch's rows (the recorder's own, as the demo
    does: the library's save() spends longer on protocol checks per aggregate
    than on the insert); (saved, already imported). A conflict means some
    member is already there (an earlier run, an officer, another import):
    set those aside and insert the rest, again all or nothing."""
    fresh = batch
    for _attempt in range(MAX_ATTEMPTS):
        if not fresh:
            return 0, len(batch)
        try:
            _insert(store.recorder, [row for _, rows in fresh for row in rows])
            return len(fresh), len(batch) - len(fresh)
        except IntegrityError:
            there = _existing(store, [i for ids, _ in fresh for i in ids])
            fresh = [(ids, rows) for ids, rows in fresh if not there.intersection(ids)]
    raise ConcurrentUpdate("another import of the same members is running; try again")


def _insert(recorder, rows: list) -> None:
    """The recorder's insert, all rows in one transaction. On SQLite one
    `executemany` of the recorder's own statement in the recorder's own
    transaction: the library's SQLite recorder runs one `execute` per row to
    return each row's notification id, which the import does not use (~17%
    of an import's time, profiled)."""
    if not isinstance(recorder, SQLiteProcessRecorder):
        recorder.insert_events(rows)
        return
    params = [
        (
            row.originator_id.hex if isinstance(row.originator_id, UUID) else row.originator_id,
            row.originator_version,
            row.topic,
            row.state,
        )
        for row in rows
    ]
    with recorder.datastore.transaction(commit=True) as cursor:
        cursor.executemany(recorder.insert_events_statement, params)


def _in_order(pool: ProcessPoolExecutor | None, function, items: list) -> Iterator:
    """function(item) for each item, in order; in the pool with at most two
    items per worker in flight, so memory stays bounded however long the file."""
    if pool is None:
        yield from map(function, items)
        return
    pending: deque = deque()
    for item in items:
        pending.append(pool.submit(function, item))
        if len(pending) >= 2 * pool._max_workers:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _pool(workers: int) -> ProcessPoolExecutor:
    context = multiprocessing.get_context("spawn")
    initializer = _die_with_parent if sys.platform.startswith("linux") else None
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=initializer,
        initargs=(os.getpid(),) if initializer else (),
    )


# --- contributions -----------------------------------------------------------

# A contributions file's columns, in the order a file written for the import
# puts them (the demo's remittances; docs/import.md). Any order is read.
CONTRIBUTION_FILE_COLUMNS = (
    "membership_number",
    "amount",
    "currency",
    "received_on",
    "reference",
    "migrant_id",
)
CONTRIBUTION_COLUMNS = set(CONTRIBUTION_FILE_COLUMNS)
CONTRIBUTION_REQUIRED = {"membership_number", "amount", "currency", "received_on", "reference"}
# RecordContribution's nested names, as the file's columns call them.
CONTRIBUTION_RENAME = {"amount.amount_minor": "amount", "amount.currency": "currency"}


def members_by_number(store) -> dict[str, UUID]:
    """Membership number -> case, from the log itself (always current, and
    every membership a case ever had, not only its latest)."""
    topic = get_topic(MembershipStarted)
    found: dict[str, UUID] = {}
    start = 1
    while True:
        page = store.recorder.select_notifications(start=start, limit=5000, topics=[topic])
        if not page:
            return found
        for notification in page:
            _, state = store.mapper.to_state(notification)
            found[state["membership_number"]] = notification.originator_id
        start = page[-1].id + 1


def validate_contribution(line: Line, members: dict[str, UUID]) -> None:
    data = _given(line.raw, CONTRIBUTION_COLUMNS)
    number = data.get("membership_number", "")
    given_id = data.pop("migrant_id", None)
    migrant_id = given_id or members.get(number)
    if given_id and number in members and str(members[number]) != given_id.strip().lower():
        line.problems.append(("migrant_id", f"membership {_shown(number)} belongs to another case"))
    if number and migrant_id is None:
        line.problems.append(
            (
                "membership_number",
                f"no member has membership number {_shown(number)}; import members first",
            )
        )
    currency = data.pop("currency", "").upper()
    # Major units in the file (3,000.00 KES), integer minor units in the command.
    amount = data.pop("amount", None)
    if amount is not None:
        try:
            minor = parse_major(amount, currency)
            data["amount"] = {"amount_minor": minor, "currency": currency}
        except ValueError as error:
            line.problems.append(("amount", str(error)))
            return
    data.update(command_id=NO_ID, migrant_id=migrant_id or NO_ID)
    command = _parse(lc.RecordContribution, data, line, CONTRIBUTION_RENAME)
    if command is not None and not line.problems:
        line.parsed = command


def import_contributions(
    system,
    actor: Actor,
    path: Path,
    *,
    dry_run: bool = False,
    skip_bad: bool = False,
    rejects: Path | None = None,
    validated: Progress | None = None,
    stored: Progress | None = None,
    storing: Progress | None = None,
    members: dict[str, UUID] | None = None,
) -> ImportReport:
    """Record every contribution of a contributions CSV (docs/import.md).

    `members` (membership number -> case) is for a caller that knows them
    already (`msafiri demo`, which made them, imports a remittance a month):
    without it they are read from the log, every membership ever started."""
    system.authz.require(actor, "import contributions", Role.FUND_OFFICER)
    header, lines = read_lines(path, CONTRIBUTION_COLUMNS, CONTRIBUTION_REQUIRED)
    if lines and not system.ledger.fund_exists():
        raise BadFile("the fund is not open yet: `msafiri fund open` first")
    if members is None:
        members = members_by_number(system.store)
    # The ledger refuses value dates before the fund opened: say so per line
    # now rather than stop half-way through storing.
    opened_on = getattr(system.ledger.book(), "opened_on", None) if lines else None
    for line in lines:
        if not line.problems:
            validate_contribution(line, members)
            day = line.parsed.received_on if line.parsed is not None else None
            if opened_on is not None and day is not None and day < opened_on:
                line.problems.append(
                    ("received_on", f"{day} is before the fund opened on {opened_on}")
                )
                line.parsed = None
        if validated:
            validated(1)
    _mark_duplicates(
        lines,
        lambda line: [("reference", f"{line.parsed.membership_number}/{line.parsed.reference}")],
    )
    report = _judge("contributions", lines, dry_run, skip_bad, rejects, path, header)
    good = [line for line in lines if line.parsed is not None]
    groups: dict[UUID, list[Line]] = {}
    for line in good:
        cmd: lc.RecordContribution = line.parsed
        key = contribution_batch_id(cmd.reference, cmd.received_on, cmd.amount.currency)
        groups.setdefault(key, []).append(line)
    if dry_run or (report.problems and not skip_bad):
        if dry_run:
            report.already_imported = sum(
                len(group) for key, group in groups.items() if system.store.exists(receipt_id(key))
            )
        return report
    if storing:
        storing(len(good))
    todo = list(groups.items())
    for start in range(0, len(todo), REFERENCES_PER_HOLD):
        chunk = todo[start : start + REFERENCES_PER_HOLD]
        _record_groups(system, actor, chunk, report)
        if stored:
            stored(sum(len(group) for _, group in chunk))
    report.stored = report.imported > 0
    return report


def _record_groups(
    system, actor: Actor, chunk: list[tuple[UUID, list[Line]]], report: ImportReport
) -> None:
    """A chunk of references decided in one hold of the fund
    (`record_contribution_batches`), each its own transfer and receipt; a
    reference already recorded (its receipt) counts as already imported."""
    recorded = system.ledger.recorded([command_id for command_id, _ in chunk])
    report.already_imported += sum(len(group) for key, group in chunk if key in recorded)
    fresh = [(key, group) for key, group in chunk if key not in recorded]
    if not fresh:
        return
    batches = [_contribution_batch(key, group) for key, group in fresh]
    outcomes = system.ledger.record_contribution_batches(actor, batches)
    for (_, group), outcome in zip(fresh, outcomes, strict=True):
        if isinstance(outcome, MsafiriError):
            _refused(group, outcome)  # raises: the rest of the file waits for a fix
        report.imported += len(group)


def _contribution_batch(command_id: UUID, group: list[Line]) -> lc.RecordContributionBatch:
    first: lc.RecordContribution = group[0].parsed
    return lc.RecordContributionBatch(
        command_id=command_id,
        currency=first.amount.currency,
        received_on=first.received_on,
        reference=first.reference,
        lines=tuple(
            lc.ContributionItem(
                migrant_id=line.parsed.migrant_id,
                membership_number=line.parsed.membership_number,
                amount_minor=line.parsed.amount.amount_minor,
            )
            for line in group
        ),
    )


def _refused(group: list[Line], error: MsafiriError) -> None:
    """A reference refused, named by the file's lines; references stored
    before this one stay stored (each atomic and idempotent): fix the file
    and run it again."""
    first: lc.RecordContribution = group[0].parsed
    numbers = ", ".join(str(line.number) for line in group[:10])
    where = f"line{'s' if len(group) > 1 else ''} {numbers}{' ...' if len(group) > 10 else ''}"
    if isinstance(error, InvalidCommand):
        raise InvalidCommand([(f"{where}: {f}", r) for f, r in error.errors]) from None
    raise MsafiriError(f"{where} (reference {first.reference}): {error}") from None


# --- the verdict and the rejects file --------------------------------------


def _judge(kind, lines, dry_run, skip_bad, rejects, path, header) -> ImportReport:
    report = ImportReport(kind, lines=len(lines), dry_run=dry_run)
    bad = [line for line in lines if line.problems]
    report.problems = [Problem(line.number, f, r) for line in bad for f, r in line.problems]
    if bad and skip_bad and not dry_run:
        report.rejects_file = rejects or path.with_name(f"{path.stem}.rejects.csv")
        write_rejects(report.rejects_file, header, bad)
    return report


def write_rejects(target: Path, header: list[str], bad: list[Line]) -> None:
    """The rejected lines as they were, with their line number and reasons, so
    they can be corrected and imported on their own."""
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        header = [name for name in header if name not in REJECTS_COLUMNS]
        writer.writerow(["line", *header, "problems"])
        for line in bad:
            reasons = "; ".join(f"{f}: {r}" for f, r in line.problems)
            writer.writerow([line.number, *(line.raw.get(n, "") for n in header), reasons])
