"""Copying a SQLite file's write-ahead log back into the database, on a thread of its own.

In WAL mode every commit appends its pages to the ``-wal`` file; a checkpoint copies them into
the database file and syncs it. Left to SQLite, the commit that takes the log past 1,000 pages
runs the checkpoint itself, so one API call in some sixty pays several milliseconds of page
copies and fsyncs for all of them. Here a background thread runs a PASSIVE checkpoint after
every ``EVERY_COMMITS`` writing commits (and at least every ``IDLE_SECONDS`` after a write),
while calls go on: a PASSIVE checkpoint never blocks writers or readers. SQLite's own
checkpoint-on-commit stays as a bound at ``INLINE_PAGES``: under writes that never pause, the
log can only start over after a checkpoint that ends with no write since, which is what that
one is; it finds the pages copied already, so it is short.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("openprofiles.store")

#: writing commits between two background checkpoints (some 1,000 log pages of API writes)
EVERY_COMMITS = 64
#: the longest a committed write waits for its checkpoint when writes stop
IDLE_SECONDS = 1.0
#: the log size, in pages, at which a committing connection checkpoints itself (SQLite's
#: ``wal_autocheckpoint``; its default is 1,000)
INLINE_PAGES = 10_000


class Checkpointer:
    """The background checkpoints of one SQLite file: ``committed()`` after each writing commit,
    ``close()`` once, when the store closes."""

    def __init__(self, connect: Any) -> None:
        """``connect()`` opens a DB-API connection to the file, configured as the store's are."""
        self._connect = connect
        self._commits = 0
        self._done = 0
        self._due = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="openprofiles-checkpoints", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        self._commits += 1
        if self._commits - self._done >= EVERY_COMMITS:
            self._due.set()

    def close(self) -> None:
        self._stopping = True
        self._due.set()
        self._thread.join()

    def _run(self) -> None:
        connection = self._connect()
        try:
            while not self._stopping:
                self._due.wait(IDLE_SECONDS)
                self._due.clear()
                if self._commits != self._done and not self._stopping:
                    self._done = self._commits
                    self._checkpoint(connection)
        finally:
            connection.close()

    @staticmethod
    def _checkpoint(connection: Any) -> None:
        try:
            connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except Exception:  # the next round retries; a commit's own checkpoint is the bound
            log.exception("background WAL checkpoint failed")
