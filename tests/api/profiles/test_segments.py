"""Segments through boto3, behind every door: definitions (create, get, list, delete, tags),
estimates and membership counted exactly, calculated attribute dimensions agreeing with
GetCalculatedAttributeForProfile for every statistic, and every rejection naming the part
(REFERENCE 4). Windows that move with the App clock are tested in-process on a ManualClock, on
SQLite and PostgreSQL, at the end."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from openprofiles.clock import ManualClock
from openprofiles.config import Settings
from openprofiles.mock import mock_profiles

PEOPLE = {
    "ann": {"FirstName": "Ann", "EmailAddress": "ann@example.com", "BirthDate": "1990-05-17",
            "Address": {"Country": "USA"}, "Attributes": {"tier": "gold", "score": "12"}},
    "bob": {"FirstName": "Bob", "EmailAddress": "bob@corp.test", "BirthDate": "1985-01-01",
            "Address": {"Country": "Mexico"}, "Attributes": {"tier": "silver", "score": "3"}},
    "cy": {"FirstName": "Cy", "Address": {"Country": "Canada"}, "Attributes": {"score": "abc"}},
}  # fmt: skip


def op(kind: str, *values: str) -> dict[str, Any]:
    return {"DimensionType": kind, "Values": list(values)}


def one(**attributes: Any) -> dict[str, Any]:
    return {"Include": "ALL", "Groups": [{"Type": "ALL", "Dimensions": [{"ProfileAttributes": attributes}]}]}


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["Error"]["Message"]


@pytest.fixture
def domain(profiles: Any, unique: Callable[[str], str]) -> tuple[str, dict[str, str]]:
    """A domain holding PEOPLE; its name, and the profile id of each person."""
    name = unique("seg")
    profiles.create_domain(DomainName=name, DefaultExpirationDays=30)
    ids = {who: profiles.create_profile(DomainName=name, **fields)["ProfileId"] for who, fields in PEOPLE.items()}
    return name, ids


def estimate(profiles: Any, domain: str, query: dict[str, Any]) -> int:
    created = profiles.create_segment_estimate(DomainName=domain, SegmentQuery=query)
    found = profiles.get_segment_estimate(DomainName=domain, EstimateId=created["EstimateId"])
    assert (found["Status"], found["StatusCode"], found["DomainName"]) == ("SUCCEEDED", 200, domain)
    return int(found["Estimate"])


@pytest.mark.parametrize(
    ("query", "count"),
    [
        (one(FirstName=op("INCLUSIVE", "Ann", "Cy")), 2),
        (one(EmailAddress=op("ENDS_WITH", "@example.com")), 1),
        (one(Address={"Country": op("EXCLUSIVE", "USA")}), 2),
        (one(BirthDate=op("BETWEEN", "1980-01-01", "1990-05-17")), 2),
        (one(BirthDate=op("AFTER", "1986-01-01T00:00:00Z")), 1),
        (one(Attributes={"score": op("GREATER_THAN_OR_EQUAL", "3")}), 2),
        (one(Attributes={"tier": op("BEGINS_WITH", "s")}), 1),
        ({"Include": "ANY", "Groups": [one(FirstName=op("INCLUSIVE", "Ann"))["Groups"][0],
                                       one(Address={"Country": op("CONTAINS", "xic")})["Groups"][0]]}, 2),
    ],
)
def test_estimates_count_exactly(profiles: Any, domain: Any, query: dict[str, Any], count: int) -> None:
    assert estimate(profiles, domain[0], query) == count


def test_definition_lifecycle_and_membership(profiles: Any, domain: Any) -> None:
    name, ids = domain
    created = profiles.create_segment_definition(
        DomainName=name, SegmentDefinitionName="americas", DisplayName="Americas", Description="d",
        SegmentGroups=one(Address={"Country": op("INCLUSIVE", "USA", "Mexico")}), Tags={"team": "crm"},
    )
    arn = created["SegmentDefinitionArn"]
    assert arn.endswith(f":domains/{name}/segment-definitions/americas") and arn.startswith("arn:aws:profile:us-east-1:")
    assert (created["SegmentDefinitionName"], created["DisplayName"], created["Tags"]) == ("americas", "Americas", {"team": "crm"})
    got = profiles.get_segment_definition(DomainName=name, SegmentDefinitionName="americas")
    assert got["SegmentGroups"] == one(Address={"Country": op("INCLUSIVE", "USA", "Mexico")})
    assert (got["SegmentType"], got["Description"], got["SegmentDefinitionArn"]) == ("CLASSIC", "d", arn)
    assert profiles.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "crm"}

    gold = {"Groups": [{"SourceSegments": [{"SegmentDefinitionName": "americas"}],
                        "Dimensions": [{"ProfileAttributes": {"Attributes": {"tier": op("INCLUSIVE", "silver")}}}]}]}
    profiles.create_segment_definition(DomainName=name, SegmentDefinitionName="silver", DisplayName="S", SegmentGroups=gold)
    missing = "0" * 32
    found = profiles.get_segment_membership(
        DomainName=name, SegmentDefinitionName="silver", ProfileIds=[ids["ann"], ids["bob"], ids["cy"], missing]
    )
    results = {p["ProfileId"]: p["QueryResult"] for p in found["Profiles"]}
    assert results == {ids["ann"]: "ABSENT", ids["bob"]: "PRESENT", ids["cy"]: "ABSENT"}
    assert next(p for p in found["Profiles"] if p["QueryResult"] == "PRESENT")["Profile"]["FirstName"] == "Bob"
    assert [(f["ProfileId"], f["Status"]) for f in found["Failures"]] == [(missing, 404)]
    assert found["SegmentDefinitionName"] == "silver" and "LastComputedAt" in found

    listed = profiles.list_segment_definitions(DomainName=name, MaxResults=1)
    assert [i["SegmentDefinitionName"] for i in listed["Items"]] == ["americas"]
    rest = profiles.list_segment_definitions(DomainName=name, NextToken=listed["NextToken"])
    assert [i["SegmentDefinitionName"] for i in rest["Items"]] == ["silver"] and "NextToken" not in rest

    with pytest.raises(ClientError) as raised:
        profiles.delete_segment_definition(DomainName=name, SegmentDefinitionName="americas")
    assert error_of(raised) == ("BadRequestException", "Segment definition americas is a source segment of silver")
    profiles.delete_segment_definition(DomainName=name, SegmentDefinitionName="silver")
    profiles.delete_segment_definition(DomainName=name, SegmentDefinitionName="americas")
    assert profiles.list_segment_definitions(DomainName=name)["Items"] == []
    with pytest.raises(ClientError) as raised:
        profiles.list_tags_for_resource(resourceArn=arn)
    assert error_of(raised)[0] == "ResourceNotFoundException"


def test_unknown_resources_are_404(profiles: Any, domain: Any) -> None:
    name, ids = domain
    calls = [
        lambda: profiles.get_segment_definition(DomainName=name, SegmentDefinitionName="nope"),
        lambda: profiles.delete_segment_definition(DomainName=name, SegmentDefinitionName="nope"),
        lambda: profiles.get_segment_membership(DomainName=name, SegmentDefinitionName="nope", ProfileIds=[ids["ann"]]),
        lambda: profiles.get_segment_estimate(DomainName=name, EstimateId="f" * 32),
        lambda: profiles.list_segment_definitions(DomainName="no-such-domain"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as raised:
            call()
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert error_of(raised)[0] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        (one(FirstName=op("BEFORE", "x")),
         "'SegmentGroups.Groups[0].Dimensions[0].ProfileAttributes.FirstName.DimensionType'"),
        (one(BirthDate=op("ON", "someday")),
         "Invalid value at 'SegmentGroups.Groups[0].Dimensions[0].ProfileAttributes.BirthDate.Values[0]': "
         "'someday' is not a date"),
        (one(Attributes={"score": op("LESS_THAN", "low")}),
         "Invalid value at 'SegmentGroups.Groups[0].Dimensions[0].ProfileAttributes.Attributes.score.Values[0]': "
         "'low' is not a number"),
        ({"Groups": [{"SourceSegments": [{"SegmentDefinitionName": "ghost"}]}]},
         "Invalid value at 'SegmentGroups.Groups[0].SourceSegments[0].SegmentDefinitionName': "
         "segment definition ghost does not exist"),
        ({"Groups": [{"SourceSegments": [{"SegmentDefinitionName": "loop"}]}]},
         "segments may not form a cycle: loop -> loop"),
        ({"Groups": []}, "Invalid value at 'SegmentGroups.Groups': a segment needs at least one group"),
    ],
)
def test_bad_definitions_are_refused_naming_the_part(profiles: Any, domain: Any, groups: Any, message: str) -> None:
    with pytest.raises(ClientError) as raised:
        profiles.create_segment_definition(
            DomainName=domain[0], SegmentDefinitionName="loop", DisplayName="x", SegmentGroups=groups
        )
    code, text = error_of(raised)
    assert code == "BadRequestException" and message in text
    assert profiles.list_segment_definitions(DomainName=domain[0])["Items"] == []


def test_duplicates_and_sql_segments(profiles: Any, domain: Any) -> None:
    name = domain[0]
    profiles.create_segment_definition(DomainName=name, SegmentDefinitionName="s", DisplayName="x", SegmentGroups=one(FirstName=op("INCLUSIVE", "Ann")))
    with pytest.raises(ClientError) as raised:
        profiles.create_segment_definition(DomainName=name, SegmentDefinitionName="s", DisplayName="x", SegmentGroups=one(FirstName=op("INCLUSIVE", "Ann")))
    assert error_of(raised) == ("BadRequestException", f"Segment definition s already exists in domain {name}")
    with pytest.raises(ClientError) as raised:
        profiles.create_segment_definition(DomainName=name, SegmentDefinitionName="t", DisplayName="x")
    assert error_of(raised) == ("BadRequestException", "Give exactly one of SegmentGroups and SegmentSqlQuery")
    with pytest.raises(ClientError) as raised:
        profiles.create_segment_estimate(DomainName=name, SegmentSqlQuery="SELECT 1")
    assert error_of(raised) == (
        "BadRequestException",
        "Invalid value at 'SegmentSqlQuery': select FROM profiles, the only table a segment query reads",
    )


# --- SQL segments (ENHANCED) ------------------------------------------------------------------------


def sql_estimate(profiles: Any, domain: str, sql: str) -> int:
    created = profiles.create_segment_estimate(DomainName=domain, SegmentSqlQuery=sql)
    return int(profiles.get_segment_estimate(DomainName=domain, EstimateId=created["EstimateId"])["Estimate"])


@pytest.mark.parametrize(
    ("where", "count"),
    [
        ("FirstName IN ('Ann', 'Cy')", 2),
        ("lower(EmailAddress) LIKE '%@example.com'", 1),
        ("Address.Country <> 'USA'", 2),
        ("p.Attributes.score > 3", 1),
        ("CAST(Attributes.score AS DOUBLE) BETWEEN 3 AND 12", 2),
        ("Attributes.score + 1 >= 4", 2),
        ("Attributes.tier IS NULL", 1),
        ("NOT (Attributes.tier = 'gold') OR BirthDate < '1986-01-01'", 1),
        ("length(FirstName) = 3 AND coalesce(Attributes.tier, 'none') = 'none'", 0),
        ("TRUE", 3),
    ],
)  # fmt: skip
def test_sql_segments_count_what_their_where_selects(profiles: Any, domain: Any, where: str, count: int) -> None:
    assert sql_estimate(profiles, domain[0], f"SELECT ProfileId FROM profiles AS p WHERE {where}") == count


def test_a_sql_segment_is_enhanced_and_answers_membership(profiles: Any, domain: Any, tmp_path: Any) -> None:
    name, ids = domain
    sql = "SELECT ProfileId FROM profiles WHERE Attributes.tier IN ('gold', 'silver')"
    profiles.create_segment_definition(DomainName=name, SegmentDefinitionName="paying", DisplayName="Paying", SegmentSqlQuery=sql)
    found = profiles.get_segment_definition(DomainName=name, SegmentDefinitionName="paying")
    assert (found["SegmentType"], found["SegmentSqlQuery"]) == ("ENHANCED", sql) and "SegmentGroups" not in found
    members = profiles.get_segment_membership(DomainName=name, SegmentDefinitionName="paying", ProfileIds=list(ids.values()))
    present = {p["ProfileId"] for p in members["Profiles"] if p["QueryResult"] == "PRESENT"}
    assert present == {ids["ann"], ids["bob"]}
    with pytest.raises(ClientError) as raised:
        profiles.create_segment_definition(
            DomainName=name, SegmentDefinitionName="nested", DisplayName="x",
            SegmentGroups={"Groups": [{"SourceSegments": [{"SegmentDefinitionName": "paying"}]}]},
        )
    assert "defined by SQL and cannot be a source segment" in error_of(raised)[1]


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("SELECT ProfileId FROM orders", "select FROM profiles"),
        ("SELECT FirstName FROM profiles", "select ProfileId"),
        ("SELECT ProfileId FROM profiles p JOIN profiles q ON p.ProfileId = q.ProfileId", "JOIN is not accepted"),
        ("SELECT ProfileId FROM profiles WHERE FirstName IN (SELECT 1)", "not a subquery"),
        ("SELECT ProfileId FROM profiles WHERE Shoe = 'x'", "column Shoe is not a profile field"),
        ("SELECT ProfileId FROM profiles WHERE upper(FirstName)", "is not a condition"),
        ("SELECT ProfileId FROM profiles WHERE sha2(FirstName, 256) = 'x'", "is not accepted in a segment query"),
        ("SELECT ProfileId FROM profiles; DROP TABLE profiles", "one SELECT statement"),
        ("SELECT ProfileId FROM profiles WHERE (", "not valid SQL"),
    ],
)  # fmt: skip
def test_sql_segments_outside_the_accepted_form_are_refused(profiles: Any, domain: Any, sql: str, problem: str) -> None:
    with pytest.raises(ClientError) as raised:
        profiles.create_segment_definition(DomainName=domain[0], SegmentDefinitionName="bad", DisplayName="x", SegmentSqlQuery=sql)
    code, message = error_of(raised)
    assert code == "BadRequestException" and message.startswith("Invalid value at 'SegmentSqlQuery': ")
    assert problem in message


# --- calculated attributes -------------------------------------------------------------------------

ORDER_FIELDS = {
    "orderId": {"Source": "_source.id"},
    "email": {"Source": "_source.email", "ContentType": "EMAIL_ADDRESS"},
    "amount": {"Source": "_source.amount", "ContentType": "NUMBER"},
    "channel": {"Source": "_source.channel"},
}
#: each shopper's orders (amount, channel), in the order they are ingested; "dee" has none.
#: Their decimal sums are not their double sums (0.1 + 0.2, 10.10 + 20.20), and bob's channels tie
SHOPPERS = {
    "ann": [("0.1", "WEB"), ("0.2", "PHONE"), ("10", "WEB")],
    "bob": [("10.10", "WEB"), ("20.20", "PHONE")],
    "cy": [("n/a", "EMAIL")],
    "gus": [("0.1", "WEB"), ("0.2", "WEB"), ("0.3", "PHONE")],
}
AMOUNT, CHANNEL = ("{orders.amount}", "amount"), ("{orders.channel}", "channel")
#: name -> (Statistic, (Expression, attribute), Conditions)
STATISTICS = {
    "total": ("SUM", AMOUNT, {}),
    "mean": ("AVERAGE", AMOUNT, {}),
    "least": ("MINIMUM", AMOUNT, {}),
    "most": ("MAXIMUM", AMOUNT, {}),
    "orders": ("COUNT", AMOUNT, {}),
    "first_amount": ("FIRST_OCCURRENCE", AMOUNT, {}),
    "last_amount": ("LAST_OCCURRENCE", AMOUNT, {}),
    "usual_amount": ("MAX_OCCURRENCE", AMOUNT, {}),
    "last_channel": ("LAST_OCCURRENCE", CHANNEL, {}),
    "usual_channel": ("MAX_OCCURRENCE", CHANNEL, {}),
    "regular": ("COUNT", AMOUNT, {"Threshold": {"Value": "2", "Operator": "GREATER_THAN"}}),
    "web_last": ("LAST_OCCURRENCE", CHANNEL, {"Threshold": {"Value": "WEB", "Operator": "EQUAL_TO"}}),
    "recent_two": ("SUM", AMOUNT, {"ObjectCount": 2}),
}
NUMERIC = ("SUM", "AVERAGE", "MINIMUM", "MAXIMUM", "COUNT")


def calculated(**attributes: Any) -> dict[str, Any]:
    return {"Include": "ALL", "Groups": [{"Type": "ALL", "Dimensions": [{"CalculatedAttributes": attributes}]}]}


def orders_type(profiles: Any, domain: str) -> None:
    profiles.put_profile_object_type(
        DomainName=domain, ObjectTypeName="orders", Description="orders", AllowProfileCreation=True,
        Fields=ORDER_FIELDS,
        Keys={"orderRef": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["orderId"]}],
              "custEmail": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}]},
    )  # fmt: skip


def define(profiles: Any, domain: str, name: str, statistic: str, source: tuple[str, str], **members: Any) -> None:
    """A definition over the objects ingested from now on (no backfill to wait for)."""
    profiles.create_calculated_attribute_definition(
        DomainName=domain, CalculatedAttributeName=name, Statistic=statistic, UseHistoricalData=False,
        AttributeDetails={"Attributes": [{"Name": source[1]}], "Expression": source[0]}, **members,
    )


def put_order(profiles: Any, domain: str, order_id: str, email: str, amount: str, channel: str = "WEB") -> None:
    record = {"id": order_id, "email": email, "amount": amount, "channel": channel}
    profiles.put_profile_object(DomainName=domain, ObjectTypeName="orders", Object=json.dumps(record))


def profile_of(profiles: Any, domain: str, email: str) -> str:
    return str(profiles.search_profiles(DomainName=domain, KeyName="_email", Values=[email])["Items"][0]["ProfileId"])


@pytest.fixture
def shoppers(profiles: Any, unique: Callable[[str], str]) -> tuple[str, dict[str, str]]:
    """A domain with STATISTICS defined, then SHOPPERS' orders; its name and each profile id."""
    name = unique("seg-calc")
    profiles.create_domain(DomainName=name, DefaultExpirationDays=30)
    orders_type(profiles, name)
    for attribute, (statistic, source, conditions) in STATISTICS.items():
        define(profiles, name, attribute, statistic, source, Conditions=conditions)
    ids = {}
    for who, orders in SHOPPERS.items():
        for i, (amount, channel) in enumerate(orders):
            put_order(profiles, name, f"{who}-{i}", f"{who}@example.com", amount, channel)
        ids[who] = profile_of(profiles, name, f"{who}@example.com")
    ids["dee"] = profiles.create_profile(DomainName=name, FirstName="Dee")["ProfileId"]
    return name, ids


