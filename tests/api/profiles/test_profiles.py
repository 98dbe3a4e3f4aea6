"""Profiles through boto3, behind every door: CreateProfile, UpdateProfile (partial update),
DeleteProfile, BatchGetProfile, AddProfileKey / DeleteProfileKey, SearchProfiles (REFERENCE 1.9)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

ADDRESS = {
    "Address1": "1 Main St",
    "Address2": "Apt 2",
    "Address3": "Building 3",
    "Address4": "Floor 4",
    "City": "Seattle",
    "County": "King",
    "State": "WA",
    "Province": "Cascadia",
    "Country": "US",
    "PostalCode": "98101",
}

EVERYTHING: dict[str, Any] = {
    "AccountNumber": "ACC-001",
    "AdditionalInformation": "likes tea",
    "PartyType": "INDIVIDUAL",
    "BusinessName": "Example Corp",
    "FirstName": "Ann",
    "MiddleName": "B",
    "LastName": "Smith",
    "BirthDate": "1980-01-31",
    "Gender": "FEMALE",
    "PhoneNumber": "+12065550100",
    "MobilePhoneNumber": "+12065550101",
    "HomePhoneNumber": "+12065550102",
    "BusinessPhoneNumber": "+12065550103",
    "EmailAddress": "ann@example.com",
    "PersonalEmailAddress": "ann@home.example",
    "BusinessEmailAddress": "ann@corp.example",
    "Address": ADDRESS,
    "ShippingAddress": {**ADDRESS, "City": "Tacoma"},
    "MailingAddress": {**ADDRESS, "City": "Olympia"},
    "BillingAddress": {**ADDRESS, "City": "Spokane"},
    "Attributes": {"tier": "gold", "favoriteColor": "blue"},
    "ProfileType": "PROFILE",
}


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def domain(profiles, unique) -> str:
    name = unique("people")
    profiles.create_domain(DomainName=name, DefaultExpirationDays=30)
    return name


def get_profile(profiles, domain: str, profile_id: str) -> dict[str, Any]:
    found = profiles.batch_get_profile(DomainName=domain, ProfileIds=[profile_id])
    assert found["Errors"] == []
    (profile,) = found["Profiles"]
    return profile


def without_id(profile: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in profile.items() if k not in ("ProfileId", "FoundByItems")}


def search(profiles, domain: str, key: str, *values: str, **kwargs: Any) -> list[dict[str, Any]]:
    return profiles.search_profiles(DomainName=domain, KeyName=key, Values=list(values), **kwargs)[
        "Items"
    ]


def search_ids(profiles, domain: str, key: str, *values: str, **kwargs: Any) -> list[str]:
    return [item["ProfileId"] for item in search(profiles, domain, key, *values, **kwargs)]


def profile_count(profiles, domain: str) -> int:
    return profiles.get_domain(DomainName=domain)["Stats"]["ProfileCount"]


# --- create and read ---------------------------------------------------------------------------


def test_create_with_every_field_then_batch_get(profiles, domain):
    profile_id = profiles.create_profile(DomainName=domain, **EVERYTHING)["ProfileId"]
    other_id = profiles.create_profile(
        DomainName=domain,
        FirstName="Bo",
        PartyTypeString="household",
        GenderString="nonbinary",
        PartyType="OTHER",
        Gender="UNSPECIFIED",
        ProfileType="ACCOUNT_PROFILE",
    )["ProfileId"]
    assert profile_id != other_id

    found = profiles.batch_get_profile(DomainName=domain, ProfileIds=[profile_id, other_id])
    assert found["Errors"] == []
    by_id = {p["ProfileId"]: p for p in found["Profiles"]}
    assert without_id(by_id[profile_id]) == EVERYTHING
    assert without_id(by_id[other_id]) == {
        "FirstName": "Bo",
        "PartyTypeString": "household",
        "GenderString": "nonbinary",
        "PartyType": "OTHER",
        "Gender": "UNSPECIFIED",
        "ProfileType": "ACCOUNT_PROFILE",
    }


def test_create_profile_with_no_fields(profiles, domain):
    profile_id = profiles.create_profile(DomainName=domain)["ProfileId"]
    assert without_id(get_profile(profiles, domain, profile_id)) == {}


def test_create_in_unknown_domain_is_not_found(profiles, unique):
    with pytest.raises(ClientError) as excinfo:
        profiles.create_profile(DomainName=unique("missing"), FirstName="x")
    assert error_of(excinfo)[::2] == ("ResourceNotFoundException", 404)


def test_enum_violation_is_a_bad_request(profiles, domain):
    with pytest.raises(ClientError) as excinfo:
        profiles.create_profile(DomainName=domain, Gender="ROBOT")
    code, message, status = error_of(excinfo)
    assert (code, status) == ("BadRequestException", 400)
    assert "'Gender'" in message


def test_batch_get_reports_missing_ids_as_errors(profiles, domain):
    kept = profiles.create_profile(DomainName=domain, FirstName="Kept")["ProfileId"]
    gone = profiles.create_profile(DomainName=domain, FirstName="Gone")["ProfileId"]
    assert profile_count(profiles, domain) == 2
    assert "Message" in profiles.delete_profile(DomainName=domain, ProfileId=gone)
    assert profile_count(profiles, domain) == 1

    never = uuid.uuid4().hex
    found = profiles.batch_get_profile(DomainName=domain, ProfileIds=[kept, gone, never])
    assert [p["ProfileId"] for p in found["Profiles"]] == [kept]
    assert found["Profiles"][0]["FirstName"] == "Kept"
    errors = {e["ProfileId"]: e for e in found["Errors"]}
    assert set(errors) == {gone, never}
    for error in errors.values():
        assert error["Code"] == "ResourceNotFoundException"
        assert error["Message"]
    assert search_ids(profiles, domain, "_profileId", gone) == []


def test_batch_get_takes_at_most_20_ids(profiles, domain):
    with pytest.raises(ClientError) as excinfo:
        profiles.batch_get_profile(
            DomainName=domain, ProfileIds=[uuid.uuid4().hex for _ in range(21)]
        )
    code, message, status = error_of(excinfo)
    assert (code, status) == ("BadRequestException", 400)
    assert "'ProfileIds'" in message
    found = profiles.batch_get_profile(
        DomainName=domain, ProfileIds=[uuid.uuid4().hex for _ in range(20)]
    )
    assert found["Profiles"] == [] and len(found["Errors"]) == 20


def test_domain_stats_count_profiles(profiles, domain):
    assert profile_count(profiles, domain) == 0
    ids = [
        profiles.create_profile(DomainName=domain, FirstName=f"P{i}")["ProfileId"] for i in range(3)
    ]
    assert profile_count(profiles, domain) == 3
    profiles.delete_profile(DomainName=domain, ProfileId=ids[0])
    assert profile_count(profiles, domain) == 2
    assert profiles.get_domain(DomainName=domain)["Stats"]["TotalSize"] > 0


# --- update ------------------------------------------------------------------------------------


def test_update_is_a_partial_update(profiles, domain):
    profile_id = profiles.create_profile(
        DomainName=domain,
        FirstName="Ann",
        LastName="Smith",
        EmailAddress="ann@example.com",
        AccountNumber="ACC-9",
        Address={"Address1": "1 Main St", "City": "Seattle", "State": "WA", "PostalCode": "98101"},
        ShippingAddress={"City": "Tacoma"},
        Attributes={"a": "1", "b": "2"},
    )["ProfileId"]

    answer = profiles.update_profile(
        DomainName=domain,
        ProfileId=profile_id,
        FirstName="Anna",  # replaced
        LastName="",  # removed
        Address={"City": "Portland", "State": "", "Country": "US"},  # merged member by member
        Attributes={"a": "", "c": "3"},  # "" removes one key, others merged
        BirthDate="1990-02-03",  # added
    )
    assert answer["ProfileId"] == profile_id

    profile = get_profile(profiles, domain, profile_id)
    assert without_id(profile) == {
        "FirstName": "Anna",
        "EmailAddress": "ann@example.com",  # absent: kept
        "AccountNumber": "ACC-9",
        "BirthDate": "1990-02-03",
        "Address": {
            "Address1": "1 Main St",
            "City": "Portland",
            "PostalCode": "98101",
            "Country": "US",
        },
        "ShippingAddress": {"City": "Tacoma"},  # untouched
        "Attributes": {"b": "2", "c": "3"},
    }

    # the derived keys follow the update
    assert search_ids(profiles, domain, "_fullName", "Anna") == [profile_id]
    assert search_ids(profiles, domain, "_fullName", "Ann Smith") == []
    assert search_ids(profiles, domain, "_email", "ann@example.com") == [profile_id]


def test_update_removes_a_whole_address_member_by_member(profiles, domain):
    profile_id = profiles.create_profile(
        DomainName=domain, FirstName="x", MailingAddress={"City": "A", "State": "B"}
    )["ProfileId"]
    profiles.update_profile(
        DomainName=domain, ProfileId=profile_id, MailingAddress={"City": "", "State": ""}
    )
    assert "MailingAddress" not in get_profile(profiles, domain, profile_id)


def test_update_of_email_moves_the_email_key(profiles, domain):
    profile_id = profiles.create_profile(DomainName=domain, EmailAddress="old@example.com")[
        "ProfileId"
    ]
    profiles.update_profile(DomainName=domain, ProfileId=profile_id, EmailAddress="new@example.com")
    assert search_ids(profiles, domain, "_email", "old@example.com") == []
    assert search_ids(profiles, domain, "_email", "new@example.com") == [profile_id]
    profiles.update_profile(DomainName=domain, ProfileId=profile_id, EmailAddress="")
    assert search_ids(profiles, domain, "_email", "new@example.com") == []


def test_unknown_profile_is_not_found(profiles, domain):
    missing = uuid.uuid4().hex
    for call in (
        lambda: profiles.update_profile(DomainName=domain, ProfileId=missing, FirstName="x"),
        lambda: profiles.delete_profile(DomainName=domain, ProfileId=missing),
        lambda: profiles.add_profile_key(
            DomainName=domain, ProfileId=missing, KeyName="_account", Values=["1"]
        ),
        lambda: profiles.delete_profile_key(
            DomainName=domain, ProfileId=missing, KeyName="_account", Values=["1"]
        ),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        code, message, status = error_of(excinfo)
        assert (code, status) == ("ResourceNotFoundException", 404)
        assert missing in message


def test_delete_twice_is_not_found(profiles, domain):
    profile_id = profiles.create_profile(DomainName=domain, FirstName="x")["ProfileId"]
    profiles.delete_profile(DomainName=domain, ProfileId=profile_id)
    with pytest.raises(ClientError) as excinfo:
        profiles.delete_profile(DomainName=domain, ProfileId=profile_id)
    assert error_of(excinfo)[::2] == ("ResourceNotFoundException", 404)


# --- profile keys ------------------------------------------------------------------------------


def test_add_and_delete_profile_key(profiles, domain):
    profile_id = profiles.create_profile(DomainName=domain, FirstName="Ann")["ProfileId"]
    added = profiles.add_profile_key(
        DomainName=domain,
        ProfileId=profile_id,
        KeyName="_ctrContactId",
        Values=["contact-1", "contact-2"],
    )
    assert added["KeyName"] == "_ctrContactId"
    assert added["Values"] == ["contact-1", "contact-2"]
    assert search_ids(profiles, domain, "_ctrContactId", "contact-1") == [profile_id]
    assert search_ids(profiles, domain, "_ctrContactId", "contact-2") == [profile_id]

    profiles.delete_profile_key(
        DomainName=domain, ProfileId=profile_id, KeyName="_ctrContactId", Values=["contact-1"]
    )
    assert search_ids(profiles, domain, "_ctrContactId", "contact-1") == []
    assert search_ids(profiles, domain, "_ctrContactId", "contact-2") == [profile_id]

    with pytest.raises(ClientError) as excinfo:
        profiles.delete_profile_key(
            DomainName=domain, ProfileId=profile_id, KeyName="_ctrContactId", Values=["contact-1"]
        )
    assert error_of(excinfo)[::2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        profiles.delete_profile_key(
            DomainName=domain, ProfileId=profile_id, KeyName="neverAdded", Values=["x"]
        )
    assert error_of(excinfo)[::2] == ("ResourceNotFoundException", 404)


def test_profile_keys_go_with_the_profile(profiles, domain):
    profile_id = profiles.create_profile(DomainName=domain)["ProfileId"]
    profiles.add_profile_key(
        DomainName=domain, ProfileId=profile_id, KeyName="_zendeskUserId", Values=["z1"]
    )
    profiles.delete_profile(DomainName=domain, ProfileId=profile_id)
    assert search_ids(profiles, domain, "_zendeskUserId", "z1") == []


def test_added_key_values_are_normalized_like_the_key(profiles, domain):
    profile_id = profiles.create_profile(DomainName=domain)["ProfileId"]
    profiles.add_profile_key(
        DomainName=domain, ProfileId=profile_id, KeyName="_phone", Values=["(206) 555-0199"]
    )
    profiles.add_profile_key(
        DomainName=domain, ProfileId=profile_id, KeyName="_email", Values=["Mixed@Example.COM"]
    )
    assert search_ids(profiles, domain, "_phone", "+12065550199") == [profile_id]
    assert search_ids(profiles, domain, "_email", "mixed@example.com") == [profile_id]
    profiles.delete_profile_key(
        DomainName=domain, ProfileId=profile_id, KeyName="_phone", Values=["+1 206 555 0199"]
    )
    assert search_ids(profiles, domain, "_phone", "+12065550199") == []


# --- search ------------------------------------------------------------------------------------


def test_search_by_predefined_keys(profiles, domain):
    ann = profiles.create_profile(
        DomainName=domain,
        FirstName="Ann",
        MiddleName="Marie",
        LastName="Smith",
        EmailAddress="Ann.Smith@Example.com",
        PhoneNumber="2063457890",
        AccountNumber="ACC-42",
    )["ProfileId"]
    bob = profiles.create_profile(
        DomainName=domain,
        FirstName="Bob",
        BusinessEmailAddress="bob@corp.example",
        MobilePhoneNumber="+442071838750",
    )["ProfileId"]

    assert search_ids(profiles, domain, "_email", "ann.smith@example.com") == [ann]
    assert search_ids(profiles, domain, "_email", "ANN.SMITH@EXAMPLE.COM") == [ann]
    assert search_ids(profiles, domain, "_email", "BOB@corp.example") == [bob]  # business email too
    assert search_ids(profiles, domain, "_phone", "+1 (206) 345-7890") == [ann]
    assert search_ids(profiles, domain, "_phone", "206.345.7890") == [ann]
    assert search_ids(profiles, domain, "_phone", "+44 20 7183 8750") == [bob]  # mobile too
    assert search_ids(profiles, domain, "_fullName", "ann marie SMITH") == [ann]
    assert search_ids(profiles, domain, "_fullName", "Ann   Marie  Smith") == [ann]
    assert search_ids(profiles, domain, "_fullName", "Ann Smith") == []
    assert search_ids(profiles, domain, "_account", "ACC-42") == [ann]
    assert search_ids(profiles, domain, "_account", "acc-42") == []  # STRING: exact
    assert search_ids(profiles, domain, "_profileId", bob) == [bob]
    assert search_ids(profiles, domain, "_profileId", uuid.uuid4().hex) == []

    (item,) = search(profiles, domain, "_phone", "+1 (206) 345-7890")
    assert item["FirstName"] == "Ann" and item["PhoneNumber"] == "2063457890"
    assert item["FoundByItems"] == [{"KeyName": "_phone", "Values": ["+1 (206) 345-7890"]}]


def test_search_by_a_key_defined_by_an_object_type(profiles, domain):
    profiles.put_profile_object_type(
        DomainName=domain,
        ObjectTypeName="Loyalty",
        Description="loyalty members",
        AllowProfileCreation=True,
        Fields={
            "memberId": {"Source": "_source.memberId"},
            "workEmail": {"Source": "_source.workEmail", "ContentType": "EMAIL_ADDRESS"},
        },
        Keys={
            "loyaltyId": [
                {"StandardIdentifiers": ["PROFILE", "UNIQUE"], "FieldNames": ["memberId"]}
            ],
            "workEmail": [{"FieldNames": ["workEmail"]}],  # search-only
        },
    )
    profiles.put_profile_object(
        DomainName=domain,
        ObjectTypeName="Loyalty",
        Object=json.dumps({"memberId": "M-7", "workEmail": "A@Work.example"}),
    )
    (found,) = search_ids(profiles, domain, "loyaltyId", "M-7")
    assert search_ids(profiles, domain, "workEmail", "a@WORK.example") == [
        found
    ]  # normalized as EMAIL_ADDRESS
    assert search_ids(profiles, domain, "loyaltyId", "m-7") == []  # STRING: exact

    # AddProfileKey on that key normalizes by the key's ContentType too
    other = profiles.create_profile(DomainName=domain)["ProfileId"]
    profiles.add_profile_key(
        DomainName=domain, ProfileId=other, KeyName="workEmail", Values=["B@Work.Example"]
    )
    assert search_ids(profiles, domain, "workEmail", "b@work.example") == [other]


def test_search_with_additional_keys_and_or(profiles, domain):
    ann = profiles.create_profile(
        DomainName=domain,
        FirstName="Ann",
        LastName="Smith",
        EmailAddress="ann@example.com",
        AccountNumber="A1",
    )["ProfileId"]
    twin = profiles.create_profile(
        DomainName=domain,
        FirstName="Ann",
        LastName="Smith",
        EmailAddress="other@example.com",
        AccountNumber="A2",
    )["ProfileId"]
    bob = profiles.create_profile(
        DomainName=domain, FirstName="Bob", EmailAddress="bob@example.com"
    )["ProfileId"]

    both = search(
        profiles,
        domain,
        "_fullName",
        "ann smith",
        AdditionalSearchKeys=[{"KeyName": "_email", "Values": ["ANN@example.com"]}],
        LogicalOperator="AND",
    )
    assert [p["ProfileId"] for p in both] == [ann]
    assert sorted(both[0]["FoundByItems"], key=lambda i: i["KeyName"]) == [
        {"KeyName": "_email", "Values": ["ANN@example.com"]},
        {"KeyName": "_fullName", "Values": ["ann smith"]},
    ]

    either = search(
        profiles,
        domain,
        "_email",
        "bob@example.com",
        "nobody@example.com",
        AdditionalSearchKeys=[{"KeyName": "_account", "Values": ["A2"]}],
        LogicalOperator="OR",
    )
    by_id = {p["ProfileId"]: p for p in either}
    assert set(by_id) == {bob, twin}
    assert by_id[bob]["FoundByItems"] == [{"KeyName": "_email", "Values": ["bob@example.com"]}]
    assert by_id[twin]["FoundByItems"] == [{"KeyName": "_account", "Values": ["A2"]}]

    # OR is the default; AND with a condition nobody meets finds nothing
    default = search_ids(
        profiles,
        domain,
        "_fullName",
        "ann smith",
        AdditionalSearchKeys=[{"KeyName": "_account", "Values": ["A2"]}],
    )
    assert sorted(default) == sorted([ann, twin])
    nothing = search_ids(
        profiles,
        domain,
        "_fullName",
        "ann smith",
        AdditionalSearchKeys=[{"KeyName": "_email", "Values": ["bob@example.com"]}],
        LogicalOperator="AND",
    )
    assert nothing == []
    # AND across three conditions, one of them _profileId
    three = search(
        profiles,
        domain,
        "_fullName",
        "Ann Smith",
        AdditionalSearchKeys=[
            {"KeyName": "_account", "Values": ["A1", "A2"]},
            {"KeyName": "_profileId", "Values": [twin]},
        ],
        LogicalOperator="AND",
    )
    assert [p["ProfileId"] for p in three] == [twin]
    assert {i["KeyName"]: i["Values"] for i in three[0]["FoundByItems"]} == {
        "_fullName": ["Ann Smith"],
        "_account": ["A2"],
        "_profileId": [twin],
    }


def test_search_pages_with_max_results(profiles, domain):
    ids = {
        profiles.create_profile(DomainName=domain, AccountNumber="SHARED", FirstName=f"P{i}")[
            "ProfileId"
        ]
        for i in range(5)
    }
    profiles.create_profile(DomainName=domain, AccountNumber="OTHER")
    seen: list[str] = []
    pages = 0
    kwargs: dict[str, Any] = {
        "DomainName": domain,
        "KeyName": "_account",
        "Values": ["SHARED"],
        "MaxResults": 2,
    }
    while True:
        page = profiles.search_profiles(**kwargs)
        pages += 1
        assert len(page["Items"]) <= 2
        seen += [p["ProfileId"] for p in page["Items"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert pages == 3
    assert len(seen) == 5 and set(seen) == ids


def test_search_finds_nothing_for_unknown_values(profiles, domain):
    profiles.create_profile(DomainName=domain, EmailAddress="a@example.com")
    page = profiles.search_profiles(DomainName=domain, KeyName="_email", Values=["b@example.com"])
    assert page["Items"] == []
    assert "NextToken" not in page
    assert search_ids(profiles, domain, "someUnusedKey", "x") == []


def test_search_with_a_forged_token_is_a_bad_request(profiles, domain):
    profiles.create_profile(DomainName=domain, EmailAddress="a@example.com")
    for token in ("forged", "eyJrIjoib2JqZWN0cyIsInAiOlsxXX0"):  # the second: another list's token
        with pytest.raises(ClientError) as excinfo:
            profiles.search_profiles(
                DomainName=domain, KeyName="_email", Values=["a@example.com"], NextToken=token
            )
        code, message, status = error_of(excinfo)
        assert (code, status) == ("BadRequestException", 400)
        assert "NextToken" in message


def test_search_takes_at_most_four_additional_keys(profiles, domain):
    extra = [{"KeyName": "_email", "Values": [f"{i}@example.com"]} for i in range(5)]
    with pytest.raises(ClientError) as excinfo:
        profiles.search_profiles(
            DomainName=domain, KeyName="_account", Values=["1"], AdditionalSearchKeys=extra
        )
    code, message, status = error_of(excinfo)
    assert (code, status) == ("BadRequestException", 400)
    assert "'AdditionalSearchKeys'" in message
    assert (
        profiles.search_profiles(
            DomainName=domain, KeyName="_account", Values=["1"], AdditionalSearchKeys=extra[:4]
        )["Items"]
        == []
    )


@pytest.mark.parametrize(
    ("key", "values"),
    [("_email", ["a@example.com"]), ("_email", ["a@example.com", "b@example.com"]),
     ("_phone", ["+14155550100"]), ("custom", ["x"]), ("_email", ["   "]), ("_profileId", ["p"])],
)
def test_search_in_unknown_domain_is_not_found(profiles, unique, key, values):
    """Whichever way the search is answered (one statement for the usual one key and value)."""
    with pytest.raises(ClientError) as excinfo:
        profiles.search_profiles(DomainName=unique("missing"), KeyName=key, Values=values)
    assert error_of(excinfo)[::2] == ("ResourceNotFoundException", 404)


def test_phone_region_is_fixed_per_domain_at_creation():
    """A domain reads local phone numbers in the region configured when it was created."""
    import boto3

    from openprofiles.config import Settings
    from openprofiles.mock import mock_profiles

    with mock_profiles(Settings(db="memory", phone_region="GB")):
        client = boto3.client("customer-profiles", region_name="eu-west-2")
        client.create_domain(DomainName="uk", DefaultExpirationDays=30)
        pid = client.create_profile(DomainName="uk", PhoneNumber="020 7946 0958")["ProfileId"]
        found = client.search_profiles(DomainName="uk", KeyName="_phone", Values=["+44 20 7946 0958"])["Items"]
        assert [p["ProfileId"] for p in found] == [pid]
