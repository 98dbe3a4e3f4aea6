"""The durable job runner on SQLite and PostgreSQL: jobs run once, failures are recorded, and a
job whose process died is queued again (or failed after its last attempt)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from openprofiles.clock import ManualClock
from openprofiles.engine import domains
from openprofiles.engine.tenancy import Tenant
from openprofiles.jobs import runner as runner_module
from openprofiles.jobs.runner import MAX_ATTEMPTS, JobFailed, JobRunner, RunningJob
from openprofiles.store import jobs as job_store
from openprofiles.store.db import Store

TENANT = Tenant("123456789012", "us-east-1")


@pytest.fixture
def store(db_url: str, unique: Any) -> Any:
    db = Store(db_url)
    with db.transaction() as conn:
        domain = domains.create_domain(conn, TENANT, unique("jobs"), {"DefaultExpirationDays": 3}, {}, datetime.now(UTC))
    db.domain_id = domain["id"]
    yield db
    db.close()


def submit(runner: JobRunner, store: Any, kind: str = "echo", **request: Any) -> str:
    with store.transaction() as conn:
        return runner.submit(conn, store.domain_id, kind, "subject", request)


def row(store: Any, job_id: str) -> dict[str, Any]:
    with store.read() as conn:
        found = job_store.get(conn, job_id)
    assert found is not None
    return found


def test_a_queued_job_runs_once_when_woken_and_keeps_its_result(store):
    calls = []

    def echo(job: RunningJob) -> dict[str, Any]:
        calls.append(job.job_id)
        job.report(phase="HALFWAY", progress=50, seen=1)
        return {"echo": job.request["say"]}

    runner = JobRunner(store, ManualClock(), {"echo": echo})
    job_id = submit(runner, store, say="hi")
    assert row(store, job_id)["status"] == "QUEUED"
    runner.wake()
    runner.wake()
    found = row(store, job_id)
    assert calls == [job_id]
    assert (found["status"], found["phase"], found["progress"], found["attempts"]) == ("SUCCEEDED", "HALFWAY", 100, 1)
    assert found["result"] == {"seen": 1, "echo": "hi"}
    assert found["started_at"] is not None and found["ended_at"] is not None and found["lease_until"] is None


def test_failures_are_recorded_with_their_message(store, caplog):
    def refuse(job: RunningJob) -> None:
        raise JobFailed("the destination is full")

    def crash(job: RunningJob) -> None:
        raise KeyError("bug")

    runner = JobRunner(store, ManualClock(), {"refuse": refuse, "crash": crash})
    refused, crashed = submit(runner, store, "refuse"), submit(runner, store, "crash")
    assert runner.run_pending() == 2
    assert (row(store, refused)["status"], row(store, refused)["message"]) == ("FAILED", "the destination is full")
    assert row(store, crashed)["status"] == "FAILED"
    assert "internal error" in row(store, crashed)["message"] and "bug" not in row(store, crashed)["message"]
    assert "job " + crashed in caplog.text


def test_an_unknown_kind_is_refused_at_submit(store):
    with pytest.raises(ValueError, match="no handler"):
        submit(JobRunner(store, ManualClock(), {}), store, "nothing")


def orphan(store: Any, job_id: str, attempts: int) -> None:
    with store.transaction() as conn:
        job_store.report(conn, job_id, {"status": "RUNNING", "attempts": attempts, "lease_until": time.time() - 1})


def test_an_orphaned_job_is_queued_again_then_failed_after_its_last_attempt(store):
    ran = []
    runner = JobRunner(store, ManualClock(), {"echo": lambda job: ran.append(job.job_id)})
    again, given_up = submit(runner, store), submit(runner, store)
    orphan(store, again, 1)
    orphan(store, given_up, MAX_ATTEMPTS)
    assert runner.run_pending() == 1
    assert ran == [again]
    assert (row(store, again)["status"], row(store, again)["attempts"]) == ("SUCCEEDED", 2)
    assert row(store, given_up)["status"] == "FAILED"
    assert f"interrupted {MAX_ATTEMPTS} times" in row(store, given_up)["message"]


def test_a_job_whose_lease_holder_lives_is_left_alone(store):
    runner = JobRunner(store, ManualClock(), {"echo": lambda job: None})
    job_id = submit(runner, store)
    with store.transaction() as conn:
        job_store.report(conn, job_id, {"status": "RUNNING", "attempts": 1, "lease_until": time.time() + 60})
    assert runner.run_pending() == 0
    assert row(store, job_id)["status"] == "RUNNING"


CHILD = textwrap.dedent(
    """
    import sys, time
    from openprofiles.clock import Clock
    from openprofiles.jobs import runner
    from openprofiles.store.db import Store

    runner.LEASE_SECONDS = 1.0
    def slow(job):
        job.report(phase="STARTED")
        time.sleep(600)
    store = Store(sys.argv[1])
    runner.JobRunner(store, Clock(), {"echo": slow}).run_pending()
    """
)


def test_a_job_of_a_killed_process_is_resumed_by_the_next_runner(store, db_url, monkeypatch):
    job_id = submit(JobRunner(store, ManualClock(), {"echo": lambda job: None}), store)
    child = subprocess.Popen([sys.executable, "-c", CHILD, db_url])
    try:
        deadline = time.monotonic() + 30
        while row(store, job_id)["phase"] != "STARTED":
            assert time.monotonic() < deadline and child.poll() is None, "the child never started the job"
            time.sleep(0.05)
        time.sleep(0.6)  # the child's heartbeat renews the lease meanwhile
        assert row(store, job_id)["lease_until"] > time.time()
    finally:
        child.kill()
        child.wait()
    monkeypatch.setattr(runner_module, "LEASE_SECONDS", 1.0)
    resumed = JobRunner(store, ManualClock(), {"echo": lambda job: {"resumed": True}})
    assert resumed.run_pending() == 0  # the dead child's lease has not passed yet
    time.sleep(1.1)
    assert resumed.run_pending() == 1
    found = row(store, job_id)
    assert (found["status"], found["attempts"], found["result"]) == ("SUCCEEDED", 2, {"resumed": True})


def test_runners_sharing_the_table_run_each_job_once(store):
    handled: Counter[str] = Counter()
    lock = threading.Lock()

    def count(job: RunningJob) -> None:
        with lock:
            handled[job.job_id] += 1
        time.sleep(0.005)

    runners = [JobRunner(store, ManualClock(), {"echo": count}) for _ in range(3)]
    ids = [submit(runners[0], store) for _ in range(30)]
    threads = [threading.Thread(target=r.run_pending) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert handled == Counter({job_id: 1 for job_id in ids})
    assert {row(store, job_id)["status"] for job_id in ids} == {"SUCCEEDED"}


def test_a_started_runner_runs_jobs_on_its_thread(store):
    done = threading.Event()
    runner = JobRunner(store, ManualClock(), {"echo": lambda job: done.set()})
    runner.start()
    try:
        submit(runner, store)
        runner.wake()
        assert done.wait(10)
    finally:
        runner.stop()
