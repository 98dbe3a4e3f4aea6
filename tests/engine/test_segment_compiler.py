"""Segment definitions compiled to SQL, run on SQLite and PostgreSQL: every operator kind, missing
and malformed values, group and top-level Include, source segments, calculated attributes of
every statistic (with Range windows that move with the time of evaluation, ObjectCount,
Threshold, ConditionOverrides and expired objects), and the parts a bad definition names."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from openprofiles.engine import domains
from openprofiles.engine.calculated.definitions import compiled
from openprofiles.engine.profiles import create_profile
from openprofiles.engine.segments.compiler import Lookups, SegmentError, segment_query
from openprofiles.engine.tenancy import Tenant
from openprofiles.store import calculated as calculated_store
from openprofiles.store.db import Store
from openprofiles.store.schema import calculated_observations, profile_objects, profiles

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


def lookups(conn: Any, domain: dict[str, Any], stored: dict[str, Any] | None, now: datetime) -> Lookups:
    """``stored`` segment groups by name, the domain's calculated attributes, and ``now``."""
    saved = {name: {"SegmentGroups": g} for name, g in (stored or {}).items()}

    def calculated(name: str) -> Any:
        row = calculated_store.get(conn, domain["id"], name)
        return None if row is None else compiled(row)

    return Lookups(saved.get, calculated, now)


def members(
    world: Any, groups: dict[str, Any], stored: dict[str, Any] | None = None, now: datetime = NOW
) -> set[str]:
    store, domain, names = world
    with store.read() as conn:
        found = lookups(conn, domain, stored, now)
        query = segment_query(domain["id"], groups, "SegmentGroups", conn.dialect.name, found)
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


def test_a_definition_cannot_be_its_own_source(world: Any) -> None:
    store, domain, _ = world
    with store.read() as conn, pytest.raises(SegmentError, match="self -> self"):
        found = lookups(conn, domain, None, NOW)
        segment_query(domain["id"], sources("ANY", "self"), "SegmentGroups", conn.dialect.name, found, "self")


# --- calculated attributes ------------------------------------------------------------------------

AMOUNT, CHANNEL, DATE = "{orders.amount}", "{orders.channel}", "{orders.date}"
DEFINITIONS = {
    "spend": ("SUM", AMOUNT, {}),
    "spend_week": ("SUM", AMOUNT, {"Range": {"Value": 7, "Unit": "DAYS"}}),
    "recent_two": ("SUM", AMOUNT, {"ObjectCount": 2}),
    "average": ("AVERAGE", AMOUNT, {}),
    "smallest": ("MINIMUM", AMOUNT, {}),
    "largest": ("MAXIMUM", AMOUNT, {}),
    "orders": ("COUNT", AMOUNT, {}),
    "frequent": ("COUNT", AMOUNT, {"Threshold": {"Value": "2", "Operator": "GREATER_THAN"}}),
    "first_amount": ("FIRST_OCCURRENCE", AMOUNT, {}),
    "last_channel": ("LAST_OCCURRENCE", CHANNEL, {}),
    "top_channel": ("MAX_OCCURRENCE", CHANNEL, {}),
    "first_order": ("FIRST_OCCURRENCE", DATE, {}),
}
#: each person's orders: (days before NOW, amount, channel, date, expires at), oldest first;
#: dee's only order expired a minute before NOW
ORDERS = {
    "ann": [(10, "10", "WEB", "2024-03-01T10:00:00Z", None), (2, "0.2", "PHONE", "2024-05-01", None),
            (1, "0.1", "WEB", "2024-06-01", None)],
    "bob": [(3, "10.10", "WEB", "2023-12-31", None), (1, "20.20", "PHONE", "2024-01-15", None)],
    "cy": [(1, "n/a", "EMAIL", "soon", None)],
    "dee": [(1, "1000", "WEB", "2020-01-01", NOW - timedelta(minutes=1))],
}  # fmt: skip