def members_of(profiles: Any, domain: str, segment: str, groups: dict[str, Any], ids: dict[str, str]) -> set[str]:
    """Who GetSegmentMembership finds in a segment defined by ``groups``."""
    profiles.create_segment_definition(DomainName=domain, SegmentDefinitionName=segment, DisplayName=segment, SegmentGroups=groups)
    found = profiles.get_segment_membership(DomainName=domain, SegmentDefinitionName=segment, ProfileIds=list(ids.values()))
    present = {p["ProfileId"] for p in found["Profiles"] if p["QueryResult"] == "PRESENT"}
    return {who for who, profile_id in ids.items() if profile_id in present}


def test_segments_agree_with_get_calculated_attribute_for_profile(profiles: Any, shoppers: Any) -> None:
    """For every statistic, the profiles a segment finds by a value are those whose Value
    (GetCalculatedAttributeForProfile) is that value, read as a number for numeric statistics;
    and the negative operators also find the profiles without a value."""
    domain, ids = shoppers
    checked = 0
    for attribute, (statistic, _, conditions) in STATISTICS.items():
        values = {
            who: profiles.get_calculated_attribute_for_profile(
                DomainName=domain, ProfileId=profile_id, CalculatedAttributeName=attribute
            ).get("Value")
            for who, profile_id in ids.items()
        }
        assert values["dee"] is None and len({v for v in values.values() if v is not None}) >= 2, values
        numeric = statistic in NUMERIC and "Threshold" not in conditions
        for i, value in enumerate(sorted({v for v in values.values() if v is not None})):
            if numeric:
                dimension, excluding = op("EQUAL", value), op("NOT_BETWEEN", value, value)
                expected = {who for who, v in values.items() if v is not None and float(v) == float(value)}
            else:
                dimension, excluding = op("INCLUSIVE", value), op("EXCLUSIVE", value)
                expected = {who for who, v in values.items() if v == value}
            found = members_of(profiles, domain, f"{attribute}-{i}", calculated(**{attribute: dimension}), ids)
            assert found == expected, (attribute, value, values)
            assert estimate(profiles, domain, calculated(**{attribute: excluding})) == len(ids) - len(expected)
            checked += 1
    assert checked >= 2 * len(STATISTICS)


