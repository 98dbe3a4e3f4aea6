"""Segments evaluated: estimates (REFERENCE 4.4) and membership checks, both by the one query a
definition compiles to.

AWS documents CreateSegmentEstimate as asynchronous: it answers an EstimateId, and
GetSegmentEstimate reports RUNNING until the count is ready. Here the count is one indexed query
within the domain, so it is taken when the estimate is created and stored with it: the first
GetSegmentEstimate already answers SUCCEEDED with the exact count (a client's polling loop ends at
once). Estimates are kept until their domain is deleted.

A segment (classic, or ENHANCED by SegmentSqlQuery) is evaluated live on every membership check, so LastComputedAt is the time of
the check. Both evaluate at ``now``, the App clock's time: the values of calculated attributes,
whose Range windows end there, are those GetCalculatedAttributeForProfile gives at that moment,
so membership moves with the clock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from openprofiles.engine.segments.definitions import (
    SegmentDefinition,
    check_query,
    definition_query,
)
from openprofiles.errors import ResourceNotFoundException
from openprofiles.store import segments as store


@dataclass(frozen=True)
class Estimate:
    estimate_id: str
    count: int


def create_estimate(
    conn: Connection, domain: dict[str, Any], groups: dict[str, Any] | None, sql: str | None, now: datetime
) -> Estimate:
    """Count the profiles of a segment query (SegmentQuery, checked as a definition's groups)."""
    count = store.count_rows(conn, check_query(conn, domain, groups, sql, "SegmentQuery", now))
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
    conn: Connection, domain: dict[str, Any], definition: SegmentDefinition, profile_ids: list[str],
    now: datetime,
) -> set[str]:
    """Which of ``profile_ids`` are in the segment at ``now``."""
    query = definition_query(conn, domain, definition, now)
    table = query.selected_columns
    return {row.profile_id for row in conn.execute(query.where(table.profile_id.in_(profile_ids)))}
