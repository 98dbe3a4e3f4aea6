"""Queries over profiles and their keys (the index behind search and ingestion's lookups)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from sqlalchemy import (
    ARRAY,
    Connection,
    Row,
    Text,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql import Select

from openprofiles.store.domains import BY_NAME
from openprofiles.store.query import Query, insert_ignoring_duplicates, run_many
from openprofiles.store.schema import (
    calculated_observations,
    domains,
    object_keys,
    profile_keys,
    profile_objects,
    profiles,
)

# The statements of the request paths, built once (see store.query).
_SELECT_BY_ID = select(profiles).where(
    profiles.c.domain_id == bindparam("domain_id"), profiles.c.profile_id == bindparam("profile_id")
)
_BY_ID = Query(_SELECT_BY_ID)
_BY_ID_LOCKED = Query(_SELECT_BY_ID.with_for_update())
_BY_PK = Query(select(profiles).where(profiles.c.id == bindparam("pk")))
_FIND = Query(
    select(profile_keys.c.profile_pk).where(
        profile_keys.c.domain_id == bindparam("domain_id"),
        profile_keys.c.key_name == bindparam("key_name"),
        profile_keys.c.key_value == bindparam("key_value"),
    )
)
#: a profile may hold a value twice (from its own fields and from an object): the holders are a
#: set of row ids, looked up in id order (no sort or de-duplication of whole rows)
_HOLDER_KEY = (
    profile_keys.c.key_name == bindparam("key_name"),
    profile_keys.c.key_value == bindparam("key_value"),
)
_HOLDER_COLUMNS = (profiles.c.id, profiles.c.profile_id, profiles.c.document)
#: The domain found by its name in the same statement. A profile holds a value once or twice
#: (from its document and from an object). SQLite walks the key's index in profile order and
#: groups the twice-held (no sort, a third faster than ``IN``); PostgreSQL plans the ``IN`` as
#: the same walk.
_HOLDERS_PAGE = Query({
    "sqlite": select(*_HOLDER_COLUMNS)
    .select_from(
        domains.join(profile_keys, profile_keys.c.domain_id == domains.c.id)
        .join(profiles, profiles.c.id == profile_keys.c.profile_pk)
    )
    .where(*BY_NAME, *_HOLDER_KEY, profile_keys.c.profile_pk > bindparam("after"))
    .group_by(profile_keys.c.profile_pk)
    .order_by(profile_keys.c.profile_pk)
    .limit(bindparam("limit")),
    "postgresql": select(*_HOLDER_COLUMNS)
    .where(
        profiles.c.id.in_(
            select(profile_keys.c.profile_pk)
            .join(domains, domains.c.id == profile_keys.c.domain_id)
            .where(*BY_NAME, *_HOLDER_KEY)
        ),
        profiles.c.id > bindparam("after"),
    )
    .order_by(profiles.c.id)
    .limit(bindparam("limit")),
})
_INSERT = Query(
    insert(profiles)
    .values({c: bindparam(c) for c in ("domain_id", "profile_id", "document", "provenance", "size", "created_at", "updated_at")})
    .returning(profiles.c.id)
)
UPDATE_STATEMENT = (
    update(profiles)
    .where(profiles.c.id == bindparam("pk"))
    .values(
        document=bindparam("document"),
        provenance=bindparam("provenance"),
        size=bindparam("size"),
        updated_at=bindparam("updated_at"),
    )
)
_UPDATE = Query(UPDATE_STATEMENT)
TOUCH_STATEMENT = update(profiles).where(profiles.c.id == bindparam("pk")).values(updated_at=bindparam("updated_at"))
_TOUCH = Query(TOUCH_STATEMENT)
_ADD_KEY = Query(insert_ignoring_duplicates(profile_keys))
_DERIVED_OF = Query(
    select(profile_keys.c.key_name, profile_keys.c.key_value).where(
        profile_keys.c.profile_pk == bindparam("pk"), profile_keys.c.derived == 1
    )
)
_DROP_DERIVED = Query(
    delete(profile_keys).where(
        profile_keys.c.profile_pk == bindparam("pk"),
        profile_keys.c.derived == 1,
        profile_keys.c.key_name == bindparam("key_name"),
        profile_keys.c.key_value == bindparam("key_value"),
    )
)


def _decode(row: Row[Any] | dict[str, Any]) -> dict[str, Any]:
    out = dict(row) if isinstance(row, dict) else dict(row._mapping)
    out["document"] = orjson.loads(out["document"])
    out["provenance"] = orjson.loads(out["provenance"])
    return out


def encode(document: dict[str, Any], provenance: dict[str, int]) -> dict[str, Any]:
    """The stored columns of a profile's document: its JSON, provenance and size."""
    text = orjson.dumps(document)
    return {"document": text.decode(), "provenance": orjson.dumps(provenance).decode(), "size": len(text)}


def insert_profile(
    conn: Connection,
    domain_id: int,
    profile_id: str,
    document: dict[str, Any],
    provenance: dict[str, int],
    now: float,
) -> int:
    params = {"domain_id": domain_id, "profile_id": profile_id, **encode(document, provenance)}
    return int(_INSERT.rows(conn, {**params, "created_at": now, "updated_at": now})[0][0])


