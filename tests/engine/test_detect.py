"""DetectProfileObjectType heuristics: every detected mapping is a valid object type."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openprofiles.engine.detect import MAX_ATTRIBUTES, NO_UNIQUE_KEY, detect_object_type
from openprofiles.engine.mapping import compile_source
from openprofiles.engine.object_types import compile_definition
from openprofiles.errors import BadRequestException

BOTH = ["PROFILE", "UNIQUE"]

SALESFORCE_CONTACT = {
    "attributes": {"type": "Contact", "url": "/services/data/v58.0/sobjects/Contact/0035e00000AbC"},
    "Id": "0035e00000AbCdEAAV",
    "AccountId": "0015e00000XyZabAAB",
    "Salutation": "Ms.",
    "FirstName": "Jane",
    "LastName": "Doe",
    "Name": "Jane Doe",
    "Title": "CTO",
    "Email": "jane.doe@example.com",
    "Phone": "(206) 555-0100",
    "MobilePhone": "+1 425 555 0199",
    "HomePhone": None,
    "Fax": "206-555-0101",
    "MailingStreet": "123 Main St",
    "MailingCity": "Seattle",
    "MailingState": "WA",
    "MailingPostalCode": "98101",
    "MailingCountry": "USA",
    "Birthdate": "1980-05-17",
    "LeadSource": "Web",
    "CreatedDate": "2023-01-10T08:00:00.000+0000",
    "LastModifiedDate": "2024-01-15T10:30:00.000+0000",
    "SystemModstamp": "2024-01-15T10:30:00.000+0000",
}

SHOPIFY_CUSTOMER = {
    "id": 207119551,
    "email": "bob.norman@mail.example.com",
    "accepts_marketing": False,
    "created_at": "2024-01-01T12:00:00-05:00",
    "updated_at": "2024-01-02T12:00:00-05:00",
    "first_name": "Bob",
    "last_name": "Norman",
    "orders_count": 1,
    "state": "disabled",
    "total_spent": "199.65",
    "last_order_id": 450789469,
    "note": None,
    "verified_email": True,
    "phone": "+16136120707",
    "tags": "Léon, Noël",
    "addresses": [{"id": 207119551, "city": "Louisville"}],
    "default_address": {
        "id": 207119551,
        "customer_id": 207119551,
        "first_name": "Bob",
        "last_name": "Norman",
        "company": "Acme",
        "address1": "Chestnut Street 92",
        "address2": "",
        "city": "Louisville",
        "province": "Kentucky",
        "country": "United States",
        "zip": "40202",
        "phone": "555-625-1199",
        "name": "Bob Norman",
        "province_code": "KY",
        "country_code": "US",
        "default": True,
    },
}


def detect(*objects: Any) -> dict[str, Any]:
    detected = detect_object_type([o if isinstance(o, str) else json.dumps(o) for o in objects])
    compile_definition(detected)  # every detected mapping passes PutProfileObjectType's checks
    for spec in detected["Fields"].values():
        compile_source(spec["Source"])
    return detected


def by_source(detected: dict[str, Any]) -> dict[str, dict[str, str]]:
    """source path (without _source.) -> field spec, with the field's name as "Name"."""
    fields = detected["Fields"].items()
    return {s["Source"].removeprefix("_source."): {**s, "Name": n} for n, s in fields}


def test_salesforce_contact() -> None:
    detected = detect(SALESFORCE_CONTACT)
    fields = by_source(detected)
    expected = {
        "FirstName": ("NAME", "_profile.FirstName"),
        "LastName": ("NAME", "_profile.LastName"),
        "Name": ("NAME", "_profile.Attributes.Name"),
        "Email": ("EMAIL_ADDRESS", "_profile.EmailAddress"),
        "Phone": ("PHONE_NUMBER", "_profile.PhoneNumber"),
        "MobilePhone": ("PHONE_NUMBER", "_profile.MobilePhoneNumber"),
        "HomePhone": ("PHONE_NUMBER", "_profile.HomePhoneNumber"),
        "Fax": ("STRING", "_profile.Attributes.Fax"),
        "MailingStreet": ("STRING", "_profile.MailingAddress.Address1"),
        "MailingCity": ("STRING", "_profile.MailingAddress.City"),
        "MailingState": ("STRING", "_profile.MailingAddress.State"),
        "MailingPostalCode": ("STRING", "_profile.MailingAddress.PostalCode"),
        "MailingCountry": ("STRING", "_profile.MailingAddress.Country"),
        "Birthdate": ("STRING", "_profile.BirthDate"),
        "Title": ("STRING", "_profile.Attributes.Title"),
        "LastModifiedDate": ("STRING", "_profile.SourceLastUpdatedTimestamp"),
        "SystemModstamp": ("STRING", "_profile.Attributes.SystemModstamp"),
        "CreatedDate": ("STRING", "_profile.Attributes.CreatedDate"),
        "attributes.type": ("STRING", "_profile.Attributes.attributes_type"),
    }
    for source, (content_type, target) in expected.items():
        found = (fields[source]["ContentType"], fields[source]["Target"])
        assert found == (content_type, target), source
    assert fields["attributes.type"]["Name"] == "attributes.type"
    assert detected["SourceLastUpdatedTimestampFormat"] == "yyyy-MM-dd'T'HH:mm:ss.SSSX"
    assert detected["Keys"] == {
        "Id": [{"StandardIdentifiers": ["PROFILE", "UNIQUE"], "FieldNames": ["Id"]}],
        "_email": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["Email"]}],
        "_phone": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["Phone"]}],
    }


