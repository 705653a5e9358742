"""Signed checkpoints: Ed25519 (RFC 8032) through pycryptodome.

The secretariat keeps the private key; auditors get the public key and can
check that a checkpoint (position, head hash, time) was issued by the system
at that time - and, with the checkpoints they kept, that the history up to
it was not rewritten since.
"""

from __future__ import annotations

import base64
from pathlib import Path

from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa


class BadSignature(Exception):
    pass


def checkpoint_message(record: dict) -> bytes:
    return f"msafiri-checkpoint:{record['position']}:{record['head']}:{record['taken_at']}".encode()


def generate_key(private_path: Path) -> str:
    """Write a new private key (PEM, mode 0600); return the public key PEM."""
    key = ECC.generate(curve="ed25519")
    private_path.write_text(key.export_key(format="PEM"))
    private_path.chmod(0o600)
    return key.public_key().export_key(format="PEM")


def sign(record: dict, private_path: Path) -> str:
    key = ECC.import_key(private_path.read_text())
    signature = eddsa.new(key, "rfc8032").sign(checkpoint_message(record))
    return base64.b64encode(signature).decode()


def public_key_of(private_path: Path) -> str:
    """The public key (PEM) of a private key file: what verify checks the
    database's checkpoints with when only the signing key is configured."""
    return ECC.import_key(private_path.read_text()).public_key().export_key(format="PEM")


def check(record: dict, public_pem: str) -> None:
    if not record.get("signature"):
        raise BadSignature(f"checkpoint at position {record.get('position')} is not signed")
    try:
        verifier = eddsa.new(ECC.import_key(public_pem), "rfc8032")
        verifier.verify(checkpoint_message(record), base64.b64decode(record["signature"]))
    except (ValueError, KeyError, TypeError) as error:
        raise BadSignature(
            f"checkpoint at position {record.get('position')}: bad signature ({error})"
        ) from None


def checkpoint_problems(audit, records: list[dict], public_pem: str | None = None) -> list[str]:
    """Compare checkpoints (kept by an auditor, or in the database) with the
    chain as it is now; with a public key, check each one's signature too."""
    problems = []
    links = audit.links_at([int(kept["position"]) for kept in records])
    for kept in records:
        if public_pem is not None:
            try:
                check(kept, public_pem)
            except BadSignature as error:
                problems.append(str(error))
        link = links.get(int(kept["position"]))
        if link is None:
            problems.append(
                f"position {kept['position']}: the checkpoint taken {kept['taken_at']} is past "
                "the chain's head (its links were deleted)"
            )
        elif link.link.hex() != kept["head"]:
            problems.append(
                f"position {kept['position']}: the chain no longer matches the checkpoint "
                f"taken {kept['taken_at']} (the history up to it was rewritten)"
            )
    return problems
