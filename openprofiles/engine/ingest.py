"""PutProfileObject: an object finds (or creates) its profile, and feeds it (REFERENCE 1.4).

1. Every field's Source is evaluated on the object; every key's value is its fields' normalized
   values joined (a key with an empty field is absent). The UNIQUE key identifies the object: an
   object without it, or without any PROFILE key value, is refused.
2. The profile is looked up by the PROFILE keys that are not SECONDARY, in their order, then by
   the SECONDARY ones: a value held by exactly one profile decides; a value held by several is
   ambiguous and skipped. An object seen before stays on its profile unless a key now decides.
3. No profile: the type creates an *inferred* one when AllowProfileCreation is true; otherwise the
   object goes to the domain's dead letters and nothing else is written.
4. The object is stored (replacing the one with the same UNIQUE value; when the type has
   SourceLastUpdatedTimestampFormat, an object older than the stored one changes nothing), Target
   writes go to the standard objects by rank (see engine.profiles), and the keys are indexed:
   never LOOKUP_ONLY ones, NEW_ONLY ones only on a profile this object created.

Concurrent writers of objects that share key values are serialized on those values (PostgreSQL
advisory locks; SQLite serializes writers anyway), so one key value never yields two profiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection

from openprofiles.engine import profiles as profile_engine
from openprofiles.engine.calculated.observations import (
    DomainDefinitions,
    Written,
    on_objects_stored,
)
from openprofiles.engine.keys import PROFILE_ID_KEY, derived_keys, derived_sources
from openprofiles.engine.matching.incremental import on_profile_written
from openprofiles.engine.normalize import join_key, normalize
from openprofiles.engine.object_types import MAX_OBJECTS_PER_PROFILE, Key, ObjectType
from openprofiles.engine.templates import standard_objects
from openprofiles.engine.timestamps import parse_source_timestamp
from openprofiles.errors import BadRequestException
from openprofiles.store import dead_letters as dead_letter_store
from openprofiles.store import locks
from openprofiles.store import objects as object_store
from openprofiles.store import profiles as profile_store

_ENUMS = {
    "Gender": {"MALE", "FEMALE", "UNSPECIFIED"},
    "PartyType": {"INDIVIDUAL", "BUSINESS", "OTHER"},
    "ProfileType": {"PROFILE", "ACCOUNT_PROFILE"},
}


@dataclass(frozen=True, slots=True)
class Outcome:
    unique_key: str
    profile_id: str | None  # None: the object went to the dead letters
    created_profile: bool


@dataclass(frozen=True, slots=True)
class Evaluated:
    """An object read through its type: field values, key values, identity and source time."""

    text: str
    record: dict[str, Any]  # the text parsed
    values: dict[str, str | None]
    key_values: dict[Key, str]
    unique: str
    stamp: float | None

    def kept_keys(self, created: bool) -> list[tuple[str, str]]:
        """The key values stored on the profile: never LOOKUP_ONLY, NEW_ONLY only on creation."""
        return [
            (k.name, v)
            for k, v in self.key_values.items()
            if "LOOKUP_ONLY" not in k.identifiers and (created or "NEW_ONLY" not in k.identifiers)
        ]


def evaluate(object_type: ObjectType, text: str, default_region: str) -> Evaluated:
    """Read an object through its type; BadRequestException when it cannot be ingested."""
    try:
        record = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise BadRequestException("Object is not a valid JSON document") from None
    if not isinstance(record, dict):
        raise BadRequestException("Object must be a JSON object")
    values = {name: field.source.evaluate(record) for name, field in object_type.fields.items()}
    key_values = _key_values(object_type, values, default_region)
    unique = key_values.get(object_type.unique_key)
    if unique is None:
        raise BadRequestException(
            f"Object has no value for the UNIQUE key {object_type.unique_key.name} of {object_type.name}"
        )
    if not any(key_values.get(k) for k in object_type.keys if k.is_profile):
        raise BadRequestException(f"Object has no value for any PROFILE key of {object_type.name}")
    stamp = _source_timestamp(object_type, values)
    return Evaluated(text, record, values, key_values, unique, stamp)


NO_PROFILE = "No profile matches the object's PROFILE keys, and its object type may not create one"


def put_profile_object(
    conn: Connection,
    domain: dict[str, Any],
    object_type: ObjectType,
    text: str,
    now: datetime,
    definitions: DomainDefinitions | None = None,
) -> Outcome:
    """Ingest one object; ``definitions``: the domain's calculated attribute definitions, when
    the caller has them (read otherwise)."""
    region = domain["phone_region"]
    found = evaluate(object_type, text, region)
    values, key_values, unique, stamp = found.values, found.key_values, found.unique, found.stamp
    profile_keys = [k for k in object_type.keys if k.is_profile]
    locks.lock_values(conn, domain["id"], [(object_type.name, unique)] + [(k.name, v) for k, v in key_values.items() if k.is_profile])
    existing = object_store.get(conn, domain["id"], object_type.name, unique)
    if is_stale(existing, stamp):
        return Outcome(unique, None, False)  # older than what we hold: nothing changes

    profile_pk = _find_profile(conn, domain["id"], profile_keys, key_values)
    if profile_pk is None and existing is not None:
        profile_pk = existing.profile_pk
    stamp_now = now.timestamp()
    if profile_pk is None:
        if not object_type.allow_profile_creation:
            dead_letter_store.add_dead_letter(conn, domain["id"], object_type.name, text, NO_PROFILE, stamp_now)
            return Outcome(unique, None, False)
        # a new profile is written once, with its whole first document
        row: dict[str, Any] = {"profile_id": profile_engine.new_profile_id(), "document": inferred_document(object_type, values)}
        row["provenance"] = dict.fromkeys(row["document"], rank_of(object_type))
        apply_profile_targets(object_type, values, row)
        row["id"] = profile_store.insert_profile(
            conn, domain["id"], row["profile_id"], row["document"], row["provenance"], stamp_now
        )
        profile_store.add_keys(conn, domain["id"], row["id"], derived_keys(row["document"], region), derived=1)
        on_profile_written(conn, domain, row["id"], row["profile_id"], row["document"], created=True)
        created = True
    else:
        row = profile_store.get_by_pk(conn, profile_pk)
        sources = derived_sources(row["document"])
        if apply_profile_targets(object_type, values, row):
            profile_store.update_document(conn, row["id"], row["document"], row["provenance"], stamp_now)
            profile_store.swap_derived_keys(
                conn, domain["id"], row["id"], derived_keys(sources, region), derived_keys(row["document"], region)
            )
            on_profile_written(conn, domain, row["id"], row["profile_id"], row["document"])
        else:
            profile_store.touch(conn, row["id"], stamp_now)
        created = False
    profile_pk = row["id"]
    _apply_standard_targets(conn, domain, object_type, values, key_values, profile_pk, now, definitions)
    object_pk, expires_at = _store_object(conn, domain, object_type, text, unique, stamp, existing, profile_pk, now)
    object_store.replace_keys(
        conn, domain["id"], object_pk, [(k.name, v) for k, v in key_values.items()], fresh=existing is None
    )
    written = Written(
        object_pk, profile_pk, text, stamp_now, expires_at, found.record, fresh=existing is None
    )
    on_objects_stored(conn, domain, object_type.name, object_type.fields, [written], definitions)
    profile_store.add_keys(conn, domain["id"], profile_pk, found.kept_keys(created))
    if not created:
        _evict(conn, object_type, profile_pk)
    return Outcome(unique, row["profile_id"], created)


def is_stale(existing: Any, stamp: float | None) -> bool:
    """An object older (by its source timestamp) than the stored one with its UNIQUE value."""
    return (
        existing is not None
        and stamp is not None
        and existing.source_updated_at is not None
        and stamp < existing.source_updated_at
    )


def rank_of(object_type: ObjectType) -> int:
    return int(object_type.definition.get("SourcePriority", profile_engine.UNRANKED))


def _key_values(object_type: ObjectType, values: dict[str, str | None], region: str) -> dict[Key, str]:
    found: dict[Key, str] = {}
    for key in object_type.keys:
        parts = [
            normalize(values[name], object_type.fields[name].content_type, default_region=region)
            if values[name] is not None
            else None
            for name in key.field_names
        ]
        value = join_key(parts)
        if value is not None:
            found[key] = value
    return found


def _find_profile(
    conn: Connection, domain_id: int, profile_keys: list[Key], key_values: dict[Key, str]
) -> int | None:
    for secondary in (False, True):
        for key in profile_keys:
            value = key_values.get(key)
            if value is None or ("SECONDARY" in key.identifiers) != secondary:
                continue
            if key.name == PROFILE_ID_KEY:
                row = profile_store.get(conn, domain_id, value)
                matches = [row["id"]] if row else []
            else:
                matches = profile_store.find(conn, domain_id, key.name, value)
            if len(matches) == 1:
                return matches[0]
    return None


def inferred_document(object_type: ObjectType, values: dict[str, str | None]) -> dict[str, Any]:
    """The first document of a profile made by ingestion: at creation only, the first
    EMAIL_ADDRESS and PHONE_NUMBER fields fill EmailAddress and PhoneNumber even without a Target
    (the Target writes follow)."""
    document: dict[str, Any] = {}
    for content_type, target in (("EMAIL_ADDRESS", "EmailAddress"), ("PHONE_NUMBER", "PhoneNumber")):
        first = next(
            (values[f.name] for f in object_type.fields.values() if f.content_type == content_type and values[f.name]),
            None,
        )
        if first:
            document[target] = first
    return document


def apply_profile_targets(object_type: ObjectType, values: dict[str, str | None], row: dict[str, Any]) -> bool:
    """Write the object's _profile Targets into the profile row's document, by rank; whether
    anything changed."""
    rank = rank_of(object_type)
    document, provenance = row["document"], row["provenance"]
    changed = False
    for name, field in object_type.fields.items():
        value = values[name]
        if value is None or field.target is None or not field.target.startswith("_profile."):
            continue
        path = field.target[len("_profile.") :]
        if path == "SourceLastUpdatedTimestamp" or (path in _ENUMS and value not in _ENUMS[path]):
            continue
        if rank <= provenance.get(path, profile_engine.UNRANKED + 1):
            if profile_engine.value_at(document, path) != value:
                profile_engine.set_path(document, path, value)
                changed = True
            provenance[path] = rank
    return changed


def _apply_standard_targets(
    conn: Connection,
    domain: dict[str, Any],
    object_type: ObjectType,
    values: dict[str, str | None],
    key_values: dict[Key, str],
    profile_pk: int,
    now: datetime,
    definitions: DomainDefinitions | None,
) -> None:
    """Writes to _asset, _case, _order, ...: the record named by the key that carries the
    object's identifier is updated, or created with a new system id."""
    catalogue = standard_objects()
    writes: dict[str, dict[str, str]] = {}
    for name, field in object_type.fields.items():
        if field.target and not field.target.startswith("_profile.") and values[name] is not None:
            root, _, path = field.target.partition(".")
            writes.setdefault(root, {})[path] = values[name]  # type: ignore[assignment]
    for root, fields in writes.items():
        standard = catalogue[root]
        identifier = standard["identifier"]
        carrying = [(k, v) for k, v in key_values.items() if identifier in k.identifiers]
        record = None
        for key, value in carrying:
            found = object_store.find_by_key(conn, domain["id"], root, key.name, value)
            if len(found) > 1:
                raise BadRequestException(f"Key {key.name} matches several {root} records: ambiguous")
            if found:
                record = found[0]
                break
        document = orjson.loads(record.document) if record else {}
        system_id = record.unique_key if record else profile_engine.new_profile_id()
        document[standard["id"]] = system_id
        for path, value in fields.items():
            _set_target(document, path, value)
        text = orjson.dumps(document).decode()
        stamp = now.timestamp()
        if record is None:
            pk = object_store.insert_object(conn, {
                "domain_id": domain["id"], "profile_pk": profile_pk, "object_type_name": root,
                "unique_key": system_id, "document": text, "size": len(text),
                "created_at": stamp, "updated_at": stamp,
            })
        else:
            pk = record.id
            object_store.update_object(conn, pk, {
                "profile_pk": profile_pk, "document": text, "size": len(text), "updated_at": stamp,
                "source_updated_at": None, "expires_at": None,
            })
        id_key = "_" + standard["id"][0].lower() + standard["id"][1:]
        object_store.replace_keys(conn, domain["id"], pk, [(k.name, v) for k, v in carrying] + [(id_key, system_id)])
        on_objects_stored(conn, domain, root, {}, [Written(pk, profile_pk, text, stamp, None)], definitions)