@pytest.fixture
def shoppers(world: Any) -> Any:
    """The world with DEFINITIONS, and the observations ORDERS give them (as ingestion writes
    them: one per object and definition, dated by ingestion time)."""
    store, domain, names = world
    with store.transaction() as conn:
        rows = conn.execute(select(profiles.c.id, profiles.c.profile_id).where(profiles.c.domain_id == domain["id"]))
        pks = {names[row.profile_id]: row.id for row in rows}
        for name, (statistic, expression, conditions) in DEFINITIONS.items():
            attribute = expression.strip("{}").split(".")[1]
            members = {
                "AttributeDetails": {"Attributes": [{"Name": attribute}], "Expression": expression},
                "Statistic": statistic, "Conditions": conditions, "UseHistoricalData": True,
            }  # fmt: skip
            calculated_store.insert_definition(conn, domain["id"], name, members, NOW.timestamp() - 30 * 86400)
        definitions = {name: calculated_store.get(conn, domain["id"], name) for name in DEFINITIONS}
        for who, orders in ORDERS.items():
            for days, amount, channel, date, expires in orders:
                observed_at = (NOW - timedelta(days=days)).timestamp()
                expires_at = None if expires is None else expires.timestamp()
                [object_pk] = conn.execute(
                    insert(profile_objects).returning(profile_objects.c.id),
                    {"domain_id": domain["id"], "profile_pk": pks[who], "object_type_name": "orders",
                     "unique_key": uuid.uuid4().hex, "document": "{}", "size": 0, "created_at": observed_at,
                     "updated_at": observed_at, "expires_at": expires_at},
                ).scalars()  # fmt: skip
                value = {AMOUNT: amount, CHANNEL: channel, DATE: date}
                conn.execute(
                    insert(calculated_observations),
                    [
                        {"domain_id": domain["id"], "definition_id": row["id"], "object_pk": object_pk,
                         "profile_pk": pks[who], "observed_at": observed_at, "expires_at": expires_at,
                         "value": value[DEFINITIONS[name][1]]}
                        for name, row in definitions.items() if row is not None
                    ],
                )  # fmt: skip
    return world


def calc(**attributes: Any) -> dict[str, Any]:
    return {"CalculatedAttributes": attributes}


def within(start: int, end: int, kind: str, *values: str) -> dict[str, Any]:
    return {**op(kind, *values), "ConditionOverrides": {"Range": {"Start": start, "End": end, "Unit": "DAYS"}}}


CALCULATED_CASES = [
    # numeric statistics compare as doubles, as the Value (an exact decimal) read as a number:
    # 0.1 + 0.2 is 0.3 and 10.10 + 20.20 is 30.3, which double sums are not
    (calc(spend=op("GREATER_THAN", "10")), {"ann", "bob"}),
    (calc(spend=op("EQUAL", "10.3")), {"ann"}),
    (calc(spend=op("BETWEEN", "30.3", "30.3")), {"bob"}),
    (calc(spend=op("NOT_BETWEEN", "0", "20")), {"bob", "cy", "dee"}),  # cy: no number, dee: expired
    (calc(spend_week=op("EQUAL", "0.3")), {"ann"}),  # the order 10 days ago is outside the Range
    (calc(recent_two=op("EQUAL", "0.3", "30.3")), {"ann", "bob"}),
    (calc(average=op("GREATER_THAN", "15")), {"bob"}),
    (calc(average=op("LESS_THAN_OR_EQUAL", "3.4333333333333333")), {"ann"}),
    (calc(smallest=op("LESS_THAN", "1")), {"ann"}),
    (calc(largest=op("EQUAL", "20.2")), {"bob"}),
    (calc(orders=op("EQUAL", "1")), {"cy"}),  # COUNT counts values, numbers or not
    (calc(orders=op("GREATER_THAN_OR_EQUAL", "2")), {"ann", "bob"}),
    # a Threshold makes the value true or false
    (calc(frequent=op("INCLUSIVE", "true")), {"ann"}),
    (calc(frequent=op("INCLUSIVE", "false")), {"bob", "cy"}),
    (calc(frequent=op("EXCLUSIVE", "true")), {"bob", "cy", "dee"}),
    # the value an object had takes every operator: numbers, text, days
    (calc(first_amount=op("GREATER_THAN", "5")), {"ann", "bob"}),
    (calc(first_amount=op("INCLUSIVE", "10.10")), {"bob"}),
    (calc(first_amount=op("NOT_BETWEEN", "0", "10")), {"bob", "cy", "dee"}),
    (calc(last_channel=op("INCLUSIVE", "WEB")), {"ann"}),
    (calc(last_channel=op("EXCLUSIVE", "WEB")), {"bob", "cy", "dee"}),
    (calc(last_channel=op("ENDS_WITH", "AIL")), {"cy"}),
    (calc(top_channel=op("INCLUSIVE", "PHONE")), {"bob"}),  # a tie: the value seen last
    (calc(top_channel=op("INCLUSIVE", "WEB")), {"ann"}),
    (calc(first_order=op("BEFORE", "2024-01-01")), {"bob"}),
    (calc(first_order=op("ON", "2024-03-01")), {"ann"}),
    (calc(first_order=op("AFTER", "2024-01-01")), {"ann"}),
    # every name of one map must hold
    (calc(spend=op("GREATER_THAN", "10"), orders=op("EQUAL", "2")), {"bob"}),
    # ConditionOverrides.Range replaces the definition's Range, or gives one
    (calc(spend_week=within(30, 5, "EQUAL", "10")), {"ann"}),
    (calc(spend=within(2, 0, "EQUAL", "0.3")), {"ann"}),
    (calc(spend=within(2, 0, "EQUAL", "20.2")), {"bob"}),
]


