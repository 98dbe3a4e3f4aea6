"""Rule-based matching (REFERENCE 2.3): exact matching of normalized attributes, level by level.

**Signatures.** At each rule level a profile has zero or more *signatures*: hashes of the
normalized values of the level's attributes. Profiles that share a signature match at that level.

- ``EmailAddress``, ``PhoneNumber`` and ``Address.*`` stand for the profile fields that the
  AttributeTypesSelector picks for the type; each picked field is one alternative. ONE_TO_ONE
  tags the value with its field, so A's BusinessEmailAddress meets only B's BusinessEmailAddress;
  MANY_TO_MANY does not tag it, so it meets any picked email field of B. The ``Address.*``
  attributes of one level are read from one address at a time (City and PostalCode of the same
  ShippingAddress, never City of one address and PostalCode of another); ``Address.Address`` is
  the address lines Address1-4 joined. A level over several types has one signature per
  combination of alternatives.
- An empty value never matches: an alternative with an empty part gives no signature, and a
  level with an attribute that has no alternative gives none at all.
- Normalization (engine.normalize, INFERENCE): emails trimmed and lower-cased; phones to E.164
  (numbers without a country code read in the domain's phone region); FirstName, MiddleName,
  LastName, BusinessName and Gender (else GenderString) case-, accent- and space-folded; address
  parts as addresses (``Street`` = ``St.``); BirthDate as an ISO date (``01/02/1990`` =
  ``1990-01-02``); AccountNumber and ``Attributes.<name>`` exact after trimming.

**Groups.** Levels are taken in order (level 1 = the first rule, the most precise). At each level
the database groups the signatures shared by 2 to 500 profiles; profiles linked by shared
signatures form one group (transitively). A profile grouped at a level keeps that group; a
profile still free at a later level joins the group of a grouped profile it matches there (each
record tries level 1, 2, ... until it matches), and free profiles that match only each other
form a new group, so results converge to the highest-priority level.
Levels above MaxAllowedRuleLevelForMatching never match. The low-cardinality guard skips a
signature shared by more than 500 profiles at that level (AWS words it per attribute; a
signature is the level's whole value); its dead-letter message is not sent. A group's MatchId
is a hash of its level and profile ids, so an unchanged group keeps its id from pass to pass.

**Defaults** (INFERENCE: AWS publishes none of them; chosen by measurement on the labelled test
bed of benchmarks/rule_matching_quality.py, where they reach pairwise F1 0.95 at 10k and 100k
profiles against 0.62 for REFERENCE 2.3's suggestion):

- no MatchingRules: level 1 [EmailAddress], level 2 [PhoneNumber, FirstName], level 3
  [FirstName, LastName, BirthDate], level 4 [FirstName, LastName, Address.PostalCode], level 5
  [AccountNumber] (a phone alone is no identity: families share one);
- no AttributeTypesSelector: MANY_TO_MANY over all three email fields and all four phone fields,
  Address its own field; a selector that leaves a type out: that type is its own field only;
- no MaxAllowedRuleLevelForMatching: every level; no MaxAllowedRuleLevelForMerging: nothing is
  merged (AWS recommends reviewing matches before merging); no ConflictResolution: RECENCY.

Selector field names are accepted as the profile fields (``BusinessEmailAddress``) and as the
documentation's short forms (``BusinessEmail``, ``MaillingAddress``); ``BusinessAddress`` is
accepted but the standard profile has no such field, so it never matches.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Connection

from openprofiles.engine.normalize import (
    normalize,
    normalize_address,
    normalize_country,
    normalize_date,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_postal_code,
    normalize_state,
)
from openprofiles.errors import BadRequestException
from openprofiles.store import matching as store

#: a signature shared by more profiles than this is skipped at its level
GUARD = 500
DEFAULT_RULES = (
    ("EmailAddress",),
    ("PhoneNumber", "FirstName"),
    ("FirstName", "LastName", "BirthDate"),
    ("FirstName", "LastName", "Address.PostalCode"),
    ("AccountNumber",),
)
#: without an AttributeTypesSelector: every email field and every phone field, MANY_TO_MANY
DEFAULT_SELECTOR = {
    "AttributeMatchingModel": "MANY_TO_MANY",
    "EmailAddress": ["EmailAddress", "PersonalEmailAddress", "BusinessEmailAddress"],
    "PhoneNumber": ["PhoneNumber", "MobilePhoneNumber", "HomePhoneNumber", "BusinessPhoneNumber"],
}
#: per type: selector name -> profile field
TYPE_FIELDS: dict[str, dict[str, str]] = {
    "EmailAddress": {
        "EmailAddress": "EmailAddress", "Email": "EmailAddress",
        "BusinessEmailAddress": "BusinessEmailAddress", "BusinessEmail": "BusinessEmailAddress",
        "PersonalEmailAddress": "PersonalEmailAddress", "PersonalEmail": "PersonalEmailAddress",
    },
    "PhoneNumber": {
        "PhoneNumber": "PhoneNumber", "Phone": "PhoneNumber",
        "HomePhoneNumber": "HomePhoneNumber", "HomePhone": "HomePhoneNumber",
        "MobilePhoneNumber": "MobilePhoneNumber", "MobilePhone": "MobilePhoneNumber",
        "BusinessPhoneNumber": "BusinessPhoneNumber", "BusinessPhone": "BusinessPhoneNumber",
    },
    "Address": {
        "Address": "Address", "ShippingAddress": "ShippingAddress",
        "MailingAddress": "MailingAddress", "MaillingAddress": "MailingAddress",
        "BillingAddress": "BillingAddress", "BusinessAddress": "BusinessAddress",
    },
}  # fmt: skip
ADDRESS_PARTS = ("Address", "City", "Country", "County", "PostalCode", "State", "Province")
_PLAIN: dict[str, Callable[[str | None], str | None]] = {
    "AccountNumber": normalize,
    "BirthDate": normalize_date,
    "BusinessName": normalize_name,
    "FirstName": normalize_name,
    "Gender": normalize_name,
    "LastName": normalize_name,
    "MiddleName": normalize_name,
}
_ADDRESS_PART: dict[str, Callable[[str | None], str | None]] = {
    "PostalCode": normalize_postal_code,
    "State": normalize_state,
    "Country": normalize_country,
}
ATTRIBUTES = (*_PLAIN, "EmailAddress", "PhoneNumber", *(f"Address.{p}" for p in ADDRESS_PARTS))


@dataclass(frozen=True)
class RuleSet:
    """A domain's RuleBasedMatching configuration, checked and with its defaults applied."""

    #: the attributes of each level that may match (levels above the matching limit are gone)
    levels: tuple[tuple[str, ...], ...]
    many_to_many: bool
    #: per type, the profile fields it stands for
    selected: Mapping[str, tuple[str, ...]]
    #: groups matched at this level or a lower one are merged (0: none)
    merge_up_to: int
    #: ConflictResolution SOURCE's object type name; None for RECENCY
    source_name: str | None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RuleSet:
        """Raises BadRequestException naming the member that the matcher cannot apply."""
        levels = []
        for index, rule in enumerate(config.get("MatchingRules") or []):
            for attribute in rule["Rule"]:
                if attribute not in ATTRIBUTES and not _is_custom(attribute):
                    raise BadRequestException(
                        f"RuleBasedMatching.MatchingRules[{index}].Rule: {attribute} is not an "
                        f"attribute of rule-based matching; use one of {', '.join(ATTRIBUTES)} "
                        "or Attributes.<name>"
                    )
            levels.append(tuple(dict.fromkeys(rule["Rule"])))
        levels = levels or list(DEFAULT_RULES)
        selector = config.get("AttributeTypesSelector") or DEFAULT_SELECTOR
        selected = {}
        for kind, names in TYPE_FIELDS.items():
            fields = []
            for name in selector.get(kind) or [kind]:
                if name not in names:
                    raise BadRequestException(
                        f"RuleBasedMatching.AttributeTypesSelector.{kind}: {name} is not one of "
                        f"{', '.join(names)}"
                    )
                fields.append(names[name])
            selected[kind] = tuple(dict.fromkeys(fields))
        conflict = config.get("ConflictResolution") or {}
        by_source = conflict.get("ConflictResolvingModel") == "SOURCE"
        source = conflict.get("SourceName") if by_source else None
        if by_source and not source:
            raise BadRequestException(
                "RuleBasedMatching.ConflictResolution.SourceName is required with SOURCE"
            )
        return cls(
            levels=tuple(levels[: config.get("MaxAllowedRuleLevelForMatching") or len(levels)]),
            many_to_many=selector.get("AttributeMatchingModel") == "MANY_TO_MANY",
            selected=selected,
            merge_up_to=config.get("MaxAllowedRuleLevelForMerging") or 0,
            source_name=source,
        )