def test_values_that_double_sums_get_wrong(profiles: Any, shoppers: Any) -> None:
    domain, ids = shoppers
    assert members_of(profiles, domain, "a", calculated(total=op("EQUAL", "10.3", "30.3")), ids) == {"ann", "bob"}
    assert members_of(profiles, domain, "b", calculated(total=op("EQUAL", "0.6")), ids) == {"gus"}
    assert members_of(profiles, domain, "c", calculated(mean=op("EQUAL", "0.2")), ids) == {"gus"}
    assert members_of(profiles, domain, "d", calculated(recent_two=op("BETWEEN", "10.2", "10.2")), ids) == {"ann"}
    assert members_of(profiles, domain, "e", calculated(usual_channel=op("INCLUSIVE", "PHONE")), ids) == {"bob"}
    assert members_of(profiles, domain, "f", calculated(regular=op("INCLUSIVE", "true")), ids) == {"ann", "gus"}
    assert members_of(profiles, domain, "g", calculated(last_amount=op("GREATER_THAN", "5")), ids) == {"ann", "bob"}


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        (calculated(nope=op("GREATER_THAN", "1")),
         ("Invalid value at 'SegmentGroups.Groups[0].Dimensions[0].CalculatedAttributes.nope': "
          "calculated attribute nope does not exist")),
        (calculated(total=op("CONTAINS", "1")),
         ("Invalid value at 'SegmentGroups.Groups[0].Dimensions[0].CalculatedAttributes.total.DimensionType': "
          "CONTAINS is not an operator for numbers: total is a SUM")),
        (calculated(regular=op("EQUAL", "1")),
         ("Invalid value at 'SegmentGroups.Groups[0].Dimensions[0].CalculatedAttributes.regular.DimensionType': "
          "EQUAL is not an operator for text: regular is 'true' or 'false' (its Threshold)")),
        (calculated(mean=op("GREATER_THAN", "lots")),
         ("Invalid value at 'SegmentGroups.Groups[0].Dimensions[0].CalculatedAttributes.mean.Values[0]': "
          "'lots' is not a number")),
        (calculated(total={**op("GREATER_THAN", "1"), "ConditionOverrides": {"Range": {"Start": 3, "End": 9, "Unit": "DAYS"}}}),
         ("Invalid value at 'SegmentGroups.Groups[0].Dimensions[0].CalculatedAttributes.total.ConditionOverrides.Range': "
          "Start is at least End (positive numbers are in the past)")),
    ],
)
def test_bad_calculated_dimensions_are_refused_naming_the_part(profiles: Any, shoppers: Any, groups: Any, message: str) -> None:
    domain = shoppers[0]
    with pytest.raises(ClientError) as raised:
        profiles.create_segment_definition(DomainName=domain, SegmentDefinitionName="bad", DisplayName="x", SegmentGroups=groups)
    assert error_of(raised) == ("BadRequestException", message)
    with pytest.raises(ClientError) as raised:
        profiles.create_segment_estimate(DomainName=domain, SegmentQuery=groups)
    assert error_of(raised) == ("BadRequestException", message.replace("'SegmentGroups.", "'SegmentQuery."))