@pytest.mark.parametrize(("dimension", "expected"), CALCULATED_CASES, ids=[str(c[0])[:70] for c in CALCULATED_CASES])
def test_calculated_attribute(shoppers: Any, dimension: dict[str, Any], expected: set[str]) -> None:
    assert members(shoppers, one(dimension)) == expected


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ({"Groups": [{"Type": "NONE", "Dimensions": [calc(spend=op("GREATER_THAN", "10"))]}]}, {"cy", "dee"}),
        ({"Groups": [{"Type": "ANY", "Dimensions": [calc(orders=op("EQUAL", "1")), ANN]}]}, {"ann", "cy"}),
        ({"Include": "NONE", "Groups": [{"Dimensions": [NORTH_AMERICA]}, {"Dimensions": [calc(spend=op("GREATER_THAN", "20"))]}]}, {"ann", "cy"}),
        ({"Include": "ANY", "Groups": [{"Dimensions": [calc(spend=op("GREATER_THAN", "20"))]}, {"Dimensions": [MEXICO]}]}, {"bob"}),
        ({"Groups": [{"Dimensions": [calc(spend=op("LESS_THAN", "20")), dim(Address={"Country": op("INCLUSIVE", "USA")})]}]}, {"ann"}),
    ],
)
def test_calculated_attributes_combine_with_the_others(shoppers: Any, groups: dict[str, Any], expected: set[str]) -> None:
    assert members(shoppers, groups) == expected


def test_range_windows_move_with_the_time_of_evaluation(shoppers: Any) -> None:
    week = one(calc(spend_week=op("GREATER_THAN", "0")))
    assert members(shoppers, week) == {"ann", "bob"}
    assert members(shoppers, one(calc(spend_week=op("EQUAL", "0.1"))), now=NOW + timedelta(days=5.5)) == {"ann"}
    assert members(shoppers, one(calc(spend_week=op("EQUAL", "20.2"))), now=NOW + timedelta(days=5.5)) == {"bob"}
    assert members(shoppers, week, now=NOW + timedelta(days=6.5)) == set()
    assert members(shoppers, one(calc(spend_week=op("NOT_BETWEEN", "0", "1"))), now=NOW + timedelta(days=6.5)) == EVERYONE
    # the window ends at now: five days earlier, only ann's order of 10 days ago was in it
    assert members(shoppers, one(calc(spend_week=op("EQUAL", "10"))), now=NOW - timedelta(days=5)) == {"ann"}
    assert members(shoppers, week, now=NOW - timedelta(days=5)) == {"ann"}


def test_expired_objects_stop_counting_when_they_expire(shoppers: Any) -> None:
    rich = one(calc(spend=op("GREATER_THAN", "500")))
    assert members(shoppers, rich, now=NOW - timedelta(hours=2)) == {"dee"}
    assert members(shoppers, rich) == set()


