"""Dead letters: the transactional outbox of the domains' dead-letter queues.

An object that finds no profile, in a type whose AllowProfileCreation is false, is written to the
``dead_letters`` table by PutProfileObject in the call's own transaction (engine.ingest): it is
never lost, and no API call waits for SQS or fails because SQS does. ``deliver_dead_letters``
sends them on to the domain's ``DeadLetterQueueUrl`` (an SQS queue), a batch per call, from the
App's maintenance (task ``"dead letters"``, every minute on a server; tests call
``app.maintenance.run_once()``). One call is one transaction:

1. It takes up to ``batch`` pending rows, oldest first: not delivered, fewer than
   ``MAX_ATTEMPTS`` failed sends, and due (past their backoff), each with its domain's name and
   the ``DeadLetterQueueUrl`` the domain has *now*. On PostgreSQL the rows are locked
   (``FOR UPDATE SKIP LOCKED``), so several servers share the work and never send a row twice at
   once.
2. A row whose domain has no DeadLetterQueueUrl is **dropped**, as AWS drops it: nothing is sent,
   ``delivered_at`` is set and ``last_error`` says why. The row is kept for inspection.
3. The other rows are sent to their queue (``send``, SendMessageBatch in groups of 10). A row SQS
   accepted gets ``delivered_at``. A row whose send failed gets ``attempts`` + 1, its
   ``last_error`` and a backoff (``next_attempt_at``: 30 s, doubling up to an hour), and is retried
   by a later round; after ``MAX_ATTEMPTS`` (10, some three hours) it is **given up**: logged, and
   left undelivered with its last error, never retried again (set ``attempts`` back to 0 to replay
   it). Nothing is deleted here: rows go with their domain (DeleteDomain).
4. Commit.

Delivery is at least once: a crash between a send and the commit sends those rows again. (To a
FIFO queue every message goes with MessageGroupId ``openprofiles`` and, as its
MessageDeduplicationId, the SHA-256 of the row's id and the body, so SQS drops such a repeat within
its five-minute window, and two stores sharing a queue do not drop each other's rows.)

The transaction stays open while SQS answers: on SQLite other writers wait meanwhile (readers do
not), which is why the clients time out quickly and an endpoint that cannot be reached fails the
rest of its batch at once.

The message. AWS does not publish the format of its dead-letter messages; ours is a JSON object::

    {"ObjectTypeName": "Ticket",
     "Object": "{\\"id\\": \\"t-1\\", ...}",       # the object exactly as PutProfileObject got it
     "DomainName": "demo",
     "Reason": "No profile matches the object's PROFILE keys, and its object type may not ...",
     "Timestamp": "2024-05-01T12:00:00.000Z"}   # when ingestion refused it, UTC

Returns how many rows left the outbox (sent, dropped or given up); rows waiting for a retry do not
count, so the maintenance loop, which calls again while the count is positive, ends.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from openprofiles.store import dead_letters as store
from openprofiles.store.db import Store

log = logging.getLogger("openprofiles.dead_letters")

#: (queue URL, message bodies, their deduplication ids) -> {position: error} of those not sent
Send = Callable[[str, list[str], list[str]], dict[int, str]]

MAX_ATTEMPTS = 10
FIRST_BACKOFF = 30.0
MAX_BACKOFF = 3600.0
NO_QUEUE = "dropped: the domain has no DeadLetterQueueUrl"


def deliver_dead_letters(db: Store, send: Send, now: datetime, batch: int = 100) -> int:
    """Send (or drop) one batch of pending dead letters; how many left the outbox."""
    stamp = now.timestamp()
    with db.transaction() as conn:
        rows = store.claim_pending(conn, stamp, MAX_ATTEMPTS, batch)
        by_queue: dict[str | None, list[Any]] = {}
        for row in rows:
            by_queue.setdefault(row.dead_letter_queue_url or None, []).append(row)
        store.mark_delivered(conn, [row.id for row in by_queue.pop(None, [])], stamp, NO_QUEUE)
        failures: list[tuple[int, str, float]] = []
        given_up = 0
        for queue_url, queued in by_queue.items():
            try:
                bodies = [message(row) for row in queued]
                dedup_ids = [_dedup_id(r.id, body) for r, body in zip(queued, bodies, strict=True)]
                failed = send(queue_url, bodies, dedup_ids)
            except Exception as exc:  # noqa: BLE001 - e.g. a URL boto3 refuses: the rows record it
                failed = dict.fromkeys(range(len(queued)), f"{type(exc).__name__}: {exc}")
            sent = [row.id for position, row in enumerate(queued) if position not in failed]
            store.mark_delivered(conn, sent, stamp)
            for position, error in failed.items():
                row = queued[position]
                attempts = row.attempts + 1
                failures.append((row.id, error[:2000], stamp + backoff(attempts)))
                if attempts >= MAX_ATTEMPTS:
                    given_up += 1
                    log.warning(
                        "dead letter %s (domain %s, object type %s) given up after %d attempts to "
                        "send it to %s: %s",
                        row.id, row.domain_name, row.object_type_name, attempts, queue_url, error,
                    )
        store.record_failures(conn, failures)
    return len(rows) - len(failures) + given_up


def message(row: Any) -> str:
    """The body sent to the queue (the format is in the module's docstring)."""
    refused = datetime.fromtimestamp(row.created_at, UTC)
    return orjson.dumps({
        "ObjectTypeName": row.object_type_name,
        "Object": row.document,
        "DomainName": row.domain_name,
        "Reason": row.reason,
        "Timestamp": refused.strftime("%Y-%m-%dT%H:%M:%S.") + f"{refused.microsecond // 1000:03d}Z",
    }).decode()


def backoff(attempts: int) -> float:
    """Seconds before the next try of a row that failed ``attempts`` times."""
    return min(FIRST_BACKOFF * 2 ** (attempts - 1), MAX_BACKOFF)


def _dedup_id(row_id: int, body: str) -> str:
    return hashlib.sha256(f"{row_id}:{body}".encode()).hexdigest()