def test_a_calculated_attribute_a_segment_uses_cannot_be_deleted(profiles: Any, shoppers: Any) -> None:
    domain, ids = shoppers
    assert members_of(profiles, domain, "big", calculated(most=op("GREATER_THAN", "5")), ids) == {"ann", "bob"}
    with pytest.raises(ClientError) as raised:
        profiles.delete_calculated_attribute_definition(DomainName=domain, CalculatedAttributeName="most")
    assert error_of(raised) == (
        "BadRequestException", "Calculated attribute most is used by segment definitions big; delete them first",
    )
    profiles.delete_segment_definition(DomainName=domain, SegmentDefinitionName="big")
    profiles.delete_calculated_attribute_definition(DomainName=domain, CalculatedAttributeName="most")


# --- windows that move with the clock ---------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def clocked(request: pytest.FixtureRequest, unique: Callable[[str], str]) -> Iterator[tuple[Any, ManualClock, str]]:
    """An in-process client on a ManualClock (1 March 2025), on SQLite or PostgreSQL, and a
    domain with the orders type."""
    db = request.getfixturevalue("postgresql_url") if request.param == "postgresql" else "memory"
    clock = ManualClock(datetime(2025, 3, 1, tzinfo=UTC))
    with mock_profiles(Settings(db=db), clock=clock):
        account = str(random.SystemRandom().randint(10**11, 10**12 - 1))
        profiles = boto3.session.Session().client(
            "customer-profiles", region_name="us-east-1", aws_access_key_id=account, aws_secret_access_key="x"
        )
        domain = unique("seg-clock")
        profiles.create_domain(DomainName=domain, DefaultExpirationDays=30)
        orders_type(profiles, domain)
        yield profiles, clock, domain


