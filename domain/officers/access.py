"""What the access log (issue 14 item 4) records about reads, and who may
read the log itself.

Each read is one entry: `action` says what kind of read it was, the entry's
subject the record read, `detail` anything else (a search's text, an
export's file), `reason` the reason the officer gave, if any. Sign-in's
entries (domain/officers/sign_in.py) share the log and its chain.
"""

from __future__ import annotations

from domain.values import Role

CASE_OPEN = "case_open"  # a case's page or `case show`
INCIDENT_OPEN = "incident_open"
# A fund request's detail (the fund desk's pane, its full screen, `fund
# show`): the case it pays for, and its justification if the reader may see it.
DISBURSEMENT_OPEN = "disbursement_open"
CASE_REPLAY = "case_replay"  # stepping through a case's history
SEARCH = "search"  # detail: the text searched for, and the filters
EXPORT = "export"  # detail: what was written where
CASE_REPORT = "case_report"  # the data subject's report (item 7)
GRANT_USE = "grant_use"  # a read allowed by a need-to-know grant
# Break-glass taken (domain/access: EmergencyAccessTaken): subject the case,
# reason the officer's, detail "access <grant id>".
BREAK_GLASS = "break_glass"
# A supervisor's or an auditor's review of one (EmergencyAccessReviewed):
# subject_kind "access_grant", subject_id the access's id, reason the notes.
# Which uses wait for a review is answered from the events, not from these.
BREAK_GLASS_REVIEWED = "break_glass_reviewed"
REVIEWED_ACCESS = "access_grant"
ACCESS_LOG_QUERY = "access_log_query"  # reading the log is itself logged
# An administrator deleted bad rows of the book's snapshot table (`msafiri
# ledger repair-snapshots`, msafiri/snapshot_repair.py): subject the fund's
# book, reason the administrator's, detail the rows and why each was bad.
# Not a read, but the act touches no event: this log is where it is attributed.
SNAPSHOT_REPAIR = "snapshot_repair"

# The log shows who looked at whom: those who oversee others read it.
LOG_READERS = (Role.AUDITOR, Role.SUPERVISOR, Role.DATA_PROTECTION_OFFICER)
# The data subject's report holds the whole case, its payments and who
# viewed it: the data protection officer answers subject access requests.
SUBJECT_REPORTERS = (Role.DATA_PROTECTION_OFFICER,)


def search_detail(text: str, **filters: object) -> str:
    """A search as the log keeps it: the text typed and the filters set."""
    shown = " ".join(
        f"{name}={value}" for name, value in filters.items() if value not in (None, "")
    )
    return f"text={text!r}" + (f" {shown}" if shown else "")
