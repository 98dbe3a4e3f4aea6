"""Queries over segment definitions and segment estimates."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.sql import Select

from openprofiles.store.schema import segment_definitions, segment_estimates


def _decode(row: Any) -> dict[str, Any]:
    found = dict(row._mapping)
    return {**found, "definition": orjson.loads(found["definition"])}


def get(conn: Connection, domain_id: int, name: str) -> dict[str, Any] | None:
    row = conn.execute(
        select(segment_definitions).where(
            segment_definitions.c.domain_id == domain_id, segment_definitions.c.name == name
        )
    ).first()
    return None if row is None else _decode(row)


def insert_definition(
    conn: Connection, domain_id: int, name: str, definition: dict[str, Any], now: float
) -> None:
    conn.execute(
        insert(segment_definitions).values(
            domain_id=domain_id, name=name, definition=orjson.dumps(definition).decode(),
            created_at=now, updated_at=now,
        )
    )


def delete_definition(conn: Connection, domain_id: int, name: str) -> None:
    conn.execute(
        delete(segment_definitions).where(
            segment_definitions.c.domain_id == domain_id, segment_definitions.c.name == name
        )
    )


def list_page(conn: Connection, domain_id: int, after: str | None, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` definitions in name order, starting after the name ``after``."""
    query = select(segment_definitions).where(segment_definitions.c.domain_id == domain_id)
    if after is not None:
        query = query.where(segment_definitions.c.name > after)
    rows = conn.execute(query.order_by(segment_definitions.c.name).limit(limit))
    return [_decode(row) for row in rows]


def all_definitions(conn: Connection, domain_id: int) -> list[dict[str, Any]]:
    return list_page(conn, domain_id, None, 2**31 - 1)


def count_rows(conn: Connection, query: Select[Any]) -> int:
    """How many rows ``query`` selects."""
    return int(conn.execute(select(func.count()).select_from(query.subquery())).scalar_one())


def insert_estimate(conn: Connection, domain_id: int, estimate_id: str, estimate: int, now: float) -> None:
    conn.execute(
        insert(segment_estimates).values(
            estimate_id=estimate_id, domain_id=domain_id, estimate=estimate, created_at=now
        )
    )


def get_estimate(conn: Connection, domain_id: int, estimate_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        select(segment_estimates).where(
            segment_estimates.c.domain_id == domain_id, segment_estimates.c.estimate_id == estimate_id
        )
    ).first()
    return None if row is None else dict(row._mapping)