def test_nested_shopify_customer() -> None:
    detected = detect(SHOPIFY_CUSTOMER)
    fields = by_source(detected)
    assert fields["id"]["ContentType"] == "NUMBER"
    # the top-level attribute wins a target; the nested one is kept as an attribute
    assert fields["first_name"]["Target"] == "_profile.FirstName"
    assert fields["default_address.first_name"] == {
        "Source": "_source.default_address.first_name",
        "Target": "_profile.Attributes.default_address_first_name",
        "ContentType": "NAME",
        "Name": "default_address.first_name",
    }
    assert fields["phone"]["Target"] == "_profile.PhoneNumber"
    assert fields["default_address.phone"]["Target"] == "_profile.Attributes.default_address_phone"
    assert fields["default_address.phone"]["ContentType"] == "PHONE_NUMBER"
    for part, target in {
        "address1": "Address1", "address2": "Address2", "city": "City", "province": "Province",
        "country": "Country", "zip": "PostalCode",
    }.items():  # fmt: skip
        assert fields[f"default_address.{part}"]["Target"] == f"_profile.Address.{target}"
    # the exact name wins: province over province_code
    assert fields["default_address.province_code"]["Target"].startswith("_profile.Attributes.")
    assert fields["default_address.company"]["Target"] == "_profile.BusinessName"
    # "state" with no address beside it is not an address part
    assert fields["state"]["Target"] == "_profile.Attributes.state"
    # lists and booleans are one attribute, kept as text
    assert fields["addresses"]["Target"] == "_profile.Attributes.addresses"
    assert "addresses.city" not in fields
    assert fields["verified_email"]["ContentType"] == "STRING"
    assert fields["total_spent"]["ContentType"] == "STRING"
    assert fields["orders_count"]["ContentType"] == "NUMBER"
    # "tags" is not a valid field name
    assert fields["tags"]["Name"].lower() != "tags"
    assert detected["SourceLastUpdatedTimestampFormat"] == "yyyy-MM-dd'T'HH:mm:ssX"
    assert fields["updated_at"]["Target"] == "_profile.SourceLastUpdatedTimestamp"
    # the top-level id, not default_address.id or customer_id
    assert detected["Keys"]["id"] == [{"StandardIdentifiers": BOTH, "FieldNames": ["id"]}]
    assert set(detected["Keys"]) == {"id", "_email", "_phone"}


@pytest.mark.parametrize(
    ("values", "pattern"),
    [
        ([1700000000000, "1700000001234"], "EpochMilli"),
        (["2024-01-15T10:30:00.123Z", "2024-01-16T10:30:00.000+02:00"],
         "yyyy-MM-dd'T'HH:mm:ss.SSSX"),
        (["2024-01-15T10:30:00Z", "2024-01-16T10:30:00-0500"], "yyyy-MM-dd'T'HH:mm:ssX"),
        (["2024-01-15T10:30:00"], "yyyy-MM-dd'T'HH:mm:ss"),
        (["2024-01-15 10:30:00"], "yyyy-MM-dd HH:mm:ss"),
        (["2024-01-15"], "yyyy-MM-dd"),
    ],
)
def test_updated_at_formats(values: list[Any], pattern: str) -> None:
    objects = [{"customerId": f"c{i}", "updatedAt": v} for i, v in enumerate(values)]
    detected = detect(*objects)
    assert detected["SourceLastUpdatedTimestampFormat"] == pattern
    assert detected["Fields"]["updatedAt"]["Target"] == "_profile.SourceLastUpdatedTimestamp"
    assert detected["Keys"] == {
        "customerId": [{"StandardIdentifiers": ["PROFILE", "UNIQUE"], "FieldNames": ["customerId"]}]
    }


