"""Segment definitions: checked when created, kept as their API members (REFERENCE 4.1-4.2).

A definition is checked by compiling it (see `compiler`): every part it names must exist and fit
(an attribute segments can use, a calculated attribute of the domain, an operator of its type,
values of that type and count, source segments that exist and do not lead back to it), or, for
an ENHANCED segment, its SegmentSqlQuery must be of the form `sql_query` accepts. A violation is
a BadRequestException naming the part, so nothing is stored that cannot be evaluated.

Definitions are not updated (the API has no update). One that is a source of another cannot be
deleted while that other one exists: its members would change silently, and a name deleted and
created again could otherwise close a cycle.

A definition is compiled again on every evaluation, with the calculated attribute definitions as
they are then and the App clock's time (`loader`). A calculated attribute it names may have been
deleted or changed since (an update may add a Threshold, which turns its value into true or
false): the evaluation then fails with the BadRequestException naming the part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from openprofiles.engine.calculated.definitions import Definition, compiled
from openprofiles.engine.segments.compiler import (
    Lookups,
    SegmentError,
    segment_query,
    sort_order,
)
from openprofiles.engine.segments.sql_query import sql_segment_query
from openprofiles.engine.tags import resolver
from openprofiles.engine.tenancy import Tenant
from openprofiles.errors import (
    BadRequestException,
    ResourceNotFoundException,
)
from openprofiles.store import calculated as calculated_store
from openprofiles.store import domains as domain_store
from openprofiles.store import locks
from openprofiles.store import segments as store

#: the request members a definition keeps, in the order the API answers them
MEMBERS = ("DisplayName", "Description", "SegmentGroups", "SegmentSqlQuery", "SegmentSort")


@dataclass(frozen=True)
class SegmentDefinition:
    name: str
    members: dict[str, Any]
    created_at: float


def definition_arn(tenant: Tenant, domain_name: str, name: str) -> str:
    return tenant.arn("profile", f"domains/{domain_name}/segment-definitions/{name}")


@resolver("profile", r"^domains/(?P<domain>[^/]+)/segment-definitions/(?P<name>[^/]+)$")
def _definition_exists(conn: Connection, tenant: Tenant, found: re.Match[str]) -> bool:
    domain = domain_store.get(conn, tenant.account_id, tenant.region, found["domain"])
    return domain is not None and store.get(conn, domain["id"], found["name"]) is not None


def loader(conn: Connection, domain: dict[str, Any], now: datetime | None = None) -> Lookups:
    """What the domain's segments name, read when named: the stored members of its segment
    definitions (source segments) and its calculated attribute definitions, evaluated at
    ``now``: the App clock's time, the system's when not given."""

    def load(name: str) -> dict[str, Any] | None:
        row = store.get(conn, domain["id"], name)
        return None if row is None else dict(row["definition"])

    def load_calculated(name: str) -> Definition | None:
        row = calculated_store.get(conn, domain["id"], name)
        return None if row is None else compiled(row)

    return Lookups(load, load_calculated, now or datetime.now(UTC))


def service_error(error: SegmentError) -> BadRequestException:
    return BadRequestException(f"Invalid value at '{error.path}': {error.problem}")


def check_query(
    conn: Connection, domain: dict[str, Any], groups: dict[str, Any] | None, sql: str | None,
    path: str, now: datetime, own_name: str | None = None,
) -> Any:
    """A segment is given by exactly one of its groups (at ``path``) or SegmentSqlQuery, and
    compiles: its query at ``now``."""
    if (groups is None) == (sql is None):
        raise BadRequestException(f"Give exactly one of {path} and SegmentSqlQuery")
    if sql is not None:
        try:
            return sql_segment_query(domain["id"], sql, conn.dialect.name)
        except SegmentError as error:
            raise service_error(error) from None
    return compiled_query(conn, domain, groups or {}, path, now, own_name)


def definition_query(conn: Connection, domain: dict[str, Any], definition: SegmentDefinition, now: datetime) -> Any:
    """The query of a stored definition, whichever way it is defined, at ``now``."""
    members = definition.members
    return check_query(conn, domain, members.get("SegmentGroups"), members.get("SegmentSqlQuery"), "SegmentGroups", now)


def segment_type(definition: SegmentDefinition) -> str:
    """ENHANCED for a definition by SegmentSqlQuery, CLASSIC for one by SegmentGroups."""
    return "ENHANCED" if "SegmentSqlQuery" in definition.members else "CLASSIC"


def compiled_query(
    conn: Connection, domain: dict[str, Any], groups: dict[str, Any], path: str, now: datetime,
    own_name: str | None = None,
) -> Any:
    """The query of a segment's groups (at ``path``) evaluated at ``now`` (see
    compiler.segment_query); a BadRequestException naming the part that breaks a rule."""
    try:
        lookups = loader(conn, domain, now)
        return segment_query(domain["id"], groups, path, conn.dialect.name, lookups, own_name)
    except SegmentError as error:
        raise service_error(error) from None


def compiled_sort(conn: Connection, domain: dict[str, Any], sort: dict[str, Any] | None, now: datetime) -> list[Any]:
    """The ORDER BY of a SegmentSort at ``now`` (see compiler.sort_order); a BadRequestException
    naming the attribute that does not exist."""
    try:
        return sort_order(sort, conn.dialect.name, loader(conn, domain, now))
    except SegmentError as error:
        raise service_error(error) from None


def create_definition(
    conn: Connection, domain: dict[str, Any], name: str, request: dict[str, Any], now: datetime
) -> SegmentDefinition:
    locks.lock_values(conn, domain["id"], [("segment-definitions", name)])
    if store.get(conn, domain["id"], name) is not None:
        raise BadRequestException(f"Segment definition {name} already exists in domain {domain['domain_name']}")
    groups, sql = request.get("SegmentGroups"), request.get("SegmentSqlQuery")
    check_query(conn, domain, groups, sql, "SegmentGroups", now, name)
    compiled_sort(conn, domain, request.get("SegmentSort"), now)
    members = {k: request[k] for k in MEMBERS if request.get(k) is not None}
    store.insert_definition(conn, domain["id"], name, members, now.timestamp())
    return get_definition(conn, domain, name)


def get_definition(conn: Connection, domain: dict[str, Any], name: str) -> SegmentDefinition:
    row = store.get(conn, domain["id"], name)
    if row is None:
        raise ResourceNotFoundException(f"Segment definition {name} does not exist in domain {domain['domain_name']}")
    return SegmentDefinition(row["name"], row["definition"], row["created_at"])


def list_definitions(
    conn: Connection, domain: dict[str, Any], after: str | None, limit: int
) -> list[SegmentDefinition]:
    """Up to ``limit`` definitions in name order, after the name ``after``."""
    rows = store.list_page(conn, domain["id"], after, limit)
    return [SegmentDefinition(r["name"], r["definition"], r["created_at"]) for r in rows]


def delete_definition(conn: Connection, domain: dict[str, Any], name: str) -> None:
    get_definition(conn, domain, name)
    users = sorted(
        row["name"]
        for row in store.all_definitions(conn, domain["id"])
        if name in _sources(row["definition"].get("SegmentGroups") or {})
    )
    if users:
        raise BadRequestException(f"Segment definition {name} is a source segment of {', '.join(users)}")
    store.delete_definition(conn, domain["id"], name)


def segments_using(conn: Connection, domain: dict[str, Any], calculated: str) -> list[str]:
    """The segment definitions with a dimension on the calculated attribute ``calculated``."""
    return sorted(
        row["name"]
        for row in store.all_definitions(conn, domain["id"])
        for group in (row["definition"].get("SegmentGroups") or {}).get("Groups") or []
        for dimension in group.get("Dimensions") or []
        if calculated in (dimension.get("CalculatedAttributes") or {})
    )


def _sources(groups: dict[str, Any]) -> set[str]:
    return {
        source["SegmentDefinitionName"]
        for group in groups.get("Groups") or []
        for source in group.get("SourceSegments") or []
    }
