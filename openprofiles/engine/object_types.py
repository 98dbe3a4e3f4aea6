"""Object types: validated when defined, compiled once, used by ingestion.

PutProfileObjectType is checked against every documented rule (REFERENCE 1.2, 1.3) and a
violation is a BadRequestException naming the member (``Fields.email.Target``, ``Keys._email``):

- a TemplateId must exist, and then AllowProfileCreation, SourceLastUpdatedTimestampFormat,
  Fields and Keys come from the template and may not be sent;
- field names start with a letter (letters, digits, ``_ . -``), at most 250, never ``Tags``;
  every Source compiles; every Target names a real field of a standard object, never a
  system-managed id, never both of Gender/GenderString or PartyType/PartyTypeString;
  ``_profile.SourceLastUpdatedTimestamp`` needs SourceLastUpdatedTimestampFormat;
- exactly one key is UNIQUE and at least one is PROFILE; UNIQUE is never LOOKUP_ONLY or NEW_ONLY;
  a PROFILE key with LOOKUP_ONLY/NEW_ONLY needs a plain PROFILE key beside it (unless the type
  creates no profiles); SECONDARY needs PROFILE; a Target on a standard object X needs a key
  with X's identifier; every FieldNames entry is a field of the type; at most 10 key entries;
  key names start with a letter, or are predefined ``_`` names; ``_profileId``, ``_assetId``,
  ``_caseId``, ``_orderId`` are LOOKUP_ONLY; a key name the domain already uses keeps its
  ContentTypes.

An ObjectTypeName equal to a TemplateId may be used by PutProfileObject without being defined:
it is then created from the template on first use (an *implicit* type), listed and deletable.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from openprofiles.engine.keys import KEY_CONTENT_TYPES, LOOKUP_ONLY_KEYS, PREDEFINED_KEYS
from openprofiles.engine.mapping import Source, SourceError, compile_source
from openprofiles.engine.templates import get_template, standard_objects
from openprofiles.errors import BadRequestException, ResourceNotFoundException
from openprofiles.store import object_types as store

MAX_FIELDS = 250
MAX_KEYS = 10
#: objects one profile may hold (the service quota); reported as MaxAvailableProfileObjectCount
MAX_OBJECTS_PER_PROFILE = 1000
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")
_KEY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
_TEMPLATE_MEMBERS = ("AllowProfileCreation", "SourceLastUpdatedTimestampFormat", "Fields", "Keys")
#: the members a definition keeps, in the order GetProfileObjectType answers them
DEFINITION_MEMBERS = (
    "Description", "TemplateId", "ExpirationDays", "EncryptionKey", "AllowProfileCreation",
    "SourceLastUpdatedTimestampFormat", "MaxProfileObjectCount", "SourcePriority", "Fields", "Keys",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    source: Source
    target: str | None
    content_type: str


@dataclass(frozen=True, slots=True)
class Key:
    name: str
    identifiers: frozenset[str]
    field_names: tuple[str, ...]

    @property
    def is_profile(self) -> bool:
        return "PROFILE" in self.identifiers


@dataclass(frozen=True)
class ObjectType:
    """A compiled object type, as ingestion uses it."""

    id: int
    name: str
    definition: dict[str, Any]
    fields: dict[str, Field]
    keys: tuple[Key, ...]
    created_at: float
    updated_at: float

    @functools.cached_property
    def unique_key(self) -> Key:
        return next(k for k in self.keys if "UNIQUE" in k.identifiers)

    @property
    def allow_profile_creation(self) -> bool:
        return bool(self.definition.get("AllowProfileCreation", False))


def _bad(path: str, problem: str) -> BadRequestException:
    return BadRequestException(f"Invalid value at '{path}': {problem}")


def resolve_definition(request: dict[str, Any]) -> dict[str, Any]:
    """The definition a PutProfileObjectType request stands for (a template fills its part)."""
    definition = {k: request[k] for k in DEFINITION_MEMBERS if request.get(k) is not None}
    template_id = definition.get("TemplateId")
    if template_id is None:
        if "Fields" not in definition or "Keys" not in definition:
            missing = "Fields" if "Fields" not in definition else "Keys"
            raise _bad(missing, "Fields and Keys are required unless a TemplateId is given")
        return definition
    template = get_template(template_id)
    if template is None:
        raise _bad("TemplateId", f"there is no template {template_id}")
    for member in _TEMPLATE_MEMBERS:
        if member in definition:
            raise _bad(member, f"it comes from template {template_id} and cannot be set with it")
    definition["TemplateId"] = template["TemplateId"]
    definition.update({m: template[m] for m in _TEMPLATE_MEMBERS if m in template})
    return definition


def compile_definition(definition: dict[str, Any]) -> tuple[dict[str, Field], tuple[Key, ...]]:
    """Check a definition against every rule and compile its Sources; BadRequest otherwise."""
    fields = _compile_fields(definition)
    keys = _compile_keys(definition, fields)
    _check_targets_have_identifiers(fields, keys)
    return fields, keys


def _compile_fields(definition: dict[str, Any]) -> dict[str, Field]:
    raw: dict[str, dict[str, str]] = definition.get("Fields", {})
    if len(raw) > MAX_FIELDS:
        raise _bad("Fields", f"an object type has at most {MAX_FIELDS} fields")
    catalogue = standard_objects()
    fields: dict[str, Field] = {}
    targets: set[str] = set()
    for name, spec in raw.items():
        path = f"Fields.{name}"
        if not _FIELD_NAME.match(name) or name.lower() == "tags":
            raise _bad(path, "a field name starts with a letter and has only letters, digits, _ . -")
        if "Source" not in spec:
            raise _bad(f"{path}.Source", "every field needs a Source")
        try:
            source = compile_source(spec["Source"])
        except SourceError as exc:
            raise _bad(f"{path}.Source", str(exc)) from None
        target = spec.get("Target")
        if target is not None:
            _check_target(catalogue, target, f"{path}.Target", definition)
            targets.add(target)
        fields[name] = Field(name, source, target, spec.get("ContentType", "STRING"))
    for pair in catalogue["_profile"].get("exclusive", []):
        both = [t for t in (f"_profile.{p}" for p in pair) if t in targets]
        if len(both) == 2:
            raise _bad("Fields", f"{pair[0]} and {pair[1]} cannot both be targets")
    return fields


def _check_target(catalogue: dict[str, Any], target: str, path: str, definition: dict[str, Any]) -> None:
    root, _, rest = target.partition(".")
    standard = catalogue.get(root)
    if standard is None or not rest:
        raise _bad(path, f"a Target is _profile.<field> or another standard object, got {target}")
    first = rest.split(".", 1)[0].split("[", 1)[0]
    if first == standard["id"] or first in standard.get("forbidden", ()):
        raise _bad(path, f"{target} is managed by the service and cannot be a Target")
    if first == "Attributes":
        if rest.count(".") < 1 or not rest.split(".", 1)[1]:
            raise _bad(path, "a custom attribute Target is <object>.Attributes.<name>")
        return
    known = standard.get("fields")
    if known is not None and rest not in known and first not in known:
        raise _bad(path, f"{root} has no field {rest}")
    if target == "_profile.SourceLastUpdatedTimestamp" and not definition.get(
        "SourceLastUpdatedTimestampFormat"
    ):
        raise _bad(path, "this Target needs SourceLastUpdatedTimestampFormat on the object type")


def _compile_keys(definition: dict[str, Any], fields: dict[str, Field]) -> tuple[Key, ...]:
    raw: dict[str, list[dict[str, Any]]] = definition.get("Keys", {})
    keys: list[Key] = []
    for name, entries in raw.items():
        path = f"Keys.{name}"
        if name.lower() == "tags" or not (_KEY_NAME.match(name) or name in PREDEFINED_KEYS):
            raise _bad(path, "a key name starts with a letter, or is a predefined _ key")
        for entry in entries:
            identifiers = frozenset(entry.get("StandardIdentifiers", ()))
            names = tuple(entry.get("FieldNames", ()))
            if not names:
                raise _bad(f"{path}.FieldNames", "a key names at least one field")
            for field in names:
                if field not in fields:
                    raise _bad(f"{path}.FieldNames", f"{field} is not a field of this object type")
            if "UNIQUE" in identifiers and identifiers & {"LOOKUP_ONLY", "NEW_ONLY"}:
                raise _bad(f"{path}.StandardIdentifiers", "UNIQUE cannot be LOOKUP_ONLY or NEW_ONLY")
            if identifiers & {"SECONDARY", "LOOKUP_ONLY", "NEW_ONLY"} and "PROFILE" not in identifiers:
                raise _bad(f"{path}.StandardIdentifiers", "SECONDARY, LOOKUP_ONLY and NEW_ONLY go with PROFILE")
            if name in LOOKUP_ONLY_KEYS and "LOOKUP_ONLY" not in identifiers:
                raise _bad(f"{path}.StandardIdentifiers", f"{name} must be LOOKUP_ONLY")
            keys.append(Key(name, identifiers, names))
    if len(keys) > MAX_KEYS:
        raise _bad("Keys", f"an object type has at most {MAX_KEYS} key entries")
    unique = [k for k in keys if "UNIQUE" in k.identifiers]
    if len(unique) != 1:
        raise _bad("Keys", f"exactly one key must be UNIQUE, found {len(unique)}")
    profile = [k for k in keys if k.is_profile]
    if not profile:
        raise _bad("Keys", "at least one key must be PROFILE")
    plain = [k for k in profile if not k.identifiers & {"LOOKUP_ONLY", "NEW_ONLY"} or k.name == "_profileId"]
    if definition.get("AllowProfileCreation") and len(plain) < len(profile) and not plain:
        raise _bad("Keys", "a PROFILE key with LOOKUP_ONLY or NEW_ONLY needs a plain PROFILE key beside it")
    return tuple(keys)


def _check_targets_have_identifiers(fields: dict[str, Field], keys: tuple[Key, ...]) -> None:
    catalogue = standard_objects()
    carried = set().union(*(k.identifiers for k in keys))
    for field in fields.values():
        if field.target is None:
            continue
        identifier = catalogue[field.target.split(".", 1)[0]].get("identifier")
        if identifier and identifier not in carried:
            raise _bad(
                f"Fields.{field.name}.Target",
                f"a Target on {field.target.split('.', 1)[0]} needs a key carrying {identifier}",
            )


def key_content_types(fields: dict[str, Field], keys: tuple[Key, ...]) -> dict[str, tuple[str, ...]]:
    """Key name -> the ContentTypes of its fields, in order (one entry per key name)."""
    found: dict[str, tuple[str, ...]] = {}
    for key in keys:
        found.setdefault(key.name, tuple(fields[f].content_type for f in key.field_names))
    return found


def put_object_type(
    conn: Connection, domain: dict[str, Any], name: str, request: dict[str, Any], now: datetime
) -> ObjectType:
    """Create or replace an object type, after checking it; keep the domain's key registry."""
    if name.startswith("_"):
        raise _bad("ObjectTypeName", "names starting with _ are reserved for standard objects")
    definition = resolve_definition(request)
    fields, keys = compile_definition(definition)
    types = key_content_types(fields, keys)
    registered = store.key_types(conn, domain["id"], excluding=name)
    for key_name, content in types.items():
        fixed = KEY_CONTENT_TYPES.get(key_name)
        if fixed is not None and any(c != fixed for c in content):
            raise _bad(f"Keys.{key_name}", f"{key_name} is a predefined key of ContentType {fixed}")
        if key_name in registered and registered[key_name] != content:
            raise _bad(
                f"Keys.{key_name}",
                f"the domain already uses this key with ContentTypes {list(registered[key_name])}",
            )
    store.upsert(conn, domain["id"], name, definition, now.timestamp())
    store.register_keys(conn, domain["id"], types)
    return _compiled(store.get(conn, domain["id"], name))  # type: ignore[arg-type]


