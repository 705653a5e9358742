#!/usr/bin/env python3
"""Recompute Msafiri's audit hash chain from a JSON Lines export - without
Msafiri. Standard library only; give it to any auditor.

    python3 docs/verify_chain.py trail.jsonl

For each line, in order:
    link = SHA-256( previous link (32 zero bytes at the start)
                    || position as 8-byte big-endian
                    || aggregate id as its 16 UUID bytes
                    || version as 8-byte big-endian
                    || length of topic (4-byte big-endian) || topic (UTF-8)
                    || length of stored state (8-byte big-endian) || stored state )
where the stored state is `stored_state_b64` decoded. Prints the head hash and
exits 1 at the first line whose recomputed link differs from `chain_link`, or
that has no `chain_link` (an event not chained when the export was made:
chain first, or the export is not one).

An event with a secret field (an officer's password hash) is exported with its
stored bytes withheld (`stored_state_b64` null, `stored_state_withheld` naming
the fields): its link cannot be recomputed here and is taken from the line;
the next line's link is computed from it, so the chain after it is still
checked, and `msafiri audit verify` checks the withheld event itself.
A full export (`msafiri audit export`) starts at position 1; compare the head
with a checkpoint you kept.
"""

import base64
import hashlib
import json
import sys
import uuid


def main(path: str) -> int:
    previous = bytes(32)
    count = withheld = 0
    with open(path, encoding="utf-8") as lines:
        for number, text in enumerate(lines, 1):
            line = json.loads(text)
            if not line.get("chain_link"):
                print(f"line {number}, position {line.get('position')}: no chain link")
                return 1
            if line.get("stored_state_b64") is None and line.get("stored_state_withheld"):
                previous = bytes.fromhex(line["chain_link"])
                withheld += 1
                count += 1
                continue
            topic = line["topic"].encode()
            state = base64.b64decode(line["stored_state_b64"])
            digest = hashlib.sha256()
            digest.update(previous)
            digest.update(int(line["position"]).to_bytes(8, "big"))
            digest.update(uuid.UUID(line["aggregate_id"]).bytes)
            digest.update(int(line["version"]).to_bytes(8, "big"))
            digest.update(len(topic).to_bytes(4, "big") + topic)
            digest.update(len(state).to_bytes(8, "big") + state)
            previous = digest.digest()
            if line["chain_link"] != previous.hex():
                print(f"line {number}, position {line['position']}: chain differs")
                return 1
            count += 1
    note = f" ({withheld} with secrets withheld: links taken as given)" if withheld else ""
    print(f"{count} events{note}, head {previous.hex()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
