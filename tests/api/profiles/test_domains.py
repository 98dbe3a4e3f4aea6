"""Domains through boto3, behind every door."""

from __future__ import annotations

from datetime import datetime

import pytest
from botocore.exceptions import ClientError


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def test_create_get_delete_domain(profiles, unique):
    name = unique("demo")
    created = profiles.create_domain(
        DomainName=name,
        DefaultExpirationDays=365,
        DeadLetterQueueUrl="https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
        DefaultEncryptionKey="arn:aws:kms:us-east-1:123456789012:key/abc",
        Tags={"team": "crm"},
    )
    assert created["DomainName"] == name
    assert created["DefaultExpirationDays"] == 365
    assert isinstance(created["CreatedAt"], datetime)
    assert created["Tags"] == {"team": "crm"}

    got = profiles.get_domain(DomainName=name)
    assert got["DeadLetterQueueUrl"].endswith("/dlq")
    assert got["DefaultEncryptionKey"].endswith("key/abc")
    assert got["Stats"] == {"ProfileCount": 0, "MeteringProfileCount": 0, "ObjectCount": 0, "TotalSize": 0}
    assert got["CreatedAt"] == created["CreatedAt"]

    assert "Message" in profiles.delete_domain(DomainName=name)
    with pytest.raises(ClientError) as excinfo:
        profiles.get_domain(DomainName=name)
    code, message, status = error_of(excinfo)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert name in message


def test_duplicate_domain_is_a_bad_request(profiles, unique):
    name = unique("dup")
    profiles.create_domain(DomainName=name, DefaultExpirationDays=10)
    with pytest.raises(ClientError) as excinfo:
        profiles.create_domain(DomainName=name, DefaultExpirationDays=10)
    code, message, status = error_of(excinfo)
    assert (code, status) == ("BadRequestException", 400)
    assert "already exists" in message


@pytest.mark.parametrize(
    ("name", "field"),
    [("bad name!", "DomainName"), ("x" * 65, "DomainName")],
)
def test_malformed_domain_name(profiles, name, field):
    with pytest.raises(ClientError) as excinfo:
        profiles.create_domain(DomainName=name, DefaultExpirationDays=10)
    code, message, status = error_of(excinfo)
    assert (code, status) == ("BadRequestException", 400)
    assert f"'{field}'" in message


def test_expiration_out_of_range_names_the_field(profiles, unique):
    with pytest.raises(ClientError) as excinfo:
        profiles.create_domain(DomainName=unique("d"), DefaultExpirationDays=5000)
    code, message, _ = error_of(excinfo)
    assert code == "BadRequestException"
    assert "'DefaultExpirationDays'" in message and "1098" in message


def test_missing_domain_errors(profiles, unique):
    name = unique("missing")
    for call in (
        lambda: profiles.get_domain(DomainName=name),
        lambda: profiles.delete_domain(DomainName=name),
        lambda: profiles.update_domain(DomainName=name, DefaultExpirationDays=3),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo)[:1] == ("ResourceNotFoundException",)


def test_update_domain_is_partial(profiles, unique):
    name = unique("upd")
    profiles.create_domain(
        DomainName=name,
        DefaultExpirationDays=30,
        DeadLetterQueueUrl="https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
        DefaultEncryptionKey="arn:aws:kms:us-east-1:123456789012:key/abc",
    )
    before = profiles.get_domain(DomainName=name)
    updated = profiles.update_domain(DomainName=name, DefaultExpirationDays=60)
    assert updated["DefaultExpirationDays"] == 60
    assert updated["DeadLetterQueueUrl"] == before["DeadLetterQueueUrl"]  # absent: kept
    assert updated["LastUpdatedAt"] >= before["LastUpdatedAt"]

    cleared = profiles.update_domain(DomainName=name, DeadLetterQueueUrl="", DefaultEncryptionKey="")
    assert "DeadLetterQueueUrl" not in cleared  # empty string: cleared
    assert "DefaultEncryptionKey" not in cleared
    assert cleared["DefaultExpirationDays"] == 60


