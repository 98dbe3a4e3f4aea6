"""Reading and deleting a profile's objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from openprofiles.engine.keys import normalized_values
from openprofiles.engine.profiles import require_profile
from openprofiles.errors import ResourceNotFoundException
from openprofiles.store import objects as store
from openprofiles.store.pagination import decode_token, encode_token


def list_objects(
    conn: Connection,
    domain: dict[str, Any],
    profile_id: str,
    type_name: str,
    key_filter: dict[str, Any] | None,
    token: str | None,
    limit: int,
    now: datetime,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the profile's unexpired objects of a type, oldest first. An ObjectFilter
    matches the object's key values, normalized as the key's values are."""
    row = require_profile(conn, domain, profile_id)
    after = decode_token("objects", token, 1)[0] if token else None
    wanted = None
    if key_filter is not None:
        name = key_filter["KeyName"]
        wanted = (name, normalized_values(conn, domain, name, key_filter["Values"]) or [""])
    rows = store.list_page(conn, row["id"], type_name, wanted, now.timestamp(), after, limit + 1)
    items = [
        {"ObjectTypeName": r.object_type_name, "ProfileObjectUniqueKey": r.unique_key, "Object": r.document}
        for r in rows[:limit]
    ]
    return items, encode_token("objects", [rows[limit - 1].id]) if len(rows) > limit else None


def delete_object(
    conn: Connection, domain: dict[str, Any], profile_id: str, type_name: str, unique_key: str
) -> None:
    row = require_profile(conn, domain, profile_id, lock=True)
    found = store.get(conn, domain["id"], type_name, unique_key)
    if found is None or found.profile_pk != row["id"]:
        raise ResourceNotFoundException(
            f"Profile {profile_id} has no {type_name} object with unique key {unique_key}"
        )
    store.delete_objects(conn, [found.id])
