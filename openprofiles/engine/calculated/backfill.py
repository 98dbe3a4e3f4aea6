"""The backfill of a calculated attribute created with UseHistoricalData, as a durable job.

AWS computes such a definition over the domain's existing objects in the background: its Status
goes PREPARING, IN_PROGRESS, COMPLETED (or FAILED), with Readiness.ProgressPercentage, and values
read meanwhile say IsDataPartial "true". Here the job (openprofiles.jobs.runner) observes the
stored objects of the definition's type in batches of `BATCH`, in object id order, each batch one
transaction; objects written while it runs are observed by their own write (observations), and a
batch keeps the observations it finds already there. After each batch the job records the last
object id done, so a job resumed after its process died goes on from there; a definition deleted
meanwhile ends the job.

Status of a definition, from its latest backfill job (`readiness`): none (a definition without
UseHistoricalData): COMPLETED; queued: PREPARING; running: IN_PROGRESS with its progress;
succeeded: COMPLETED; failed: FAILED with the job's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from openprofiles.engine.calculated.definitions import Definition, compiled
from openprofiles.engine.calculated.observations import backfill_batch
from openprofiles.jobs.runner import RunningJob
from openprofiles.store import calculated as store
from openprofiles.store import domains as domain_store
from openprofiles.store import jobs as job_store

KIND = "calculated-backfill"
BATCH = 5000
_STATUS = {"QUEUED": "PREPARING", "RUNNING": "IN_PROGRESS", "SUCCEEDED": "COMPLETED", "FAILED": "FAILED"}


@dataclass(frozen=True)
class Readiness:
    status: str
    progress: int
    message: str | None

    @property
    def complete(self) -> bool:
        return self.status == "COMPLETED"


_COMPLETE = Readiness("COMPLETED", 100, None)


def request_of(definition: Definition) -> dict[str, Any]:
    """What a backfill job of ``definition`` is asked: the definition row it is for (a name
    deleted and created again is another definition)."""
    return {"DefinitionId": definition.id}


def readiness(conn: Connection, domain: dict[str, Any], definition: Definition) -> Readiness:
    """The definition's Status and progress, from its latest backfill job."""
    if not definition.use_historical_data:
        return _COMPLETE
    for job in job_store.of_domain(conn, domain["id"], KIND, definition.name, limit=10):
        if job["request"].get("DefinitionId") == definition.id:
            status = _STATUS[job["status"]]
            progress = 100 if status == "COMPLETED" else int(job["progress"] or 0)
            return Readiness(status, progress, job["message"])
    return _COMPLETE


def run_backfill(job: RunningJob) -> dict[str, Any]:
    """The job: observe every stored object of the definition's type, batch by batch."""
    after = int((job.row.get("result") or {}).get("LastObjectId", 0))
    done, total = 0, 0
    while True:
        with job.store.transaction() as conn:
            domain = domain_store.get_by_id(conn, job.domain_id)
            row = None if domain is None else store.get(conn, job.domain_id, str(job.row["subject"]))
            if domain is None or row is None or row["id"] != job.request["DefinitionId"]:
                return {"Stopped": "the definition was deleted"}
            definition = compiled(row)
            if not done:
                total = store.count_objects_of_type(conn, domain["id"], definition.object_type, after)
            last = backfill_batch(conn, domain, definition, after, BATCH)
        if last == after:
            return {"LastObjectId": after}
        done, after = min(done + BATCH, total), last
        job.report(progress=min(99, done * 100 // max(total, 1)), LastObjectId=after)
