"""Segments evaluated: estimates (REFERENCE 4.4) and membership checks, both by the one query a
definition compiles to.

AWS documents CreateSegmentEstimate as asynchronous: it answers an EstimateId, and
GetSegmentEstimate reports RUNNING until the count is ready. Here the count is one indexed query
within the domain, so it is taken when the estimate is created and stored with it: the first
GetSegmentEstimate already answers SUCCEEDED with the exact count (a client's polling loop ends at
once). Estimates are kept until their domain is deleted.

A classic segment is evaluated live on every membership check, so LastComputedAt is the time of
the check.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from openprofiles.engine.segments.compiler import segment_query
from openprofiles.engine.segments.definitions import SegmentDefinition, check_query, loader
from openprofiles.errors import ResourceNotFoundException
from openprofiles.store import segments as store


@dataclass(frozen=True)
class Estimate:
    estimate_id: str
    count: int


def _query(conn: Connection, domain: dict[str, Any], groups: dict[str, Any], path: str) -> Any:
    return segment_query(domain["id"], groups, path, conn.dialect.name, loader(conn, domain))


def create_estimate(
    conn: Connection, domain: dict[str, Any], groups: dict[str, Any] | None, sql: str | None, now: datetime
) -> Estimate:
    """Count the profiles of a segment query (SegmentQuery, checked as a definition's groups)."""
    check_query(conn, domain, groups, sql, "SegmentQuery")
    count = store.count_rows(conn, _query(conn, domain, groups or {}, "SegmentQuery"))
    estimate = Estimate(uuid.uuid4().hex, count)
    store.insert_estimate(conn, domain["id"], estimate.estimate_id, count, now.timestamp())
    return estimate


def get_estimate(conn: Connection, domain: dict[str, Any], estimate_id: str) -> Estimate:
    row = store.get_estimate(conn, domain["id"], estimate_id)
    if row is None:
        raise ResourceNotFoundException(
            f"Segment estimate {estimate_id} does not exist in domain {domain['domain_name']}"
        )
    return Estimate(row["estimate_id"], int(row["estimate"]))


def members_among(
    conn: Connection, domain: dict[str, Any], definition: SegmentDefinition, profile_ids: list[str]
) -> set[str]:
    """Which of ``profile_ids`` are in the segment."""
    query = _query(conn, domain, definition.members["SegmentGroups"], "SegmentGroups")
    table = query.selected_columns
    return {row.profile_id for row in conn.execute(query.where(table.profile_id.in_(profile_ids)))}
