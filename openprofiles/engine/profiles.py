"""Profiles: the standard profile object, who wrote each of its fields, and its keys.

A profile's document holds the API's Profile members (without ProfileId). Every field carries a
*rank* in the profile's provenance, the rank of whoever wrote it last:

- ``MANUAL`` (1) for CreateProfile, UpdateProfile and merges: what a person set;
- an object type's ``SourcePriority`` (1 is highest) for ingested values;
- ``UNRANKED`` for ingested values of types without SourcePriority.

Ingestion writes a field only when its rank is at most the field's current rank (lower wins,
equal: the later write wins), so by default a manual edit survives ingestion, and only object
types with SourcePriority 1 may overwrite it (REFERENCE 1.4; the tie rule is our choice).
UpdateProfile follows the API's partial-update rules: an absent member is kept, an empty string
removes the value, and nested Address and Attributes members are merged member by member.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from openprofiles.engine.keys import PROFILE_ID_KEY, derived_keys, normalized_values
from openprofiles.engine.matching.incremental import on_profile_written
from openprofiles.errors import BadRequestException, ResourceNotFoundException
from openprofiles.store import profiles as store

MANUAL = 1
UNRANKED = 1_000_000
ADDRESSES = ("Address", "ShippingAddress", "MailingAddress", "BillingAddress")
#: members of the Profile shape kept in the document (all but ProfileId and FoundByItems)
FIELDS = (
    "AccountNumber", "AdditionalInformation", "PartyType", "BusinessName", "FirstName",
    "MiddleName", "LastName", "BirthDate", "Gender", "PhoneNumber", "MobilePhoneNumber",
    "HomePhoneNumber", "BusinessPhoneNumber", "EmailAddress", "PersonalEmailAddress",
    "BusinessEmailAddress", *ADDRESSES, "Attributes", "PartyTypeString", "GenderString",
    "ProfileType", "EngagementPreferences",
)  # fmt: skip
_NESTED = (*ADDRESSES, "Attributes")


def new_profile_id() -> str:
    """32 random hex digits, as AWS's profile ids; from the non-cryptographic generator, which
    costs a fraction of uuid4's system call (an id names a profile, it guards nothing)."""
    return f"{random.getrandbits(128):032x}"


def leaf_paths(document: dict[str, Any]) -> dict[str, Any]:
    """``{"Address": {"City": "x"}}`` -> ``{"Address.City": "x"}``; other members stay whole."""
    flat: dict[str, Any] = {}
    for name, value in document.items():
        if name in _NESTED and isinstance(value, dict):
            flat.update({f"{name}.{k}": v for k, v in value.items()})
        else:
            flat[name] = value
    return flat


def value_at(document: dict[str, Any], path: str) -> Any:
    """``leaf_paths(document).get(path)``, without flattening the whole document."""
    head, _, rest = path.partition(".")
    value = document.get(head)
    nested = head in _NESTED and isinstance(value, dict)
    if not rest:
        return None if nested else value
    return value.get(rest) if nested else None


def set_path(document: dict[str, Any], path: str, value: Any) -> None:
    head, _, rest = path.partition(".")
    if rest:
        document.setdefault(head, {})[rest] = value
    else:
        document[head] = value


def remove_path(document: dict[str, Any], path: str) -> None:
    head, _, rest = path.partition(".")
    if not rest:
        document.pop(head, None)
        return
    nested = document.get(head)
    if isinstance(nested, dict):
        nested.pop(rest, None)
        if not nested:
            document.pop(head)


def require_profile(conn: Connection, domain: dict[str, Any], profile_id: str, lock: bool = False) -> dict[str, Any]:
    row = store.get(conn, domain["id"], profile_id, lock=lock)
    if row is None:
        raise ResourceNotFoundException(f"Profile {profile_id} does not exist in domain {domain['domain_name']}")
    return row


def create_profile(conn: Connection, domain: dict[str, Any], fields: dict[str, Any], now: datetime) -> str:
    document = {k: v for k, v in fields.items() if k in FIELDS and v not in (None, {}, [])}
    provenance = dict.fromkeys(leaf_paths(document), MANUAL)
    profile_id = new_profile_id()
    pk = store.insert_profile(conn, domain["id"], profile_id, document, provenance, now.timestamp())
    store.replace_derived_keys(conn, domain["id"], pk, derived_keys(document, domain["phone_region"]))
    on_profile_written(conn, domain, pk, profile_id, document, created=True)
    return profile_id


def update_profile(
    conn: Connection, domain: dict[str, Any], profile_id: str, changes: dict[str, Any], now: datetime
) -> None:
    row = require_profile(conn, domain, profile_id, lock=True)
    document, provenance = row["document"], row["provenance"]
    for name, value in changes.items():
        if name not in FIELDS or value is None:
            continue
        if name in _NESTED:
            for member, item in value.items():
                _assign(document, provenance, f"{name}.{member}", item)
        else:
            _assign(document, provenance, name, value)
    save(conn, domain, row, now)


def _assign(document: dict[str, Any], provenance: dict[str, int], path: str, value: Any) -> None:
    if value == "":
        remove_path(document, path)
        provenance.pop(path, None)
    else:
        set_path(document, path, value)
        provenance[path] = MANUAL


def save(conn: Connection, domain: dict[str, Any], row: dict[str, Any], now: datetime) -> None:
    """Write a changed document back, and rebuild the keys it derives."""
    store.update_document(conn, row["id"], row["document"], row["provenance"], now.timestamp())
    store.replace_derived_keys(conn, domain["id"], row["id"], derived_keys(row["document"], domain["phone_region"]))
    on_profile_written(conn, domain, row["id"], row["profile_id"], row["document"])


def delete_profile(conn: Connection, domain: dict[str, Any], profile_id: str) -> None:
    row = require_profile(conn, domain, profile_id, lock=True)
    store.delete_profile(conn, row["id"])


def render(row: dict[str, Any], found_by: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The API's Profile shape of a stored profile."""
    return {"ProfileId": row["profile_id"], **row["document"], "FoundByItems": found_by or None}


def add_profile_key(
    conn: Connection, domain: dict[str, Any], profile_id: str, key_name: str, values: list[str]
) -> list[str]:
    """Index the profile under ``key_name``; values are normalized as the key's other values."""
    if key_name == PROFILE_ID_KEY:
        raise BadRequestException("KeyName _profileId is the profile's own id and cannot be added")
    row = require_profile(conn, domain, profile_id, lock=True)
    stored = normalized_values(conn, domain, key_name, values)
    if not stored:
        raise BadRequestException("Values: every value is empty after normalization")
    store.add_keys(conn, domain["id"], row["id"], [(key_name, v) for v in stored])
    return values


def delete_profile_key(
    conn: Connection, domain: dict[str, Any], profile_id: str, key_name: str, values: list[str]
) -> None:
    row = require_profile(conn, domain, profile_id, lock=True)
    removed = store.remove_keys(conn, row["id"], key_name, normalized_values(conn, domain, key_name, values))
    if not removed:
        raise ResourceNotFoundException(f"Profile {profile_id} has no key {key_name} with those values")
