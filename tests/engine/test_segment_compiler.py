"""Segment definitions compiled to SQL, run on SQLite and PostgreSQL: every operator kind, missing
and malformed values, group and top-level Include, source segments, and the parts a bad
definition names."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from openprofiles.engine import domains
from openprofiles.engine.profiles import create_profile
from openprofiles.engine.segments.compiler import SegmentError, UnsupportedSegment, segment_query
from openprofiles.engine.tenancy import Tenant
from openprofiles.store.db import Store

NOW = datetime(2025, 1, 1, tzinfo=UTC)
PEOPLE = {
    "ann": {
        "FirstName": "Ann", "EmailAddress": "ann@example.com", "BirthDate": "1990-05-17",
        "Address": {"Country": "USA", "City": "Seattle"},
        "Attributes": {"tier": "gold", "score": "12", "joined": "2024-03-01T10:00:00Z"},
    },
    "bob": {
        "FirstName": "Bob", "EmailAddress": "bob@corp.test", "BirthDate": "1985-01-01",
        "Address": {"Country": "Mexico"}, "Attributes": {"tier": "silver", "score": " 3.5 ", "joined": "2023-12-31"},
    },
    "cy": {
        "FirstName": "Cy", "BirthDate": "05/17/1990", "Address": {"Country": "Canada"},
        "Attributes": {"score": "abc"}, "ProfileType": "ACCOUNT_PROFILE",
    },
    "dee": {"FirstName": "dee", "EmailAddress": "DEE@EXAMPLE.COM"},
}  # fmt: skip
EVERYONE = set(PEOPLE)


@pytest.fixture
def world(db_url: str) -> Any:
    """A store with a fresh domain of PEOPLE; yields (store, domain, name by profile id)."""
    store = Store(db_url)
    tenant = Tenant(str(uuid.uuid4().int)[:12], "us-east-1")
    with store.transaction() as conn:
        domain = domains.create_domain(conn, tenant, "segments", {"DefaultExpirationDays": 30}, {}, NOW)
        names = {create_profile(conn, domain, fields, NOW): name for name, fields in PEOPLE.items()}
    yield store, domain, names
    store.close()


def members(world: Any, groups: dict[str, Any], stored: dict[str, Any] | None = None) -> set[str]:
    store, domain, names = world
    saved = {name: {"SegmentGroups": g} for name, g in (stored or {}).items()}
    with store.read() as conn:
        query = segment_query(domain["id"], groups, "SegmentGroups", conn.dialect.name, saved.get)
        return {names[row.profile_id] for row in conn.execute(query)}


def dim(**attributes: Any) -> dict[str, Any]:
    return {"ProfileAttributes": attributes}


def op(kind: str, *values: str) -> dict[str, Any]:
    return {"DimensionType": kind, "Values": list(values)}


def one(dimension: dict[str, Any]) -> dict[str, Any]:
    return {"Groups": [{"Dimensions": [dimension]}]}


CASES = [
    # strings: case-sensitive, missing values only satisfy EXCLUSIVE
    (dim(FirstName=op("INCLUSIVE", "Ann", "Bob")), {"ann", "bob"}),
    (dim(FirstName=op("INCLUSIVE", "Dee")), set()),
    (dim(FirstName=op("EXCLUSIVE", "Ann")), {"bob", "cy", "dee"}),
    (dim(Address={"Country": op("EXCLUSIVE", "USA")}), {"bob", "cy", "dee"}),
    (dim(EmailAddress=op("CONTAINS", "example")), {"ann"}),
    (dim(EmailAddress=op("BEGINS_WITH", "bob@", "nobody")), {"bob"}),
    (dim(EmailAddress=op("ENDS_WITH", "@example.com")), {"ann"}),
    (dim(EmailAddress=op("ENDS_WITH", "x@ann@example.com")), set()),
    (dim(FirstName=op("BEGINS_WITH", "%")), set()),
    (dim(FirstName=op("CONTAINS", "_")), set()),
    (dim(Address={"Country": op("CONTAINS", "US")}), {"ann"}),
    (dim(ProfileType=op("INCLUSIVE", "PROFILE")), {"ann", "bob", "dee"}),
    (dim(ProfileType=op("EXCLUSIVE", "PROFILE")), {"cy"}),
    (dim(Attributes={"tier": op("INCLUSIVE", "gold")}), {"ann"}),
    # dates: by UTC day; a stored value that is not an ISO day counts as missing
    (dim(BirthDate=op("BEFORE", "1989-01-01")), {"bob"}),
    (dim(BirthDate=op("AFTER", "1989-01-01")), {"ann"}),
    (dim(BirthDate=op("ON", "1990-05-17T00:00:00Z", "1970-01-01")), {"ann"}),
    (dim(BirthDate=op("BETWEEN", "1985-01-01", "1990-05-17")), {"ann", "bob"}),
    (dim(BirthDate=op("NOT_BETWEEN", "1986-01-01", "2000-01-01")), {"bob", "cy", "dee"}),
    (dim(Attributes={"joined": op("AFTER", "2024-01-01")}), {"ann"}),
    (dim(Attributes={"joined": op("BEFORE", "1704067200000")}), {"bob"}),
    (dim(Attributes={"joined": op("ON", "2024-03-01")}), {"ann"}),
    (dim(Attributes={"joined": op("BETWEEN", "2023-12-31", "2024-02-01")}), {"bob"}),
    # numbers: text that is not a number matches nothing but NOT_BETWEEN
    (dim(Attributes={"score": op("GREATER_THAN", "5")}), {"ann"}),
    (dim(Attributes={"score": op("GREATER_THAN_OR_EQUAL", "3.5")}), {"ann", "bob"}),
    (dim(Attributes={"score": op("LESS_THAN", "12")}), {"bob"}),
    (dim(Attributes={"score": op("LESS_THAN_OR_EQUAL", "1.2e1")}), {"ann", "bob"}),
    (dim(Attributes={"score": op("EQUAL", "3.50", "99")}), {"bob"}),
    (dim(Attributes={"score": op("BETWEEN", "3", "12")}), {"ann", "bob"}),
    (dim(Attributes={"score": op("NOT_BETWEEN", "4", "20")}), {"bob", "cy", "dee"}),
    # several members of one ProfileAttributes must all hold
    (dim(FirstName=op("INCLUSIVE", "Ann", "Bob"), Address={"Country": op("INCLUSIVE", "Mexico")}), {"bob"}),
]


@pytest.mark.parametrize(("dimension", "expected"), CASES, ids=[str(c[0])[:60] for c in CASES])
def test_operator(world: Any, dimension: dict[str, Any], expected: set[str]) -> None:
    assert members(world, one(dimension)) == expected


ANN = dim(FirstName=op("INCLUSIVE", "Ann"))
MEXICO = dim(Address={"Country": op("INCLUSIVE", "Mexico")})
NORTH_AMERICA = dim(Address={"Country": op("INCLUSIVE", "USA", "Mexico", "Canada")})


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ({"Groups": [{"Type": "ALL", "Dimensions": [ANN, MEXICO]}]}, set()),
        ({"Groups": [{"Type": "ANY", "Dimensions": [ANN, MEXICO]}]}, {"ann", "bob"}),
        ({"Groups": [{"Type": "NONE", "Dimensions": [ANN, MEXICO]}]}, {"cy", "dee"}),
        ({"Include": "ALL", "Groups": [{"Dimensions": [NORTH_AMERICA]}, {"Dimensions": [MEXICO]}]}, {"bob"}),
        ({"Include": "ANY", "Groups": [{"Dimensions": [ANN]}, {"Dimensions": [MEXICO]}]}, {"ann", "bob"}),
        ({"Include": "NONE", "Groups": [{"Dimensions": [NORTH_AMERICA]}, {"Dimensions": [MEXICO]}]}, {"ann", "cy"}),
        ({"Include": "NONE", "Groups": [{"Dimensions": [NORTH_AMERICA]}]}, {"dee"}),
        ({"Groups": [{}]}, EVERYONE),
    ],
)
def test_groups(world: Any, groups: dict[str, Any], expected: set[str]) -> None:
    assert members(world, groups) == expected


def sources(kind: str, *names: str, dimensions: list[Any] | None = None) -> dict[str, Any]:
    group = {"SourceType": kind, "SourceSegments": [{"SegmentDefinitionName": n} for n in names]}
    return {"Groups": [{**group, "Dimensions": dimensions or []}]}


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        (sources("ANY", "ann", "mexico"), {"ann", "bob"}),
        (sources("ALL", "americas", "mexico"), {"bob"}),
        (sources("NONE", "ann", "mexico"), {"cy", "dee"}),
        (sources("ANY", "americas", dimensions=[dim(Attributes={"score": op("LESS_THAN", "100")})]), {"ann", "bob"}),
        (sources("ANY", "not_mexico"), {"ann", "cy"}),  # a source of a source
    ],
)
def test_source_segments(world: Any, groups: dict[str, Any], expected: set[str]) -> None:
    stored = {
        "ann": one(ANN), "mexico": one(MEXICO), "americas": one(NORTH_AMERICA),
        "not_mexico": {"Include": "NONE", "Groups": [{"SourceSegments": [{"SegmentDefinitionName": "americas"}]}, {"Dimensions": [MEXICO]}]},
    }  # fmt: skip
    assert members(world, groups, stored) == expected


@pytest.mark.parametrize(
    ("groups", "path", "problem"),
    [
        ({"Groups": []}, "SegmentGroups.Groups", "at least one group"),
        (one(dim()), "SegmentGroups.Groups[0].Dimensions[0].ProfileAttributes", "at least one"),
        (one(dim(Address={})), "SegmentGroups.Groups[0].Dimensions[0].ProfileAttributes.Address", "at least one"),
        (one(dim(FirstName=op("BEFORE", "x"))), "SegmentGroups.Groups[0].Dimensions[0].ProfileAttributes.FirstName.DimensionType", "not an operator for text"),
        (one(dim(BirthDate=op("CONTAINS", "x"))), "SegmentGroups.Groups[0].Dimensions[0].ProfileAttributes.BirthDate.DimensionType", "not an operator for dates"),
        (one(dim(BirthDate=op("ON", "1990-01-01", "soon"))), "SegmentGroups.Groups[0].Dimensions[0].ProfileAttributes.BirthDate.Values[1]", "'soon' is not a date"),
        (one(dim(BirthDate=op("BEFORE", "1990-01-01", "1991-01-01"))), "SegmentGroups.Groups[0].Dimensions[0].ProfileAttributes.BirthDate.Values", "exactly one value"),
        (one(dim(Attributes={"n": op("GREATER_THAN", "ten")})), "SegmentGroups.Groups[0].Dimensions[0].ProfileAttributes.Attributes.n.Values[0]", "'ten' is not a number"),
        (one(dim(Attributes={"n": op("BETWEEN", "9")})), "SegmentGroups.Groups[0].Dimensions[0].ProfileAttributes.Attributes.n.Values", "exactly two values"),
        (one(dim(Attributes={"n": op("BETWEEN", "9", "1")})), "SegmentGroups.Groups[0].Dimensions[0].ProfileAttributes.Attributes.n.Values", "lower bound first"),
        (one(dim(Attributes={'a"b': op("INCLUSIVE", "x")})), "SegmentGroups.Groups[0].Dimensions[0].ProfileAttributes.Attributes.a\"b", "cannot be segmented on"),
        (one(dim(Nickname=op("INCLUSIVE", "x"))), "SegmentGroups.Groups[0].Dimensions[0].ProfileAttributes.Nickname", "not a profile attribute"),
        (sources("ANY", "missing"), "SegmentGroups.Groups[0].SourceSegments[0].SegmentDefinitionName", "missing does not exist"),
        (sources("ANY", "a"), "SegmentGroups.Groups[0].SourceSegments[0].SegmentDefinitionName", "in segment a: in segment b: segments may not form a cycle: a -> b -> a"),
    ],
)
def test_bad_definitions_name_the_part(world: Any, groups: dict[str, Any], path: str, problem: str) -> None:
    with pytest.raises(SegmentError) as raised:
        members(world, groups, {"a": sources("ANY", "b"), "b": sources("ANY", "a")})
    assert raised.value.path == path
    assert problem in raised.value.problem


def test_calculated_attribute_dimensions_are_not_supported_yet(world: Any) -> None:
    calculated = {"CalculatedAttributes": {"_orders_count": op("GREATER_THAN", "1")}}
    with pytest.raises(UnsupportedSegment) as raised:
        members(world, one(calculated))
    assert raised.value.path == "SegmentGroups.Groups[0].Dimensions[0].CalculatedAttributes"


def test_a_definition_cannot_be_its_own_source(world: Any) -> None:
    store, domain, _ = world
    with store.read() as conn, pytest.raises(SegmentError, match="self -> self"):
        segment_query(domain["id"], sources("ANY", "self"), "SegmentGroups", conn.dialect.name, {}.get, "self")
