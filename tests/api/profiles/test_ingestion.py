"""Ingestion through boto3, behind every door: PutProfileObject finding or creating its profile,
feeding it, key roles, templates used implicitly, ListProfileObjects and DeleteProfileObject
(REFERENCE 1.1-1.5)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def domain(profiles, unique) -> str:
    name = unique("ingest")
    profiles.create_domain(DomainName=name, DefaultExpirationDays=30)
    return name


TICKET_FIELDS: dict[str, Any] = {
    "ticketId": {"Source": "_source.id"},
    "email": {"Source": "_source.email", "ContentType": "EMAIL_ADDRESS"},
    "first": {"Source": "_source.first", "Target": "_profile.FirstName"},
    "city": {"Source": "_source.city", "Target": "_profile.Address.City"},
    "tier": {"Source": "_source.tier", "Target": "_profile.Attributes.tier"},
    "subject": {"Source": "_source.subject"},
}


def ticket_type(
    profiles,
    domain: str,
    name: str = "Ticket",
    keys: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
    **members: Any,
) -> None:
    """A type whose UNIQUE key is ticketRef (id) and whose PROFILE key is custEmail (email)."""
    profiles.put_profile_object_type(
        DomainName=domain,
        ObjectTypeName=name,
        Description=f"{name} records",
        **{"AllowProfileCreation": True, **members},
        Fields={**TICKET_FIELDS, **(fields or {})},
        Keys=keys
        or {
            "ticketRef": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["ticketId"]}],
            "custEmail": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
        },
    )


def put(profiles, domain: str, record: dict[str, Any], type_name: str = "Ticket") -> str:
    answer = profiles.put_profile_object(
        DomainName=domain, ObjectTypeName=type_name, Object=json.dumps(record)
    )
    return answer["ProfileObjectUniqueKey"]


def search_ids(profiles, domain: str, key: str, *values: str) -> list[str]:
    items = profiles.search_profiles(DomainName=domain, KeyName=key, Values=list(values))["Items"]
    return [item["ProfileId"] for item in items]


def the_profile(profiles, domain: str, key: str, value: str) -> dict[str, Any]:
    items = profiles.search_profiles(DomainName=domain, KeyName=key, Values=[value])["Items"]
    assert len(items) == 1, items
    return items[0]


def get_profile(profiles, domain: str, profile_id: str) -> dict[str, Any]:
    (profile,) = profiles.batch_get_profile(DomainName=domain, ProfileIds=[profile_id])["Profiles"]
    return profile


def objects_of(
    profiles, domain: str, profile_id: str, type_name: str = "Ticket", **kwargs: Any
) -> dict[str, Any]:
    """{unique key: parsed object} of every object of a type on a profile (all pages)."""
    found: dict[str, Any] = {}
    args: dict[str, Any] = {
        "DomainName": domain,
        "ProfileId": profile_id,
        "ObjectTypeName": type_name,
        **kwargs,
    }
    while True:
        page = profiles.list_profile_objects(**args)
        for item in page["Items"]:
            assert item["ObjectTypeName"] == type_name
            assert item["ProfileObjectUniqueKey"] not in found
            found[item["ProfileObjectUniqueKey"]] = json.loads(item["Object"])
        if "NextToken" not in page:
            return found
        args["NextToken"] = page["NextToken"]


def stats(profiles, domain: str) -> dict[str, int]:
    return profiles.get_domain(DomainName=domain)["Stats"]


# --- finding and creating the profile ---------------------------------------------------------


def test_objects_create_join_and_replace(profiles, domain):
    ticket_type(profiles, domain)
    first = {
        "id": "t1",
        "email": "Ann@Example.com",
        "first": "Ann",
        "city": "Seattle",
        "tier": "gold",
        "subject": "a",
    }
    assert put(profiles, domain, first) == "t1"
    profile = the_profile(profiles, domain, "custEmail", "ann@example.com")
    profile_id = profile["ProfileId"]
    assert profile["FirstName"] == "Ann"
    assert profile["Address"] == {"City": "Seattle"}
    assert profile["Attributes"] == {"tier": "gold"}
    assert (
        profile["EmailAddress"] == "Ann@Example.com"
    )  # inferred profile: first EMAIL_ADDRESS field
    assert search_ids(profiles, domain, "_email", "ann@example.com") == [profile_id]
    assert stats(profiles, domain)["ProfileCount"] == 1

    # same PROFILE key value (any case: EMAIL_ADDRESS): same profile
    assert put(profiles, domain, {"id": "t2", "email": "ANN@example.COM", "subject": "b"}) == "t2"
    assert search_ids(profiles, domain, "custEmail", "ann@example.com") == [profile_id]
    assert stats(profiles, domain)["ProfileCount"] == 1
    assert {k: v["subject"] for k, v in objects_of(profiles, domain, profile_id).items()} == {
        "t1": "a",
        "t2": "b",
    }

    # same UNIQUE value: the object is replaced wholesale
    put(profiles, domain, {"id": "t1", "email": "ann@example.com", "subject": "a2"})
    objects = objects_of(profiles, domain, profile_id)
    assert set(objects) == {"t1", "t2"}
    assert objects["t1"] == {"id": "t1", "email": "ann@example.com", "subject": "a2"}
    assert stats(profiles, domain)["ObjectCount"] == 2

    # the profile keeps what the first object wrote
    profile = get_profile(profiles, domain, profile_id)
    assert (profile["FirstName"], profile["Address"]["City"], profile["Attributes"]["tier"]) == (
        "Ann",
        "Seattle",
        "gold",
    )


def test_a_value_held_from_the_document_and_from_objects_finds_the_profile_once(profiles, domain):
    """_email is indexed from the profile's EmailAddress and from each object's PROFILE key: a
    search by it, on one page or several, lists the profile once."""
    ticket_type(
        profiles, domain,
        fields={"email": {"Source": "_source.email", "Target": "_profile.EmailAddress",
                          "ContentType": "EMAIL_ADDRESS"}},
        keys={"ticketRef": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["ticketId"]}],
              "_email": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}]},
    )
    for n, email in enumerate(["twice@example.com", "other@example.com", "twice@example.com"]):
        put(profiles, domain, {"id": f"t{n}", "email": email})
    profiles.create_profile(DomainName=domain, EmailAddress="twice@example.com")
    assert len(search_ids(profiles, domain, "_email", "twice@example.com")) == 2
    first = profiles.search_profiles(DomainName=domain, KeyName="_email",
                                     Values=["twice@example.com"], MaxResults=1)
    second = profiles.search_profiles(DomainName=domain, KeyName="_email",
                                      Values=["twice@example.com"], MaxResults=1,
                                      NextToken=first["NextToken"])
    pages = [first["Items"][0]["ProfileId"], second["Items"][0]["ProfileId"]]
    assert sorted(pages) == sorted(search_ids(profiles, domain, "_email", "twice@example.com"))
    assert "NextToken" not in second


def test_the_whole_object_is_stored(profiles, domain):
    ticket_type(profiles, domain)
    record = {
        "id": "t1",
        "email": "a@example.com",
        "nested": {"list": [1, 2, {"x": None}]},
        "unmapped": True,
    }
    put(profiles, domain, record)
    profile_id = the_profile(profiles, domain, "custEmail", "a@example.com")["ProfileId"]
    assert objects_of(profiles, domain, profile_id) == {"t1": record}


def test_an_empty_source_does_not_blank_a_field(profiles, domain):
    ticket_type(profiles, domain)
    put(
        profiles,
        domain,
        {"id": "t1", "email": "a@example.com", "first": "Ann", "city": "Seattle", "tier": "gold"},
    )
    put(
        profiles,
        domain,
        {"id": "t2", "email": "a@example.com", "first": "", "city": "   ", "tier": None},
    )
    put(profiles, domain, {"id": "t3", "email": "a@example.com"})
    profile = the_profile(profiles, domain, "custEmail", "a@example.com")
    assert profile["FirstName"] == "Ann"
    assert profile["Address"] == {"City": "Seattle"}
    assert profile["Attributes"] == {"tier": "gold"}
    # a later value does overwrite (same rank: the later write wins)
    put(profiles, domain, {"id": "t4", "email": "a@example.com", "first": "Anna"})
    assert the_profile(profiles, domain, "custEmail", "a@example.com")["FirstName"] == "Anna"


def test_manual_edits_survive_ingestion_unless_source_priority_1(profiles, domain):
    fields = {"email": {"Source": "_source.email", "ContentType": "EMAIL_ADDRESS"}}
    keys = {
        "ticketRef": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["ticketId"]}],
        "_email": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
    }
    ticket_type(profiles, domain, "Unranked", keys=keys, fields=fields)
    ticket_type(profiles, domain, "Second", keys=keys, fields=fields, SourcePriority=2)
    ticket_type(profiles, domain, "Ranked", keys=keys, fields=fields, SourcePriority=1)
    profile_id = profiles.create_profile(
        DomainName=domain, EmailAddress="ann@example.com", FirstName="Manual"
    )["ProfileId"]
    profiles.update_profile(DomainName=domain, ProfileId=profile_id, Address={"City": "Typed"})

    put(
        profiles,
        domain,
        {"id": "u1", "email": "ann@example.com", "first": "Ingested", "city": "Feed"},
        "Unranked",
    )
    profile = get_profile(profiles, domain, profile_id)
    assert profile["FirstName"] == "Manual"
    assert profile["Address"]["City"] == "Typed"
    assert (
        objects_of(profiles, domain, profile_id, "Unranked")["u1"]["first"] == "Ingested"
    )  # still kept
    put(profiles, domain, {"id": "s1", "email": "ann@example.com", "first": "Second"}, "Second")
    assert (
        get_profile(profiles, domain, profile_id)["FirstName"] == "Manual"
    )  # only priority 1 outranks

    put(profiles, domain, {"id": "r1", "email": "ann@example.com", "first": "Priority"}, "Ranked")
    profile = get_profile(profiles, domain, profile_id)
    assert profile["FirstName"] == "Priority"
    assert profile["Address"]["City"] == "Typed"  # the ranked object did not carry a city
    assert search_ids(profiles, domain, "_email", "ann@example.com") == [
        profile_id
    ]  # no new profile


def test_lower_source_priority_wins(profiles, domain):
    keys = {
        "ticketRef": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["ticketId"]}],
        "custEmail": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
    }
    ticket_type(profiles, domain, "Two", keys=keys, SourcePriority=2)
    ticket_type(profiles, domain, "Three", keys=keys, SourcePriority=3)
    ticket_type(profiles, domain, "Unranked", keys=keys)

    def first_name() -> str:
        return the_profile(profiles, domain, "custEmail", "a@example.com")["FirstName"]

    put(profiles, domain, {"id": "3a", "email": "a@example.com", "first": "Three"}, "Three")
    assert first_name() == "Three"
    put(profiles, domain, {"id": "ua", "email": "a@example.com", "first": "Unranked"}, "Unranked")
    assert first_name() == "Three"  # no SourcePriority ranks lowest
    put(profiles, domain, {"id": "2a", "email": "a@example.com", "first": "Two"}, "Two")
    assert first_name() == "Two"
    put(profiles, domain, {"id": "3b", "email": "a@example.com", "first": "Three again"}, "Three")
    assert first_name() == "Two"
    put(profiles, domain, {"id": "2b", "email": "a@example.com", "first": "Two again"}, "Two")
    assert first_name() == "Two again"  # equal priority: the later write wins


def test_no_match_without_profile_creation_creates_nothing(profiles, domain):
    ticket_type(profiles, domain, AllowProfileCreation=False)
    assert put(profiles, domain, {"id": "t1", "email": "nobody@example.com", "first": "X"}) == "t1"
    assert search_ids(profiles, domain, "custEmail", "nobody@example.com") == []
    assert search_ids(profiles, domain, "_email", "nobody@example.com") == []
    assert stats(profiles, domain)["ProfileCount"] == 0
    assert stats(profiles, domain)["ObjectCount"] == 0

    # with a match, the same type attaches the object
    profile_id = profiles.create_profile(DomainName=domain)["ProfileId"]
    profiles.add_profile_key(
        DomainName=domain, ProfileId=profile_id, KeyName="custEmail", Values=["known@example.com"]
    )
    put(profiles, domain, {"id": "t2", "email": "known@example.com", "first": "Known"})
    assert set(objects_of(profiles, domain, profile_id)) == {"t2"}
    assert get_profile(profiles, domain, profile_id)["FirstName"] == "Known"
    assert stats(profiles, domain)["ProfileCount"] == 1


def test_an_ambiguous_profile_key_is_skipped(profiles, domain):
    keys = {
        "ticketRef": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["ticketId"]}],
        "custRef": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["ref"]}],
        "custEmail": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
    }
    ticket_type(profiles, domain, keys=keys, fields={"ref": {"Source": "_source.ref"}})
    first = profiles.create_profile(DomainName=domain, FirstName="One")["ProfileId"]
    second = profiles.create_profile(DomainName=domain, FirstName="Two")["ProfileId"]
    third = profiles.create_profile(DomainName=domain, FirstName="Three")["ProfileId"]
    for profile_id in (first, second):
        profiles.add_profile_key(
            DomainName=domain, ProfileId=profile_id, KeyName="custRef", Values=["shared"]
        )
    profiles.add_profile_key(
        DomainName=domain, ProfileId=third, KeyName="custEmail", Values=["three@example.com"]
    )
    assert sorted(search_ids(profiles, domain, "custRef", "shared")) == sorted([first, second])

    # the ambiguous key is skipped, the next PROFILE key decides
    put(profiles, domain, {"id": "t1", "ref": "shared", "email": "three@example.com"})
    assert set(objects_of(profiles, domain, third)) == {"t1"}
    assert objects_of(profiles, domain, first) == {} and objects_of(profiles, domain, second) == {}

    # nothing else matches: a new profile, not one of the two
    put(profiles, domain, {"id": "t2", "ref": "shared", "email": "new@example.com"})
    (created,) = search_ids(profiles, domain, "custEmail", "new@example.com")
    assert created not in (first, second, third)
    assert set(objects_of(profiles, domain, created)) == {"t2"}
    assert stats(profiles, domain)["ProfileCount"] == 4


def test_secondary_key_is_used_only_when_the_primary_finds_nothing(profiles, domain):
    keys = {
        "ticketRef": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["ticketId"]}],
        "custPhone": [{"StandardIdentifiers": ["PROFILE", "SECONDARY"], "FieldNames": ["phone"]}],
        "custEmail": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
    }
    ticket_type(
        profiles,
        domain,
        keys=keys,
        fields={"phone": {"Source": "_source.phone", "ContentType": "PHONE_NUMBER"}},
    )
    by_phone = profiles.create_profile(DomainName=domain, FirstName="Phone")["ProfileId"]
    by_email = profiles.create_profile(DomainName=domain, FirstName="Email")["ProfileId"]
    profiles.add_profile_key(
        DomainName=domain, ProfileId=by_phone, KeyName="custPhone", Values=["+12065550101"]
    )
    profiles.add_profile_key(
        DomainName=domain, ProfileId=by_email, KeyName="custEmail", Values=["e@example.com"]
    )

    # the primary finds nothing: the secondary decides (its value normalized as a phone number)
    put(profiles, domain, {"id": "t1", "phone": "(206) 555-0101", "email": "unknown@example.com"})
    assert set(objects_of(profiles, domain, by_phone)) == {"t1"}
    assert search_ids(profiles, domain, "custEmail", "unknown@example.com") == [
        by_phone
    ]  # now stored
    # the primary key decides although the secondary (listed first) matches another profile
    put(profiles, domain, {"id": "t2", "phone": "+12065550101", "email": "e@example.com"})
    assert set(objects_of(profiles, domain, by_email)) == {"t2"}
    assert set(objects_of(profiles, domain, by_phone)) == {"t1"}
    assert stats(profiles, domain)["ProfileCount"] == 2


def test_lookup_only_key_matches_but_is_not_stored(profiles, domain):
    keys = {
        "ticketRef": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["ticketId"]}],
        "lookupRef": [{"StandardIdentifiers": ["PROFILE", "LOOKUP_ONLY"], "FieldNames": ["ref"]}],
        "custEmail": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
    }
    ticket_type(profiles, domain, keys=keys, fields={"ref": {"Source": "_source.ref"}})
    known = profiles.create_profile(DomainName=domain)["ProfileId"]
    profiles.add_profile_key(DomainName=domain, ProfileId=known, KeyName="lookupRef", Values=["L1"])

    put(
        profiles, domain, {"id": "t1", "ref": "L1", "email": "a@example.com"}
    )  # matched by the lookup key
    assert set(objects_of(profiles, domain, known)) == {"t1"}

    put(profiles, domain, {"id": "t2", "ref": "L2", "email": "b@example.com"})  # creates a profile
    (created,) = search_ids(profiles, domain, "custEmail", "b@example.com")
    assert created != known
    assert search_ids(profiles, domain, "lookupRef", "L2") == []  # never stored
    # so a later object with only that value does not find the profile through it
    put(profiles, domain, {"id": "t3", "ref": "L2", "email": "c@example.com"})
    assert set(objects_of(profiles, domain, created)) == {"t2"}


def test_new_only_key_is_stored_only_on_a_profile_the_object_created(profiles, domain):
    keys = {
        "ticketRef": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["ticketId"]}],
        "custEmail": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
        "newRef": [{"StandardIdentifiers": ["PROFILE", "NEW_ONLY"], "FieldNames": ["ref"]}],
    }
    ticket_type(profiles, domain, keys=keys, fields={"ref": {"Source": "_source.ref"}})
    put(
        profiles, domain, {"id": "t1", "email": "new@example.com", "ref": "N1"}
    )  # creates a profile
    (created,) = search_ids(profiles, domain, "custEmail", "new@example.com")
    assert search_ids(profiles, domain, "newRef", "N1") == [created]

    existing = profiles.create_profile(DomainName=domain)["ProfileId"]
    profiles.add_profile_key(
        DomainName=domain, ProfileId=existing, KeyName="custEmail", Values=["old@example.com"]
    )
    put(
        profiles, domain, {"id": "t2", "email": "old@example.com", "ref": "N2"}
    )  # joins an existing profile
    assert set(objects_of(profiles, domain, existing)) == {"t2"}
    assert search_ids(profiles, domain, "newRef", "N2") == []


def test_profile_id_key_pins_an_object_to_a_profile(profiles, domain):
    keys = {
        "ticketRef": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["ticketId"]}],
        "_profileId": [{"StandardIdentifiers": ["PROFILE", "LOOKUP_ONLY"], "FieldNames": ["pid"]}],
        "custEmail": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
    }
    ticket_type(profiles, domain, keys=keys, fields={"pid": {"Source": "_source.profileId"}})
    chosen = profiles.create_profile(DomainName=domain, LastName="Chosen")["ProfileId"]
    other = profiles.create_profile(DomainName=domain)["ProfileId"]
    profiles.add_profile_key(
        DomainName=domain,
        ProfileId=other,
        KeyName="custEmail",
        Values=["a@example.com", "b@example.com"],
    )

    put(profiles, domain, {"id": "t1", "profileId": chosen, "first": "Pinned"})
    put(
        profiles, domain, {"id": "t2", "profileId": chosen, "email": "a@example.com"}
    )  # _profileId is first
    assert set(objects_of(profiles, domain, chosen)) == {"t1", "t2"}
    assert objects_of(profiles, domain, other) == {}
    assert get_profile(profiles, domain, chosen)["FirstName"] == "Pinned"
    assert stats(profiles, domain)["ProfileCount"] == 2

    # an unknown ProfileId pins nothing: the object falls through to the other keys
    put(profiles, domain, {"id": "t3", "profileId": uuid.uuid4().hex, "email": "b@example.com"})
    assert set(objects_of(profiles, domain, other)) == {"t3"}


# --- rejected objects -------------------------------------------------------------------------


def test_an_object_without_a_unique_value_is_rejected(profiles, domain):
    ticket_type(profiles, domain)
    for record in ({"email": "a@example.com"}, {"id": "", "email": "a@example.com"}):
        with pytest.raises(ClientError) as excinfo:
            put(profiles, domain, record)
        code, _, status = error_of(excinfo)
        assert (code, status) == ("BadRequestException", 400)
    assert stats(profiles, domain)["ProfileCount"] == 0


def test_an_object_without_any_profile_value_is_rejected(profiles, domain):
    ticket_type(profiles, domain)
    with pytest.raises(ClientError) as excinfo:
        put(profiles, domain, {"id": "t1", "first": "Ann"})
    assert error_of(excinfo)[::2] == ("BadRequestException", 400)
    assert stats(profiles, domain)["ObjectCount"] == 0


@pytest.mark.parametrize("text", ["not json", '{"id": ', "'single'"])
def test_an_object_that_is_not_json_is_rejected(profiles, domain, text):
    ticket_type(profiles, domain)
    with pytest.raises(ClientError) as excinfo:
        profiles.put_profile_object(DomainName=domain, ObjectTypeName="Ticket", Object=text)
    code, message, status = error_of(excinfo)
    assert (code, status) == ("BadRequestException", 400)
    assert "'Object'" in message


@pytest.mark.parametrize(
    "text", ['[{"id": "t1", "email": "a@example.com"}]', '"a string"', "42", "null"]
)
def test_an_object_that_is_not_a_json_object_is_rejected(profiles, domain, text):
    ticket_type(profiles, domain)
    with pytest.raises(ClientError) as excinfo:
        profiles.put_profile_object(DomainName=domain, ObjectTypeName="Ticket", Object=text)
    code, message, status = error_of(excinfo)
    assert (code, status) == ("BadRequestException", 400)
    assert "Object" in message


def test_unknown_object_type_is_not_found(profiles, domain):
    with pytest.raises(ClientError) as excinfo:
        put(profiles, domain, {"id": "t1"}, "NoSuchType")
    code, message, status = error_of(excinfo)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert "NoSuchType" in message


def test_standard_object_types_cannot_be_ingested(profiles, domain):
    for name in ("_profile", "_case"):
        with pytest.raises(ClientError) as excinfo:
            put(profiles, domain, {"id": "t1"}, name)
        assert error_of(excinfo)[0] in ("BadRequestException", "ResourceNotFoundException")


def test_unknown_domain_is_not_found(profiles, unique):
    with pytest.raises(ClientError) as excinfo:
        put(profiles, unique("missing"), {"id": "t1"})
    assert error_of(excinfo)[::2] == ("ResourceNotFoundException", 404)


# --- templates used without PutProfileObjectType ----------------------------------------------


def test_a_template_name_is_an_implicit_object_type(profiles, domain):
    record = {
        "ContactId": "c1",
        "CustomerEndpoint": {"Address": "+12065550100"},
        "Channel": "VOICE",
    }
    assert put(profiles, domain, record, "CTR") == "c1"
    got = profiles.get_profile_object_type(DomainName=domain, ObjectTypeName="CTR")
    assert got["TemplateId"] == "CTR"
    assert got["Keys"] == profiles.get_profile_object_type_template(TemplateId="CTR")["Keys"]
    listed = profiles.list_profile_object_types(DomainName=domain)["Items"]
    assert [item["ObjectTypeName"] for item in listed] == ["CTR"]

    profile = the_profile(profiles, domain, "_ctrContactId", "c1")
    assert profile["PhoneNumber"] == "+12065550100"  # the inferred profile carries the phone number
    assert objects_of(profiles, domain, profile["ProfileId"], "CTR") == {"c1": record}

    # a later contact from the same number joins the inferred profile
    put(
        profiles,
        domain,
        {"ContactId": "c2", "CustomerEndpoint": {"Address": "+1 206-555-0100"}},
        "CTR",
    )
    assert set(objects_of(profiles, domain, profile["ProfileId"], "CTR")) == {"c1", "c2"}
    assert stats(profiles, domain)["ProfileCount"] == 1

    # the implicit type can be deleted, and its data goes with it; the next use makes it again
    profiles.delete_profile_object_type(DomainName=domain, ObjectTypeName="CTR")
    assert stats(profiles, domain)["ObjectCount"] == 0
    put(profiles, domain, {"ContactId": "c3", "CustomerEndpoint": {"Address": "+12065550100"}}, "CTR")
    assert stats(profiles, domain)["ObjectCount"] == 1
    assert profiles.get_profile_object_type(DomainName=domain, ObjectTypeName="CTR")["TemplateId"] == "CTR"


def test_an_implicit_type_whose_first_object_is_refused_is_not_made(profiles, domain):
    with pytest.raises(ClientError) as excinfo:
        put(profiles, domain, {"CustomerEndpoint": {"Address": "+12065550100"}}, "CTR")  # no ContactId
    assert error_of(excinfo)[::2] == ("BadRequestException", 400)
    assert profiles.list_profile_object_types(DomainName=domain)["Items"] == []
    with pytest.raises(ClientError) as excinfo:
        profiles.get_profile_object_type(DomainName=domain, ObjectTypeName="CTR")
    assert error_of(excinfo)[::2] == ("ResourceNotFoundException", 404)
    assert put(profiles, domain, {"ContactId": "c1", "CustomerEndpoint": {"Address": "+12065550100"}}, "CTR") == "c1"
    assert [item["ObjectTypeName"] for item in profiles.list_profile_object_types(DomainName=domain)["Items"]] == ["CTR"]


def test_switching_the_ctr_template(profiles, domain):
    known = profiles.create_profile(
        DomainName=domain, FirstName="Known", PhoneNumber="(206) 555-0177"
    )["ProfileId"]
    # the default CTR template does not attach a contact to a profile only by its phone number
    put(
        profiles,
        domain,
        {"ContactId": "c1", "CustomerEndpoint": {"Address": "+12065550177"}},
        "CTR",
    )
    assert objects_of(profiles, domain, known, "CTR") == {}
    assert stats(profiles, domain)["ProfileCount"] == 2

    # CTR-NoInferred falls back to _phone
    switched = profiles.put_profile_object_type(
        DomainName=domain, ObjectTypeName="CTR", Description="contacts", TemplateId="CTR-NoInferred"
    )
    assert switched["TemplateId"] == "CTR-NoInferred"
    other = profiles.create_profile(DomainName=domain, PhoneNumber="+12065550188")["ProfileId"]
    put(
        profiles,
        domain,
        {"ContactId": "c2", "CustomerEndpoint": {"Address": "+1 206 555 0188"}},
        "CTR",
    )
    assert set(objects_of(profiles, domain, other, "CTR")) == {"c2"}

    # AddProfileKey(_ctrContactId) during the contact pins the record, whatever the phone
    profiles.add_profile_key(
        DomainName=domain, ProfileId=known, KeyName="_ctrContactId", Values=["c3"]
    )
    put(
        profiles,
        domain,
        {"ContactId": "c3", "CustomerEndpoint": {"Address": "+12065550188"}},
        "CTR",
    )
    assert set(objects_of(profiles, domain, known, "CTR")) == {"c3"}
    assert stats(profiles, domain)["ProfileCount"] == 3


# --- listing and deleting objects -------------------------------------------------------------


def test_list_objects_filtered_by_a_key(profiles, domain):
    keys = {
        "ticketRef": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["ticketId"]}],
        "custRef": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["ref"]}],
        "contactEmail": [{"FieldNames": ["email"]}],
    }
    ticket_type(profiles, domain, keys=keys, fields={"ref": {"Source": "_source.ref"}})
    put(profiles, domain, {"id": "t1", "ref": "R", "email": "Ann@Example.com"})
    put(profiles, domain, {"id": "t2", "ref": "R", "email": "bob@example.com"})
    put(profiles, domain, {"id": "t3", "ref": "R", "email": "ann@example.COM"})
    (profile_id,) = search_ids(profiles, domain, "custRef", "R")

    by_email = objects_of(
        profiles,
        domain,
        profile_id,
        ObjectFilter={"KeyName": "contactEmail", "Values": ["ANN@example.com"]},
    )
    assert set(by_email) == {"t1", "t3"}
    by_unique = objects_of(
        profiles, domain, profile_id, ObjectFilter={"KeyName": "ticketRef", "Values": ["t2"]}
    )
    assert set(by_unique) == {"t2"}
    several = objects_of(
        profiles,
        domain,
        profile_id,
        ObjectFilter={"KeyName": "ticketRef", "Values": ["t1", "t2", "nope"]},
    )
    assert set(several) == {"t1", "t2"}
    none = objects_of(
        profiles, domain, profile_id, ObjectFilter={"KeyName": "ticketRef", "Values": ["nope"]}
    )
    assert none == {}


def test_list_objects_pages(profiles, domain):
    ticket_type(profiles, domain)
    for i in range(5):
        put(profiles, domain, {"id": f"t{i}", "email": "a@example.com"})
    profile_id = the_profile(profiles, domain, "custEmail", "a@example.com")["ProfileId"]
    seen: list[str] = []
    pages = 0
    args: dict[str, Any] = {
        "DomainName": domain,
        "ProfileId": profile_id,
        "ObjectTypeName": "Ticket",
        "MaxResults": 2,
    }
    while True:
        page = profiles.list_profile_objects(**args)
        pages += 1
        assert len(page["Items"]) <= 2
        seen += [item["ProfileObjectUniqueKey"] for item in page["Items"]]
        if "NextToken" not in page:
            break
        args["NextToken"] = page["NextToken"]
    assert pages == 3
    assert sorted(seen) == [f"t{i}" for i in range(5)]

    with pytest.raises(ClientError) as excinfo:
        profiles.list_profile_objects(**{**args, "NextToken": "forged"})
    assert error_of(excinfo)[::2] == ("BadRequestException", 400)


def test_list_objects_of_an_unknown_profile_is_not_found(profiles, domain):
    ticket_type(profiles, domain)
    with pytest.raises(ClientError) as excinfo:
        profiles.list_profile_objects(
            DomainName=domain, ProfileId=uuid.uuid4().hex, ObjectTypeName="Ticket"
        )
    assert error_of(excinfo)[::2] == ("ResourceNotFoundException", 404)


def test_delete_profile_object(profiles, domain):
    ticket_type(profiles, domain)
    put(profiles, domain, {"id": "t1", "email": "a@example.com"})
    put(profiles, domain, {"id": "t2", "email": "a@example.com"})
    put(profiles, domain, {"id": "t3", "email": "b@example.com"})
    profile_id = the_profile(profiles, domain, "custEmail", "a@example.com")["ProfileId"]
    other_id = the_profile(profiles, domain, "custEmail", "b@example.com")["ProfileId"]
    assert stats(profiles, domain)["ObjectCount"] == 3

    answer = profiles.delete_profile_object(
        DomainName=domain,
        ProfileId=profile_id,
        ObjectTypeName="Ticket",
        ProfileObjectUniqueKey="t1",
    )
    assert "Message" in answer
    assert set(objects_of(profiles, domain, profile_id)) == {"t2"}
    assert stats(profiles, domain)["ObjectCount"] == 2

    for profile, unique_key in (
        (profile_id, "t1"),
        (profile_id, "nope"),
        (profile_id, "t3"),
        (other_id, "t2"),
    ):
        with pytest.raises(ClientError) as excinfo:
            profiles.delete_profile_object(
                DomainName=domain,
                ProfileId=profile,
                ObjectTypeName="Ticket",
                ProfileObjectUniqueKey=unique_key,
            )
        assert error_of(excinfo)[::2] == ("ResourceNotFoundException", 404)
    assert stats(profiles, domain)["ObjectCount"] == 2


def test_deleting_a_profile_deletes_its_objects(profiles, domain):
    ticket_type(profiles, domain)
    put(profiles, domain, {"id": "t1", "email": "a@example.com"})
    profile_id = the_profile(profiles, domain, "custEmail", "a@example.com")["ProfileId"]
    assert stats(profiles, domain)["ObjectCount"] == 1
    profiles.delete_profile(DomainName=domain, ProfileId=profile_id)
    assert stats(profiles, domain)["ObjectCount"] == 0
    assert search_ids(profiles, domain, "custEmail", "a@example.com") == []
    put(profiles, domain, {"id": "t1", "email": "a@example.com"})  # comes back on a new profile
    (new_id,) = search_ids(profiles, domain, "custEmail", "a@example.com")
    assert new_id != profile_id


# --- timestamps, caps, stats ------------------------------------------------------------------


def test_an_older_object_does_not_replace_a_newer_one(profiles, domain):
    ticket_type(
        profiles,
        domain,
        fields={
            "updated": {
                "Source": "_source.updatedAt",
                "Target": "_profile.SourceLastUpdatedTimestamp",
            }
        },
        SourceLastUpdatedTimestampFormat="EpochMilli",
    )
    put(
        profiles,
        domain,
        {"id": "t1", "email": "a@example.com", "updatedAt": 1_700_000_002_000, "subject": "newer"},
    )
    profile_id = the_profile(profiles, domain, "custEmail", "a@example.com")["ProfileId"]
    put(
        profiles,
        domain,
        {"id": "t1", "email": "a@example.com", "updatedAt": 1_700_000_001_000, "subject": "older"},
    )
    assert objects_of(profiles, domain, profile_id)["t1"]["subject"] == "newer"
    put(
        profiles,
        domain,
        {"id": "t1", "email": "a@example.com", "updatedAt": "1700000003000", "subject": "newest"},
    )
    assert objects_of(profiles, domain, profile_id)["t1"]["subject"] == "newest"
    assert stats(profiles, domain)["ObjectCount"] == 1


def test_an_older_object_does_not_overwrite_the_profile(profiles, domain):
    ticket_type(
        profiles,
        domain,
        fields={
            "updated": {
                "Source": "_source.updatedAt",
                "Target": "_profile.SourceLastUpdatedTimestamp",
            }
        },
        SourceLastUpdatedTimestampFormat="EpochMilli",
    )
    put(
        profiles,
        domain,
        {"id": "t1", "email": "a@example.com", "updatedAt": 1_700_000_002_000, "first": "New"},
    )
    put(
        profiles,
        domain,
        {"id": "t1", "email": "a@example.com", "updatedAt": 1_700_000_001_000, "first": "Old"},
    )
    assert the_profile(profiles, domain, "custEmail", "a@example.com")["FirstName"] == "New"


def test_max_profile_object_count_keeps_the_most_recent(profiles, domain):
    ticket_type(profiles, domain, MaxProfileObjectCount=2)
    ticket_type(profiles, domain, "Other")
    put(profiles, domain, {"id": "o1", "email": "a@example.com"}, "Other")
    for i in range(1, 4):
        put(profiles, domain, {"id": f"t{i}", "email": "a@example.com", "subject": f"s{i}"})
    profile_id = the_profile(profiles, domain, "custEmail", "a@example.com")["ProfileId"]
    assert set(objects_of(profiles, domain, profile_id)) == {"t2", "t3"}
    assert set(objects_of(profiles, domain, profile_id, "Other")) == {"o1"}  # other types untouched
    assert stats(profiles, domain)["ObjectCount"] == 3
    # a replaced object counts as recent again
    put(profiles, domain, {"id": "t2", "email": "a@example.com", "subject": "again"})
    put(profiles, domain, {"id": "t4", "email": "a@example.com"})
    assert set(objects_of(profiles, domain, profile_id)) == {"t2", "t4"}


def test_domain_stats_count_objects(profiles, domain):
    ticket_type(profiles, domain)
    before = stats(profiles, domain)
    assert (before["ObjectCount"], before["ProfileCount"]) == (0, 0)
    put(profiles, domain, {"id": "t1", "email": "a@example.com", "subject": "x" * 100})
    put(profiles, domain, {"id": "t2", "email": "b@example.com"})
    after = stats(profiles, domain)
    assert (after["ObjectCount"], after["ProfileCount"]) == (2, 2)
    assert after["TotalSize"] > before["TotalSize"] + 100
    put(profiles, domain, {"id": "t2", "email": "b@example.com", "subject": "replaced"})
    assert stats(profiles, domain)["ObjectCount"] == 2


# --- standard objects --------------------------------------------------------------------------


def test_case_targets_create_and_update_a_case_record(profiles, domain):
    profiles.put_profile_object_type(
        DomainName=domain,
        ObjectTypeName="SupportEvent",
        Description="support events",
        AllowProfileCreation=True,
        Fields={
            "eventId": {"Source": "_source.eventId"},
            "email": {"Source": "_source.email", "ContentType": "EMAIL_ADDRESS"},
            "caseRef": {"Source": "_source.caseRef"},
            "title": {"Source": "_source.title", "Target": "_case.Title"},
            "status": {"Source": "_source.status", "Target": "_case.Status"},
            "source": {"Source": "_source.origin", "Target": "_case.Attributes.origin"},
        },
        Keys={
            "eventRef": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["eventId"]}],
            "custEmail": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
            "caseRef": [{"StandardIdentifiers": ["CASE"], "FieldNames": ["caseRef"]}],
        },
    )
    put(
        profiles,
        domain,
        {
            "eventId": "e1",
            "email": "a@example.com",
            "caseRef": "C-1",
            "title": "Broken",
            "status": "OPEN",
            "origin": "web",
        },
        "SupportEvent",
    )
    profile_id = the_profile(profiles, domain, "custEmail", "a@example.com")["ProfileId"]
    cases = objects_of(profiles, domain, profile_id, "_case")
    assert len(cases) == 1
    ((case_key, case),) = cases.items()
    assert case["Title"] == "Broken" and case["Status"] == "OPEN"
    assert case["Attributes"] == {"origin": "web"}
    assert case["CaseId"] == case_key

    # another event about the same case updates the record, field by field
    put(
        profiles,
        domain,
        {"eventId": "e2", "email": "a@example.com", "caseRef": "C-1", "status": "CLOSED"},
        "SupportEvent",
    )
    cases = objects_of(profiles, domain, profile_id, "_case")
    assert list(cases) == [case_key]
    assert cases[case_key]["Status"] == "CLOSED"
    assert cases[case_key]["Title"] == "Broken"  # not targeted by the second event: kept
    assert set(objects_of(profiles, domain, profile_id, "SupportEvent")) == {"e1", "e2"}

    # a different case value makes a second record; _caseId filters them
    put(
        profiles,
        domain,
        {"eventId": "e3", "email": "a@example.com", "caseRef": "C-2", "title": "Other"},
        "SupportEvent",
    )
    cases = objects_of(profiles, domain, profile_id, "_case")
    assert len(cases) == 2
    only = objects_of(
        profiles,
        domain,
        profile_id,
        "_case",
        ObjectFilter={"KeyName": "_caseId", "Values": [case_key]},
    )
    assert list(only) == [case_key]
