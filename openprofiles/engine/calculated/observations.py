"""Calculated attribute observations, kept as objects are written (REFERENCE 3.5: values are
kept up to date as objects arrive).

A value is `values.aggregate` over the `values.observe` outputs of the profile's objects. `observe`
depends on one object and on the parts of its definition that never change after creation
(Expression, Filter, TimestampSource, UseHistoricalData), so each object's observations are
computed once, when the object is written, and stored (store: calculated_observations): a read
then aggregates a few small rows of one profile instead of parsing its documents, and a write
costs the observations of that one object, never a recomputation over the domain.

Keeping them in step with the objects:

- PutProfileObject and batch ingestion (`on_objects_stored`) replace the observations of the
  objects they wrote, for the definitions of the objects' type;
- deleting objects (DeleteProfileObject, expiry, eviction, DeleteProfileObjectType,
  DeleteProfile) deletes their observations, and a merge moves them with the objects (store);
- creating a definition without UseHistoricalData builds its observations (`rebuild`) from the
  objects written since its creation (none, unless written in the same instant), in the create
  call; with UseHistoricalData a durable job (engine.calculated.backfill) observes the stored
  objects of its type in batches (`backfill_batch`), while new objects are observed as they are
  written;
- PutProfileObjectType rebuilds the definitions of the type, since an attribute that is a field
  is read through the field's Source, which the update may change.

UpdateCalculatedAttributeDefinition changes Conditions only (Range, ObjectCount, Threshold), all
applied at read time by `aggregate`, so observations survive it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection

from openprofiles.engine.calculated.definitions import Definition, compiled
from openprofiles.engine.calculated.values import Observation, Reader, StoredObject, observe
from openprofiles.engine.object_types import Field, get_object_type
from openprofiles.errors import ResourceNotFoundException
from openprofiles.store import calculated as store


@dataclass(frozen=True, slots=True)
class Written:
    """An object as it was just written: its rows' ids, its JSON text, its write and expiry
    time; the text parsed, when the writer has it; and whether the object is new (so it has no
    observations to replace)."""

    object_pk: int
    profile_pk: int
    text: str
    ingested_at: float
    expires_at: float | None
    document: dict[str, Any] | None = None
    fresh: bool = False


@dataclass(frozen=True, slots=True)
class DomainDefinitions:
    """A domain's definitions compiled, and their Readers per object type (with the fields they
    were made for: a changed object type is compiled anew, so a new dict)."""

    definitions: tuple[Definition, ...]
    readers: dict[str, tuple[dict[str, Field], list[tuple[Definition, Reader]]]]


#: by the domain's definition rows as stored, so that an ingestion parses nothing again; the
#: whole rows are the key, since ids and times alone repeat across databases
_COMPILED: dict[tuple[Any, ...], DomainDefinitions] = {}
_MAX_COMPILED = 1024


def domain_definitions(conn: Connection, domain_id: int) -> DomainDefinitions:
    """The domain's definitions as they are stored now, compiled."""
    rows = store.of_domain(conn, domain_id)
    key = tuple((r["id"], r["name"], r["definition"], r["created_at"], r["updated_at"]) for r in rows)
    found = _COMPILED.get(key)
    if found is None:
        if len(_COMPILED) >= _MAX_COMPILED:
            _COMPILED.clear()
        every = tuple(compiled({**r, "definition": orjson.loads(r["definition"])}) for r in rows)
        found = _COMPILED[key] = DomainDefinitions(every, {})
    return found


def definitions_of_type(conn: Connection, domain_id: int, type_name: str) -> list[Definition]:
    """The domain's definitions that read objects of ``type_name``."""
    return [d for d in domain_definitions(conn, domain_id).definitions if d.object_type == type_name]


def on_objects_stored(
    conn: Connection,
    domain: dict[str, Any],
    type_name: str,
    fields: dict[str, Field],
    written: list[Written],
    definitions: DomainDefinitions | None = None,
) -> None:
    """Replace the observations of objects of one type just written (``fields``: the type's),
    for the domain's ``definitions`` (read now when not given)."""
    found = domain_definitions(conn, domain["id"]) if definitions is None else definitions
    cached = found.readers.get(type_name)
    if cached is None or cached[0] is not fields:
        readers = [(d, Reader(d, fields)) for d in found.definitions if d.object_type == type_name]
        cached = found.readers[type_name] = (fields, readers)
    if not cached[1] or not written:
        return
    rows = []
    for item in written:
        document = item.document if item.document is not None else orjson.loads(item.text)
        stored = StoredObject(item.object_pk, document, item.ingested_at)
        for definition, reader in cached[1]:
            seen = observe(definition, reader, stored)
            if seen is not None:
                rows.append(_row(domain, definition, item.profile_pk, seen, item.expires_at))
    store.replace_observations(conn, [item.object_pk for item in written if not item.fresh], rows)


def rebuild(conn: Connection, domain: dict[str, Any], definition: Definition) -> None:
    """Make a definition's observations those of the stored objects of its type."""
    store.drop_observations(conn, definition.id)
    since = None if definition.use_historical_data else definition.created_at
    reader = Reader(definition, fields_of(conn, domain, definition.object_type))
    found = store.objects_of_type(conn, domain["id"], definition.object_type, since)
    store.add_observations(conn, _observed(domain, definition, reader, found))


def backfill_batch(conn: Connection, domain: dict[str, Any], definition: Definition, after: int, limit: int) -> int:
    """Observe up to ``limit`` stored objects of the definition's type after the object id
    ``after``, keeping the observations objects written meanwhile already have; the last id
    read (``after`` when none is left)."""
    reader = Reader(definition, fields_of(conn, domain, definition.object_type))
    found = store.objects_of_type(conn, domain["id"], definition.object_type, None, after, limit)
    store.add_missing_observations(conn, _observed(domain, definition, reader, found))
    return int(found[-1]["id"]) if found else after


def _observed(
    domain: dict[str, Any], definition: Definition, reader: Reader, objects: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    rows = []
    for found in objects:
        stored = StoredObject(found["id"], orjson.loads(found["document"]), found["updated_at"])
        seen = observe(definition, reader, stored)
        if seen is not None:
            rows.append(_row(domain, definition, found["profile_pk"], seen, found["expires_at"]))
    return rows


def rebuild_type(conn: Connection, domain: dict[str, Any], type_name: str) -> None:
    """Rebuild every definition that reads objects of ``type_name``."""
    for definition in definitions_of_type(conn, domain["id"], type_name):
        rebuild(conn, domain, definition)


def _row(
    domain: dict[str, Any], definition: Definition, profile_pk: int, seen: Observation, expires_at: float | None
) -> dict[str, Any]:
    return {
        "domain_id": domain["id"], "definition_id": definition.id, "object_pk": seen.object_id,
        "profile_pk": profile_pk, "observed_at": seen.timestamp, "value": seen.value, "expires_at": expires_at,
    }  # fmt: skip


def fields_of(conn: Connection, domain: dict[str, Any], type_name: str) -> dict[str, Field]:
    """The fields of an object type; none for a standard object, whose attributes are paths, or
    for a type not created yet (a template's type comes with its first object)."""
    if type_name.startswith("_"):
        return {}
    try:
        return get_object_type(conn, domain, type_name).fields
    except ResourceNotFoundException:
        return {}
