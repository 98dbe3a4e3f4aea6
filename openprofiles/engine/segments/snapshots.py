"""Segment snapshots (REFERENCE 4.4): the members of a segment written to a file, as a durable job.

CreateSegmentSnapshot queues a job (openprofiles.jobs.runner) and answers its id; the job
evaluates the segment by the query its definition compiles to (the one estimates and membership
checks use), at the time it runs, and writes the members to one file, delivered to the
DestinationUri folder (openprofiles.sinks.files: ``s3://`` or ``file://``) as
``<SegmentDefinitionName>/<SnapshotId>.<csv|jsonl|orc>``. GetSegmentSnapshot shows the job:
IN_PROGRESS while queued or running, then COMPLETED or FAILED with a StatusMessage.

What the file holds (AWS does not document a layout): one member profile per row or line, in the
order of the definition's SegmentSort (compiler.sort_order), ties (and a definition without one)
in the order the profiles were created.

- JSONL: each line the profile as GetProfile-style calls return it (the API's Profile shape).
- CSV (RFC 4180, with a header row) and ORC (every column a string): ``ProfileId``, then one
  column per profile field that any member has, nested members flattened (``Address.City``,
  ``Attributes.tier``), in the order of the Profile shape and, within a nested member, by name.
  A member without a field leaves it empty (CSV) or null (ORC); a field that is not text
  (EngagementPreferences) holds its JSON.

CSV and ORC read the members twice (once for the columns, once for the rows) in one read
transaction, so both passes see the same profiles; no more than a batch of profiles is held at a
time, so a snapshot of millions of profiles runs in bounded memory.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection

from openprofiles.engine.profiles import FIELDS, leaf_paths, render
from openprofiles.engine.segments.definitions import compiled_sort, definition_query, get_definition
from openprofiles.errors import ResourceNotFoundException
from openprofiles.jobs.runner import JobFailed, RunningJob
from openprofiles.store import domains as domain_store
from openprofiles.store import jobs as job_store
from openprofiles.store import profiles as profile_store

KIND = "segment-snapshot"
SUFFIXES = {"CSV": ".csv", "JSONL": ".jsonl", "ORC": ".orc"}
_BATCH = 2000
#: runner status -> GetSegmentSnapshot Status
_STATUS = {"QUEUED": "IN_PROGRESS", "RUNNING": "IN_PROGRESS", "SUCCEEDED": "COMPLETED", "FAILED": "FAILED"}
#: the request members a snapshot keeps and shows
MEMBERS = ("DataFormat", "EncryptionKey", "RoleArn", "DestinationUri")

#: (destination URI, file name, local file, encryption key) -> the delivered file's URI
Deliver = Callable[[str, str, Path, "str | None"], str]
#: a local scratch file for a suffix, removed when the block ends
Scratch = Callable[[str], Any]


def snapshot_view(row: dict[str, Any]) -> dict[str, Any]:
    """GetSegmentSnapshot's answer for a snapshot's job row."""
    found = {"SnapshotId": row["job_id"], "Status": _STATUS[row["status"]], **row["request"]}
    if row["status"] == "FAILED":
        found["StatusMessage"] = row["message"]
    elif row["status"] == "SUCCEEDED":
        profiles = row["result"]["Profiles"]
        found["StatusMessage"] = f"{profiles} profiles written to {row['result']['Location']}"
    return found


def get_snapshot(conn: Connection, domain: dict[str, Any], segment: str, snapshot_id: str) -> dict[str, Any]:
    get_definition(conn, domain, segment)
    row = job_store.get(conn, snapshot_id)
    if row is None or row["domain_id"] != domain["id"] or row["kind"] != KIND or row["subject"] != segment:
        raise ResourceNotFoundException(f"Snapshot {snapshot_id} of segment {segment} does not exist")
    return snapshot_view(row)


def file_name(segment: str, snapshot_id: str, data_format: str) -> str:
    return f"{segment}/{snapshot_id}{SUFFIXES[data_format]}"


def write_snapshot(job: RunningJob, deliver: Deliver, scratch: Scratch) -> dict[str, Any]:
    """The job: evaluate the segment now and deliver its members' file."""
    request, segment = job.request, str(job.row["subject"])
    data_format = request["DataFormat"]
    with scratch(SUFFIXES[data_format]) as local:
        with job.store.snapshot() as conn:
            domain = domain_store.get_by_id(conn, job.domain_id)
            if domain is None:
                raise JobFailed("The domain was deleted")
            try:
                definition = get_definition(conn, domain, segment)
            except ResourceNotFoundException:
                raise JobFailed(f"Segment definition {segment} was deleted") from None
            now = job.clock.now()
            ids = definition_query(conn, domain, definition, now)
            order = compiled_sort(conn, domain, definition.members.get("SegmentSort"), now)

            def batches() -> Iterator[list[dict[str, Any]]]:
                return profile_store.stream(conn, ids, _BATCH, order)

            count = _WRITERS[data_format](batches, local)
        name = file_name(segment, job.job_id, data_format)
        location = deliver(request["DestinationUri"], name, local, request.get("EncryptionKey"))
    return {"Location": location, "Profiles": count}


def _columns(batches: Callable[[], Iterator[list[dict[str, Any]]]]) -> list[str]:
    seen: set[str] = set()
    for batch in batches():
        for row in batch:
            seen.update(leaf_paths(row["document"]))
    order = {name: i for i, name in enumerate(FIELDS)}
    return ["ProfileId", *sorted(seen, key=lambda path: (order.get(path.partition(".")[0], len(order)), path))]


def _cells(row: dict[str, Any]) -> dict[str, str]:
    flat = leaf_paths(row["document"])
    cells = {k: v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in flat.items()}
    cells["ProfileId"] = row["profile_id"]
    return cells


def _write_jsonl(batches: Callable[[], Iterator[list[dict[str, Any]]]], local: Path) -> int:
    count = 0
    with local.open("wb") as out:
        for batch in batches():
            for row in batch:
                profile = {k: v for k, v in render(row).items() if v is not None}
                out.write(orjson.dumps(profile) + b"\n")
            count += len(batch)
    return count


def _write_csv(batches: Callable[[], Iterator[list[dict[str, Any]]]], local: Path) -> int:
    columns, count = _columns(batches), 0
    with local.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, columns)
        writer.writeheader()
        for batch in batches():
            writer.writerows(_cells(row) for row in batch)
            count += len(batch)
    return count


def _write_orc(batches: Callable[[], Iterator[list[dict[str, Any]]]], local: Path) -> int:
    import pyarrow as pa  # large: loaded by the first ORC snapshot
    from pyarrow import orc

    columns, count = _columns(batches), 0
    schema = pa.schema([(name, pa.string()) for name in columns])
    writer = orc.ORCWriter(str(local))
    try:
        for batch in batches():
            cells = [_cells(row) for row in batch]
            writer.write(pa.table({name: [c.get(name) for c in cells] for name in columns}, schema=schema))
            count += len(batch)
        if count == 0:
            writer.write(schema.empty_table())
    finally:
        writer.close()
    return count


_WRITERS = {"CSV": _write_csv, "JSONL": _write_jsonl, "ORC": _write_orc}
