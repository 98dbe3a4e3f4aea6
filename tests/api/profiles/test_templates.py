"""Built-in object type templates through boto3, behind every door, and the catalogue as data."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError

import openprofiles.engine.templates as catalogue
from openprofiles.protocol.validate import Validator
from openprofiles.store.pagination import encode_token

TEMPLATE_DIR = Path(catalogue.__file__).parent
TEMPLATE_IDS = [
    "CTR",
    "CTR-NoInferred",
    "CTR-AutoAssociateOnly",
    "Salesforce-Account",
    "Salesforce-Contact",
    "Salesforce-Asset",
    "Zendesk-users",
    "Zendesk-tickets",
    "Marketo-leads",
    "ServiceNow-sys_user",
    "ServiceNow-task",
    "ServiceNow-incident",
    "Segment-Identify",
    "Shopify-Customer",
    "Shopify-DraftOrder",
    "Shopify-Order",
]
#: predefined key names (REFERENCE 1.9), plus _serviceNowTaskId, documented by ServiceNow-task
PREDEFINED_KEYS = {
    "_account", "_profileId", "_assetId", "_caseId", "_orderId", "_fullName", "_phone", "_email",
    "_ctrContactId", "_marketoLeadId", "_salesforceAccountId", "_salesforceContactId",
    "_salesforceAssetId", "_zendeskUserId", "_zendeskExternalId", "_zendeskTicketId",
    "_serviceNowSystemId", "_serviceNowIncidentId", "_segmentUserId", "_shopifyCustomerId",
    "_shopifyOrderId", "_serviceNowTaskId",
}  # fmt: skip
#: the predefined keys' own ContentTypes (REFERENCE 1.9): a template reusing one must match
PREDEFINED_CONTENT = {"_phone": "PHONE_NUMBER", "_email": "EMAIL_ADDRESS", "_fullName": "NAME"}
RESERVED_LOOKUP_ONLY = {"_profileId", "_orderId", "_caseId", "_assetId"}
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
NOT_STORED = {"LOOKUP_ONLY", "NEW_ONLY"}


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def from_file(template_id: str) -> dict[str, Any]:
    return json.loads((TEMPLATE_DIR / f"{template_id}.json").read_text("utf-8"))


def without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


# -- through the API ------------------------------------------------------------------------------


def test_list_returns_every_template_in_id_order(profiles):
    listed = profiles.list_profile_object_type_templates()
    assert "NextToken" not in listed
    ids = [item["TemplateId"] for item in listed["Items"]]
    assert ids == sorted(TEMPLATE_IDS)
    for item in listed["Items"]:
        template = from_file(item["TemplateId"])
        assert item == {k: template[k] for k in ("TemplateId", "SourceName", "SourceObject")}


def test_pagination_gives_every_template_once(profiles):
    seen, pages, token = [], 0, None
    while True:
        kwargs = {"MaxResults": 5} | ({"NextToken": token} if token else {})
        page = profiles.list_profile_object_type_templates(**kwargs)
        assert len(page["Items"]) <= 5
        seen += [item["TemplateId"] for item in page["Items"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert seen == sorted(TEMPLATE_IDS)
    assert pages == 4


@pytest.mark.parametrize(
    "token",
    ["forged", encode_token("domains", ["CTR"]), encode_token("templates", [3])],
    ids=["garbage", "other-kind", "not-an-id"],
)
def test_forged_next_token_is_a_bad_request(profiles, token):
    with pytest.raises(ClientError) as excinfo:
        profiles.list_profile_object_type_templates(NextToken=token)
    code, message, status = error_of(excinfo)
    assert (code, status) == ("BadRequestException", 400)
    assert "NextToken" in message


def test_get_each_template_matches_its_file(profiles):
    for template_id in TEMPLATE_IDS:
        got = profiles.get_profile_object_type_template(TemplateId=template_id)
        assert without_metadata(got) == from_file(template_id), template_id


def test_servicenow_spelling_is_an_alias(profiles):
    got = profiles.get_profile_object_type_template(TemplateId="Servicenow-sys_user")
    assert got["TemplateId"] == "ServiceNow-sys_user"


def test_unknown_template_is_not_found(profiles):
    with pytest.raises(ClientError) as excinfo:
        profiles.get_profile_object_type_template(TemplateId="No-Such-Template")
    code, message, status = error_of(excinfo)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert "No-Such-Template" in message


# -- the catalogue as data ------------------------------------------------------------------------


def test_catalogue_is_the_sixteen_files():
    files = sorted(p.stem for p in TEMPLATE_DIR.glob("*.json"))
    assert files == sorted(TEMPLATE_IDS)
    assert list(catalogue.templates()) == sorted(TEMPLATE_IDS)
    assert catalogue.get_template("servicenow-TASK")["TemplateId"] == "ServiceNow-task"
    assert catalogue.get_template("ctr") is None  # only the ServiceNow spellings are aliases


def test_standard_objects_shape():
    objects = catalogue.standard_objects()
    for name in ("_profile", "_asset", "_case", "_order"):
        assert objects[name]["fields"], name
    assert objects["_profile"]["identifier"] is None
    assert {objects[n]["identifier"] for n in ("_asset", "_case", "_order")} == {
        "ASSET", "CASE", "ORDER"
    }  # fmt: skip
    assert objects["_communicationRecord"]["fields"] is None
    assert objects["_profile"]["exclusive"] == [
        ["Gender", "GenderString"], ["PartyType", "PartyTypeString"]
    ]  # fmt: skip
    assert objects["_profile"]["forbidden"] == ["ImportIds", "FoundByItems"]
    for name in ("Address", "ShippingAddress", "MailingAddress", "BillingAddress"):
        assert f"{name}.PostalCode" in objects["_profile"]["fields"]
    assert {"BillingAddress.Name", "OrderItems"} <= set(objects["_order"]["fields"])


def _target_errors(target: str, objects: dict[str, Any]) -> list[str]:
    root, _, path = target.partition(".")
    if root not in objects:
        return [f"{target}: {root} is not a standard object"]
    spec = objects[root]
    errors = []
    if path == spec["id"] or path.split(".")[0].removesuffix("[]") in spec["forbidden"]:
        errors.append(f"{target}: system-managed or read-only")
    fields = spec["fields"]
    if fields is not None and path not in fields:
        if not (path.startswith("Attributes.") and "Attributes" in fields):
            errors.append(f"{target}: not a field of {root}")
    return errors


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_template_satisfies_the_put_profile_object_type_rules(template_id):
    template = from_file(template_id)
    objects = catalogue.standard_objects()
    model = botocore.session.get_session().get_service_model("customer-profiles")
    response = model.operation_model("GetProfileObjectTypeTemplate").output_shape
    assert set(template) <= set(response.members)
    assert template["TemplateId"] == template_id

    fields, keys = template["Fields"], template["Keys"]
    entries = [(name, e) for name, defs in keys.items() for e in defs]
    idents = [set(e["StandardIdentifiers"]) for _, e in entries]
    assert sum("UNIQUE" in i for i in idents) == 1, "exactly one UNIQUE key"
    assert any("PROFILE" in i for i in idents), "at least one PROFILE key"
    assert not any("UNIQUE" in i and i & NOT_STORED for i in idents)
    assert all("PROFILE" in i for i in idents if i & NOT_STORED)
    if template["AllowProfileCreation"] and any("PROFILE" in i and i & NOT_STORED for i in idents):
        assert any("PROFILE" in i and not i & NOT_STORED for i in idents)
    assert all("PROFILE" in i for i in idents if "SECONDARY" in i)
    assert len(fields) <= 250 and len(entries) <= 10

    for name, entry in entries:
        assert entry["FieldNames"], name
        assert set(entry["FieldNames"]) <= set(fields), name
        if name.startswith("_"):
            assert name in PREDEFINED_KEYS, name
        else:
            assert name == "ctrPhone", name  # the only key of our own naming (REFERENCE 1.7)
        if name in RESERVED_LOOKUP_ONLY:
            assert "LOOKUP_ONLY" in entry["StandardIdentifiers"], name
        if name in PREDEFINED_CONTENT:
            kinds = {fields[f].get("ContentType", "STRING") for f in entry["FieldNames"]}
            assert kinds == {PREDEFINED_CONTENT[name]}, name

    errors, roots, targeted = [], set(), set()
    for name, field in fields.items():
        assert FIELD_NAME.match(name) and name not in ("Tags", "tags"), name
        assert "_source." in field["Source"], name
        target = field.get("Target")
        if target:
            errors += _target_errors(target, objects)
            roots.add(target.split(".")[0])
            targeted.add(target)
    assert errors == []
    for root in roots - {"_profile"}:
        identifier = objects[root]["identifier"]
        assert any(identifier in i for i in idents), f"a key must carry {identifier}"
    for root in roots:
        for pair in objects[root]["exclusive"]:
            assert not all(f"{root}.{member}" in targeted for member in pair), pair
    if "_profile.SourceLastUpdatedTimestamp" in targeted:
        assert template.get("SourceLastUpdatedTimestampFormat")

    operation = model.operation_model("PutProfileObjectType")
    request = {"DomainName": "d", "ObjectTypeName": "x", "Description": "d"} | {
        k: v for k, v in template.items() if k not in ("TemplateId", "SourceName", "SourceObject")
    }
    assert Validator().errors(operation.input_shape, request) == []


def test_shared_key_names_use_the_same_content_types():
    seen: dict[str, tuple[str, tuple[str, ...]]] = {}
    for template_id in TEMPLATE_IDS:
        template = from_file(template_id)
        for name, defs in template["Keys"].items():
            for entry in defs:
                kinds = tuple(
                    template["Fields"][f].get("ContentType", "STRING") for f in entry["FieldNames"]
                )
                first = seen.setdefault(name, (template_id, kinds))
                assert first[1] == kinds, f"{name}: {template_id} differs from {first[0]}"
