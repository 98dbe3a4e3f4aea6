"""Calculated attribute definitions: checked when created, kept as their API members, compiled
for computing values (REFERENCE 3.1, 3.3-3.5, 10).

Every rule is checked on create (and the Conditions again on update); a violation is a
BadRequestException naming the member:

- ``AttributeDetails.Expression`` parses (see `expression`), and all its terms read one object
  type: an object type of the domain, a template id (whose type is made by its first
  PutProfileObject), or a standard object (``_order``, ``_asset``, ``_case``, ...; ``_profile`` is
  the profile, not an object, and is refused);
- every term's attribute is listed in ``AttributeDetails.Attributes``, every listed name is used,
  and there are at most two of them (AWS: one object type, at most two fields);
- an attribute of an object type (or template) is one of its Fields, whose Source gives the value
  (so a typo is refused here instead of leaving the value empty forever); an attribute of a
  standard object is a path into its record, one of its documented fields (its id, or under
  ``Attributes.``) when the catalogue lists them;
- ``Conditions.Range`` has a Unit and a Value or a ValueRange (Start >= End: positive numbers lie
  in the past), within 366 days; ``TimestampSource`` is ``{ObjectTypeName.path}`` on the
  Expression's object type (a path into the ingested JSON); ``TimestampFormat`` is EPOCHMILLI or
  ISO_8601 and comes with a TimestampSource; ``Conditions.ObjectCount`` is at most 100;
- the ``Filter``'s comparisons have values of their kind (see `filters`);
- a domain holds at most 50 definitions (not adjustable at AWS either).

UpdateCalculatedAttributeDefinition changes DisplayName, Description and Conditions only;
Conditions member by member (Range, ObjectCount, Threshold), the others kept. The Range's
TimestampSource and TimestampFormat are fixed at creation, as AWS documents: an update may repeat
them but not change them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from openprofiles.engine.calculated.expression import (
    Expression,
    ExpressionError,
    Term,
    parse_expression,
)
from openprofiles.engine.calculated.filters import Filter, FilterError, compile_filter
from openprofiles.engine.calculated.scalars import TIMESTAMP_FORMATS
from openprofiles.engine.mapping import SourceError, compile_source
from openprofiles.engine.tags import resolver
from openprofiles.engine.templates import get_template, standard_objects
from openprofiles.engine.tenancy import Tenant
from openprofiles.errors import BadRequestException, ResourceNotFoundException
from openprofiles.store import calculated as store
from openprofiles.store import domains as domain_store
from openprofiles.store import locks
from openprofiles.store import object_types as type_store

MAX_PER_DOMAIN = 50
MAX_ATTRIBUTES = 2
MAX_RANGE_DAYS = 366
MAX_OBJECT_COUNT = 100
#: the request members a definition keeps, in the order the API answers them
MEMBERS = (
    "DisplayName", "Description", "AttributeDetails", "Conditions", "Filter", "Statistic",
    "UseHistoricalData",
)  # fmt: skip
_UPDATABLE = ("DisplayName", "Description")
_EXPRESSION = "AttributeDetails.Expression"
_ATTRIBUTES = "AttributeDetails.Attributes"
_TIMESTAMP_SOURCE = re.compile(r"^\{\s*(?P<type>[a-zA-Z_][a-zA-Z_0-9-]*)\.(?P<path>[^{}\s]+)\s*\}$")


@dataclass(frozen=True)
class Definition:
    """A stored definition: its row id, its API members, and its Expression and Filter compiled."""

    id: int
    name: str
    members: dict[str, Any]
    expression: Expression
    filter: Filter | None
    created_at: float
    updated_at: float

    @property
    def object_type(self) -> str:
        return self.expression.terms[0].object_type

    @property
    def statistic(self) -> str:
        return str(self.members["Statistic"])

    @property
    def conditions(self) -> dict[str, Any]:
        return dict(self.members.get("Conditions") or {})

    @property
    def use_historical_data(self) -> bool:
        return bool(self.members.get("UseHistoricalData", False))

    @property
    def timestamp_path(self) -> str | None:
        """The path into an object that dates it (Range.TimestampSource); None: ingestion time."""
        source = self.conditions.get("Range", {}).get("TimestampSource")
        return None if source is None else _timestamp_path(source, self.object_type)


def definition_arn(tenant: Tenant, domain_name: str, name: str) -> str:
    return tenant.arn("profile", f"domains/{domain_name}/calculated-attributes/{name}")


@resolver("profile", r"^domains/(?P<domain>[^/]+)/calculated-attributes/(?P<name>[^/]+)$")
def _definition_exists(conn: Connection, tenant: Tenant, found: re.Match[str]) -> bool:
    domain = domain_store.get(conn, tenant.account_id, tenant.region, found["domain"])
    return domain is not None and store.get(conn, domain["id"], found["name"]) is not None


def _bad(path: str, problem: str) -> BadRequestException:
    return BadRequestException(f"Invalid value at '{path}': {problem}")


def create_definition(
    conn: Connection, domain: dict[str, Any], name: str, request: dict[str, Any], now: datetime
) -> Definition:
    locks.lock_values(conn, domain["id"], [("calculated-attributes", "")])  # name and quota
    if store.get(conn, domain["id"], name) is not None:
        raise BadRequestException(
            f"Calculated attribute {name} already exists in domain {domain['domain_name']}"
        )
    if store.count(conn, domain["id"]) >= MAX_PER_DOMAIN:
        raise BadRequestException(
            f"Domain {domain['domain_name']} already has {MAX_PER_DOMAIN} calculated attributes, "
            "the maximum"
        )
    members = {k: request[k] for k in MEMBERS if request.get(k) is not None}
    expression = _check_expression(conn, domain, members["AttributeDetails"])
    _check_conditions(members.get("Conditions") or {}, expression.terms[0].object_type)
    _check_filter(members.get("Filter"))
    store.insert_definition(conn, domain["id"], name, members, now.timestamp())
    return get_definition(conn, domain, name)


def get_definition(conn: Connection, domain: dict[str, Any], name: str) -> Definition:
    row = store.get(conn, domain["id"], name)
    if row is None:
        raise ResourceNotFoundException(
            f"Calculated attribute {name} does not exist in domain {domain['domain_name']}"
        )
    return compiled(row)


def update_definition(
    conn: Connection, domain: dict[str, Any], name: str, request: dict[str, Any], now: datetime
) -> Definition:
    current = get_definition(conn, domain, name)
    members = dict(current.members)
    members.update({k: request[k] for k in _UPDATABLE if request.get(k) is not None})
    if request.get("Conditions") is not None:
        conditions = current.conditions
        changes = dict(request["Conditions"])
        if "Range" in changes:
            changes["Range"] = _kept_timestamp(conditions.get("Range", {}), changes["Range"])
        conditions.update(changes)
        _check_conditions(conditions, current.object_type)
        members["Conditions"] = conditions
    store.update_definition(conn, domain["id"], name, members, now.timestamp())
    return get_definition(conn, domain, name)


def _kept_timestamp(stored: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The new Range with the stored TimestampSource and TimestampFormat, which cannot change."""
    merged = dict(given)
    for member in ("TimestampSource", "TimestampFormat"):
        if member in given and given[member] != stored.get(member):
            raise _bad(f"Conditions.Range.{member}", "it is fixed when the calculated attribute is created")
        if member in stored:
            merged[member] = stored[member]
    return merged