def get(conn: Connection, domain_id: int, profile_id: str, lock: bool = False) -> dict[str, Any] | None:
    """One profile by id; ``lock`` holds its row until the transaction ends (PostgreSQL)."""
    query = _BY_ID_LOCKED if lock else _BY_ID
    rows = query.dicts(conn, {"domain_id": domain_id, "profile_id": profile_id})
    return _decode(rows[0]) if rows else None


def get_by_pk(conn: Connection, pk: int) -> dict[str, Any]:
    return _decode(_BY_PK.dicts(conn, {"pk": pk})[0])


def get_many(conn: Connection, domain_id: int, profile_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        select(profiles).where(profiles.c.domain_id == domain_id, profiles.c.profile_id.in_(list(profile_ids)))
    )
    return {row.profile_id: _decode(row) for row in rows}


def stream(
    conn: Connection, ids: Select[Any], batch: int, order: list[Any] | None = None
) -> Iterator[list[dict[str, Any]]]:
    """The profiles whose row ids ``ids`` (a query on ``profiles`` selecting ``id`` first)
    selects, whole, in ``order`` then row id order, ``batch`` at a time, without holding them
    all."""
    query = ids.with_only_columns(*profiles.c).order_by(*(order or []), profiles.c.id)
    result = conn.execution_options(yield_per=batch).execute(query)
    for part in result.partitions():
        yield [_decode(row) for row in part]


def get_by_pks(conn: Connection, pks: Iterable[int]) -> dict[int, dict[str, Any]]:
    rows = conn.execute(select(profiles).where(profiles.c.id.in_(list(pks))))
    return {row.id: _decode(row) for row in rows}


def update_document(
    conn: Connection, pk: int, document: dict[str, Any], provenance: dict[str, int], now: float
) -> None:
    _UPDATE.run(conn, {"pk": pk, **encode(document, provenance), "updated_at": now})


def touch(conn: Connection, pk: int, now: float) -> None:
    _TOUCH.run(conn, {"pk": pk, "updated_at": now})


def delete_profile(conn: Connection, pk: int) -> None:
    """The profile, its keys, its objects, their key rows and their calculated observations."""
    objects = select(profile_objects.c.id).where(profile_objects.c.profile_pk == pk)
    conn.execute(delete(calculated_observations).where(calculated_observations.c.profile_pk == pk))
    conn.execute(delete(object_keys).where(object_keys.c.object_pk.in_(objects)))
    conn.execute(delete(profile_objects).where(profile_objects.c.profile_pk == pk))
    conn.execute(delete(profile_keys).where(profile_keys.c.profile_pk == pk))
    conn.execute(delete(profiles).where(profiles.c.id == pk))


def holders_page(
    conn: Connection, account_id: str, region: str, domain_name: str, key_name: str, key_value: str,
    after: int | None, limit: int,
) -> list[dict[str, Any]]:
    """The profiles of the named domain holding a key value, in id order after ``after``, at
    most ``limit``: what a search shows of each (``id``, ``profile_id``, the parsed
    ``document``). No rows when there is no such domain."""
    params = {
        "account_id": account_id, "region": region, "name": domain_name,
        "key_name": key_name, "key_value": key_value, "after": after or 0, "limit": limit,
    }
    return [
        {"id": pk, "profile_id": profile_id, "document": orjson.loads(document)}
        for pk, profile_id, document in _HOLDERS_PAGE.rows(conn, params)
    ]


def find(conn: Connection, domain_id: int, key_name: str, key_value: str) -> list[int]:
    """The profiles that hold the key value."""
    params = {"domain_id": domain_id, "key_name": key_name, "key_value": key_value}
    return sorted({pk for (pk,) in _FIND.rows(conn, params)})


def key_pairs(conn: Connection, pk: int) -> list[tuple[str, str, int]]:
    """(key name, value, derived) of every key row of a profile."""
    query = select(profile_keys.c.key_name, profile_keys.c.key_value, profile_keys.c.derived).where(
        profile_keys.c.profile_pk == pk
    )
    return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]


def add_keys(
    conn: Connection, domain_id: int, pk: int, pairs: Iterable[tuple[str, str]], derived: int = 0
) -> None:
    """Add key rows; a row the profile already has is left as it is."""
    rows = [
        {"domain_id": domain_id, "key_name": n, "key_value": v, "profile_pk": pk, "derived": derived}
        for n, v in sorted(set(pairs))
    ]
    run_many(conn, _ADD_KEY, rows)


def swap_derived_keys(
    conn: Connection, domain_id: int, pk: int, before: set[tuple[str, str]], after: set[tuple[str, str]]
) -> None:
    """Change the profile's derived key rows from ``before`` to ``after``."""
    stale = [{"pk": pk, "key_name": n, "key_value": v} for n, v in sorted(before - after)]
    run_many(conn, _DROP_DERIVED, stale)
    add_keys(conn, domain_id, pk, after - before, derived=1)


def replace_derived_keys(conn: Connection, domain_id: int, pk: int, pairs: set[tuple[str, str]]) -> None:
    """Make the profile's derived key rows exactly ``pairs``."""
    have = {(n, v) for n, v in _DERIVED_OF.rows(conn, {"pk": pk})}
    swap_derived_keys(conn, domain_id, pk, have, pairs)


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
