"""Queries over profile objects and their key values (dead letters: store.dead_letters)."""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, or_, select, update

from openprofiles.store.query import Query, run_many
from openprofiles.store.schema import calculated_observations, object_keys, profile_objects

# The statements of the request paths, built once (see store.query).
_BY_KEY = Query(
    select(profile_objects).where(
        profile_objects.c.domain_id == bindparam("domain_id"),
        profile_objects.c.object_type_name == bindparam("type_name"),
        profile_objects.c.unique_key == bindparam("unique_key"),
    )
)
_COLUMNS = [c.name for c in profile_objects.c if c.name != "id"]
_INSERT = Query(insert(profile_objects).values({c: bindparam(c) for c in _COLUMNS}).returning(profile_objects.c.id))
#: the columns an ingestion writes to an object it replaces (shared with the batch path)
UPDATE_STATEMENT = (
    update(profile_objects)
    .where(profile_objects.c.id == bindparam("pk"))
    .values({c: bindparam(c) for c in ("profile_pk", "document", "size", "source_updated_at", "updated_at", "expires_at")})
)
_UPDATE = Query(UPDATE_STATEMENT)
_DROP_KEYS = Query(delete(object_keys).where(object_keys.c.object_pk == bindparam("pk")))
_ADD_KEY = Query(insert(object_keys).values({c.name: bindparam(c.name) for c in object_keys.c}))
_COUNT = Query(select(func.count()).where(profile_objects.c.profile_pk == bindparam("pk")))
_COUNT_OF_TYPE = Query(
    select(func.count()).where(
        profile_objects.c.profile_pk == bindparam("pk"), profile_objects.c.object_type_name == bindparam("type_name")
    )
)


def get(conn: Connection, domain_id: int, type_name: str, unique_key: str) -> SimpleNamespace | None:
    """The object with this UNIQUE value, its columns as attributes."""
    params = {"domain_id": domain_id, "type_name": type_name, "unique_key": unique_key}
    rows = _BY_KEY.dicts(conn, params)
    return SimpleNamespace(**rows[0]) if rows else None


def insert_object(conn: Connection, values: dict[str, Any]) -> int:
    return int(_INSERT.rows(conn, dict.fromkeys(_COLUMNS) | values)[0][0])


def update_object(conn: Connection, pk: int, values: dict[str, Any]) -> None:
    """Update the columns an ingestion writes (all six of them)."""
    _UPDATE.run(conn, {"pk": pk, **values})


def replace_keys(
    conn: Connection, domain_id: int, object_pk: int, pairs: Iterable[tuple[str, str]], fresh: bool = False
) -> None:
    """Make the object's key rows ``pairs``; ``fresh``: the object is new and has none yet."""
    if not fresh:
        _DROP_KEYS.run(conn, {"pk": object_pk})
    rows = [
        {"domain_id": domain_id, "object_pk": object_pk, "key_name": n, "key_value": v}
        for n, v in sorted(set(pairs))
    ]
    run_many(conn, _ADD_KEY, rows)


def count(conn: Connection, profile_pk: int, type_name: str | None = None) -> int:
    """How many objects (of a type, or of all types) the profile holds."""
    if type_name is None:
        return int(_COUNT.rows(conn, {"pk": profile_pk})[0][0])
    return int(_COUNT_OF_TYPE.rows(conn, {"pk": profile_pk, "type_name": type_name})[0][0])


def find_by_key(
    conn: Connection, domain_id: int, type_name: str, key_name: str, value: str
) -> list[Row[Any]]:
    """Objects of a type that hold a key value (how standard objects are looked up)."""
    query = (
        select(profile_objects)
        .join(object_keys, object_keys.c.object_pk == profile_objects.c.id)
        .where(
            object_keys.c.domain_id == domain_id,
            object_keys.c.key_name == key_name,
            object_keys.c.key_value == value,
            profile_objects.c.object_type_name == type_name,
        )
    )
    return list(conn.execute(query))


def list_page(
    conn: Connection,
    profile_pk: int,
    type_name: str,
    key_filter: tuple[str, list[str]] | None,
    now: float,
    after: int | None,
    limit: int,
) -> list[Row[Any]]:
    """A profile's unexpired objects of a type, oldest first, optionally by key values."""
    query = select(profile_objects).where(
        profile_objects.c.profile_pk == profile_pk,
        profile_objects.c.object_type_name == type_name,
        or_(profile_objects.c.expires_at.is_(None), profile_objects.c.expires_at > now),
    )
    if key_filter is not None:
        name, values = key_filter
        query = query.where(
            profile_objects.c.id.in_(
                select(object_keys.c.object_pk).where(
                    object_keys.c.key_name == name, object_keys.c.key_value.in_(values)
                )
            )
        )
    if after is not None:
        query = query.where(profile_objects.c.id > after)
    return list(conn.execute(query.order_by(profile_objects.c.id).limit(limit)))


def delete_objects(conn: Connection, pks: list[int]) -> None:
    """The objects, their key rows and their calculated attribute observations."""
    if pks:
        conn.execute(delete(calculated_observations).where(calculated_observations.c.object_pk.in_(pks)))
        conn.execute(delete(object_keys).where(object_keys.c.object_pk.in_(pks)))
        conn.execute(delete(profile_objects).where(profile_objects.c.id.in_(pks)))


def oldest_beyond(conn: Connection, profile_pk: int, type_name: str | None, keep: int) -> list[int]:
    """Ids of the profile's objects (of a type, or all) past the ``keep`` most recent."""
    held = count(conn, profile_pk, type_name)
    if held <= keep:
        return []
    query = select(profile_objects.c.id).where(profile_objects.c.profile_pk == profile_pk)
    if type_name is not None:
        query = query.where(profile_objects.c.object_type_name == type_name)
    oldest = query.order_by(profile_objects.c.updated_at, profile_objects.c.id).limit(held - keep)
    return list(conn.execute(oldest).scalars())


def move_objects(conn: Connection, from_pk: int, to_pk: int) -> None:
    """The objects of one profile, and their calculated attribute observations, go to another."""
    observations = calculated_observations.c.profile_pk == from_pk
    conn.execute(update(calculated_observations).where(observations).values(profile_pk=to_pk))
    conn.execute(update(profile_objects).where(profile_objects.c.profile_pk == from_pk).values(profile_pk=to_pk))


def expired(conn: Connection, now: float, limit: int) -> list[int]:
    query = select(profile_objects.c.id).where(profile_objects.c.expires_at <= now).limit(limit)
    return list(conn.execute(query).scalars())