@dataclass(frozen=True)
class Match:
    match_id: str
    level: int
    profile_ids: tuple[str, ...]

    @classmethod
    def of(cls, level: int, profile_ids: list[str]) -> Match:
        ids = tuple(sorted(profile_ids))
        digest = hashlib.blake2b(orjson.dumps([level, ids]), digest_size=16).hexdigest()
        return cls(digest, level, ids)


def _is_custom(attribute: str) -> bool:
    return attribute.startswith("Attributes.") and len(attribute) > len("Attributes.")


def text_of(value: Any) -> str | None:
    """A document member as text; anything else (a number, a map) as missing."""
    return value if isinstance(value, str) else None


def plain_value(document: dict[str, Any], attribute: str) -> str | None:
    """A profile's normalized value of an attribute that is one field (FirstName, BirthDate,
    Attributes.<name>, ...), as matching compares it; shared with the ML model's columns."""
    if _is_custom(attribute):
        attributes = document.get("Attributes")
        name = attribute.partition(".")[2]
        return normalize(text_of(attributes.get(name))) if isinstance(attributes, dict) else None
    raw = document.get(attribute)
    if attribute == "Gender" and raw is None:
        raw = document.get("GenderString")
    return _PLAIN[attribute](text_of(raw))


def address_part(address: dict[str, Any], part: str) -> str | None:
    """One normalized part of an address (``Address`` is its lines joined)."""
    if part == "Address":
        lines = [text_of(address.get(f"Address{n}")) for n in range(1, 5)]
        return normalize_address(" ".join(line for line in lines if line))
    return _ADDRESS_PART.get(part, normalize_address)(text_of(address.get(part)))


