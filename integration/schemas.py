"""JSON Schema files for what Msafiri publishes, generated from the models.

    uv run python -m integration.schemas          # writes docs/schemas/
    uv run python -m integration.schemas --check  # fails if they are stale

One file for the envelope, one per event type for its `data` (named
`<context>.<EventType>.v<type_version>.json`), and index.json mapping each
subject to its schema.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from integration.payloads import (
    SCHEMA_ID,
    EventEnvelope,
    all_event_classes,
    context_of,
    public_model,
)

DEFAULT_DIRECTORY = Path(__file__).resolve().parent.parent / "docs" / "schemas"


def schema_files() -> dict[str, str]:
    """File name -> JSON text."""
    files: dict[str, dict] = {}
    envelope = EventEnvelope.model_json_schema(by_alias=True)
    envelope["$id"] = f"{SCHEMA_ID}.envelope.json"
    files["envelope.v1.json"] = envelope
    index = []
    for event_class in all_event_classes():
        context = context_of(event_class)
        name = f"{context}.{event_class.__name__}.v{event_class.class_version}.json"
        schema = public_model(event_class).model_json_schema()
        schema["$id"] = name
        files[name] = schema
        index.append(
            {
                "subject": f"<prefix>.{context}.{event_class.__name__}",
                "type": event_class.__name__,
                "type_version": event_class.class_version,
                "data_schema": name,
            }
        )
    files["index.json"] = {"envelope": "envelope.v1.json", "events": index}
    return {name: json.dumps(data, indent=2, sort_keys=True) + "\n" for name, data in files.items()}


def write(directory: Path = DEFAULT_DIRECTORY) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schema_files().items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written


def stale(directory: Path = DEFAULT_DIRECTORY) -> list[str]:
    wanted = schema_files()
    present = {p.name for p in directory.glob("*.json")} if directory.exists() else set()
    changed = [
        name
        for name, text in wanted.items()
        if not (directory / name).exists() or (directory / name).read_text() != text
    ]
    return sorted(changed + [name for name in present - set(wanted)])


if __name__ == "__main__":
    if "--check" in sys.argv:
        problems = stale()
        if problems:
            print("stale schema files (run python -m integration.schemas):", *problems)
            sys.exit(1)
        print("schemas up to date")
    else:
        print(f"wrote {len(write())} files to {DEFAULT_DIRECTORY}")
