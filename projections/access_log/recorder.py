"""Recording reads without making the reader wait.

`record()` only appends to an in-process buffer; a background thread writes
the buffer as one chained batch (one transaction) every `flush_ms`, or as
soon as `batch_size` entries wait, and `close()` (and interpreter exit)
writes what is left. A view never waits on the database for its entry.

The trade-off (docs/privacy.md, "The access log"): a process that is killed
(SIGKILL, power cut) loses the entries it had not flushed yet - at most
`flush_ms` worth, or `batch_size` entries. An ordinary exit, an exception
or Ctrl-C loses nothing: `close()` and the atexit hook flush. A failed write
keeps the batch in the buffer and is tried again at the next flush.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from domain.model import Actor
from domain.officers.sign_in import SUCCEEDED, AccessEntry
from domain.values import utcnow
from projections.access_log.store import AccessLogStore


class AccessRecorder:
    def __init__(
        self,
        store: AccessLogStore | None,
        *,
        flush_ms: int = 200,
        batch_size: int = 100,
        clock: Callable[[], datetime] = utcnow,
    ):
        """`store` None: nothing can be written (a read-only SQLite file);
        entries are dropped. `flush_ms` 0 writes each entry at once, in the
        caller's thread."""
        self._store = store
        self._flush_seconds = flush_ms / 1000
        self._batch_size = max(1, batch_size)
        self._clock = clock
        self._buffer: list[AccessEntry] = []
        self._lock = threading.Lock()  # guards the buffer
        self._writing = threading.Lock()  # one batch at a time, in order
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self.last_error: BaseException | None = None
        ref = weakref.ref(self)
        atexit.register(lambda: (recorder := ref()) is not None and recorder.close())

    @property
    def enabled(self) -> bool:
        return self._store is not None

    def record(
        self,
        username: str,
        actor: Actor | None,
        action: str,
        *,
        subject_kind: str | None = None,
        subject_id: str | UUID | None = None,
        detail: str | None = None,
        reason: str | None = None,
        interface: str = "cli",
        connection: str = "terminal",
        outcome: str = SUCCEEDED,
        check_grant_use: bool = False,
    ) -> None:
        """Note one read by `username` acting as `actor`, over `connection`
        ("terminal", "ssh" or "browser": msafiri/settings.py). With
        `check_grant_use`, the writer adds a grant-use entry after it if only
        a grant or break-glass allowed the read (AccessEntry)."""
        if self._store is None:
            return
        entry = AccessEntry(
            username=username,
            action=action,
            outcome=outcome,
            at=self._clock(),
            officer_id=actor.officer_id if actor else None,
            role=actor.role.value if actor else None,
            interface=interface,
            connection=connection,
            subject_kind=subject_kind,
            subject_id=str(subject_id) if subject_id is not None else None,
            reason=reason,
            detail=detail,
            check_grant_use=check_grant_use,
        )
        if self._flush_seconds <= 0 or self._closed:  # closed: nothing flushes later
            with self._writing:
                self._store.append([entry])
            return
        with self._lock:
            self._buffer.append(entry)
            full = len(self._buffer) >= self._batch_size
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._run, name="access-log-flush", daemon=True
                )
                self._thread.start()
        if full:
            self._wake.set()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self._flush_seconds)
            self._wake.clear()
            try:
                self.flush()
            except Exception as error:  # kept in the buffer; tried again next time
                self.last_error = error

    def flush(self) -> int:
        """Write what waits, as one transaction; how many entries were written.
        A failure puts them back (in order) and raises."""
        if self._store is None:
            return 0
        with self._writing:
            with self._lock:
                batch, self._buffer = self._buffer, []
            if not batch:
                return 0
            try:
                self._store.append(batch)
            except BaseException:
                with self._lock:
                    self._buffer[:0] = batch
                raise
            self.last_error = None
            return len(batch)

    def pending(self) -> int:
        with self._lock:
            return len(self._buffer)

    def close(self) -> None:
        """Stop the flushing thread and write what is left."""
        self._closed = True
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self.flush()