def _alternatives(
    rules: RuleSet,
    attributes: tuple[str, ...],
    document: dict[str, Any],
    phone_region: str,
    memo: dict[tuple[str, str], str | None],
) -> list[list[tuple[str, ...]]]:
    """Per attribute (the Address.* attributes together), the values that may match; none at
    all if an attribute has none, as then the level cannot match. ``memo`` keeps the values
    normalized for earlier levels of the same profile (FirstName serves several levels)."""
    typed: dict[str, Callable[[str | None], str | None]] = {
        "EmailAddress": normalize_email,
        "PhoneNumber": lambda value: normalize_phone(value, phone_region),
    }
    parts: list[list[tuple[str, ...]]] = []
    for attribute in attributes:
        if attribute.startswith("Address."):
            continue
        if attribute in typed:
            found = []
            for field in rules.selected[attribute]:
                if (attribute, field) not in memo:
                    memo[(attribute, field)] = typed[attribute](text_of(document.get(field)))
                if value := memo[(attribute, field)]:
                    found.append((field if not rules.many_to_many else "", value))
        else:
            if (attribute, "") not in memo:
                memo[(attribute, "")] = plain_value(document, attribute)
            value = memo[(attribute, "")]
            found = [(value,)] if value else []
        if not found:
            return []
        parts.append(found)
    address_parts = [a.partition(".")[2] for a in attributes if a.startswith("Address.")]
    if address_parts:
        found = []
        for field in rules.selected["Address"]:
            address = document.get(field)
            if isinstance(address, dict):
                values = [v for part in address_parts if (v := address_part(address, part))]
                if len(values) == len(address_parts):
                    found.append((field if not rules.many_to_many else "", *values))
        if not found:
            return []
        parts.append(found)
    return parts


