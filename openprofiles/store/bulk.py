"""The reads and writes of a batch of ingestion: a few queries in, executemany out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, insert, select, text

from openprofiles.store import objects as object_store
from openprofiles.store.objects import delete_objects, oldest_beyond
from openprofiles.store.profiles import TOUCH_STATEMENT, UPDATE_STATEMENT, encode
from openprofiles.store.query import execute_many
from openprofiles.store.schema import object_keys, profile_keys, profile_objects, profiles

_CHUNK = 500


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    items = list(values)
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def allocate_ids(conn: Connection, table: Any, count: int) -> list[int]:
    """``count`` unused primary keys of ``table``, for rows inserted in bulk. On SQLite the
    writing transaction holds the database, so the keys after the largest one are free; on
    PostgreSQL they come from the column's sequence."""
    if count <= 0:
        return []
    if conn.dialect.name == "postgresql":
        query = text(
            f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, :n)"
        )
        return [int(v) for v in conn.execute(query, {"n": count}).scalars()]
    start = int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1
    return list(range(start, start + count))


def allocate_profile_ids(conn: Connection, count: int) -> list[int]:
    return allocate_ids(conn, profiles, count)


def profile_pks_by_id(conn: Connection, domain_id: int, profile_ids: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(profile_ids):
        query = select(profiles.c.profile_id, profiles.c.id).where(
            profiles.c.domain_id == domain_id, profiles.c.profile_id.in_(chunk)
        )
        found.update(dict(conn.execute(query).all()))
    return found


def key_holders(
    conn: Connection, domain_id: int, key_name: str, values: Iterable[str]
) -> list[tuple[str, int, int]]:
    """(value, profile pk, derived) of every key row of ``key_name`` holding one of ``values``."""
    rows: list[tuple[str, int, int]] = []
    for chunk in _chunks(values):
        query = select(profile_keys.c.key_value, profile_keys.c.profile_pk, profile_keys.c.derived).where(
            profile_keys.c.domain_id == domain_id,
            profile_keys.c.key_name == key_name,
            profile_keys.c.key_value.in_(chunk),
        )
        rows.extend(tuple(r) for r in conn.execute(query))  # type: ignore[misc]
    return rows


def objects_by_unique(
    conn: Connection, domain_id: int, type_name: str, uniques: Iterable[str]
) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    columns = (
        profile_objects.c.unique_key, profile_objects.c.id, profile_objects.c.profile_pk,
        profile_objects.c.created_at, profile_objects.c.source_updated_at,
    )  # fmt: skip
    for chunk in _chunks(uniques):
        query = select(*columns).where(
            profile_objects.c.domain_id == domain_id,
            profile_objects.c.object_type_name == type_name,
            profile_objects.c.unique_key.in_(chunk),
        )
        for row in conn.execute(query):
            found[row.unique_key] = dict(row._mapping)
    return found


def profiles_by_pk(conn: Connection, pks: Iterable[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    columns = (profiles.c.id, profiles.c.profile_id, profiles.c.document, profiles.c.provenance)
    for chunk in _chunks(pks):
        for row in conn.execute(select(*columns).where(profiles.c.id.in_(chunk))):
            found[row.id] = {
                "id": row.id,
                "profile_id": row.profile_id,
                "document": orjson.loads(row.document),
                "provenance": orjson.loads(row.provenance),
            }
    return found


def write_batch(
    conn: Connection,
    domain_id: int,
    type_name: str,
    new_profiles: list[dict[str, Any]],
    changed_profiles: list[dict[str, Any]],
    derived: dict[int, set[tuple[str, str]]],
    new_keys: list[tuple[str, str, int]],
    objects: list[dict[str, Any]],
    now: float,
) -> None:
    """Write everything a batch decided, in bulk."""
    if new_profiles:
        execute_many(
            conn,
            insert(profiles),
            [
                {"id": p["id"], "domain_id": domain_id, "profile_id": p["profile_id"], **encode(p["document"], p["provenance"]),
                 "created_at": now, "updated_at": now}
                for p in new_profiles
            ],
        )
    if changed_profiles:
        execute_many(conn, UPDATE_STATEMENT, [{"pk": p["id"], **encode(p["document"], p["provenance"]), "updated_at": now} for p in changed_profiles])
    fresh = {p["id"] for p in new_profiles}
    touched = {o["profile_pk"] for o in objects} - fresh - {p["id"] for p in changed_profiles}
    if touched:
        execute_many(conn, TOUCH_STATEMENT, [{"pk": pk, "updated_at": now} for pk in sorted(touched)])
    for chunk in _chunks(sorted(set(derived) - fresh)):
        conn.execute(delete(profile_keys).where(profile_keys.c.profile_pk.in_(chunk), profile_keys.c.derived == 1))
    key_rows = [
        {"domain_id": domain_id, "key_name": n, "key_value": v, "profile_pk": pk, "derived": 1}
        for pk, pairs in derived.items()
        for n, v in sorted(pairs)
    ]
    key_rows += [
        {"domain_id": domain_id, "key_name": n, "key_value": v, "profile_pk": pk, "derived": 0}
        for n, v, pk in new_keys
    ]
    if key_rows:
        execute_many(conn, insert(profile_keys), key_rows)
    _write_objects(conn, domain_id, type_name, objects)


def _write_objects(conn: Connection, domain_id: int, type_name: str, objects: list[dict[str, Any]]) -> None:
    updated = [o for o in objects if o["id"] is not None]
    created = [o for o in objects if o["id"] is None]
    for row, pk in zip(created, allocate_ids(conn, profile_objects, len(created)), strict=True):
        row["id"] = pk
    if created:
        execute_many(
            conn,
            insert(profile_objects),
            [
                {key: o[key] for key in ("id", "profile_pk", "unique_key", "document", "size", "source_updated_at",
                                         "created_at", "updated_at", "expires_at")}
                | {"domain_id": domain_id, "object_type_name": type_name}
                for o in created
            ],
        )
    if updated:
        execute_many(
            conn,
            object_store.UPDATE_STATEMENT,
            [
                {"pk": o["id"], **{k: o[k] for k in ("profile_pk", "document", "size", "source_updated_at",
                                                     "updated_at", "expires_at")}}
                for o in updated
            ],
        )
        for chunk in _chunks(o["id"] for o in updated):
            conn.execute(delete(object_keys).where(object_keys.c.object_pk.in_(chunk)))
    rows = [
        {"domain_id": domain_id, "object_pk": o["id"], "key_name": n, "key_value": v}
        for o in objects
        for n, v in sorted(set(o["keys"]))
    ]
    if rows:
        execute_many(conn, insert(object_keys), rows)


def profiles_over(conn: Connection, pks: Iterable[int], limit: int) -> list[int]:
    """The profiles among ``pks`` that hold more than ``limit`` objects."""
    over: list[int] = []
    for chunk in _chunks(sorted(pks)):
        query = (
            select(profile_objects.c.profile_pk)
            .where(profile_objects.c.profile_pk.in_(chunk))
            .group_by(profile_objects.c.profile_pk)
            .having(func.count() > limit)
        )
        over.extend(conn.execute(query).scalars())
    return over


def evict_oldest(conn: Connection, pk: int, keep: int) -> None:
    delete_objects(conn, oldest_beyond(conn, pk, None, keep))
