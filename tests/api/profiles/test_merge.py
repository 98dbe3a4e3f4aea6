"""MergeProfiles through boto3."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def domain(profiles, unique):
    name = unique("merge")
    profiles.create_domain(DomainName=name, DefaultExpirationDays=30)
    profiles.put_profile_object_type(
        DomainName=name, ObjectTypeName="orders", Description="orders", AllowProfileCreation=True,
        Fields={"email": {"Source": "_source.email", "ContentType": "EMAIL_ADDRESS"}, "id": {"Source": "_source.id"}},
        Keys={
            "_email": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
            "orderId": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["id"]}],
        },
    )
    return name


def get(profiles, domain, *ids):
    return profiles.batch_get_profile(DomainName=domain, ProfileIds=list(ids))


def test_merge_moves_objects_and_keys_and_deletes_the_merged(profiles, domain):
    main = profiles.create_profile(DomainName=domain, FirstName="Ann", EmailAddress="ann@x.com")["ProfileId"]
    other = profiles.create_profile(
        DomainName=domain, FirstName="Anne", LastName="Lee", PhoneNumber="2065550100",
        Attributes={"tier": "gold"}, Address={"City": "Paris"},
    )["ProfileId"]
    profiles.put_profile_object(DomainName=domain, ObjectTypeName="orders", Object=json.dumps({"id": "1", "email": "ann@x.com"}))
    profiles.add_profile_key(DomainName=domain, ProfileId=other, KeyName="loyalty", Values=["L-1"])
    profiles.put_profile_object(DomainName=domain, ObjectTypeName="orders", Object=json.dumps({"id": "2", "email": "zed@x.com"}))
    third = profiles.search_profiles(DomainName=domain, KeyName="_email", Values=["zed@x.com"])["Items"][0]["ProfileId"]

    message = profiles.merge_profiles(DomainName=domain, MainProfileId=main, ProfileIdsToBeMerged=[other, third])["Message"]
    assert main in message

    result = get(profiles, domain, main, other, third)
    assert [p["ProfileId"] for p in result["Profiles"]] == [main]
    assert sorted(e["ProfileId"] for e in result["Errors"]) == sorted([other, third])
    merged = result["Profiles"][0]
    # main's values win; the others fill what main lacks
    assert merged["FirstName"] == "Ann" and merged["LastName"] == "Lee"
    assert merged["Attributes"] == {"tier": "gold"} and merged["Address"] == {"City": "Paris"}
    objects = profiles.list_profile_objects(DomainName=domain, ProfileId=main, ObjectTypeName="orders")["Items"]
    assert sorted(o["ProfileObjectUniqueKey"] for o in objects) == ["1", "2"]
    for key, value in (("loyalty", "L-1"), ("_email", "zed@x.com"), ("_phone", "+12065550100")):
        found = profiles.search_profiles(DomainName=domain, KeyName=key, Values=[value])["Items"]
        assert [p["ProfileId"] for p in found] == [main], key
    assert profiles.get_domain(DomainName=domain)["Stats"]["ProfileCount"] == 1


def test_field_source_profile_ids_choose_each_field(profiles, domain):
    main = profiles.create_profile(DomainName=domain, FirstName="Ann", Attributes={"a": "main", "b": "main"})["ProfileId"]
    other = profiles.create_profile(DomainName=domain, FirstName="Anne", Attributes={"a": "other"})["ProfileId"]
    profiles.merge_profiles(
        DomainName=domain, MainProfileId=main, ProfileIdsToBeMerged=[other],
        FieldSourceProfileIds={"FirstName": other, "Attributes": {"a": other}},
    )
    merged = get(profiles, domain, main)["Profiles"][0]
    assert merged["FirstName"] == "Anne"
    assert merged["Attributes"] == {"a": "other", "b": "main"}


def test_a_chosen_source_without_the_field_empties_it(profiles, domain):
    main = profiles.create_profile(DomainName=domain, FirstName="Ann", LastName="Lee")["ProfileId"]
    other = profiles.create_profile(DomainName=domain, FirstName="Bob")["ProfileId"]
    profiles.merge_profiles(
        DomainName=domain, MainProfileId=main, ProfileIdsToBeMerged=[other], FieldSourceProfileIds={"LastName": other}
    )
    merged = get(profiles, domain, main)["Profiles"][0]
    assert merged["FirstName"] == "Ann" and "LastName" not in merged


@pytest.mark.parametrize("case", ["unknown merged", "unknown main", "foreign source", "only main", "too many"])
def test_bad_merges_change_nothing(profiles, domain, case):
    main = profiles.create_profile(DomainName=domain, FirstName="Ann")["ProfileId"]
    other = profiles.create_profile(DomainName=domain, FirstName="Bob")["ProfileId"]
    missing = "0" * 32
    kwargs = {
        "unknown merged": {"MainProfileId": main, "ProfileIdsToBeMerged": [other, missing]},
        "unknown main": {"MainProfileId": missing, "ProfileIdsToBeMerged": [other]},
        "foreign source": {"MainProfileId": main, "ProfileIdsToBeMerged": [other], "FieldSourceProfileIds": {"FirstName": missing}},
        "only main": {"MainProfileId": main, "ProfileIdsToBeMerged": [main]},
        "too many": {"MainProfileId": main, "ProfileIdsToBeMerged": [f"{n:032x}" for n in range(21)]},
    }[case]
    with pytest.raises(ClientError) as excinfo:
        profiles.merge_profiles(DomainName=domain, **kwargs)
    code = excinfo.value.response["Error"]["Code"]
    assert code == ("ResourceNotFoundException" if case.startswith("unknown") else "BadRequestException")
    assert len(get(profiles, domain, main, other)["Profiles"]) == 2
