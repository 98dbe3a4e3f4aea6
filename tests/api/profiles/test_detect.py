"""DetectProfileObjectType through boto3, behind every door: a detected mapping can be used."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

SAMPLE = {
    "customerId": "C-1001",
    "firstName": "Maria",
    "lastName": "Garcia",
    "email": "Maria.Garcia@Example.com",
    "mobile": "+1 (206) 555-0142",
    "loyalty": {"tier": "gold", "points": 1200},
    "address": {"street": "12 Pine St", "city": "Seattle", "state": "WA", "zip": "98101"},
    "updatedAt": 1718000000000,
}
SAMPLE_TEXT = json.dumps(SAMPLE)


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def test_detect_then_use_the_mapping(profiles, unique):
    domain = unique("detect")
    profiles.create_domain(DomainName=domain, DefaultExpirationDays=30)
    second = {**SAMPLE, "customerId": "C-1002", "email": "li@example.com"}
    detected = profiles.detect_profile_object_type(
        DomainName=domain, Objects=[json.dumps(SAMPLE), json.dumps(second)]
    )["DetectedProfileObjectTypes"]
    assert len(detected) == 1
    mapping = detected[0]
    assert mapping["SourceLastUpdatedTimestampFormat"] == "EpochMilli"
    fields = mapping["Fields"]
    assert fields["firstName"] == {
        "Source": "_source.firstName", "Target": "_profile.FirstName", "ContentType": "NAME"
    }
    assert fields["email"]["ContentType"] == "EMAIL_ADDRESS"
    assert fields["mobile"]["Target"] == "_profile.MobilePhoneNumber"
    assert fields["address.city"]["Target"] == "_profile.Address.City"
    assert fields["updatedAt"]["Target"] == "_profile.SourceLastUpdatedTimestamp"
    assert mapping["Keys"]["customerId"] == [
        {"StandardIdentifiers": ["PROFILE", "UNIQUE"], "FieldNames": ["customerId"]}
    ]

    profiles.put_profile_object_type(
        DomainName=domain,
        ObjectTypeName="Customer",
        Description="detected",
        AllowProfileCreation=True,
        SourceLastUpdatedTimestampFormat=mapping["SourceLastUpdatedTimestampFormat"],
        Fields=mapping["Fields"],
        Keys=mapping["Keys"],
    )
    sample = json.dumps(SAMPLE)
    profiles.put_profile_object(DomainName=domain, ObjectTypeName="Customer", Object=sample)
    found = profiles.search_profiles(
        DomainName=domain, KeyName="customerId", Values=["C-1001"]
    )["Items"]
    assert len(found) == 1
    profile = found[0]
    assert profile["FirstName"] == "Maria"
    assert profile["LastName"] == "Garcia"
    assert profile["EmailAddress"] == "Maria.Garcia@Example.com"
    assert profile["MobilePhoneNumber"] == "+1 (206) 555-0142"
    assert profile["Address"]["City"] == "Seattle"
    assert profile["Attributes"]["loyalty_tier"] == "gold"
    by_email = profiles.search_profiles(
        DomainName=domain, KeyName="_email", Values=["maria.garcia@example.com"]
    )
    assert [p["ProfileId"] for p in by_email["Items"]] == [profile["ProfileId"]]


def test_errors(profiles, unique):
    domain = unique("detect")
    profiles.create_domain(DomainName=domain, DefaultExpirationDays=30)
    with pytest.raises(ClientError) as excinfo:
        profiles.detect_profile_object_type(DomainName=domain, Objects=[json.dumps(SAMPLE)] * 6)
    code, message, status = error_of(excinfo)
    assert (code, status) == ("BadRequestException", 400)
    assert "Objects" in message

    # text that is not JSON is refused by input validation (stringifiedJson), naming the member
    with pytest.raises(ClientError) as excinfo:
        profiles.detect_profile_object_type(DomainName=domain, Objects=[SAMPLE_TEXT, "{oops"])
    code, message, status = error_of(excinfo)
    assert (code, status) == ("BadRequestException", 400)
    assert "Objects[1]" in message
    # JSON that is not an object is refused by detection, in the documented wording
    with pytest.raises(ClientError) as excinfo:
        profiles.detect_profile_object_type(DomainName=domain, Objects=[SAMPLE_TEXT, "[1, 2]"])
    code, message, status = error_of(excinfo)
    assert (code, status) == ("BadRequestException", 400)
    assert "Could not parse object string into JSON" in message and "Objects[1]" in message

    wide = {f"a{i}": i for i in range(121)}
    with pytest.raises(ClientError) as excinfo:
        profiles.detect_profile_object_type(DomainName=domain, Objects=[json.dumps(wide)])
    assert "Breached limit of 120 attributes" in error_of(excinfo)[1]

    with pytest.raises(ClientError) as excinfo:
        profiles.detect_profile_object_type(DomainName=unique("missing"), Objects=[SAMPLE_TEXT])
    code, _, status = error_of(excinfo)
    assert (code, status) == ("ResourceNotFoundException", 404)
