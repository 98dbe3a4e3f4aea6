"""The batch entry point of ingestion: many objects of one type, in one transaction per batch.

It applies the same decision tree as PutProfileObject (engine.ingest), object after object, in
order, so an object sees the profiles and keys the objects before it created. What changes is the
I/O: a batch reads the key values, objects and profiles it needs in a few queries, resolves every
object in memory, and writes its rows with executemany. Upload jobs and integrations call it.

Object types whose objects write to other standard objects (_asset, _case, _order, ...), carry a
SourceLastUpdatedTimestampFormat or cap objects per profile take the per-object path inside the
same transaction: their rules read the database between objects. (So here no object is ever stale:
only types with a source timestamp can be, and they take that path.) An object that cannot be
ingested is reported by its position in the batch, and the rest of the batch goes on.

On PostgreSQL a batch takes the domain's ingestion lock exclusively (single writers take it
shared), so it never races PutProfileObject on the same key values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from openprofiles.engine import profiles as profile_engine
from openprofiles.engine.calculated.observations import Written, on_objects_stored
from openprofiles.engine.ingest import (
    NO_PROFILE,
    Evaluated,
    apply_profile_targets,
    evaluate,
    inferred_document,
    put_profile_object,
    rank_of,
)
from openprofiles.engine.keys import PROFILE_ID_KEY, derived_keys
from openprofiles.engine.object_types import MAX_OBJECTS_PER_PROFILE, ObjectType
from openprofiles.errors import ServiceError
from openprofiles.store import bulk as store
from openprofiles.store import dead_letters as dead_letter_store
from openprofiles.store import locks


@dataclass
class BatchResult:
    ingested: int = 0
    profiles_created: int = 0
    dead_letters: int = 0
    #: (position in the batch, error message) of the objects that were refused
    errors: list[tuple[int, str]] = field(default_factory=list)


def _needs_per_object_path(object_type: ObjectType) -> bool:
    definition = object_type.definition
    return (
        bool(definition.get("SourceLastUpdatedTimestampFormat") or definition.get("MaxProfileObjectCount"))
        or any(f.target and not f.target.startswith("_profile.") for f in object_type.fields.values())
    )


def put_profile_objects(
    conn: Connection,
    domain: dict[str, Any],
    object_type: ObjectType,
    texts: Iterable[str],
    now: datetime,
) -> BatchResult:
    """Ingest one batch of objects (JSON texts) of one type."""
    result = BatchResult()
    locks.lock_domain(conn, domain["id"], exclusive=True)
    items: list[tuple[int, Evaluated]] = []
    for position, text in enumerate(texts):
        try:
            items.append((position, evaluate(object_type, text, domain["phone_region"])))
        except ServiceError as error:
            result.errors.append((position, error.message))
    if _needs_per_object_path(object_type):
        for position, item in items:
            try:
                outcome = put_profile_object(conn, domain, object_type, item.text, now)
            except ServiceError as error:
                result.errors.append((position, error.message))
                continue
            result.ingested += outcome.profile_id is not None
            result.profiles_created += outcome.created_profile
            result.dead_letters += outcome.profile_id is None
        return result
    _Batch(conn, domain, object_type, now).run([item for _, item in items], result)
    return result


class _Batch:
    """The in-memory state of one batch: what it read, and what it will write."""

    def __init__(self, conn: Connection, domain: dict[str, Any], object_type: ObjectType, now: datetime) -> None:
        self.conn, self.domain, self.object_type = conn, domain, object_type
        self.domain_id = domain["id"]
        self.region = domain["phone_region"]
        self.stamp = now.timestamp()
        days = object_type.definition.get("ExpirationDays", domain["default_expiration_days"])
        self.expires_at = (now + timedelta(days=days)).timestamp()
        self.profile_keys = [k for k in object_type.keys if k.is_profile]
        self.index: dict[tuple[str, str], set[int]] = {}  # (key, value) -> profile pks
        self.profiles: dict[int, dict[str, Any]] = {}  # pk -> profile row, as it will be written
        self.new_profiles: set[int] = set()
        self.changed: set[int] = set()
        self.stored: set[tuple[str, str, int]] = set()  # key rows held before the batch (not derived)
        self.new_keys: set[tuple[str, str, int]] = set()
        self.derived: dict[int, set[tuple[str, str]]] = {}  # pk -> the keys its document derives
        self.existing: dict[str, dict[str, Any]] = {}  # unique key -> stored object row
        self.writes: dict[str, dict[str, Any]] = {}  # unique key -> object row to write

    def run(self, items: list[Evaluated], result: BatchResult) -> None:
        self._read(items)
        fresh_ids = iter(store.allocate_profile_ids(self.conn, self._creations_needed(items)))
        for item in items:
            existing = self.writes.get(item.unique) or self.existing.get(item.unique)
            pk = self._find(item) or (existing["profile_pk"] if existing else None)
            created = False
            if pk is None:
                if not self.object_type.allow_profile_creation:
                    dead_letter_store.add_dead_letter(
                        self.conn, self.domain_id, self.object_type.name, item.text, NO_PROFILE, self.stamp
                    )
                    result.dead_letters += 1
                    continue
                pk = next(fresh_ids)
                self._create(pk, item)
                self._derive(pk)
                created = True
                result.profiles_created += 1
            if apply_profile_targets(self.object_type, item.values, self.profiles[pk]):
                self.changed.add(pk)
                self._derive(pk)
            self._object(item, pk, existing)
            for name, value in item.kept_keys(created):
                self.index.setdefault((name, value), set()).add(pk)
                if (name, value, pk) not in self.stored:
                    self.new_keys.add((name, value, pk))
            result.ingested += 1
        self._write()

    def _read(self, items: list[Evaluated]) -> None:
        wanted: dict[str, set[str]] = {}
        for item in items:
            for key, value in item.key_values.items():
                wanted.setdefault(key.name, set()).add(value)
        for name, values in wanted.items():
            if name == PROFILE_ID_KEY:
                for value, pk in store.profile_pks_by_id(self.conn, self.domain_id, values).items():
                    self.index[(name, value)] = {pk}
            else:
                for value, pk, is_derived in store.key_holders(self.conn, self.domain_id, name, values):
                    self.index.setdefault((name, value), set()).add(pk)
                    if not is_derived:
                        self.stored.add((name, value, pk))
        self.existing = store.objects_by_unique(
            self.conn, self.domain_id, self.object_type.name, {i.unique for i in items}
        )
        touched = {pk for holders in self.index.values() for pk in holders}
        touched |= {row["profile_pk"] for row in self.existing.values()}
        self.profiles = store.profiles_by_pk(self.conn, touched)
        self.derived = {pk: derived_keys(row["document"], self.region) for pk, row in self.profiles.items()}

    def _derive(self, pk: int) -> None:
        """Keep the index true as a profile's document changes its derived keys, as the
        one-by-one path does when it saves the profile between objects."""
        before, after = self.derived.get(pk, set()), derived_keys(self.profiles[pk]["document"], self.region)
        for name, value in before - after:
            if (name, value, pk) not in self.stored and (name, value, pk) not in self.new_keys:
                self.index.get((name, value), set()).discard(pk)
        for pair in after:
            self.index.setdefault(pair, set()).add(pk)
        self.derived[pk] = after

    def _creations_needed(self, items: list[Evaluated]) -> int:
        """An upper bound on the profiles this batch creates (one per object at most)."""
        return len(items) if self.object_type.allow_profile_creation else 0

    def _find(self, item: Evaluated) -> int | None:
        for secondary in (False, True):
            for key in self.profile_keys:
                value = item.key_values.get(key)
                if value is None or ("SECONDARY" in key.identifiers) != secondary:
                    continue
                holders = self.index.get((key.name, value), ())
                if len(holders) == 1:
                    return next(iter(holders))
        return None

    def _create(self, pk: int, item: Evaluated) -> None:
        document = inferred_document(self.object_type, item.values)
        self.profiles[pk] = {
            "id": pk,
            "profile_id": profile_engine.new_profile_id(),
            "document": document,
            "provenance": dict.fromkeys(document, rank_of(self.object_type)),
        }
        self.new_profiles.add(pk)

    def _object(self, item: Evaluated, pk: int, existing: dict[str, Any] | None) -> None:
        row = {
            "profile_pk": pk,
            "document": item.text,
            "size": len(item.text.encode()),
            "source_updated_at": item.stamp,
            "updated_at": self.stamp,
            "expires_at": self.expires_at,
            "keys": [(k.name, v) for k, v in item.key_values.items()],
        }
        self.writes[item.unique] = {
            **row,
            "id": existing["id"] if existing else None,
            "created_at": existing["created_at"] if existing else self.stamp,
            "unique_key": item.unique,
        }

    def _write(self) -> None:
        store.write_batch(
            self.conn,
            self.domain_id,
            self.object_type.name,
            new_profiles=[self.profiles[pk] for pk in sorted(self.new_profiles)],
            changed_profiles=[self.profiles[pk] for pk in sorted(self.changed - self.new_profiles)],
            derived={pk: self.derived[pk] for pk in self.changed | self.new_profiles},
            new_keys=sorted(self.new_keys),
            objects=list(self.writes.values()),
            now=self.stamp,
        )
        written = [
            Written(o["id"], o["profile_pk"], o["document"], o["updated_at"], o["expires_at"])
            for o in self.writes.values()
        ]
        on_objects_stored(self.conn, self.domain, self.object_type.name, self.object_type.fields, written)
        over = store.profiles_over(self.conn, {o["profile_pk"] for o in self.writes.values()}, MAX_OBJECTS_PER_PROFILE)
        for pk in over:
            store.evict_oldest(self.conn, pk, MAX_OBJECTS_PER_PROFILE)

