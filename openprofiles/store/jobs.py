"""Queries over the durable job table (see openprofiles.jobs.runner for the life of a job)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, or_, select, update

from openprofiles.store.schema import jobs

QUEUED, RUNNING, SUCCEEDED, FAILED = "QUEUED", "RUNNING", "SUCCEEDED", "FAILED"


def _decode(row: Any) -> dict[str, Any]:
    found = dict(row._mapping)
    found["request"] = orjson.loads(found["request"])
    found["result"] = None if found["result"] is None else orjson.loads(found["result"])
    return found


def insert_job(
    conn: Connection, job_id: str, domain_id: int, kind: str, subject: str | None,
    request: dict[str, Any], now: float,
) -> None:
    conn.execute(
        insert(jobs).values(
            job_id=job_id, domain_id=domain_id, kind=kind, subject=subject, status=QUEUED,
            request=orjson.dumps(request).decode(), attempts=0, created_at=now, updated_at=now,
        )
    )


def get(conn: Connection, job_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(jobs).where(jobs.c.job_id == job_id)).first()
    return None if row is None else _decode(row)


def of_domain(
    conn: Connection, domain_id: int, kind: str, subject: str | None = None,
    before: tuple[float, str] | None = None, limit: int = 100,
) -> list[dict[str, Any]]:
    """A domain's jobs of one kind (and subject), newest first, after the (created_at, job_id)
    ``before`` of the previous page."""
    query = select(jobs).where(jobs.c.domain_id == domain_id, jobs.c.kind == kind)
    if subject is not None:
        query = query.where(jobs.c.subject == subject)
    if before is not None:
        created, job_id = before
        query = query.where(
            or_(jobs.c.created_at < created, (jobs.c.created_at == created) & (jobs.c.job_id < job_id))
        )
    query = query.order_by(jobs.c.created_at.desc(), jobs.c.job_id.desc()).limit(limit)
    return [_decode(row) for row in conn.execute(query)]


def claim_next(conn: Connection, lease_until: float, now: float) -> dict[str, Any] | None:
    """Take the oldest queued job and mark it RUNNING under a lease; None when none is queued.
    On PostgreSQL a job another server holds locked is skipped."""
    query = (
        select(jobs.c.job_id)
        .where(jobs.c.status == QUEUED)
        .order_by(jobs.c.created_at, jobs.c.job_id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    job_id = conn.execute(query).scalar()
    if job_id is None:
        return None
    conn.execute(
        update(jobs)
        .where(jobs.c.job_id == job_id)
        .values(
            status=RUNNING, attempts=jobs.c.attempts + 1, lease_until=lease_until,
            started_at=now, updated_at=now, phase=None, progress=None,
        )
    )
    return get(conn, job_id)


def report(conn: Connection, job_id: str, values: dict[str, Any]) -> None:
    """Record what a running job says of itself (phase, progress, lease, result, message)."""
    values = dict(values)
    if "result" in values and values["result"] is not None:
        values["result"] = orjson.dumps(values["result"]).decode()
    conn.execute(update(jobs).where(jobs.c.job_id == job_id).values(**values))


def orphaned(conn: Connection, wall_now: float) -> list[dict[str, Any]]:
    """RUNNING jobs whose lease has passed: their process is gone."""
    query = select(jobs).where(jobs.c.status == RUNNING, jobs.c.lease_until < wall_now)
    return [_decode(row) for row in conn.execute(query.with_for_update(skip_locked=True))]


def latest(conn: Connection, domain_id: int, kind: str) -> dict[str, Any] | None:
    found = of_domain(conn, domain_id, kind, limit=1)
    return found[0] if found else None


def delete_queued(conn: Connection, domain_id: int, kind: str) -> None:
    """Drop a domain's jobs of one kind that have not started."""
    conn.execute(
        delete(jobs).where(jobs.c.domain_id == domain_id, jobs.c.kind == kind, jobs.c.status == QUEUED)
    )
