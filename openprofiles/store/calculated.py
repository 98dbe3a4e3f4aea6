"""Queries over calculated attribute definitions, and over the objects their values read."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete, func, insert, or_, select, update

from openprofiles.store.query import Query
from openprofiles.store.schema import calculated_attributes, profile_objects

_GET = Query(
    select(calculated_attributes).where(
        calculated_attributes.c.domain_id == bindparam("domain_id"),
        calculated_attributes.c.name == bindparam("name"),
    )
)
_OBJECTS = Query(
    select(profile_objects.c.id, profile_objects.c.document, profile_objects.c.updated_at)
    .where(
        profile_objects.c.profile_pk == bindparam("profile_pk"),
        profile_objects.c.object_type_name == bindparam("type_name"),
        or_(profile_objects.c.expires_at.is_(None), profile_objects.c.expires_at > bindparam("now")),
    )
    .order_by(profile_objects.c.id)
)


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "definition": orjson.loads(row["definition"])}


def get(conn: Connection, domain_id: int, name: str) -> dict[str, Any] | None:
    rows = _GET.dicts(conn, {"domain_id": domain_id, "name": name})
    return _decode(rows[0]) if rows else None


def insert_definition(
    conn: Connection, domain_id: int, name: str, definition: dict[str, Any], now: float
) -> None:
    conn.execute(
        insert(calculated_attributes).values(
            domain_id=domain_id, name=name, definition=orjson.dumps(definition).decode(),
            created_at=now, updated_at=now,
        )
    )


def update_definition(
    conn: Connection, domain_id: int, name: str, definition: dict[str, Any], now: float
) -> None:
    conn.execute(
        update(calculated_attributes)
        .where(calculated_attributes.c.domain_id == domain_id, calculated_attributes.c.name == name)
        .values(definition=orjson.dumps(definition).decode(), updated_at=now)
    )


def delete_definition(conn: Connection, domain_id: int, name: str) -> None:
    conn.execute(
        delete(calculated_attributes).where(
            calculated_attributes.c.domain_id == domain_id, calculated_attributes.c.name == name
        )
    )


def count(conn: Connection, domain_id: int) -> int:
    query = select(func.count()).where(calculated_attributes.c.domain_id == domain_id)
    return int(conn.execute(query).scalar_one())


def list_page(conn: Connection, domain_id: int, after: str | None, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` definitions in name order, starting after the name ``after``."""
    query = select(calculated_attributes).where(calculated_attributes.c.domain_id == domain_id)
    if after is not None:
        query = query.where(calculated_attributes.c.name > after)
    rows = conn.execute(query.order_by(calculated_attributes.c.name).limit(limit))
    return [_decode(dict(row._mapping)) for row in rows]


def objects_of(conn: Connection, profile_pk: int, type_name: str, now: float) -> list[dict[str, Any]]:
    """The profile's unexpired objects of a type: id, document (JSON text), updated_at."""
    return _OBJECTS.dicts(conn, {"profile_pk": profile_pk, "type_name": type_name, "now": now})