@pytest.mark.parametrize(
    "updated",
    [
        ["2024-01-15T10:30:00Z", "2024-01-15"],  # no one pattern reads both
        [1700000000000, "2024-01-15T10:30:00Z"],  # epoch millis and ISO mixed
        [1700000000, 1700000001],  # epoch seconds: no format for them
        ["yesterday"],
    ],
)
def test_no_timestamp_format(updated: list[Any]) -> None:
    detected = detect(*({"id": str(i), "lastModified": v} for i, v in enumerate(updated)))
    assert "SourceLastUpdatedTimestampFormat" not in detected
    assert detected["Fields"]["lastModified"]["Target"] == "_profile.Attributes.lastModified"


def test_created_at_is_not_the_update_timestamp() -> None:
    detected = detect({"id": "1", "created_at": "2024-01-15T10:30:00Z"})
    assert "SourceLastUpdatedTimestampFormat" not in detected


def test_phone_heuristics() -> None:
    detected = detect(
        {
            "id": "1",
            "phone_number": "(206) 555-0100",
            "cell": "+44 20 7946 0958",
            "work_phone": 2065550123,
            "home_tel": "425.555.0199",
            "order_number": "2065550100",  # a phone-like value, but not a phone name
            "phone_verified": "yes",  # a phone name, but not a phone value
            "telephone": "12",  # too short to be a number
        },
        {"id": "2", "phone_number": "+1 206 555 0101"},
    )
    fields = by_source(detected)
    assert (fields["phone_number"]["ContentType"], fields["phone_number"]["Target"]) == (
        "PHONE_NUMBER", "_profile.PhoneNumber",
    )  # fmt: skip
    assert fields["cell"]["Target"] == "_profile.MobilePhoneNumber"
    assert fields["work_phone"]["Target"] == "_profile.BusinessPhoneNumber"
    assert fields["work_phone"]["ContentType"] == "PHONE_NUMBER"
    assert fields["home_tel"]["Target"] == "_profile.HomePhoneNumber"
    for other in ("order_number", "phone_verified", "telephone"):
        assert fields[other]["ContentType"] == "STRING", other
        assert fields[other]["Target"] == f"_profile.Attributes.{other}"
    phone_key = [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["phone_number"]}]
    assert detected["Keys"]["_phone"] == phone_key


def test_two_phones_of_one_kind() -> None:
    fields = by_source(detect({"id": "1", "mobile": "+12065550100", "cell_phone": "+12065550101"}))
    assert fields["mobile"]["Target"] == "_profile.MobilePhoneNumber"
    assert fields["cell_phone"]["Target"] == "_profile.Attributes.cell_phone"


def test_emails_and_no_id() -> None:
    detected = detect(
        {"workEmail": "ann@corp.example", "email": "Ann@Example.com",
         "personal_email": "a@home.example", "backup_email": "b@example.org",
         "given_name": "Ann", "family_name": "Lee"},
    )
    fields = by_source(detected)
    assert fields["email"]["Target"] == "_profile.EmailAddress"
    assert fields["workEmail"]["Target"] == "_profile.BusinessEmailAddress"
    assert fields["personal_email"]["Target"] == "_profile.PersonalEmailAddress"
    assert fields["backup_email"]["Target"] == "_profile.Attributes.backup_email"
    for name in ("email", "workEmail", "backup_email"):
        assert fields[name]["ContentType"] == "EMAIL_ADDRESS"
    assert fields["given_name"]["Target"] == "_profile.FirstName"
    assert fields["family_name"]["Target"] == "_profile.LastName"
    # no id: the e-mail is the UNIQUE key
    assert detected["Keys"] == {
        "_email": [{"StandardIdentifiers": ["PROFILE", "UNIQUE"], "FieldNames": ["email"]}]
    }


def test_name_synonyms_and_profile_fields() -> None:
    fields = by_source(detect({
        "uuid": "5f0c", "name": {"first": "Ann", "middle": "B", "last": "Lee"},
        "DOB": "05/17/1980", "sex": "F", "account_no": 12345, "companyName": "Acme",
        "address": {"street": "1 Main St", "line2": "Apt 4", "town": "Springfield", "state": "IL",
                    "postcode": "62701", "county": "Sangamon"},
        "billing": {"city": "Chicago", "zip": 60601},
    }))  # fmt: skip
    assert fields["name.first"]["Target"] == "_profile.FirstName"
    assert fields["name.middle"]["Target"] == "_profile.MiddleName"
    assert fields["name.last"]["Target"] == "_profile.LastName"
    assert fields["name.last"]["ContentType"] == "NAME"
    assert fields["DOB"]["Target"] == "_profile.BirthDate"
    assert fields["sex"]["Target"] == "_profile.GenderString"
    assert (fields["account_no"]["Target"], fields["account_no"]["ContentType"]) == (
        "_profile.AccountNumber", "STRING",
    )  # fmt: skip
    assert fields["companyName"]["Target"] == "_profile.BusinessName"
    for part, target in {"street": "Address1", "line2": "Address2", "town": "City",
                         "state": "State", "postcode": "PostalCode",
                         "county": "County"}.items():  # fmt: skip
        assert fields[f"address.{part}"]["Target"] == f"_profile.Address.{target}", part
    assert fields["billing.city"]["Target"] == "_profile.BillingAddress.City"
    assert fields["billing.zip"]["Target"] == "_profile.BillingAddress.PostalCode"


