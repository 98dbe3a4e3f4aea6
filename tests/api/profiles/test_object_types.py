"""Object types through boto3, behind every door: PutProfileObjectType (create, replace, templates,
every documented rejection), Get, List, Delete, tags (REFERENCE 1.2, 1.3, 1.5)."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def order_type(**overrides: Any) -> dict[str, Any]:
    """A valid definition: a UNIQUE key, a PROFILE key, a Target on the profile."""
    definition: dict[str, Any] = {
        "Description": "orders",
        "AllowProfileCreation": True,
        "Fields": {
            "orderId": {"Source": "_source.orderId"},
            "email": {"Source": "_source.email", "ContentType": "EMAIL_ADDRESS"},
            "first": {"Source": "_source.first", "Target": "_profile.FirstName"},
        },
        "Keys": {
            "orderRef": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["orderId"]}],
            "custEmail": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
        },
    }
    definition.update(overrides)
    return definition


@pytest.fixture
def domain(profiles, unique) -> str:
    name = unique("types")
    profiles.create_domain(DomainName=name, DefaultExpirationDays=45)
    return name


def put_type(profiles, domain: str, name: str, definition: dict[str, Any]) -> dict[str, Any]:
    return profiles.put_profile_object_type(DomainName=domain, ObjectTypeName=name, **definition)


def object_count(profiles, domain: str) -> int:
    return profiles.get_domain(DomainName=domain)["Stats"]["ObjectCount"]


# --- create, get, replace ----------------------------------------------------------------------


def test_put_creates_and_get_returns_the_definition(profiles, domain):
    definition = order_type()
    created = put_type(profiles, domain, "Order", definition)
    assert created["ObjectTypeName"] == "Order"
    assert created["Description"] == "orders"
    assert created["AllowProfileCreation"] is True
    assert created["Keys"] == definition["Keys"]
    assert {name: field["Source"] for name, field in created["Fields"].items()} == {
        "orderId": "_source.orderId",
        "email": "_source.email",
        "first": "_source.first",
    }
    assert created["Fields"]["first"]["Target"] == "_profile.FirstName"
    assert created["Fields"]["email"]["ContentType"] == "EMAIL_ADDRESS"
    assert created["ExpirationDays"] == 45  # the domain's DefaultExpirationDays
    assert isinstance(created["MaxAvailableProfileObjectCount"], int)
    assert created["MaxAvailableProfileObjectCount"] >= 1
    assert "TemplateId" not in created

    got = profiles.get_profile_object_type(DomainName=domain, ObjectTypeName="Order")
    for member in (
        "Description",
        "AllowProfileCreation",
        "Fields",
        "Keys",
        "ExpirationDays",
        "MaxAvailableProfileObjectCount",
        "CreatedAt",
        "LastUpdatedAt",
    ):
        assert got[member] == created[member], member


def test_optional_members_round_trip(profiles, domain):
    created = put_type(
        profiles,
        domain,
        "Order",
        order_type(
            ExpirationDays=7,
            EncryptionKey="arn:aws:kms:us-east-1:123456789012:key/abc",
            MaxProfileObjectCount=5,
            SourcePriority=3,
        ),
    )
    assert created["ExpirationDays"] == 7
    assert created["EncryptionKey"].endswith("key/abc")
    assert created["MaxProfileObjectCount"] == 5
    assert created["SourcePriority"] == 3
    got = profiles.get_profile_object_type(DomainName=domain, ObjectTypeName="Order")
    assert (got["ExpirationDays"], got["MaxProfileObjectCount"], got["SourcePriority"]) == (7, 5, 3)


def test_put_again_replaces_the_type_and_keeps_created_at(profiles, domain):
    first = put_type(profiles, domain, "Order", order_type())
    time.sleep(0.05)
    replacement = order_type(Description="orders v2", ExpirationDays=9)
    replacement["Fields"]["last"] = {"Source": "_source.last", "Target": "_profile.LastName"}
    del replacement["Fields"]["first"]
    second = put_type(profiles, domain, "Order", replacement)
    assert second["CreatedAt"] == first["CreatedAt"]
    assert second["LastUpdatedAt"] > first["LastUpdatedAt"]
    assert second["Description"] == "orders v2"
    assert second["ExpirationDays"] == 9
    assert set(second["Fields"]) == {"orderId", "email", "last"}  # replaced, not merged

    got = profiles.get_profile_object_type(DomainName=domain, ObjectTypeName="Order")
    assert got["CreatedAt"] == first["CreatedAt"]
    assert got["LastUpdatedAt"] == second["LastUpdatedAt"]
    assert set(got["Fields"]) == {"orderId", "email", "last"}
    listed = profiles.list_profile_object_types(DomainName=domain)["Items"]
    assert [item["ObjectTypeName"] for item in listed] == ["Order"]  # still one type


def test_get_unknown_type_is_not_found(profiles, domain):
    with pytest.raises(ClientError) as excinfo:
        profiles.get_profile_object_type(DomainName=domain, ObjectTypeName="Missing")
    code, message, status = error_of(excinfo)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert "Missing" in message


def test_unknown_domain_is_not_found(profiles, unique):
    missing = unique("nodomain")
    for call in (
        lambda: put_type(profiles, missing, "Order", order_type()),
        lambda: profiles.get_profile_object_type(DomainName=missing, ObjectTypeName="Order"),
        lambda: profiles.list_profile_object_types(DomainName=missing),
        lambda: profiles.delete_profile_object_type(DomainName=missing, ObjectTypeName="Order"),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        code, _, status = error_of(excinfo)
        assert (code, status) == ("ResourceNotFoundException", 404)


# --- list --------------------------------------------------------------------------------------


def test_list_is_empty_for_a_new_domain(profiles, domain):
    listed = profiles.list_profile_object_types(DomainName=domain)
    assert listed["Items"] == []
    assert "NextToken" not in listed


def test_list_pages_with_max_results(profiles, domain):
    names = [f"Type{i}" for i in range(5)]
    for name in names:
        put_type(
            profiles, domain, name, order_type(Description=f"about {name}", MaxProfileObjectCount=3)
        )
    seen: list[str] = []
    pages = 0
    kwargs: dict[str, Any] = {"DomainName": domain, "MaxResults": 2}
    while True:
        page = profiles.list_profile_object_types(**kwargs)
        pages += 1
        assert len(page["Items"]) <= 2
        for item in page["Items"]:
            assert item["Description"] == f"about {item['ObjectTypeName']}"
            assert item["MaxProfileObjectCount"] == 3
            assert item["MaxAvailableProfileObjectCount"] >= 1
            assert item["LastUpdatedAt"] >= item["CreatedAt"]
        seen += [item["ObjectTypeName"] for item in page["Items"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert pages == 3
    assert sorted(seen) == names and len(seen) == len(set(seen))


def test_list_with_a_forged_token_is_a_bad_request(profiles, domain):
    with pytest.raises(ClientError) as excinfo:
        profiles.list_profile_object_types(DomainName=domain, NextToken="not-a-token")
    assert error_of(excinfo)[0] == "BadRequestException"


# --- delete ------------------------------------------------------------------------------------


def test_delete_removes_the_type_and_its_objects(profiles, domain):
    put_type(profiles, domain, "Order", order_type())
    for order in ("o1", "o2"):
        profiles.put_profile_object(
            DomainName=domain,
            ObjectTypeName="Order",
            Object=json.dumps({"orderId": order, "email": "ann@example.com"}),
        )
    found = profiles.search_profiles(
        DomainName=domain, KeyName="custEmail", Values=["ann@example.com"]
    )
    profile_id = found["Items"][0]["ProfileId"]
    listed = profiles.list_profile_objects(
        DomainName=domain, ProfileId=profile_id, ObjectTypeName="Order"
    )
    assert len(listed["Items"]) == 2
    assert object_count(profiles, domain) == 2

    assert "Message" in profiles.delete_profile_object_type(
        DomainName=domain, ObjectTypeName="Order"
    )
    with pytest.raises(ClientError) as excinfo:
        profiles.get_profile_object_type(DomainName=domain, ObjectTypeName="Order")
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    assert profiles.list_profile_object_types(DomainName=domain)["Items"] == []
    assert object_count(profiles, domain) == 0

    # defining the type again does not bring its old objects back
    put_type(profiles, domain, "Order", order_type())
    listed = profiles.list_profile_objects(
        DomainName=domain, ProfileId=profile_id, ObjectTypeName="Order"
    )
    assert listed["Items"] == []


def test_delete_unknown_type_is_not_found(profiles, domain):
    with pytest.raises(ClientError) as excinfo:
        profiles.delete_profile_object_type(DomainName=domain, ObjectTypeName="Missing")
    code, _, status = error_of(excinfo)
    assert (code, status) == ("ResourceNotFoundException", 404)


def test_deleting_a_type_frees_its_key_names(profiles, domain):
    shared = {"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}
    put_type(profiles, domain, "A", order_type(Keys={**order_type()["Keys"], "shared": [shared]}))
    other = order_type()
    other["Fields"]["email"]["ContentType"] = "STRING"
    other["Keys"]["shared"] = [shared]
    with pytest.raises(ClientError):
        put_type(profiles, domain, "B", other)
    profiles.delete_profile_object_type(DomainName=domain, ObjectTypeName="A")
    assert put_type(profiles, domain, "B", other)["ObjectTypeName"] == "B"


# --- templates ---------------------------------------------------------------------------------


def test_template_supplies_fields_and_keys(profiles, domain):
    template = profiles.get_profile_object_type_template(TemplateId="Salesforce-Account")
    created = profiles.put_profile_object_type(
        DomainName=domain,
        ObjectTypeName="Accounts",
        Description="from salesforce",
        TemplateId="Salesforce-Account",
    )
    assert created["TemplateId"] == "Salesforce-Account"
    assert created["Fields"] == template["Fields"]
    assert created["Keys"] == template["Keys"]
    assert created["AllowProfileCreation"] == template["AllowProfileCreation"]
    assert created["ExpirationDays"] == 45
    got = profiles.get_profile_object_type(DomainName=domain, ObjectTypeName="Accounts")
    assert got["TemplateId"] == "Salesforce-Account"
    assert got["Fields"] == template["Fields"] and got["Keys"] == template["Keys"]


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("Fields", {"x": {"Source": "_source.x"}}),
        ("Keys", {"k": [{"StandardIdentifiers": ["UNIQUE", "PROFILE"], "FieldNames": ["x"]}]}),
        ("AllowProfileCreation", False),
        ("SourceLastUpdatedTimestampFormat", "EpochMilli"),
    ],
)
def test_template_members_cannot_be_sent_with_a_template(profiles, domain, member, value):
    with pytest.raises(ClientError) as excinfo:
        profiles.put_profile_object_type(
            DomainName=domain,
            ObjectTypeName="Accounts",
            Description="x",
            TemplateId="Salesforce-Account",
            **{member: value},
        )
    code, message, status = error_of(excinfo)
    assert (code, status) == ("BadRequestException", 400)
    assert f"'{member}'" in message
    with pytest.raises(ClientError):
        profiles.get_profile_object_type(
            DomainName=domain, ObjectTypeName="Accounts"
        )  # nothing written


def test_unknown_template_is_a_bad_request(profiles, domain):
    with pytest.raises(ClientError) as excinfo:
        profiles.put_profile_object_type(
            DomainName=domain,
            ObjectTypeName="Accounts",
            Description="x",
            TemplateId="No-Such-Template",
        )
    code, message, status = error_of(excinfo)
    assert (code, status) == ("BadRequestException", 400)
    assert "'TemplateId'" in message


def test_fields_and_keys_are_required_without_a_template(profiles, domain):
    with pytest.raises(ClientError) as excinfo:
        profiles.put_profile_object_type(DomainName=domain, ObjectTypeName="Bare", Description="x")
    code, _, status = error_of(excinfo)
    assert (code, status) == ("BadRequestException", 400)


# --- tags --------------------------------------------------------------------------------------


def test_object_types_are_taggable(door, profiles, domain):
    created = put_type(profiles, domain, "Order", {**order_type(), "Tags": {"team": "crm"}})
    assert created["Tags"] == {"team": "crm"}
    arn = f"arn:aws:profile:us-east-1:{door.account}:domains/{domain}/object-types/Order"
    assert profiles.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "crm"}

    profiles.tag_resource(resourceArn=arn, tags={"env": "test", "team": "cx"})
    assert profiles.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "cx", "env": "test"}
    assert profiles.get_profile_object_type(DomainName=domain, ObjectTypeName="Order")["Tags"] == {
        "team": "cx",
        "env": "test",
    }
    profiles.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert profiles.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "test"}
    listed = profiles.list_profile_object_types(DomainName=domain)["Items"]
    assert listed[0]["Tags"] == {"env": "test"}

    # the domain's own tags are separate
    assert (
        profiles.list_tags_for_resource(
            resourceArn=f"arn:aws:profile:us-east-1:{door.account}:domains/{domain}"
        )["tags"]
        == {}
    )

    profiles.delete_profile_object_type(DomainName=domain, ObjectTypeName="Order")
    with pytest.raises(ClientError) as excinfo:
        profiles.list_tags_for_resource(resourceArn=arn)
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    put_type(profiles, domain, "Order", order_type())
    assert (
        profiles.list_tags_for_resource(resourceArn=arn)["tags"] == {}
    )  # old tags did not survive


def test_tagging_an_unknown_object_type_is_not_found(door, profiles, domain):
    arn = f"arn:aws:profile:us-east-1:{door.account}:domains/{domain}/object-types/Missing"
    with pytest.raises(ClientError) as excinfo:
        profiles.tag_resource(resourceArn=arn, tags={"a": "b"})
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


# --- rejections --------------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _parent(definition: dict[str, Any], path: str) -> tuple[Any, Any]:
    """The container of the member at ``path`` ("Keys/orderRef/0/FieldNames") and its name."""
    *parents, last = (int(part) if part.isdigit() else part for part in path.split("/"))
    node: Any = definition
    for part in parents:
        node = node[part]
    return node, last


def _set(path: str, value: Any) -> Mutation:
    def apply(definition: dict[str, Any]) -> None:
        node, last = _parent(definition, path)
        node[last] = value

    return apply


def _drop(path: str) -> Mutation:
    def apply(definition: dict[str, Any]) -> None:
        node, last = _parent(definition, path)
        del node[last]

    return apply


def _eleven_keys(definition: dict[str, Any]) -> None:
    for i in range(10):
        definition["Fields"][f"extra{i}"] = {"Source": f"_source.extra{i}"}
        definition["Keys"][f"extra{i}"] = [{"FieldNames": [f"extra{i}"]}]


def _eleven_key_entries(definition: dict[str, Any]) -> None:
    """Each entry under a key name counts toward the quota of 10, not each name."""
    for i in range(5):
        definition["Fields"][f"extra{i}"] = {"Source": f"_source.extra{i}"}
        definition["Keys"][f"extra{i}"] = [{"FieldNames": [f"extra{i}"]}, {"FieldNames": ["email"]}]


def _gender_twice(definition: dict[str, Any]) -> None:
    definition["Fields"]["gender"] = {"Source": "_source.gender", "Target": "_profile.Gender"}
    definition["Fields"]["genderText"] = {
        "Source": "_source.genderText",
        "Target": "_profile.GenderString",
    }


def _party_type_twice(definition: dict[str, Any]) -> None:
    definition["Fields"]["party"] = {"Source": "_source.party", "Target": "_profile.PartyType"}
    definition["Fields"]["partyText"] = {
        "Source": "_source.partyText",
        "Target": "_profile.PartyTypeString",
    }


def _profile_id_key(identifiers: list[str]) -> Mutation:
    def apply(definition: dict[str, Any]) -> None:
        definition["Fields"]["pid"] = {"Source": "_source.pid"}
        definition["Keys"]["_profileId"] = [
            {"StandardIdentifiers": identifiers, "FieldNames": ["pid"]}
        ]

    return apply


def _key(name: str, identifiers: list[str], field: str = "email") -> Mutation:
    return _set(f"Keys/{name}", [{"StandardIdentifiers": identifiers, "FieldNames": [field]}])


REJECTIONS: list[tuple[str, Mutation, str]] = [
    (
        "no UNIQUE key",
        _set("Keys/orderRef", [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["orderId"]}]),
        "'Keys'",
    ),
    ("two UNIQUE keys", _key("custEmail", ["PROFILE", "UNIQUE"]), "'Keys'"),
    ("no PROFILE key", _key("custEmail", []), "'Keys'"),
    (
        "UNIQUE with LOOKUP_ONLY",
        _set("Keys/orderRef/0/StandardIdentifiers", ["UNIQUE", "LOOKUP_ONLY"]),
        "'Keys.orderRef",
    ),
    (
        "UNIQUE with NEW_ONLY",
        _set("Keys/orderRef/0/StandardIdentifiers", ["UNIQUE", "NEW_ONLY"]),
        "'Keys.orderRef",
    ),
    (
        "FieldNames naming an unknown field",
        _set("Keys/custEmail/0/FieldNames", ["nope"]),
        "'Keys.custEmail",
    ),
    (
        "Target outside the standard objects",
        _set("Fields/first/Target", "_foo.X"),
        "'Fields.first.Target'",
    ),
    (
        "Target on an unknown profile field",
        _set("Fields/first/Target", "_profile.NoSuchField"),
        "'Fields.first.Target'",
    ),
    (
        "Target on a system id",
        _set("Fields/first/Target", "_profile.ProfileId"),
        "'Fields.first.Target'",
    ),
    (
        "Target on another system id",
        _set("Fields/first/Target", "_case.CaseId"),
        "'Fields.first.Target'",
    ),
    ("both Gender and GenderString", _gender_twice, "'Fields"),
    ("both PartyType and PartyTypeString", _party_type_twice, "'Fields"),
    (
        "Target on _case without a CASE key",
        _set("Fields/first/Target", "_case.Title"),
        "'Fields.first.Target'",
    ),
    (
        "SourceLastUpdatedTimestamp without a format",
        _set("Fields/first/Target", "_profile.SourceLastUpdatedTimestamp"),
        "'Fields.first.Target'",
    ),
    ("_profileId key not LOOKUP_ONLY", _profile_id_key(["PROFILE"]), "'Keys._profileId"),
    ("_caseId key not LOOKUP_ONLY", _key("_caseId", ["PROFILE"]), "'Keys._caseId"),
    ("key name with _ that is not predefined", _key("_custom", ["PROFILE"]), "'Keys._custom"),
    ("key name Tags", _key("Tags", ["PROFILE"]), "'Keys.Tags"),
    ("field name Tags", _set("Fields/Tags", {"Source": "_source.tags"}), "'Fields.Tags"),
    (
        "Source not under _source",
        _set("Fields/email/Source", "_other.email"),
        "'Fields.email.Source'",
    ),
    ("Source that is a bare name", _set("Fields/email/Source", "email"), "'Fields.email.Source'"),
    (
        "unclosed Handlebars block",
        _set("Fields/first/Source", "{{#if _source.first}}x"),
        "'Fields.first.Source'",
    ),
    (
        "unknown Handlebars helper",
        _set("Fields/first/Source", "{{upper _source.first}}"),
        "'Fields.first.Source'",
    ),
    (
        "Handlebars reading outside _source",
        _set("Fields/first/Source", "{{first}}"),
        "'Fields.first.Source'",
    ),
    ("more than 10 keys", _eleven_keys, "'Keys'"),
    ("more than 10 key entries", _eleven_key_entries, "'Keys'"),
    (
        "Source that is _source itself",
        _set("Fields/email/Source", "_source"),
        "'Fields.email.Source'",
    ),
    (
        "custom attribute Target without a name",
        _set("Fields/first/Target", "_profile.Attributes"),
        "'Fields.first.Target'",
    ),
    (
        "LOOKUP_ONLY PROFILE key with no plain PROFILE key",
        _set("Keys/custEmail/0/StandardIdentifiers", ["PROFILE", "LOOKUP_ONLY"]),
        "'Keys",
    ),
    ("SECONDARY without PROFILE", _key("custEmail2", ["SECONDARY"]), "'Keys.custEmail2"),
    ("a field without Source", _drop("Fields/first/Source"), "'Fields.first"),
]


@pytest.mark.parametrize(
    ("mutate", "path"), [(m, p) for _, m, p in REJECTIONS], ids=[r[0] for r in REJECTIONS]
)
def test_invalid_definitions_are_rejected_naming_the_member(profiles, domain, mutate, path):
    definition = copy.deepcopy(order_type())
    mutate(definition)
    with pytest.raises(ClientError) as excinfo:
        put_type(profiles, domain, "Broken", definition)
    code, message, status = error_of(excinfo)
    assert (code, status) == ("BadRequestException", 400)
    assert path in message, message
    assert profiles.list_profile_object_types(DomainName=domain)["Items"] == []  # nothing written


def test_gender_pair_rejection_names_the_targets(profiles, domain):
    definition = order_type()
    _gender_twice(definition)
    with pytest.raises(ClientError) as excinfo:
        put_type(profiles, domain, "Broken", definition)
    message = error_of(excinfo)[1]
    assert "Gender" in message and "GenderString" in message


def test_unknown_field_in_field_names_is_named(profiles, domain):
    definition = order_type()
    definition["Keys"]["custEmail"][0]["FieldNames"] = ["emial"]
    with pytest.raises(ClientError) as excinfo:
        put_type(profiles, domain, "Broken", definition)
    assert "emial" in error_of(excinfo)[1]


def test_a_reused_key_name_keeps_its_content_types(profiles, domain):
    put_type(profiles, domain, "A", order_type())  # custEmail over an EMAIL_ADDRESS field
    other = order_type()
    other["Fields"]["email"] = {"Source": "_source.mail", "ContentType": "STRING"}
    other["Keys"]["orderRef"] = [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["orderId"]}]
    with pytest.raises(ClientError) as excinfo:
        put_type(profiles, domain, "B", other)
    code, message, status = error_of(excinfo)
    assert (code, status) == ("BadRequestException", 400)
    assert "'Keys.custEmail" in message
    with pytest.raises(ClientError):
        profiles.get_profile_object_type(DomainName=domain, ObjectTypeName="B")

    # the same ContentTypes under the same name are fine (one shared index) ...
    other["Fields"]["email"]["ContentType"] = "EMAIL_ADDRESS"
    assert put_type(profiles, domain, "B", other)["ObjectTypeName"] == "B"
    # ... and a type may change its own key while no other type uses the name
    solo = order_type()
    solo["Fields"]["ref"] = {"Source": "_source.ref", "ContentType": "NUMBER"}
    solo["Keys"]["soloRef"] = [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["ref"]}]
    put_type(profiles, domain, "C", solo)
    solo["Fields"]["ref"]["ContentType"] = "STRING"
    assert put_type(profiles, domain, "C", solo)["Fields"]["ref"]["ContentType"] == "STRING"


def test_accepted_edge_definitions(profiles, domain):
    """Rules with documented exceptions: these must be accepted."""
    # LOOKUP_ONLY PROFILE key alone is fine when the type creates no profiles
    lookup_only = order_type(AllowProfileCreation=False)
    lookup_only["Keys"]["custEmail"][0]["StandardIdentifiers"] = ["PROFILE", "LOOKUP_ONLY"]
    put_type(profiles, domain, "LookupOnly", lookup_only)
    # _profileId LOOKUP_ONLY counts as the plain PROFILE key
    pinned = order_type()
    del pinned["Keys"]["custEmail"]
    _profile_id_key(["PROFILE", "LOOKUP_ONLY"])(pinned)
    put_type(profiles, domain, "Pinned", pinned)
    # a key carrying CASE without any _case target; a _case target with a CASE key
    case = order_type()
    case["Fields"]["caseRef"] = {"Source": "_source.caseRef"}
    case["Fields"]["title"] = {"Source": "_source.title", "Target": "_case.Title"}
    case["Keys"]["caseRef"] = [{"StandardIdentifiers": ["CASE"], "FieldNames": ["caseRef"]}]
    put_type(profiles, domain, "Case", case)
    # exactly 10 keys; a Handlebars Source; attributes; a timestamp target with its format
    many = order_type(SourceLastUpdatedTimestampFormat="EpochMilli")
    for i in range(8):
        many["Fields"][f"extra{i}"] = {"Source": f"_source.extra{i}"}
        many["Keys"][f"extra{i}"] = [{"FieldNames": [f"extra{i}"]}]
    many["Fields"]["full"] = {
        "Source": "{{#removeExtraSpace}}{{_source.first}} {{_source.last}}{{/removeExtraSpace}}",
        "Target": "_profile.Attributes.fullName",
    }
    many["Fields"]["updated"] = {
        "Source": "_source.updated",
        "Target": "_profile.SourceLastUpdatedTimestamp",
    }
    put_type(profiles, domain, "Many", many)
    names = {
        item["ObjectTypeName"]
        for item in profiles.list_profile_object_types(DomainName=domain)["Items"]
    }
    assert names == {"LookupOnly", "Pinned", "Case", "Many"}


@pytest.mark.parametrize("name", ["_custom", "_profile", "_case"])
def test_object_type_names_cannot_start_with_an_underscore(profiles, domain, name):
    with pytest.raises(ClientError) as excinfo:
        put_type(profiles, domain, name, order_type())
    code, message, status = error_of(excinfo)
    assert (code, status) == ("BadRequestException", 400)
    assert "'ObjectTypeName'" in message


@pytest.mark.parametrize(
    ("key", "content_type"),
    [("_phone", "STRING"), ("_email", "NAME"), ("_fullName", "EMAIL_ADDRESS")],
)
def test_a_predefined_key_keeps_its_content_type(profiles, domain, key, content_type):
    definition = order_type()
    definition["Fields"]["email"]["ContentType"] = content_type
    definition["Keys"][key] = definition["Keys"].pop("custEmail")
    with pytest.raises(ClientError) as excinfo:
        put_type(profiles, domain, "Broken", definition)
    code, message, status = error_of(excinfo)
    assert (code, status) == ("BadRequestException", 400)
    assert f"'Keys.{key}" in message


def test_predefined_keys_with_their_content_type_are_accepted(profiles, domain):
    definition = order_type()
    definition["Fields"]["phone"] = {"Source": "_source.phone", "ContentType": "PHONE_NUMBER"}
    definition["Keys"]["_email"] = definition["Keys"].pop("custEmail")
    definition["Keys"]["_phone"] = [
        {"StandardIdentifiers": ["PROFILE", "SECONDARY"], "FieldNames": ["phone"]}
    ]
    put_type(profiles, domain, "Contacts", definition)
    # the CTR-NoInferred template uses _phone as PHONE_NUMBER too: no conflict
    created = profiles.put_profile_object_type(
        DomainName=domain, ObjectTypeName="CTR", Description="contacts", TemplateId="CTR-NoInferred"
    )
    assert "_phone" in created["Keys"]
