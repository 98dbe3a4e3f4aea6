"""MergeProfiles: several profiles become one, in one transaction (REFERENCE 2.4).

The objects and the keys of the merged profiles move to the main profile, and the merged profiles
are deleted. Each standard field is the main profile's value when it has one, else the value of the
first merged profile (in the order given) that has it; FieldSourceProfileIds names, per field (an
address as a whole, each attribute on its own), the profile whose value is taken even when that
value is empty. Identity resolution's auto-merge goes through this same function.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from openprofiles.engine import profiles as profile_engine
from openprofiles.errors import BadRequestException
from openprofiles.store import objects as object_store
from openprofiles.store import profiles as store


def merge_profiles(
    conn: Connection,
    domain: dict[str, Any],
    main_id: str,
    merged_ids: list[str],
    field_sources: dict[str, Any],
    now: datetime,
) -> None:
    merged_ids = [p for p in dict.fromkeys(merged_ids) if p != main_id]
    if not merged_ids:
        raise BadRequestException("ProfileIdsToBeMerged must name a profile other than MainProfileId")
    rows = {
        pid: profile_engine.require_profile(conn, domain, pid, lock=True)
        for pid in sorted([main_id, *merged_ids])
    }
    for field, source in _flat_sources(field_sources):
        if source not in rows:
            raise BadRequestException(
                f"FieldSourceProfileIds.{field}: {source} is neither the main profile nor merged"
            )
    main = rows[main_id]
    order = [rows[main_id]] + [rows[p] for p in merged_ids]
    document, provenance = _merged_document(order, field_sources, rows)
    main["document"], main["provenance"] = document, provenance
    for pid in merged_ids:
        gone = rows[pid]
        object_store.move_objects(conn, gone["id"], main["id"])
        store.move_keys(conn, gone["id"], main["id"])
        store.delete_profile(conn, gone["id"])
    profile_engine.save(conn, domain, main, now)


def _flat_sources(field_sources: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = [(k, v) for k, v in field_sources.items() if k != "Attributes"]
    pairs += [(f"Attributes.{k}", v) for k, v in field_sources.get("Attributes", {}).items()]
    return pairs


def _value(row: dict[str, Any], path: str) -> Any:
    head, _, rest = path.partition(".")
    value = row["document"].get(head)
    if rest:
        value = value.get(rest) if isinstance(value, dict) else None
    return None if value in ("", {}, []) else value


def _merged_document(
    order: list[dict[str, Any]], field_sources: dict[str, Any], rows: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, int]]:
    """Each field from its chosen source, else from the first profile that has it."""
    document: dict[str, Any] = {}
    provenance: dict[str, int] = {}
    chosen = dict(_flat_sources(field_sources))
    paths: list[str] = [f for f in profile_engine.FIELDS if f != "Attributes"]
    paths += [f"Attributes.{k}" for k in dict.fromkeys(k for r in order for k in r["document"].get("Attributes", {}))]
    for path in paths:
        if path in chosen:
            source: dict[str, Any] | None = rows[chosen[path]]
        else:
            source = next((row for row in order if _value(row, path) is not None), None)
        if source is None or _value(source, path) is None:
            continue
        profile_engine.set_path(document, path, _value(source, path))
        for key, rank in source["provenance"].items():
            if key == path or key.startswith(path + "."):
                provenance[key] = rank
    return document, provenance