def _set_target(document: dict[str, Any], path: str, value: str) -> None:
    """Write one Target value; ``List[].Member`` spreads a Source that read every element of an
    array (a JSON list, see engine.mapping) over the list's items, one per element."""
    if "[]." not in path:
        profile_engine.set_path(document, path, value)
        return
    name, _, member = path.partition("[].")
    try:
        values = orjson.loads(value)
    except orjson.JSONDecodeError:
        values = [value]
    items = document.setdefault(name, [])
    for index, item in enumerate(values if isinstance(values, list) else [values]):
        while len(items) <= index:
            items.append({})
        if item is not None:
            items[index][member] = item if isinstance(item, str) else orjson.dumps(item).decode()


def _store_object(
    conn: Connection,
    domain: dict[str, Any],
    object_type: ObjectType,
    text: str,
    unique: str,
    stamp: float | None,
    existing: Any,
    profile_pk: int,
    now: datetime,
) -> tuple[int, float]:
    """The object's row id and expiry time."""
    days = object_type.definition.get("ExpirationDays", domain["default_expiration_days"])
    values = {
        "profile_pk": profile_pk,
        "document": text,
        "size": len(text.encode()),
        "source_updated_at": stamp,
        "updated_at": now.timestamp(),
        "expires_at": (now + timedelta(days=days)).timestamp(),
    }
    if existing is not None:
        object_store.update_object(conn, existing.id, values)
        return int(existing.id), values["expires_at"]
    return object_store.insert_object(conn, {
        **values, "domain_id": domain["id"], "object_type_name": object_type.name,
        "unique_key": unique, "created_at": now.timestamp(),
    }), values["expires_at"]


def _source_timestamp(object_type: ObjectType, values: dict[str, str | None]) -> float | None:
    pattern = object_type.definition.get("SourceLastUpdatedTimestampFormat")
    if not pattern:
        return None
    for name, field in object_type.fields.items():
        if field.target == "_profile.SourceLastUpdatedTimestamp" and values[name]:
            return parse_source_timestamp(values[name], pattern)
    return None


def _evict(conn: Connection, object_type: ObjectType, profile_pk: int) -> None:
    """MaxProfileObjectCount per type, and the profile-wide quota: the oldest objects go. (A
    profile this object created holds one object, so it needs no check.)"""
    cap = object_type.definition.get("MaxProfileObjectCount")
    if cap:
        object_store.delete_objects(conn, object_store.oldest_beyond(conn, profile_pk, object_type.name, cap))
    object_store.delete_objects(conn, object_store.oldest_beyond(conn, profile_pk, None, MAX_OBJECTS_PER_PROFILE))

