"""Queries over calculated attribute definitions and their observations (one row per definition
and contributing object, see schema.calculated_observations)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete, func, insert, or_, select, update

from openprofiles.store.domains import catalog_changed
from openprofiles.store.query import Query, insert_ignoring_duplicates, run_many
from openprofiles.store.schema import (
    calculated_attributes,
    calculated_observations,
    profile_objects,
)

_GET = Query(
    select(calculated_attributes).where(
        calculated_attributes.c.domain_id == bindparam("domain_id"),
        calculated_attributes.c.name == bindparam("name"),
    )
)
_OF_DOMAIN = Query(
    select(calculated_attributes).where(calculated_attributes.c.domain_id == bindparam("domain_id"))
)
_OBSERVATIONS = Query(
    select(calculated_observations.c.object_pk, calculated_observations.c.observed_at, calculated_observations.c.value)
    .where(
        calculated_observations.c.profile_pk == bindparam("profile_pk"),
        calculated_observations.c.definition_id == bindparam("definition_id"),
        or_(calculated_observations.c.expires_at.is_(None), calculated_observations.c.expires_at > bindparam("now")),
    )
)
_ADD_OBSERVATION = Query(insert(calculated_observations).values({c.name: bindparam(c.name) for c in calculated_observations.c}))
_ADD_MISSING_OBSERVATION = Query(insert_ignoring_duplicates(calculated_observations))
_DROP_OF_OBJECT = Query(delete(calculated_observations).where(calculated_observations.c.object_pk == bindparam("pk")))

def _decode(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "definition": orjson.loads(row["definition"])}


def get(conn: Connection, domain_id: int, name: str) -> dict[str, Any] | None:
    rows = _GET.dicts(conn, {"domain_id": domain_id, "name": name})
    return _decode(rows[0]) if rows else None


def insert_definition(
    conn: Connection, domain_id: int, name: str, definition: dict[str, Any], now: float
) -> None:
    catalog_changed(conn, domain_id)
    conn.execute(
        insert(calculated_attributes).values(
            domain_id=domain_id, name=name, definition=orjson.dumps(definition).decode(),
            created_at=now, updated_at=now,
        )
    )


def update_definition(
    conn: Connection, domain_id: int, name: str, definition: dict[str, Any], now: float
) -> None:
    catalog_changed(conn, domain_id)
    conn.execute(
        update(calculated_attributes)
        .where(calculated_attributes.c.domain_id == domain_id, calculated_attributes.c.name == name)
        .values(definition=orjson.dumps(definition).decode(), updated_at=now)
    )


def delete_definition(conn: Connection, domain_id: int, name: str) -> None:
    catalog_changed(conn, domain_id)
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


def of_domain(conn: Connection, domain_id: int) -> list[dict[str, Any]]:
    """Every definition of the domain, its definition as stored (JSON text): what an ingestion
    reads to find the definitions of its object type (see engine.calculated.observations)."""
    return _OF_DOMAIN.dicts(conn, {"domain_id": domain_id})


def observations(conn: Connection, definition_id: int, profile_pk: int, now: float) -> list[tuple[Any, ...]]:
    """The profile's unexpired observations of a definition: (object_pk, observed_at, value)."""
    return _OBSERVATIONS.rows(conn, {"profile_pk": profile_pk, "definition_id": definition_id, "now": now})


def replace_observations(conn: Connection, object_pks: list[int], rows: list[dict[str, Any]]) -> None:
    """Make ``rows`` the observations of the objects ``object_pks`` and of new objects (every
    column of calculated_observations in each row)."""
    if not object_pks:
        pass
    elif len(object_pks) == 1:
        _DROP_OF_OBJECT.run(conn, {"pk": object_pks[0]})
    else:
        for start in range(0, len(object_pks), 500):
            chunk = object_pks[start : start + 500]
            conn.execute(delete(calculated_observations).where(calculated_observations.c.object_pk.in_(chunk)))
    add_observations(conn, rows)


def add_observations(conn: Connection, rows: list[dict[str, Any]]) -> None:
    run_many(conn, _ADD_OBSERVATION, rows)


def drop_observations(conn: Connection, definition_id: int) -> None:
    conn.execute(delete(calculated_observations).where(calculated_observations.c.definition_id == definition_id))


def add_missing_observations(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Add observations, keeping any an object already has (written with it meanwhile)."""
    run_many(conn, _ADD_MISSING_OBSERVATION, rows)


def objects_of_type(
    conn: Connection, domain_id: int, type_name: str, since: float | None,
    after: int = 0, limit: int | None = None,
) -> list[dict[str, Any]]:
    """The objects of a type (last written at ``since`` or later, when given), in id order
    after the id ``after``, at most ``limit``: id, profile_pk, document, updated_at,
    expires_at; what a definition's observations are built from."""
    columns = [profile_objects.c[n] for n in ("id", "profile_pk", "document", "updated_at", "expires_at")]
    query = select(*columns).where(
        profile_objects.c.domain_id == domain_id,
        profile_objects.c.object_type_name == type_name,
        profile_objects.c.id > after,
    )
    if since is not None:
        query = query.where(profile_objects.c.updated_at >= since)
    query = query.order_by(profile_objects.c.id).limit(limit)
    return [dict(row._mapping) for row in conn.execute(query)]


def count_objects_of_type(conn: Connection, domain_id: int, type_name: str, after: int = 0) -> int:
    query = select(func.count()).where(
        profile_objects.c.domain_id == domain_id,
        profile_objects.c.object_type_name == type_name,
        profile_objects.c.id > after,
    )
    return int(conn.execute(query).scalar_one())
