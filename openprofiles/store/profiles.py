"""Queries over profiles and their keys (the index behind search and ingestion's lookups)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import ARRAY, Connection, Row, Text, and_, bindparam, delete, func, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import JSONB

from openprofiles.store.schema import object_keys, profile_keys, profile_objects, profiles

_BY_ID = select(profiles).where(
    profiles.c.domain_id == bindparam("domain_id"), profiles.c.profile_id == bindparam("profile_id")
)
_FIND = select(profile_keys.c.profile_pk).where(
    profile_keys.c.domain_id == bindparam("domain_id"),
    profile_keys.c.key_name == bindparam("key_name"),
    profile_keys.c.key_value == bindparam("key_value"),
)


def _decode(row: Row[Any]) -> dict[str, Any]:
    out = dict(row._mapping)
    out["document"] = orjson.loads(out["document"])
    out["provenance"] = orjson.loads(out["provenance"])
    return out


def insert_profile(
    conn: Connection,
    domain_id: int,
    profile_id: str,
    document: dict[str, Any],
    provenance: dict[str, int],
    now: float,
) -> int:
    text = orjson.dumps(document)
    result = conn.execute(
        insert(profiles).values(
            domain_id=domain_id,
            profile_id=profile_id,
            document=text.decode(),
            provenance=orjson.dumps(provenance).decode(),
            size=len(text),
            created_at=now,
            updated_at=now,
        )
    )
    return int(result.inserted_primary_key[0])


def get(conn: Connection, domain_id: int, profile_id: str, lock: bool = False) -> dict[str, Any] | None:
    """One profile by id; ``lock`` holds its row until the transaction ends (PostgreSQL)."""
    query = _BY_ID.with_for_update() if lock else _BY_ID
    row = conn.execute(query, {"domain_id": domain_id, "profile_id": profile_id}).first()
    return None if row is None else _decode(row)


def get_many(conn: Connection, domain_id: int, profile_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        select(profiles).where(profiles.c.domain_id == domain_id, profiles.c.profile_id.in_(list(profile_ids)))
    )
    return {row.profile_id: _decode(row) for row in rows}


def get_by_pks(conn: Connection, pks: Iterable[int]) -> dict[int, dict[str, Any]]:
    rows = conn.execute(select(profiles).where(profiles.c.id.in_(list(pks))))
    return {row.id: _decode(row) for row in rows}


def update_document(
    conn: Connection, pk: int, document: dict[str, Any], provenance: dict[str, int], now: float
) -> None:
    text = orjson.dumps(document)
    conn.execute(
        update(profiles)
        .where(profiles.c.id == pk)
        .values(
            document=text.decode(),
            provenance=orjson.dumps(provenance).decode(),
            size=len(text),
            updated_at=now,
        )
    )


def touch(conn: Connection, pk: int, now: float) -> None:
    conn.execute(update(profiles).where(profiles.c.id == pk).values(updated_at=now))


def delete_profile(conn: Connection, pk: int) -> None:
    """The profile, its keys, its objects and their key rows."""
    objects = select(profile_objects.c.id).where(profile_objects.c.profile_pk == pk)
    conn.execute(delete(object_keys).where(object_keys.c.object_pk.in_(objects)))
    conn.execute(delete(profile_objects).where(profile_objects.c.profile_pk == pk))
    conn.execute(delete(profile_keys).where(profile_keys.c.profile_pk == pk))
    conn.execute(delete(profiles).where(profiles.c.id == pk))


def find(conn: Connection, domain_id: int, key_name: str, key_value: str) -> list[int]:
    """The profiles that hold the key value."""
    params = {"domain_id": domain_id, "key_name": key_name, "key_value": key_value}
    return sorted({pk for (pk,) in conn.execute(_FIND, params)})


def key_pairs(conn: Connection, pk: int) -> list[tuple[str, str, int]]:
    """(key name, value, derived) of every key row of a profile."""
    query = select(profile_keys.c.key_name, profile_keys.c.key_value, profile_keys.c.derived).where(
        profile_keys.c.profile_pk == pk
    )
    return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]


def add_keys(
    conn: Connection, domain_id: int, pk: int, pairs: Iterable[tuple[str, str]], derived: int = 0
) -> None:
    """Add key rows, skipping the ones the profile already has."""
    wanted = set(pairs)
    if not wanted:
        return
    have = {(n, v) for n, v, d in key_pairs(conn, pk) if d == derived}
    rows = [
        {"domain_id": domain_id, "key_name": n, "key_value": v, "profile_pk": pk, "derived": derived}
        for n, v in sorted(wanted - have)
    ]
    if rows:
        conn.execute(insert(profile_keys), rows)


def replace_derived_keys(conn: Connection, domain_id: int, pk: int, pairs: set[tuple[str, str]]) -> None:
    """Make the profile's derived key rows exactly ``pairs``."""
    have = {(n, v) for n, v, d in key_pairs(conn, pk) if d == 1}
    stale = have - pairs
    if stale:
        conn.execute(
            delete(profile_keys).where(
                profile_keys.c.profile_pk == pk,
                profile_keys.c.derived == 1,
                or_(*(and_(profile_keys.c.key_name == n, profile_keys.c.key_value == v) for n, v in stale)),
            )
        )
    add_keys(conn, domain_id, pk, pairs - have, derived=1)


def remove_keys(conn: Connection, pk: int, key_name: str, values: list[str]) -> int:
    """Remove the profile's non-derived rows of a key; the number removed."""
    return conn.execute(
        delete(profile_keys).where(
            profile_keys.c.profile_pk == pk,
            profile_keys.c.derived == 0,
            profile_keys.c.key_name == key_name,
            profile_keys.c.key_value.in_(values),
        )
    ).rowcount


def move_keys(conn: Connection, from_pk: int, to_pk: int) -> None:
    """Give the non-derived keys of one profile to another (a merge); derived ones are dropped."""
    target = {(n, v) for n, v, d in key_pairs(conn, to_pk) if d == 0}
    moving = [(n, v) for n, v, d in key_pairs(conn, from_pk) if d == 0 and (n, v) not in target]
    conn.execute(delete(profile_keys).where(profile_keys.c.profile_pk == from_pk))
    domain_id = conn.execute(select(profiles.c.domain_id).where(profiles.c.id == to_pk)).scalar_one()
    add_keys(conn, domain_id, to_pk, moving)


def attribute_values(conn: Connection, domain_id: int, path: list[str], limit: int) -> list[str]:
    """The distinct values of one document member across the domain's profiles, the most
    frequent first. This reads every profile of the domain: it serves an introspection call,
    not a request path that scales with traffic."""
    if conn.dialect.name == "postgresql":
        value = func.cast(profiles.c.document, JSONB).op("#>>")(literal(path, ARRAY(Text)))
    else:
        value = func.json_extract(profiles.c.document, "$." + ".".join(f'"{p}"' for p in path))
    query = (
        select(value.label("value"), func.count().label("n"))
        .where(profiles.c.domain_id == domain_id, value.is_not(None))
        .group_by(value)
        .order_by(func.count().desc(), value)
        .limit(limit)
    )
    return [str(row.value) for row in conn.execute(query)]
