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

**The pass** (``evaluate``) reads the domain's profiles in pages along the (domain, profile id)
index, computes each profile's signatures in Python (each attribute normalized once per
profile through a plan compiled once per RuleSet; the normalizers cache repeated values), and
hands them to store.matching.replace_signatures, which bulk-loads the index (on SQLite sorted by
its primary key, through a temporary table). The groups come from one GROUP BY per level.
Python's cyclic garbage collector is paused meanwhile: the pass makes millions of acyclic
objects, and its rounds would walk them all again and again.

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

import functools
import gc
import hashlib
import itertools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
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

    @functools.cached_property
    def plan(self) -> tuple[tuple[int, tuple[tuple[Any, Extractor], ...]], ...]:
        """Per level: its number and, per attribute (the ``Address.*`` ones together, last), a
        key naming it within a document and the function that reads its alternatives."""
        levels = []
        for level, attributes in enumerate(self.levels, start=1):
            parts = [(a, _extractor(self, a)) for a in attributes if not a.startswith("Address.")]
            address = tuple(a.partition(".")[2] for a in attributes if a.startswith("Address."))
            if address:
                parts.append((address, _address_extractor(self, address)))
            levels.append((level, tuple(parts)))
        return tuple(levels)

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


#: reads one attribute's alternatives from a document (given the domain's phone region)
Extractor = Callable[[dict[str, Any], str], list[tuple[str, ...]]]


def _extractor(rules: RuleSet, attribute: str) -> Extractor:
    """The alternatives of an attribute that is not an ``Address.*`` one: (tag, value) per
    picked field of an email or phone type (the tag is the field under ONE_TO_ONE, else empty),
    (value,) for a one-field attribute; none when it is empty."""
    if attribute in ("EmailAddress", "PhoneNumber"):
        tags = [(field, field if not rules.many_to_many else "") for field in rules.selected[attribute]]
        email = attribute == "EmailAddress"

        def typed(document: dict[str, Any], phone_region: str) -> list[tuple[str, ...]]:
            found = []
            for field, tag in tags:
                raw = document.get(field)
                if isinstance(raw, str):
                    value = normalize_email(raw) if email else normalize_phone(raw, phone_region)
                    if value:
                        found.append((tag, value))
            return found

        return typed
    if attribute in _PLAIN and attribute != "Gender":
        normalizer = _PLAIN[attribute]

        def one_field(document: dict[str, Any], _: str) -> list[tuple[str, ...]]:
            raw = document.get(attribute)
            value = normalizer(raw) if isinstance(raw, str) else None
            return [(value,)] if value else []

        return one_field

    def other(document: dict[str, Any], _: str) -> list[tuple[str, ...]]:
        value = plain_value(document, attribute)
        return [(value,)] if value else []

    return other


def _address_extractor(rules: RuleSet, parts: tuple[str, ...]) -> Extractor:
    """(tag, *values) of the ``parts`` of each picked address that has all of them."""
    fields = [(field, field if not rules.many_to_many else "") for field in rules.selected["Address"]]

    def addresses(document: dict[str, Any], _: str) -> list[tuple[str, ...]]:
        found = []
        for field, tag in fields:
            address = document.get(field)
            if isinstance(address, dict):
                values = [v for part in parts if (v := address_part(address, part))]
                if len(values) == len(parts):
                    found.append((tag, *values))
        return found

    return addresses


def signatures(rules: RuleSet, document: dict[str, Any], phone_region: str) -> set[tuple[int, str]]:
    """(level, signature) of a profile document at every level that may match.

    Per level, the alternatives of each attribute (the ``Address.*`` ones together, last); a
    level where one has none gives no signature. Each attribute is normalized once per document,
    whatever the number of levels that use it (FirstName serves several)."""
    found = set()
    values: dict[Any, list[tuple[str, ...]]] = {}
    for level, extractors in rules.plan:
        parts = []
        for key, extract in extractors:
            alternatives = values.get(key)
            if alternatives is None:
                alternatives = values[key] = extract(document, phone_region)
            if not alternatives:
                break
            parts.append(alternatives)
        else:
            if len(parts) == 1:
                for alternative in parts[0]:
                    found.add((level, _digest((alternative,))))
            elif parts:
                for combination in itertools.product(*parts):
                    found.add((level, _digest(combination)))
    return found


def _digest(combination: tuple[tuple[str, ...], ...]) -> str:
    """A level's signature of one combination of alternatives: 32 hex digits."""
    return hashlib.blake2b(orjson.dumps(combination), digest_size=16).hexdigest()


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
        for pks in store.shared_signatures(conn, domain_id, level, GUARD):
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


@contextmanager
def _collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the duration: the pass makes millions of
    acyclic tuples, strings and dicts, and each of the collector's rounds would walk every one
    still alive (a fifth of the pass's time at 1M profiles). It is process-wide: another thread
    meanwhile frees its cycles when it is back on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def evaluate(
    conn: Connection, domain: dict[str, Any], rules: RuleSet, batch: int = 5000
) -> list[Match]:
    """Index every profile of the domain, group them, and store the groups as its matches."""
    with _collection_paused():
        return _evaluate(conn, domain, rules, batch)


def _evaluate(conn: Connection, domain: dict[str, Any], rules: RuleSet, batch: int) -> list[Match]:
    def pages() -> Iterator[list[tuple[int, str, int]]]:
        after = None
        while page := store.profile_page(conn, domain["id"], after, batch):
            yield [
                (level, signature, pk)
                for pk, _, document in page
                for level, signature in signatures(rules, document, domain["phone_region"])
            ]
            after = page[-1][1]

    store.replace_signatures(conn, domain["id"], pages())
    groups = find_groups(conn, domain["id"], len(rules.levels))
    ids = store.domain_profile_ids(conn, domain["id"], [pk for _, pks in groups for pk in pks])
    matches = [Match.of(level, [ids[pk] for pk in pks]) for level, pks in groups]
    rows = [(m.match_id, m.level, p) for m in matches for p in m.profile_ids]
    store.replace_matches(conn, domain["id"], rows)
    return matches
