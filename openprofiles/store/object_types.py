"""Queries over object types and the domain's key registry (key name -> ContentTypes)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, Row, bindparam, delete, insert, select, update

from openprofiles.store.domains import catalog_changed
from openprofiles.store.query import Query
from openprofiles.store.schema import (
    calculated_observations,
    object_keys,
    object_types,
    profile_objects,
    search_keys,
)

_GET = Query(
    select(object_types).where(
        object_types.c.domain_id == bindparam("domain_id"), object_types.c.name == bindparam("name")
    )
)


def _decode(row: Row[Any] | dict[str, Any]) -> dict[str, Any]:
    out = dict(row) if isinstance(row, dict) else dict(row._mapping)
    out["definition_text"] = out["definition"]
    out["definition"] = orjson.loads(out["definition"])
    return out


def get(conn: Connection, domain_id: int, name: str) -> dict[str, Any] | None:
    rows = _GET.dicts(conn, {"domain_id": domain_id, "name": name})
    return _decode(rows[0]) if rows else None


def upsert(conn: Connection, domain_id: int, name: str, definition: dict[str, Any], now: float) -> None:
    text = orjson.dumps(definition).decode()
    catalog_changed(conn, domain_id)
    changed = conn.execute(
        update(object_types)
        .where(object_types.c.domain_id == domain_id, object_types.c.name == name)
        .values(definition=text, updated_at=now)
    ).rowcount
    if not changed:
        conn.execute(
            insert(object_types).values(
                domain_id=domain_id, name=name, definition=text, created_at=now, updated_at=now
            )
        )


def list_page(conn: Connection, domain_id: int, after: str | None, limit: int) -> list[dict[str, Any]]:
    query = select(object_types).where(object_types.c.domain_id == domain_id)
    if after is not None:
        query = query.where(object_types.c.name > after)
    return [_decode(r) for r in conn.execute(query.order_by(object_types.c.name).limit(limit))]


def list_all(conn: Connection, domain_id: int) -> list[dict[str, Any]]:
    return list_page(conn, domain_id, None, 10**6)


def delete_type(conn: Connection, domain_id: int, name: str) -> None:
    """The type, its objects, their key rows and their calculated attribute observations."""
    catalog_changed(conn, domain_id)
    objects = select(profile_objects.c.id).where(
        profile_objects.c.domain_id == domain_id, profile_objects.c.object_type_name == name
    )
    conn.execute(delete(calculated_observations).where(calculated_observations.c.object_pk.in_(objects)))
    conn.execute(delete(object_keys).where(object_keys.c.object_pk.in_(objects)))
    conn.execute(
        delete(profile_objects).where(
            profile_objects.c.domain_id == domain_id, profile_objects.c.object_type_name == name
        )
    )
    conn.execute(
        delete(object_types).where(object_types.c.domain_id == domain_id, object_types.c.name == name)
    )


def key_types(conn: Connection, domain_id: int, excluding: str | None = None) -> dict[str, tuple[str, ...]]:
    """The ContentTypes of each key name, as the domain's object types (but ``excluding``)
    define them."""
    found: dict[str, tuple[str, ...]] = {}
    query = select(object_types.c.definition).where(object_types.c.domain_id == domain_id)
    if excluding is not None:
        query = query.where(object_types.c.name != excluding)
    for (text,) in conn.execute(query):
        definition = orjson.loads(text)
        fields = definition.get("Fields", {})
        for key_name, entries in definition.get("Keys", {}).items():
            for entry in entries[:1]:
                content = tuple(
                    fields.get(f, {}).get("ContentType", "STRING") for f in entry.get("FieldNames", ())
                )
                found.setdefault(key_name, content)
    return found


_REGISTERED = Query(
    select(search_keys.c.content_types).where(
        search_keys.c.domain_id == bindparam("domain_id"), search_keys.c.key_name == bindparam("key_name")
    )
)


def registered_key_type(conn: Connection, domain_id: int, key_name: str) -> tuple[str, ...] | None:
    rows = _REGISTERED.rows(conn, {"domain_id": domain_id, "key_name": key_name})
    return tuple(rows[0][0].split(",")) if rows else None


def register_keys(conn: Connection, domain_id: int, types: dict[str, tuple[str, ...]]) -> None:
    for key_name, content in types.items():
        conn.execute(
            delete(search_keys).where(search_keys.c.domain_id == domain_id, search_keys.c.key_name == key_name)
        )
        conn.execute(
            insert(search_keys).values(domain_id=domain_id, key_name=key_name, content_types=",".join(content))
        )


def replace_key_registry(conn: Connection, domain_id: int, types: dict[str, tuple[str, ...]]) -> None:
    conn.execute(delete(search_keys).where(search_keys.c.domain_id == domain_id))
    register_keys(conn, domain_id, types)