def get_object_type(conn: Connection, domain: dict[str, Any], name: str) -> ObjectType:
    row = store.get(conn, domain["id"], name)
    if row is None:
        raise ResourceNotFoundException(f"Object type {name} does not exist in domain {domain['domain_name']}")
    return _compiled(row)


def stored_object_type(conn: Connection, domain: dict[str, Any], name: str) -> ObjectType | None:
    """The named type, if the domain has it."""
    row = store.get(conn, domain["id"], name)
    return None if row is None else _compiled(row)


def implicit_object_type(conn: Connection, domain: dict[str, Any], name: str, now: datetime) -> ObjectType:
    """For a name the domain has no type of: the implicit type of the template with that name,
    made now (its first use by ingestion); ResourceNotFoundException when there is no such
    template."""
    template = get_template(name)
    if template is None or name.startswith("_"):
        raise ResourceNotFoundException(f"Object type {name} does not exist in domain {domain['domain_name']}")
    request = {"Description": f"Implicit object type of template {name}", "TemplateId": name}
    return put_object_type(conn, domain, name, request, now)


def _compiled(row: dict[str, Any]) -> ObjectType:
    fields, keys = _compile_text(row["definition_text"])
    return ObjectType(
        row["id"], row["name"], row["definition"], fields, keys, row["created_at"], row["updated_at"]
    )


@functools.lru_cache(maxsize=4096)
def _compile_text(text: str) -> tuple[dict[str, Field], tuple[Key, ...]]:
    """Compiling Sources costs more than reading the row, so compiled definitions are kept, by
    their exact text: a replaced type is compiled afresh, and equal texts compile alike."""
    return compile_definition(orjson.loads(text))


def delete_object_type(conn: Connection, domain: dict[str, Any], name: str) -> None:
    """The type, its objects and their key rows; the key registry is rebuilt from what remains."""
    get_object_type(conn, domain, name)
    store.delete_type(conn, domain["id"], name)
    remaining: dict[str, tuple[str, ...]] = {}
    for row in store.list_all(conn, domain["id"]):
        compiled = _compiled(row)
        for key_name, content in key_content_types(compiled.fields, compiled.keys).items():
            remaining.setdefault(key_name, content)
    store.replace_key_registry(conn, domain["id"], remaining)


def list_object_types(
    conn: Connection, domain: dict[str, Any], after: str | None, limit: int
) -> list[ObjectType]:
    return [_compiled(row) for row in store.list_page(conn, domain["id"], after, limit)]
