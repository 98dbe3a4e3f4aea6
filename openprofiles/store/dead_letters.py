"""Queries over dead letters: the objects ingestion could not place, on their way to their
domain's dead-letter queue (the outbox that engine.dead_letters delivers)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, or_, select, update

from openprofiles.store.schema import dead_letters, domains

_FAILED = (
    update(dead_letters)
    .where(dead_letters.c.id == bindparam("row_id"))
    .values(
        attempts=dead_letters.c.attempts + 1,
        last_error=bindparam("error"),
        next_attempt_at=bindparam("retry_at"),
    )
)


def add_dead_letter(
    conn: Connection, domain_id: int, type_name: str, document: str, reason: str, now: float
) -> None:
    conn.execute(
        insert(dead_letters).values(
            domain_id=domain_id,
            object_type_name=type_name,
            document=document,
            reason=reason,
            created_at=now,
        )
    )


def claim_pending(conn: Connection, now: float, max_attempts: int, limit: int) -> list[Row[Any]]:
    """Up to ``limit`` rows to send, oldest first: not delivered, under ``max_attempts``, due.

    Each comes with its domain's ``domain_name`` and ``dead_letter_queue_url``. On PostgreSQL the
    rows stay locked until the transaction ends, and rows another transaction holds are skipped,
    so concurrent deliverers never take the same row (SQLite runs one writer at a time anyway).
    """
    query = (
        select(
            dead_letters.c.id,
            dead_letters.c.object_type_name,
            dead_letters.c.document,
            dead_letters.c.reason,
            dead_letters.c.created_at,
            dead_letters.c.attempts,
            domains.c.domain_name,
            domains.c.dead_letter_queue_url,
        )
        .join(domains, domains.c.id == dead_letters.c.domain_id)
        .where(
            dead_letters.c.delivered_at.is_(None),
            dead_letters.c.attempts < max_attempts,
            or_(dead_letters.c.next_attempt_at.is_(None), dead_letters.c.next_attempt_at <= now),
        )
        .order_by(dead_letters.c.id)
        .limit(limit)
        .with_for_update(of=dead_letters, skip_locked=True)
    )
    return list(conn.execute(query))


def mark_delivered(conn: Connection, ids: list[int], now: float, note: str | None = None) -> None:
    """The rows left the outbox (sent, or dropped with ``note`` saying why)."""
    if not ids:
        return
    values: dict[str, Any] = {"delivered_at": now}
    if note is not None:
        values["last_error"] = note
    conn.execute(update(dead_letters).where(dead_letters.c.id.in_(ids)).values(**values))


def record_failures(conn: Connection, failures: list[tuple[int, str, float]]) -> None:
    """(row id, error, not retried before) of rows whose send failed: one more attempt each."""
    if failures:
        params = [{"row_id": pk, "error": error, "retry_at": at} for pk, error, at in failures]
        conn.execute(_FAILED, params)
