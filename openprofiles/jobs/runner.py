"""Durable background jobs: segment snapshots, calculated attribute backfills, identity resolution.

A job is a row of the job table (store.jobs), written in the transaction of the call that asks
for it, so a job exists exactly when that call succeeded. Its life:

- ``QUEUED``: written by `JobRunner.submit`; the caller then calls `JobRunner.wake`.
- ``RUNNING``: claimed by a runner (the oldest queued job first; on PostgreSQL, several servers
  share the table and never claim the same job). The runner holds a lease on it, renewed every
  few seconds while the handler works; the handler reports its phase and progress as it goes.
- ``SUCCEEDED`` with the handler's result, or ``FAILED`` with a message: a `JobFailed` is a
  failure the job explains (its message is shown to the user); any other exception is logged
  and shown as an internal error.

A server killed mid-job leaves the row RUNNING with a lease that stops being renewed. When the
lease has passed (wall-clock time, `LEASE_SECONDS`), the next runner to look queues the job again
to run from the start, or fails it after `MAX_ATTEMPTS` starts. Handlers are written for this:
each commits its work in steps that are whole by themselves (a merge is one transaction, a file
is written under a temporary name and then moved into place), and running one again from the
start gives the same end state.

A server starts the runner's worker thread (``openprofiles serve``). Without it (in-process, under
``mock_profiles()``), `wake` runs the queued jobs at once in the caller's thread, so a job asked
for is finished when the call that asked returns; tests can also call `run_pending` themselves.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from openprofiles.clock import Clock
from openprofiles.store import jobs as store
from openprofiles.store.db import Store

log = logging.getLogger("openprofiles.jobs")

LEASE_SECONDS = 60.0
MAX_ATTEMPTS = 3
#: how often a waiting worker looks for jobs queued by another process
POLL_SECONDS = 5.0


class JobFailed(Exception):
    """A job cannot finish, for a reason its message gives the user."""


@dataclass
class RunningJob:
    """What a handler gets: the job's row, the store, and a way to report progress."""

    row: dict[str, Any]
    store: Store
    clock: Clock

    @property
    def job_id(self) -> str:
        return str(self.row["job_id"])

    @property
    def domain_id(self) -> int:
        return int(self.row["domain_id"])

    @property
    def request(self) -> dict[str, Any]:
        return dict(self.row["request"])

    def report(self, phase: str | None = None, progress: int | None = None, **result: Any) -> None:
        """Record the job's phase, its progress in percent and partial result, at once."""
        values: dict[str, Any] = {"updated_at": self.clock.now().timestamp()}
        if phase is not None:
            values["phase"] = phase
        if progress is not None:
            values["progress"] = max(0, min(100, int(progress)))
        if result:
            values["result"] = {**(self.row.get("result") or {}), **result}
            self.row["result"] = values["result"]
        with self.store.transaction() as conn:
            store.report(conn, self.job_id, values)


Handler = Callable[[RunningJob], "dict[str, Any] | None"]


class JobRunner:
    def __init__(self, db: Store, clock: Clock, handlers: dict[str, Handler]) -> None:
        self.store = db
        self.clock = clock
        self.handlers = handlers
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._inline = threading.local()

    def submit(
        self, conn: Connection, domain_id: int, kind: str, subject: str | None, request: dict[str, Any]
    ) -> str:
        """Queue a job in the caller's transaction; its id. Call `wake` once that commits."""
        if kind not in self.handlers:
            raise ValueError(f"no handler for jobs of kind {kind!r}")
        job_id = uuid.uuid4().hex
        store.insert_job(conn, job_id, domain_id, kind, subject, request, self.clock.now().timestamp())
        return job_id

    def wake(self) -> None:
        """Have queued jobs run: by the worker thread if started (once the caller's writes are
        committed, see Store.after_commit), else now, in this thread."""
        if self._thread is not None:
            self.store.after_commit(self._wake.set)
        elif not getattr(self._inline, "running", False):  # a job that queues another
            self.run_pending()

    def run_pending(self) -> int:
        """Run queued jobs (and orphans queued again) until none is left; how many ran."""
        self._inline.running = True
        try:
            self.recover_orphans()
            ran = 0
            while self.run_one():
                ran += 1
            return ran
        finally:
            self._inline.running = False

    def recover_orphans(self) -> int:
        """Queue again, or fail, the RUNNING jobs whose lease has passed."""
        now = self.clock.now().timestamp()
        with self.store.transaction() as conn:
            found = store.orphaned(conn, time.time())
            for row in found:
                if row["attempts"] >= MAX_ATTEMPTS:
                    message = f"The job was interrupted {row['attempts']} times and was stopped"
                    store.report(conn, row["job_id"], _ended(store.FAILED, now, message=message))
                else:
                    store.report(conn, row["job_id"], {"status": store.QUEUED, "updated_at": now})
        if found:
            log.warning("jobs %s lost their process; queued again", [r["job_id"] for r in found])
        return len(found)

    def run_one(self) -> bool:
        """Claim and run the oldest queued job; False when none is queued."""
        with self.store.transaction() as conn:
            row = store.claim_next(conn, time.time() + LEASE_SECONDS, self.clock.now().timestamp())
        if row is None:
            return False
        job = RunningJob(row, self.store, self.clock)
        heartbeat = _Heartbeat(self.store, job.job_id)
        heartbeat.start()
        try:
            result = self.handlers[row["kind"]](job)
            values = _ended(store.SUCCEEDED, self.clock.now().timestamp(), progress=100)
            values["result"] = {**(job.row.get("result") or {}), **(result or {})}
        except JobFailed as failure:
            values = _ended(store.FAILED, self.clock.now().timestamp(), message=str(failure))
        except Exception:
            log.exception("job %s (%s) failed", job.job_id, row["kind"])
            message = "The job failed on an internal error; the server's log has the details"
            values = _ended(store.FAILED, self.clock.now().timestamp(), message=message)
        finally:
            heartbeat.stop()
        with self.store.transaction() as conn:
            store.report(conn, job.job_id, values)
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_pending()
            except Exception:
                log.exception("job runner round failed; retrying")
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="openprofiles-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)


def _ended(status: str, now: float, **values: Any) -> dict[str, Any]:
    return {"status": status, "ended_at": now, "updated_at": now, "lease_until": None, **values}


class _Heartbeat:
    """Renews a running job's lease until stopped, on a thread of its own."""

    def __init__(self, db: Store, job_id: str) -> None:
        self.store = db
        self.job_id = job_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="openprofiles-job-lease", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(LEASE_SECONDS / 4):
            try:
                with self.store.transaction() as conn:
                    store.report(conn, self.job_id, {"lease_until": time.time() + LEASE_SECONDS})
            except Exception:  # a busy database: the next beat tries again, well within the lease
                log.warning("could not renew the lease of job %s", self.job_id, exc_info=True)
