"""Reads the terminal UI notes in the access log (docs/privacy.md, "The
access log"): one call per read, by the signed-in officer. It only appends
to the in-process buffer, so the screen never waits on the database."""

from __future__ import annotations

from typing import Any

from domain.officers.access import DISBURSEMENT_OPEN, SEARCH, search_detail


def log_read(app: Any, action: str, **about: Any) -> None:
    session = app.session
    if session is None:  # nothing of a person is shown before sign-in
        return
    app.system.access_log.record_read(
        session.username,
        session.actor,
        action,
        interface="tui",
        connection=app.connection,
        **about,
    )


def log_search(app: Any, screen: Any, text: str, filters: dict[str, Any]) -> None:
    """A search, once per text and filters shown on `screen` (paging through
    the same results, or a refresh, is not a new search)."""
    key = (text, tuple(sorted(filters.items())))
    if getattr(screen, "_logged_search", None) != key:
        screen._logged_search = key
        log_read(app, SEARCH, detail=search_detail(text, **filters))


def log_disbursement(app: Any, row: Any, screen: Any = None) -> None:
    """A fund request's detail shown (its case, and its justification if the
    officer may read it); on the fund desk once per request selected."""
    if screen is not None:
        if getattr(screen, "_logged_disbursement", None) == row.disbursement_id:
            return
        screen._logged_disbursement = row.disbursement_id
    log_read(
        app,
        DISBURSEMENT_OPEN,
        subject_kind="disbursement",
        subject_id=row.disbursement_id,
        detail=f"for case {row.case_number}",
    )