def signatures(rules: RuleSet, document: dict[str, Any], phone_region: str) -> set[tuple[int, str]]:
    """(level, signature) of a profile document at every level that may match."""
    found = set()
    memo: dict[tuple[str, str], str | None] = {}
    for level, attributes in enumerate(rules.levels, start=1):
        parts = _alternatives(rules, attributes, document, phone_region, memo)
        for combination in itertools.product(*parts) if parts else ():
            digest = hashlib.blake2b(orjson.dumps(combination), digest_size=16).hexdigest()
            found.add((level, digest))
    return found


def root(parent: dict[Any, Any], item: Any) -> Any:
    """The representative of ``item`` in a union-find forest (``parent``; an item not in it is
    its own), halving the path as it goes."""
    while parent.setdefault(item, item) != item:
        parent[item] = parent[parent[item]]
        item = parent[item]
    return item


def find_groups(conn: Connection, domain_id: int, levels: int) -> list[tuple[int, list[int]]]:
    """(level, profile row ids) of each group, from the indexed signatures of ``levels`` levels.

    Each profile tries level 1, then 2, ... until it matches: at a later level a profile still
    free joins the group of a profile it matches that is grouped already (the earliest such
    group), and free profiles that match only each other form a new group at that level."""
    groups: list[tuple[int, list[int]]] = []
    group_of: dict[int, int] = {}
    for level in range(1, levels + 1):
        parent: dict[int, int] = {}
        joins: dict[int, int] = {}  # free profile -> the earliest existing group it matched
        shared = store.shared_signatures(conn, domain_id, level, GUARD)
        for _, rows in itertools.groupby(shared, itemgetter(0)):
            pks = [pk for _, pk in rows]
            free = [pk for pk in pks if pk not in group_of]
            held = [group_of[pk] for pk in pks if pk in group_of]
            for pk in free:
                parent.setdefault(pk, pk)
                if held:
                    joins[pk] = min(joins.get(pk, min(held)), min(held))
            for pk in free[1:]:
                parent[root(parent, pk)] = root(parent, free[0])
        components: dict[int, list[int]] = {}
        for pk in parent:
            components.setdefault(root(parent, pk), []).append(pk)
        for members in components.values():
            target = min((joins[pk] for pk in members if pk in joins), default=None)
            if target is None and len(members) < 2:
                continue
            if target is None:
                target = len(groups)
                groups.append((level, []))
            groups[target][1].extend(members)
            group_of.update(dict.fromkeys(members, target))
    return [(level, sorted(pks)) for level, pks in groups]


def evaluate(
    conn: Connection, domain: dict[str, Any], rules: RuleSet, batch: int = 2000
) -> list[Match]:
    """Index every profile of the domain, group them, and store the groups as its matches."""
    store.clear_signatures(conn, domain["id"])
    after = 0
    while page := store.profile_page(conn, domain["id"], after, batch):
        rows = [
            (level, signature, pk)
            for pk, document in page
            for level, signature in signatures(rules, document, domain["phone_region"])
        ]
        store.add_signatures(conn, domain["id"], rows)
        after = page[-1][0]
    groups = find_groups(conn, domain["id"], len(rules.levels))
    ids = store.profile_ids(conn, [pk for _, pks in groups for pk in pks])
    matches = [Match.of(level, [ids[pk] for pk in pks]) for level, pks in groups]
    rows = [(m.match_id, m.level, p) for m in matches for p in m.profile_ids]
    store.replace_matches(conn, domain["id"], rows)
    return matches
