"""Search terms of a case, and the same normalisation applied to what an
officer types, so both meet in one btree range scan.

A case is found by any *prefix* of one of its terms:
- its name from each word on ("grace akinyi wanjiru", "akinyi wanjiru",
  "wanjiru"), so "wanj", "akinyi w" and "grace a" all find it;
- national id and passport number, letters and digits only, lower case;
- phone digits ("254712345678") and the subscriber number ("712345678"),
  so "+254 712", "0712 345" and "712345" all find it;
- case number with and without its "MS" ("msk3f2q7xwpa", "k3f2q7xwpa").
"""

from __future__ import annotations

import re
import unicodedata

_NOT_WORD = re.compile(r"[^0-9a-z]+")
# The highest code point: every text that starts with a prefix sorts below
# prefix + this, byte-wise (UTF-8 keeps code point order; PostgreSQL columns
# use the "C" collation).
_TOP = "\U0010ffff"


def fold(text: str) -> str:
    """Lower case, accents dropped, anything not a letter or digit a space."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NOT_WORD.sub(" ", plain).split())


def compact(text: str) -> str:
    return fold(text).replace(" ", "")


def name_key(full_name: str) -> str:
    return fold(full_name)


def case_terms(
    full_name: str,
    case_number: str,
    phone: str,
    national_id: str | None,
    passport_number: str | None,
) -> set[str]:
    words = fold(full_name).split()
    terms = {" ".join(words[i:]) for i in range(len(words))}
    number = compact(case_number)
    terms |= {number, number.removeprefix("ms")}
    digits = "".join(ch for ch in phone if ch.isdigit())
    if digits:
        terms |= {digits, digits[-9:]}
    for document in (national_id, passport_number):
        if document:
            terms.add(compact(document))
    terms.discard("")
    return terms


def query_prefixes(text: str) -> list[str]:
    """The prefixes to look up for what was typed (one range scan each)."""
    words = fold(text)
    if not words:
        return []
    prefixes = [words]
    joined = words.replace(" ", "")
    if joined != words:
        prefixes.append(joined)  # "MS-K3F2Q-7X", "0712 345 678"
    if joined.isdigit():
        stripped = joined.lstrip("0")  # "0712..." is the subscriber number 712...
        if stripped and stripped != joined:
            prefixes.append(stripped)
    return prefixes


def prefix_range(prefix: str) -> tuple[str, str]:
    return prefix, prefix + _TOP