def test_membership_moves_with_the_app_clock(clocked: Any) -> None:
    profiles, clock, domain = clocked
    week = {"Range": {"Value": 7, "Unit": "DAYS"}}
    define(profiles, domain, "week", "SUM", AMOUNT, Conditions=week)
    define(profiles, domain, "busy_week", "COUNT", AMOUNT, Conditions={**week, "Threshold": {"Value": "1", "Operator": "GREATER_THAN"}})
    define(profiles, domain, "last_two", "SUM", AMOUNT, Conditions={"ObjectCount": 2})
    put_order(profiles, domain, "1", "ann@example.com", "10")  # 1 March
    clock.advance(days=3)
    put_order(profiles, domain, "2", "ann@example.com", "0.1")  # 4 March
    put_order(profiles, domain, "3", "ann@example.com", "0.2")
    put_order(profiles, domain, "4", "bob@example.com", "5")
    ids = {who: profile_of(profiles, domain, f"{who}@example.com") for who in ("ann", "bob")}
    profiles.create_segment_definition(
        DomainName=domain, SegmentDefinitionName="spenders", DisplayName="spenders",
        SegmentGroups=calculated(week=op("GREATER_THAN", "6")),
    )

    def spenders() -> set[str]:
        found = profiles.get_segment_membership(DomainName=domain, SegmentDefinitionName="spenders", ProfileIds=list(ids.values()))
        assert found["LastComputedAt"] == clock.now()
        present = {p["ProfileId"] for p in found["Profiles"] if p["QueryResult"] == "PRESENT"}
        return {who for who, profile_id in ids.items() if profile_id in present}

    assert spenders() == {"ann"}  # 10.3 this week
    assert estimate(profiles, domain, calculated(week=op("EQUAL", "10.3"))) == 1
    assert estimate(profiles, domain, calculated(busy_week=op("INCLUSIVE", "true"))) == 1
    assert estimate(profiles, domain, calculated(last_two=op("EQUAL", "0.3"))) == 1  # the two most recent of ann
    # the segment's own window: the order of 1 March is in [5 days ago, 2 days ago], not the others
    override = {"Range": {"Start": 5, "End": 2, "Unit": "DAYS"}}
    assert estimate(profiles, domain, calculated(week={**op("EQUAL", "10"), "ConditionOverrides": override})) == 1
    clock.advance(days=5)  # 9 March: 1 March left the window
    assert spenders() == set()
    assert estimate(profiles, domain, calculated(week=op("EQUAL", "0.3"))) == 1
    assert estimate(profiles, domain, calculated(busy_week=op("INCLUSIVE", "true"))) == 1  # ann's two of 4 March
    clock.advance(days=3)  # 12 March: every order left it; bob and ann have no value now
    assert estimate(profiles, domain, calculated(week=op("NOT_BETWEEN", "0", "100"))) == 2
    assert estimate(profiles, domain, calculated(busy_week=op("EXCLUSIVE", "true"))) == 2
    assert estimate(profiles, domain, calculated(week=op("GREATER_THAN", "0"))) == 0
    assert estimate(profiles, domain, calculated(last_two=op("EQUAL", "0.3"))) == 1  # ObjectCount has no window
    put_order(profiles, domain, "5", "bob@example.com", "7")
    assert spenders() == {"bob"}