def test_union_of_objects_and_values() -> None:
    # a key seen in one object only still counts; values from every object decide
    detected = detect(
        {"id": "1", "contact": "ann@example.com", "score": 3},
        {"id": "2", "contact": "bob@example.com", "score": 4.5, "extra": {"deep": {"er": "x"}}},
        {"id": None, "contact": None, "score": "n/a"},
    )
    fields = by_source(detected)
    assert fields["contact"]["ContentType"] == "EMAIL_ADDRESS"
    assert fields["score"]["ContentType"] == "STRING"
    assert fields["extra.deep.er"]["Target"] == "_profile.Attributes.extra_deep_er"
    assert detected["Keys"]["id"][0]["FieldNames"] == ["id"]


def test_field_names_are_sanitized_and_unique() -> None:
    detected = detect({
        "_id": "x1", "1st choice": "a", "a-b": "c", "a_b": "d", "Tags": "t", "café": "e",
        "odd.key": "skipped", "": "skipped", "ünï": {"ok": "f"},
    })  # fmt: skip
    fields = by_source(detected)
    names = [f["Name"] for f in fields.values()]
    assert len(names) == len(set(names))
    assert fields["_id"]["Name"] == "id"
    assert fields["1st choice"]["Name"] == "st_choice"
    assert fields["Tags"]["Name"].lower() != "tags"
    assert "odd.key" not in fields and "" not in fields  # a plain accessor cannot reach them
    attributes = [f["Target"] for f in fields.values()]
    assert len(attributes) == len(set(attributes))
    assert all(t.startswith("_profile.Attributes.") for t in attributes)
    assert detected["Keys"] == {"id": [{"StandardIdentifiers": BOTH, "FieldNames": ["id"]}]}


def test_a_nested_id_names_a_valid_key() -> None:
    detected = detect({"customer": {"customer_id": "c-1"}, "note": "hello"})
    assert detected["Keys"] == {
        "customer_customer_id": [
            {"StandardIdentifiers": ["PROFILE", "UNIQUE"], "FieldNames": ["customer.customer_id"]}
        ]
    }


def test_id_present_everywhere_wins() -> None:
    detected = detect({"id": "1", "user_id": "u1"}, {"user_id": "u2"})
    assert detected["Keys"]["user_id"][0]["FieldNames"] == ["user_id"]


def test_attribute_limit() -> None:
    flat = {f"a{i}": i for i in range(MAX_ATTRIBUTES - 1)}
    assert detect({**flat, "id": "x"})["Keys"]
    nested = {"id": "x", "n": {f"b{i}": i for i in range(MAX_ATTRIBUTES - 1)}}
    assert len(detect(nested)["Fields"]) == MAX_ATTRIBUTES
    with pytest.raises(BadRequestException, match="Breached limit of 120 attributes"):
        detect({**flat, "id": "x", "nested": {"one": 1}})
    # the union across objects counts
    with pytest.raises(BadRequestException, match="Breached limit of 120 attributes"):
        detect({**flat, "id": "x"}, {"id": "y", "other": 1})


@pytest.mark.parametrize(
    ("objects", "where"),
    [
        (['{"id": "1"}', "{not json"], "Objects[1]"),
        (["", '{"id": "1"}'], "Objects[0]"),
        (['{"id": "1"}', '{"id": "2"}', "[1, 2]"], "Objects[2]"),
        (['"text"'], "Objects[0]"),
    ],
)
def test_bad_json(objects: list[str], where: str) -> None:
    with pytest.raises(BadRequestException) as excinfo:
        detect_object_type(objects)
    assert excinfo.value.message.startswith("Could not parse object string into JSON")
    assert where in excinfo.value.message


def test_nothing_identifies_the_object() -> None:
    with pytest.raises(BadRequestException) as excinfo:
        detect_object_type([json.dumps({"first_name": "Ann", "city": "Paris"})])
    assert excinfo.value.message == NO_UNIQUE_KEY


def test_deterministic() -> None:
    objects = [json.dumps(SHOPIFY_CUSTOMER), json.dumps(SALESFORCE_CONTACT)]
    assert detect_object_type(objects) == detect_object_type(list(objects))
