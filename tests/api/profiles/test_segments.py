"""Segments through boto3, behind every door: definitions (create, get, list, delete, tags),
estimates and membership counted exactly, and every rejection naming the part (REFERENCE 4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

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


def test_duplicates_and_unsupported_kinds(profiles: Any, domain: Any) -> None:
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
    assert error_of(raised)[0] == "NotImplementedException"
    calculated = {"Groups": [{"Dimensions": [{"CalculatedAttributes": {"_orders_count": op("GREATER_THAN", "1")}}]}]}
    with pytest.raises(ClientError) as raised:
        profiles.create_segment_estimate(DomainName=name, SegmentQuery=calculated)
    assert error_of(raised) == (
        "NotImplementedException",
        "Invalid value at 'SegmentQuery.Groups[0].Dimensions[0].CalculatedAttributes': "
        "calculated attribute dimensions are not supported yet",
    )