def test_subqueries_come_after_the_cheap_terms(shoppers: Any) -> None:
    store, domain, _ = shoppers
    spend, first = calc(spend=op("GREATER_THAN", "10")), dim(FirstName=op("INCLUSIVE", "Ann"))
    shapes = [
        {"Groups": [{"Type": kind, "Dimensions": [spend, first]}]} for kind in ("ALL", "ANY", "NONE")
    ] + [
        {"Include": include, "Groups": [{"Dimensions": [spend]}, {"Dimensions": [first]}]}
        for include in ("ALL", "ANY", "NONE")
    ]
    with store.read() as conn:
        for groups in shapes:
            query = segment_query(domain["id"], groups, "SegmentGroups", conn.dialect.name, lookups(conn, domain, None, NOW))
            text = str(query.compile(conn))
            field = "#>>" if conn.dialect.name == "postgresql" else "json_extract("
            assert text.index(field) < text.index("calculated_observations"), groups


def test_terms_outside_a_negation_are_not_wrapped(world: Any) -> None:
    """Only a term that a NOT covers (NONE, EXCLUSIVE, NOT_BETWEEN) keeps its COALESCE; the
    others run bare (the members, with missing values, are tested above)."""
    store, domain, _ = world
    plain = {"Groups": [{"Type": "ANY", "Dimensions": [ANN, dim(BirthDate=op("BEFORE", "1989-01-01"))]}]}
    negated = {"Groups": [{"Type": "NONE", "Dimensions": [ANN]}]}
    excluded = one(dim(FirstName=op("EXCLUSIVE", "Ann")))
    with store.read() as conn:
        def sql(groups: dict[str, Any]) -> str:
            found = lookups(conn, domain, None, NOW)
            query = segment_query(domain["id"], groups, "SegmentGroups", conn.dialect.name, found)
            return str(query.compile(conn)).lower()

        assert "coalesce" not in sql(plain)
        assert "coalesce" in sql(negated)
        assert "coalesce" in sql(excluded)


@pytest.mark.parametrize(
    ("dimension", "part", "problem"),
    [
        (calc(nope=op("GREATER_THAN", "1")), "CalculatedAttributes.nope", "calculated attribute nope does not exist"),
        ({"CalculatedAttributes": {}}, "CalculatedAttributes", "set at least one calculated attribute"),
        (calc(spend=op("INCLUSIVE", "1")), "CalculatedAttributes.spend.DimensionType", "INCLUSIVE is not an operator for numbers: spend is a SUM"),
        (calc(orders=op("BEFORE", "2024-01-01")), "CalculatedAttributes.orders.DimensionType", "not an operator for numbers"),
        (calc(frequent=op("GREATER_THAN", "1")), "CalculatedAttributes.frequent.DimensionType", "frequent is 'true' or 'false' (its Threshold)"),
        (calc(spend=op("GREATER_THAN", "ten")), "CalculatedAttributes.spend.Values[0]", "'ten' is not a number"),
        (calc(spend=op("BETWEEN", "1")), "CalculatedAttributes.spend.Values", "exactly two values"),
        (calc(spend=op("LESS_THAN", "1", "2")), "CalculatedAttributes.spend.Values", "exactly one value"),
        (calc(first_order=op("ON", "someday")), "CalculatedAttributes.first_order.Values[0]", "'someday' is not a date"),
        (calc(spend=within(1, 5, "GREATER_THAN", "1")), "CalculatedAttributes.spend.ConditionOverrides.Range", "Start is at least End"),
        (calc(spend=within(400, 0, "GREATER_THAN", "1")), "CalculatedAttributes.spend.ConditionOverrides.Range", "at most 366 days"),
    ],
)
def test_bad_calculated_dimensions_name_the_part(shoppers: Any, dimension: dict[str, Any], part: str, problem: str) -> None:
    with pytest.raises(SegmentError) as raised:
        members(shoppers, {"Groups": [{"Dimensions": [dim(FirstName=op("INCLUSIVE", "Ann")), dimension]}]})
    assert raised.value.path == f"SegmentGroups.Groups[0].Dimensions[1].{part}"
    assert problem in raised.value.problem


def test_a_source_segment_naming_a_missing_calculated_attribute_names_the_source(shoppers: Any) -> None:
    with pytest.raises(SegmentError) as raised:
        members(shoppers, sources("ANY", "gone"), {"gone": one(calc(deleted=op("EQUAL", "1")))})
    assert raised.value.path == "SegmentGroups.Groups[0].SourceSegments[0].SegmentDefinitionName"
    assert raised.value.problem == "in segment gone: calculated attribute deleted does not exist"