def test_matching_and_rule_based_matching_round_trip(profiles, unique):
    name = unique("match")
    matching = {
        "Enabled": True,
        "JobSchedule": {"DayOfTheWeek": "MONDAY", "Time": "03:30"},
        "AutoMerging": {
            "Enabled": True,
            "Consolidation": {"MatchingAttributesList": [["EmailAddress"], ["PhoneNumber", "LastName"]]},
            "ConflictResolution": {"ConflictResolvingModel": "RECENCY"},
            "MinAllowedConfidenceScoreForMerging": 0.9,
        },
        "ExportingConfig": {"S3Exporting": {"S3BucketName": "bucket", "S3KeyName": "matches"}},
    }
    rules = {
        "Enabled": True,
        "MatchingRules": [{"Rule": ["EmailAddress", "LastName"]}, {"Rule": ["PhoneNumber"]}],
        "MaxAllowedRuleLevelForMatching": 2,
        "MaxAllowedRuleLevelForMerging": 1,
        "AttributeTypesSelector": {
            "AttributeMatchingModel": "ONE_TO_ONE",
            "EmailAddress": ["EmailAddress", "BusinessEmailAddress"],
        },
        "ConflictResolution": {"ConflictResolvingModel": "SOURCE", "SourceName": "crm"},
    }
    created = profiles.create_domain(
        DomainName=name,
        DefaultExpirationDays=10,
        Matching=matching,
        RuleBasedMatching=rules,
        DataStore={"Enabled": True},
    )
    assert created["Matching"] == matching
    assert created["RuleBasedMatching"] == {**rules, "Status": "ACTIVE"}
    assert created["DataStore"]["Enabled"] is True
    assert created["DataStore"]["Readiness"]["ProgressPercentage"] == 100
    assert profiles.get_domain(DomainName=name)["Matching"] == matching

    off = profiles.update_domain(DomainName=name, Matching={"Enabled": False})
    assert off["Matching"] == {"Enabled": False}
    assert off["RuleBasedMatching"]["MatchingRules"] == rules["MatchingRules"]  # untouched


def test_enum_violation_in_nested_member_names_the_path(profiles, unique):
    with pytest.raises(ClientError) as excinfo:
        profiles.create_domain(
            DomainName=unique("d"),
            DefaultExpirationDays=10,
            Matching={"Enabled": True, "JobSchedule": {"DayOfTheWeek": "FUNDAY", "Time": "03:30"}},
        )
    code, message, _ = error_of(excinfo)
    assert code == "BadRequestException"
    assert "'Matching.JobSchedule.DayOfTheWeek'" in message


def test_list_domains_paginates(profiles, unique):
    names = sorted(unique(f"page{i}") for i in range(5))
    for name in names:
        profiles.create_domain(DomainName=name, DefaultExpirationDays=1)
    seen, token = [], None
    while True:
        kwargs = {"MaxResults": 2} | ({"NextToken": token} if token else {})
        page = profiles.list_domains(**kwargs)
        assert len(page["Items"]) <= 2
        seen += [item["DomainName"] for item in page["Items"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == names


def test_forged_next_token_is_a_bad_request(profiles):
    for token in ("not-a-token", "eyJrIjoib3RoZXIiLCJwIjpbMV19"):
        with pytest.raises(ClientError) as excinfo:
            profiles.list_domains(NextToken=token)
        code, message, status = error_of(excinfo)
        assert (code, status) == ("BadRequestException", 400)
        assert "NextToken" in message


def test_accounts_see_disjoint_domains(door, unique):
    first, second = door.client("customer-profiles"), door.client("customer-profiles", account="210987654321" if door.account != "210987654321" else "310987654321")
    name = unique("mine")
    first.create_domain(DomainName=name, DefaultExpirationDays=1)
    assert name not in [d["DomainName"] for d in second.list_domains()["Items"]]
    with pytest.raises(ClientError) as excinfo:
        second.get_domain(DomainName=name)
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    second.create_domain(DomainName=name, DefaultExpirationDays=2)  # same name, other account
    assert first.get_domain(DomainName=name)["DefaultExpirationDays"] == 1
    second.delete_domain(DomainName=name)


def test_regions_see_disjoint_domains(door, unique):
    east, west = door.client("customer-profiles"), door.client("customer-profiles", region="us-west-2")
    name = unique("regional")
    east.create_domain(DomainName=name, DefaultExpirationDays=1)
    assert name not in [d["DomainName"] for d in west.list_domains()["Items"]]