def delete_definition(conn: Connection, domain: dict[str, Any], name: str) -> None:
    store.drop_observations(conn, get_definition(conn, domain, name).id)
    store.delete_definition(conn, domain["id"], name)


def list_definitions(
    conn: Connection, domain: dict[str, Any], after: str | None, limit: int
) -> list[Definition]:
    """Up to ``limit`` definitions in name order, after the name ``after``."""
    return [compiled(row) for row in store.list_page(conn, domain["id"], after, limit)]


def compiled(row: dict[str, Any]) -> Definition:
    """The Definition of a stored row (its ``definition`` decoded)."""
    members = row["definition"]
    raw_filter = members.get("Filter")
    return Definition(
        row["id"],
        row["name"],
        members,
        parse_expression(members["AttributeDetails"]["Expression"]),
        None if raw_filter is None else compile_filter(raw_filter),
        row["created_at"],
        row["updated_at"],
    )


# --- checks -------------------------------------------------------------------------------------


def _check_expression(conn: Connection, domain: dict[str, Any], details: dict[str, Any]) -> Expression:
    try:
        expression = parse_expression(details["Expression"])
    except ExpressionError as exc:
        raise _bad(_EXPRESSION, str(exc)) from None
    first = expression.terms[0]
    for term in expression.terms:
        if term.object_type != first.object_type:
            raise _bad(
                _EXPRESSION,
                f"{term} reads object type {term.object_type} but {first} reads {first.object_type}: "
                "a calculated attribute reads one object type",
            )
    known = _attribute_names(conn, domain, first)
    listed = list(dict.fromkeys(item["Name"] for item in details["Attributes"]))
    for term in expression.terms:
        if term.attribute not in listed:
            raise _bad(_EXPRESSION, f"{term} reads {term.attribute}, which {_ATTRIBUTES} does not list")
        if known is not None and not known(term.attribute):
            problem = f"{term.attribute} is not a field of object type {term.object_type}"
            raise _bad(_EXPRESSION, f"{term}: {problem}")
    unused = [name for name in listed if name not in expression.attributes]
    if unused:
        raise _bad(_ATTRIBUTES, f"{unused[0]} is not used by the Expression")
    if len(listed) > MAX_ATTRIBUTES:
        problem = f"a calculated attribute reads at most {MAX_ATTRIBUTES} attributes, got {len(listed)}"
        raise _bad(_ATTRIBUTES, problem)
    return expression


