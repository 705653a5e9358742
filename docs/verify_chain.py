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
exits 1 at the first line whose recomputed link differs from `chain_link`.
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
    count = 0
    with open(path, encoding="utf-8") as lines:
        for number, text in enumerate(lines, 1):
            line = json.loads(text)
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
            if line.get("chain_link") and line["chain_link"] != previous.hex():
                print(f"line {number}, position {line['position']}: chain differs")
                return 1
            count += 1
    print(f"{count} events, head {previous.hex()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
