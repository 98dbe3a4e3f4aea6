"""Profile keys: the predefined key names, and the keys a profile derives from its own fields.

Key names are domain-global: every object type that uses a name feeds one index, and a search
value is normalized the way that key's values were (by its fields' ContentType).

Which standard-profile fields feed the predefined keys is not documented; we index (so that
SearchProfiles finds profiles made with CreateProfile as well as ingested ones):

| key | from | ContentType |
| --- | --- | --- |
| `_account` | AccountNumber | STRING |
| `_phone` | PhoneNumber, MobilePhoneNumber, HomePhoneNumber, BusinessPhoneNumber | PHONE_NUMBER |
| `_email` | EmailAddress, PersonalEmailAddress, BusinessEmailAddress | EMAIL_ADDRESS |
| `_fullName` | "FirstName MiddleName LastName" (the present parts) | NAME |

`_profileId` is answered from the profiles table itself. These derived keys are rebuilt on every
write of the profile; keys that ingestion or AddProfileKey add are kept until deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from openprofiles.engine.normalize import normalize
from openprofiles.store import object_types as type_store

PROFILE_ID_KEY = "_profileId"

#: key names that may start with "_": documented predefined keys and the templates' keys
PREDEFINED_KEYS = frozenset(
    {
        "_account", "_profileId", "_assetId", "_caseId", "_orderId", "_fullName", "_phone",
        "_email", "_ctrContactId", "_marketoLeadId", "_salesforceAccountId",
        "_salesforceContactId", "_salesforceAssetId", "_zendeskUserId", "_zendeskExternalId",
        "_zendeskTicketId", "_serviceNowSystemId", "_serviceNowIncidentId", "_serviceNowTaskId",
        "_segmentUserId", "_shopifyCustomerId", "_shopifyOrderId", "_assetName", "_serialNumber",
    }
)  # fmt: skip

#: reserved names that must be declared LOOKUP_ONLY, so they are never stored
LOOKUP_ONLY_KEYS = frozenset({"_profileId", "_orderId", "_caseId", "_assetId"})

#: predefined keys with a fixed content type
KEY_CONTENT_TYPES = {
    "_account": "STRING",
    "_phone": "PHONE_NUMBER",
    "_email": "EMAIL_ADDRESS",
    "_fullName": "NAME",
    "_profileId": "STRING",
}

_DERIVED_FIELDS = {
    "_account": ("AccountNumber",),
    "_phone": ("PhoneNumber", "MobilePhoneNumber", "HomePhoneNumber", "BusinessPhoneNumber"),
    "_email": ("EmailAddress", "PersonalEmailAddress", "BusinessEmailAddress"),
}


#: the members of a profile's document that its derived keys come from
_DERIVED_SOURCES = (*(f for fields in _DERIVED_FIELDS.values() for f in fields), "FirstName", "MiddleName", "LastName")


def derived_sources(document: dict[str, Any]) -> dict[str, Any]:
    """What ``derived_keys`` reads of a document: kept before the document changes, it gives the
    keys the document had, for the normalizing only when a change came."""
    return {name: document[name] for name in _DERIVED_SOURCES if name in document}


def derived_keys(document: dict[str, Any], default_region: str) -> set[tuple[str, str]]:
    """The (key name, normalized value) pairs a profile's own fields put in the index."""
    found: set[tuple[str, str]] = set()
    for key, fields in _DERIVED_FIELDS.items():
        for field in fields:
            value = document.get(field)
            if isinstance(value, str):
                normalized = normalize(value, KEY_CONTENT_TYPES[key], default_region=default_region)
                if normalized:
                    found.add((key, normalized))
    parts = [document.get(f) for f in ("FirstName", "MiddleName", "LastName")]
    full = " ".join(p for p in parts if isinstance(p, str) and p.strip())
    name = normalize(full, "NAME") if full else None
    if name:
        found.add(("_fullName", name))
    return found


def key_content_types(conn: Connection, domain_id: int, key_name: str) -> tuple[str, ...]:
    """How the key's values are normalized: predefined, or as the object types define it."""
    fixed = KEY_CONTENT_TYPES.get(key_name)
    if fixed is not None:
        return (fixed,)
    return type_store.registered_key_type(conn, domain_id, key_name) or ("STRING",)


def normalizer_of_predefined(key_name: str) -> Callable[[str], str | None] | None:
    """How a predefined key's values are normalized when that needs nothing of the domain (every
    predefined key but phone numbers, which take the domain's region); None for the others."""
    content_type = KEY_CONTENT_TYPES.get(key_name)
    if content_type is None or content_type == "PHONE_NUMBER":
        return None
    return lambda value: normalize(value, content_type)


def normalizer(conn: Connection, domain: dict[str, Any], key_name: str) -> Callable[[str], str | None]:
    """How to normalize a value of this key as its stored values were. A key over several
    fields is matched by its parts joined with one space."""
    if key_name == PROFILE_ID_KEY:
        return lambda value: value
    types = key_content_types(conn, domain["id"], key_name)
    content_type = types[0] if len(types) == 1 else "STRING"
    region = domain["phone_region"]
    return lambda value: normalize(value, content_type, default_region=region)


def normalized_values(
    conn: Connection, domain: dict[str, Any], key_name: str, values: list[str]
) -> list[str]:
    """The distinct normalized values, empty ones dropped."""
    found = map(normalizer(conn, domain, key_name), values)
    return list(dict.fromkeys(v for v in found if v))