def _attribute_names(conn: Connection, domain: dict[str, Any], term: Term) -> Callable[[str], bool] | None:
    """Which attribute names the object type of ``term`` has (None: any path into its records);
    BadRequestException when there is no such object type."""
    name = term.object_type
    if name == "_profile":
        raise _bad(
            _EXPRESSION, f"{term}: _profile is the profile itself; a calculated attribute reads objects"
        )
    if name.startswith("_"):
        standard = standard_objects().get(name)
        if standard is None:
            raise _bad(_EXPRESSION, f"{term}: there is no standard object {name}")
        if standard.get("fields") is None:
            return None
        fields = {standard["id"], *standard["fields"]}
        return lambda attribute: attribute in fields or attribute.startswith("Attributes.")
    row = type_store.get(conn, domain["id"], name)
    definition = row["definition"] if row is not None else get_template(name)
    if definition is None:
        problem = f"object type {name} does not exist in domain {domain['domain_name']}"
        raise _bad(_EXPRESSION, f"{term}: {problem}")
    fields: dict[str, Any] = definition.get("Fields", {})
    return fields.__contains__


def _check_conditions(conditions: dict[str, Any], object_type: str) -> None:
    count = conditions.get("ObjectCount")
    if count is not None and count > MAX_OBJECT_COUNT:
        raise _bad("Conditions.ObjectCount", f"at most {MAX_OBJECT_COUNT} objects, got {count}")
    window = conditions.get("Range")
    if window is None:
        return
    path = "Conditions.Range"
    values = window.get("ValueRange")
    if values is None and window.get("Value") is None:
        raise _bad(path, "a Range has a Value or a ValueRange")
    if window.get("Unit") is None:
        raise _bad(f"{path}.Unit", "a Range needs its Unit (DAYS)")
    if values is not None:
        if values["Start"] < values["End"]:
            raise _bad(f"{path}.ValueRange", "Start is at least End (positive numbers are in the past)")
        if max(abs(values["Start"]), abs(values["End"])) > MAX_RANGE_DAYS:
            raise _bad(f"{path}.ValueRange", f"a range reaches at most {MAX_RANGE_DAYS} days from now")
    elif window["Value"] > MAX_RANGE_DAYS:
        raise _bad(f"{path}.Value", f"a range covers at most {MAX_RANGE_DAYS} days")
    timestamp_format = window.get("TimestampFormat")
    if timestamp_format is not None and timestamp_format not in TIMESTAMP_FORMATS:
        problem = f"one of {', '.join(TIMESTAMP_FORMATS)}, got {timestamp_format}"
        raise _bad(f"{path}.TimestampFormat", problem)
    if window.get("TimestampSource") is None:
        if timestamp_format is not None:
            raise _bad(f"{path}.TimestampFormat", "it goes with a TimestampSource")
        return
    _timestamp_path(window["TimestampSource"], object_type)


def _timestamp_path(source: str, object_type: str) -> str:
    found = _TIMESTAMP_SOURCE.match(source)
    path = "Conditions.Range.TimestampSource"
    if found is None:
        raise _bad(path, f"{source} is not {{ObjectTypeName.path}}")
    if found["type"] != object_type:
        raise _bad(path, f"{source} reads {found['type']}, but the Expression reads {object_type}")
    try:
        compile_source(f"_source.{found['path']}")
    except SourceError as exc:
        raise _bad(path, str(exc)) from None
    return found["path"]


def _check_filter(raw: dict[str, Any] | None) -> None:
    if raw is None:
        return
    try:
        compile_filter(raw)
    except FilterError as exc:
        raise _bad(f"Filter.{exc.path}", exc.problem) from None


def check_range_override(raw: dict[str, Any]) -> None:
    """ConditionOverrides.Range of BatchGetCalculatedAttributeForProfile: the Range rules."""
    start, end = raw["Start"], raw.get("End", 0)
    if start < end:
        raise _bad("ConditionOverrides.Range", "Start is at least End (positive numbers are in the past)")
    if max(abs(start), abs(end)) > MAX_RANGE_DAYS:
        raise _bad("ConditionOverrides.Range", f"a range reaches at most {MAX_RANGE_DAYS} days from now")
