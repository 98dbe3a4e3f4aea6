"""Sending messages to an SQS queue, with SendMessageBatch.

``send(client, queue_url, messages)`` sends in groups of at most 10 messages and 256 KiB (the
batch limits of SQS; a single larger message goes alone, and SQS takes or refuses it), and returns
the messages that failed, as ``{position in messages: error}``: those SQS refused in its answer,
those of a group whose call was refused (``QueueDoesNotExist``, ``AccessDenied``, ...), and, once
the endpoint cannot be reached at all (connection refused, timeout, no credentials), that group and
every later one, which are not tried. An empty answer means every message was accepted.

To a FIFO queue (its URL ends in ``.fifo``) every message goes with ``MessageGroupId``
``group_id`` and a ``MessageDeduplicationId``: the caller's ``dedup_ids`` (stable ids make a resend
within SQS's five-minute window a no-op), else the SHA-256 of the body.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

MAX_ENTRIES = 10
MAX_BATCH_BYTES = 262_144


def send(
    client: Any,
    queue_url: str,
    messages: Sequence[str],
    dedup_ids: Sequence[str] | None = None,
    group_id: str = "openprofiles",
) -> dict[int, str]:
    """Send every message; ``{position: error}`` of those that were not accepted."""
    fifo = queue_url.endswith(".fifo")
    failed: dict[int, str] = {}
    groups = list(_groups(messages))
    for number, group in enumerate(groups):
        entries = []
        for position in group:
            entry = {"Id": str(position), "MessageBody": messages[position]}
            if fifo:
                entry["MessageGroupId"] = group_id
                entry["MessageDeduplicationId"] = (
                    dedup_ids[position]
                    if dedup_ids is not None
                    else hashlib.sha256(messages[position].encode()).hexdigest()
                )
            entries.append(entry)
        try:
            answer = client.send_message_batch(QueueUrl=queue_url, Entries=entries)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            reason = f"{error.get('Code', 'Error')}: {error.get('Message', '')}".rstrip(": ")
            failed.update(dict.fromkeys(group, reason))
            continue
        except BotoCoreError as exc:
            reason = f"{type(exc).__name__}: {exc}"
            for rest in groups[number:]:
                failed.update(dict.fromkeys(rest, reason))
            break
        for refused in answer.get("Failed", []):
            code, text = refused.get("Code", "Error"), refused.get("Message", "")
            failed[int(refused["Id"])] = f"{code}: {text}"
    return failed


def _groups(messages: Sequence[str]) -> Iterator[list[int]]:
    """Positions, in order, in groups that fit one SendMessageBatch call."""
    group: list[int] = []
    size = 0
    for position, message in enumerate(messages):
        length = len(message.encode())
        if group and (len(group) == MAX_ENTRIES or size + length > MAX_BATCH_BYTES):
            yield group
            group, size = [], 0
        group.append(position)
        size += length
    if group:
        yield group
