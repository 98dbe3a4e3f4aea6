"""Calculated attributes through boto3, behind every door: definitions (create, get, update,
delete, list, tags), values of every Statistic with Conditions and Filters, the three read
operations, and every documented rejection (REFERENCE 3). Windows that move with the App clock
are tested in-process on a ManualClock, at the end."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from openprofiles.clock import ManualClock
from openprofiles.config import Settings
from openprofiles.engine.calculated import backfill
from openprofiles.jobs.runner import RunningJob
from openprofiles.mock import mock_profiles
from openprofiles.store import calculated as calculated_store
from openprofiles.store import domains as domain_store
from openprofiles.store import jobs as job_store

ORDER_FIELDS = {
    "orderId": {"Source": "_source.id"},
    "email": {"Source": "_source.email", "ContentType": "EMAIL_ADDRESS"},
    "amount": {"Source": "_source.amount", "ContentType": "NUMBER"},
    "tax": {"Source": "_source.tax", "ContentType": "NUMBER"},
    "channel": {"Source": "_source.channel"},
    "status": {"Source": "_source.status"},
    "createdAt": {"Source": "_source.createdAt"},
}


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def orders_domain(profiles: Any, name: str) -> str:
    profiles.create_domain(DomainName=name, DefaultExpirationDays=400)
    profiles.put_profile_object_type(
        DomainName=name, ObjectTypeName="orders", Description="orders", AllowProfileCreation=True,
        Fields=ORDER_FIELDS,
        Keys={
            "orderRef": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["orderId"]}],
            "custEmail": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
        },
    )
    return name


@pytest.fixture
def domain(profiles, unique) -> str:
    return orders_domain(profiles, unique("calc"))


def put_order(profiles: Any, domain: str, order_id: str, email: str = "ann@example.com", **fields: Any) -> str:
    """Ingest one order; the id of the profile it went to."""
    record = {"id": order_id, "email": email, **fields}
    profiles.put_profile_object(DomainName=domain, ObjectTypeName="orders", Object=json.dumps(record))
    found = profiles.search_profiles(DomainName=domain, KeyName="_email", Values=[email])["Items"]
    return str(found[0]["ProfileId"])


def define(
    profiles: Any, domain: str, name: str, statistic: str = "SUM", expression: str = "{orders.amount}",
    attributes: list[str] | None = None, timeout: float = 20, **members: Any,
) -> dict[str, Any]:
    members.setdefault("UseHistoricalData", True)
    created = profiles.create_calculated_attribute_definition(
        DomainName=domain, CalculatedAttributeName=name, Statistic=statistic,
        AttributeDetails={"Attributes": [{"Name": a} for a in attributes or ["amount"]], "Expression": expression},
        **members,
    )
    ready(profiles, domain, name, timeout)
    return created


def ready(profiles: Any, domain: str, name: str, timeout: float = 20) -> dict[str, Any]:
    """The definition once its backfill has ended (a server runs it in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        found = profiles.get_calculated_attribute_definition(DomainName=domain, CalculatedAttributeName=name)
        if found["Status"] not in ("PREPARING", "IN_PROGRESS") or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def value_of(profiles: Any, domain: str, profile: str, name: str) -> str | None:
    found = profiles.get_calculated_attribute_for_profile(
        DomainName=domain, ProfileId=profile, CalculatedAttributeName=name
    )
    return found.get("Value")


@pytest.fixture
def ann(profiles, domain) -> str:
    """Four orders of one customer, in this order."""
    for order_id, amount, channel in (("1", "10", "WEB"), ("2", "25.5", "PHONE"), ("3", "10", "PHONE"), ("4", "4.5", "WEB")):
        profile = put_order(profiles, domain, order_id, amount=amount, tax="1.25", channel=channel, status="Completed")
    return profile


# --- definitions ---------------------------------------------------------------------------------


def test_create_returns_the_definition_and_get_returns_it_again(profiles, domain, door):
    conditions = {"Range": {"Value": 90, "Unit": "DAYS"}, "ObjectCount": 50, "Threshold": {"Value": "100", "Operator": "GREATER_THAN"}}
    filter_ = {"Include": "ALL", "Groups": [{"Type": "ALL", "Dimensions": [{"Attributes": {"status": {"DimensionType": "INCLUSIVE", "Values": ["Completed"]}}}]}]}
    created = define(
        profiles, domain, "_avg_order_value", "AVERAGE", DisplayName="Average order value",
        Description="mean of orders", Conditions=conditions, Filter=filter_, Tags={"team": "crm"},
    )
    assert (created["Status"], created["Readiness"]["ProgressPercentage"]) == ("PREPARING", 0)
    for found in (created, profiles.get_calculated_attribute_definition(DomainName=domain, CalculatedAttributeName="_avg_order_value")):
        assert found["CalculatedAttributeName"] == "_avg_order_value"
        assert found["DisplayName"] == "Average order value"
        assert found["Description"] == "mean of orders"
        assert found["AttributeDetails"] == {"Attributes": [{"Name": "amount"}], "Expression": "{orders.amount}"}
        assert found["Statistic"] == "AVERAGE"
        assert found["Conditions"] == conditions
        assert found["Filter"] == filter_
        assert found["UseHistoricalData"] is True
        assert found["Tags"] == {"team": "crm"}
        assert found["CreatedAt"] == found["LastUpdatedAt"]
    assert (found["Status"], found["Readiness"]["ProgressPercentage"]) == ("COMPLETED", 100)
    arn = f"arn:aws:profile:us-east-1:{door.account}:domains/{domain}/calculated-attributes/_avg_order_value"
    assert profiles.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "crm"}


def test_tags_of_a_definition(profiles, domain, door):
    define(profiles, domain, "total")
    arn = f"arn:aws:profile:us-east-1:{door.account}:domains/{domain}/calculated-attributes/total"
    profiles.tag_resource(resourceArn=arn, tags={"a": "1", "b": "2"})
    profiles.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert profiles.list_tags_for_resource(resourceArn=arn)["tags"] == {"b": "2"}
    profiles.delete_calculated_attribute_definition(DomainName=domain, CalculatedAttributeName="total")
    with pytest.raises(ClientError) as excinfo:
        profiles.list_tags_for_resource(resourceArn=arn)
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    assert "Tags" not in define(profiles, domain, "total")  # the old tags went with the definition


def test_list_definitions_pages_in_name_order(profiles, domain):
    for name in ("c_total", "a_total", "b_total"):
        define(profiles, domain, name, DisplayName=f"{name} shown", UseHistoricalData=False)
    first = profiles.list_calculated_attribute_definitions(DomainName=domain, MaxResults=2)
    assert [i["CalculatedAttributeName"] for i in first["Items"]] == ["a_total", "b_total"]
    item = first["Items"][0]
    assert item["DisplayName"] == "a_total shown" and item["Status"] == "COMPLETED"
    assert item["UseHistoricalData"] is False and "CreatedAt" in item and "LastUpdatedAt" in item
    rest = profiles.list_calculated_attribute_definitions(DomainName=domain, NextToken=first["NextToken"])
    assert [i["CalculatedAttributeName"] for i in rest["Items"]] == ["c_total"]
    assert "NextToken" not in rest


def test_update_changes_names_and_conditions_member_by_member(profiles, domain, ann):
    define(
        profiles, domain, "big_spender", "SUM", DisplayName="Big", Description="sum",
        Conditions={"ObjectCount": 2, "Range": {"Value": 30, "Unit": "DAYS"}},
    )
    assert value_of(profiles, domain, ann, "big_spender") == "14.5"  # the two newest: 10 + 4.5
    updated = profiles.update_calculated_attribute_definition(
        DomainName=domain, CalculatedAttributeName="big_spender", DisplayName="Bigger",
        Conditions={"Threshold": {"Value": "14", "Operator": "GREATER_THAN"}},
    )
    assert updated["DisplayName"] == "Bigger" and updated["Description"] == "sum"
    assert updated["Conditions"] == {
        "ObjectCount": 2, "Range": {"Value": 30, "Unit": "DAYS"}, "Threshold": {"Value": "14", "Operator": "GREATER_THAN"},
    }
    assert updated["Statistic"] == "SUM" and updated["AttributeDetails"]["Expression"] == "{orders.amount}"
    assert updated["LastUpdatedAt"] >= updated["CreatedAt"]
    got = profiles.get_calculated_attribute_definition(DomainName=domain, CalculatedAttributeName="big_spender")
    assert got["Conditions"] == updated["Conditions"] and got["DisplayName"] == "Bigger"
    assert value_of(profiles, domain, ann, "big_spender") == "true"
    profiles.update_calculated_attribute_definition(
        DomainName=domain, CalculatedAttributeName="big_spender", Conditions={"ObjectCount": 1}
    )
    assert value_of(profiles, domain, ann, "big_spender") == "false"  # 4.5 is not above 14


def test_delete_removes_the_definition(profiles, domain, ann):
    define(profiles, domain, "total")
    profiles.delete_calculated_attribute_definition(DomainName=domain, CalculatedAttributeName="total")
    for call in (
        lambda: profiles.get_calculated_attribute_definition(DomainName=domain, CalculatedAttributeName="total"),
        lambda: profiles.delete_calculated_attribute_definition(DomainName=domain, CalculatedAttributeName="total"),
        lambda: value_of(profiles, domain, ann, "total"),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        code, message, status = error_of(excinfo)
        assert (code, status) == ("ResourceNotFoundException", 404) and "total" in message
    assert profiles.list_calculated_attribute_definitions(DomainName=domain)["Items"] == []


def test_deleting_the_domain_deletes_its_definitions(profiles, domain, door):
    define(profiles, domain, "total", Tags={"a": "1"})
    profiles.delete_domain(DomainName=domain)
    orders_domain(profiles, domain)
    assert profiles.list_calculated_attribute_definitions(DomainName=domain)["Items"] == []
    define(profiles, domain, "total")
    arn = f"arn:aws:profile:us-east-1:{door.account}:domains/{domain}/calculated-attributes/total"
    assert profiles.list_tags_for_resource(resourceArn=arn)["tags"] == {}


# --- values ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statistic", "expected"),
    [
        ("FIRST_OCCURRENCE", "10"),
        ("LAST_OCCURRENCE", "4.5"),
        ("COUNT", "4"),
        ("SUM", "50"),
        ("MINIMUM", "4.5"),
        ("MAXIMUM", "25.5"),
        ("AVERAGE", "12.5"),
        ("MAX_OCCURRENCE", "10"),
    ],
)
def test_every_statistic(profiles, domain, ann, statistic, expected):
    define(profiles, domain, "stat", statistic, DisplayName="Stat")
    found = profiles.get_calculated_attribute_for_profile(DomainName=domain, ProfileId=ann, CalculatedAttributeName="stat")
    assert found["Value"] == expected
    assert found["CalculatedAttributeName"] == "stat" and found["DisplayName"] == "Stat"
    assert found["IsDataPartial"] == "false"
    assert isinstance(found["LastObjectTimestamp"], datetime)


def test_text_statistics_and_the_most_recent_tie(profiles, domain, ann):
    define(profiles, domain, "last_channel", "LAST_OCCURRENCE", "{orders.channel}", ["channel"])
    define(profiles, domain, "top_channel", "MAX_OCCURRENCE", "{orders.channel}", ["channel"])
    define(profiles, domain, "channel_sum", "SUM", "{orders.channel}", ["channel"])
    assert value_of(profiles, domain, ann, "last_channel") == "WEB"
    assert value_of(profiles, domain, ann, "top_channel") == "WEB"  # 2 WEB, 2 PHONE: WEB came last
    assert value_of(profiles, domain, ann, "channel_sum") is None  # no number among them


def test_arithmetic_expression(profiles, domain, ann):
    define(profiles, domain, "with_tax", "SUM", "({orders.amount} + {orders.tax}) * 2", ["amount", "tax"])
    assert value_of(profiles, domain, ann, "with_tax") == "110"  # (50 + 4 * 1.25) * 2


def test_objects_without_the_attribute_are_left_out(profiles, domain):
    define(profiles, domain, "count_tax", "COUNT", "{orders.tax}", ["tax"])
    define(profiles, domain, "avg", "AVERAGE")
    profile = put_order(profiles, domain, "1", amount="3", tax="1")
    put_order(profiles, domain, "2", amount="n/a")
    assert value_of(profiles, domain, profile, "count_tax") == "1"
    assert value_of(profiles, domain, profile, "avg") == "3"


def test_a_profile_without_objects_has_no_value(profiles, domain):
    define(profiles, domain, "total")
    profile = profiles.create_profile(DomainName=domain, FirstName="Zed")["ProfileId"]
    found = profiles.get_calculated_attribute_for_profile(DomainName=domain, ProfileId=profile, CalculatedAttributeName="total")
    assert "Value" not in found and "LastObjectTimestamp" not in found
    assert found["IsDataPartial"] == "false"


def test_without_historical_data_only_later_objects_count(profiles, domain):
    profile = put_order(profiles, domain, "1", amount="100")
    define(profiles, domain, "fresh", UseHistoricalData=False)
    define(profiles, domain, "all", UseHistoricalData=True)
    assert value_of(profiles, domain, profile, "fresh") is None
    put_order(profiles, domain, "2", amount="5")
    assert value_of(profiles, domain, profile, "fresh") == "5"
    assert value_of(profiles, domain, profile, "all") == "105"
    put_order(profiles, domain, "1", amount="7")  # ingested again: new data
    assert value_of(profiles, domain, profile, "fresh") == "12"


def test_values_follow_new_objects_and_updates(profiles, domain):
    define(profiles, domain, "total")
    profile = put_order(profiles, domain, "1", amount="10")
    assert value_of(profiles, domain, profile, "total") == "10"
    put_order(profiles, domain, "2", amount="5")
    put_order(profiles, domain, "1", amount="1")  # the same order, replaced
    assert value_of(profiles, domain, profile, "total") == "6"
    other = put_order(profiles, domain, "3", email="bob@example.com", amount="2")
    assert value_of(profiles, domain, other, "total") == "2"


def test_threshold_turns_the_value_into_true_or_false(profiles, domain, ann):
    for name, operator, bound in (
        ("gt", "GREATER_THAN", "3"), ("lt", "LESS_THAN", "4"), ("eq", "EQUAL_TO", "4.0"), ("ne", "NOT_EQUAL_TO", "4"),
    ):
        define(profiles, domain, name, "COUNT", Conditions={"Threshold": {"Value": bound, "Operator": operator}})
    define(profiles, domain, "web", "LAST_OCCURRENCE", "{orders.channel}", ["channel"],
           Conditions={"Threshold": {"Value": "WEB", "Operator": "EQUAL_TO"}})
    assert [value_of(profiles, domain, ann, n) for n in ("gt", "lt", "eq", "ne", "web")] == [
        "true", "false", "true", "false", "true",
    ]


def test_object_count_keeps_the_most_recent(profiles, domain, ann):
    define(profiles, domain, "recent", "SUM", Conditions={"ObjectCount": 3})
    define(profiles, domain, "first_of_recent", "FIRST_OCCURRENCE", Conditions={"ObjectCount": 2})
    assert value_of(profiles, domain, ann, "recent") == "40"  # 25.5 + 10 + 4.5
    assert value_of(profiles, domain, ann, "first_of_recent") == "10"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_range_over_a_timestamp_source(profiles, domain):
    """Dates relative to the real clock, which every door uses."""
    now = datetime.now(UTC)
    for order_id, days, amount in (("1", -5, "1"), ("2", -40, "10"), ("3", 3, "100"), ("4", -400, "1000")):
        profile = put_order(profiles, domain, order_id, amount=amount, createdAt=iso(now + timedelta(days=days)))
    put_order(profiles, domain, "5", amount="10000", createdAt="not a date")
    source = {"TimestampSource": "{orders.createdAt}", "TimestampFormat": "ISO_8601", "Unit": "DAYS"}
    define(profiles, domain, "last_30", Conditions={"Range": {"Value": 30, **source}})
    define(profiles, domain, "last_60", Conditions={"Range": {"ValueRange": {"Start": 60, "End": 0}, **source}})
    define(profiles, domain, "next_week", Conditions={"Range": {"ValueRange": {"Start": 0, "End": -7}, **source}})
    define(profiles, domain, "by_date", "LAST_OCCURRENCE", Conditions={"Range": {"Value": 366, **source}})
    assert value_of(profiles, domain, profile, "last_30") == "1"
    assert value_of(profiles, domain, profile, "last_60") == "11"
    assert value_of(profiles, domain, profile, "next_week") == "100"
    assert value_of(profiles, domain, profile, "by_date") == "1"  # the newest in the past year by date
    found = profiles.get_calculated_attribute_for_profile(DomainName=domain, ProfileId=profile, CalculatedAttributeName="last_30")
    assert abs(found["LastObjectTimestamp"] - (now - timedelta(days=5))) < timedelta(seconds=1)


def test_range_over_epoch_timestamps(profiles, domain):
    now = datetime.now(UTC)
    millis = str(int((now - timedelta(days=2)).timestamp() * 1000))
    seconds = str(int((now - timedelta(days=20)).timestamp()))
    profile = put_order(profiles, domain, "1", amount="1", createdAt=millis)
    put_order(profiles, domain, "2", amount="2", createdAt=seconds)
    window = {"TimestampSource": "{orders.createdAt}", "TimestampFormat": "EPOCHMILLI", "Unit": "DAYS"}
    define(profiles, domain, "week", Conditions={"Range": {"Value": 7, **window}})
    define(profiles, domain, "month", Conditions={"Range": {"Value": 30, **window}})
    assert value_of(profiles, domain, profile, "week") == "1"
    assert value_of(profiles, domain, profile, "month") == "3"


def test_filters(profiles, domain):
    for order_id, status, amount, channel in (
        ("1", "Completed", "10", "WEB"), ("2", "Cancelled", "20", "WEB"), ("3", "Completed", "30", "PHONE"), ("4", None, "40", "PHONE"),
    ):
        fields = {"amount": amount, "channel": channel, **({"status": status} if status else {})}
        profile = put_order(profiles, domain, order_id, **fields)

    def dims(**attributes: tuple[str, list[str]]) -> dict[str, Any]:
        return {"Attributes": {k: {"DimensionType": t, "Values": v} for k, (t, v) in attributes.items()}}

    def total(name: str, include: str, *groups: tuple[str, list[dict[str, Any]]]) -> str | None:
        define(profiles, domain, name, Filter={"Include": include, "Groups": [{"Type": t, "Dimensions": d} for t, d in groups]})
        return value_of(profiles, domain, profile, name)

    assert total("done", "ALL", ("ALL", [dims(status=("INCLUSIVE", ["Completed"]))])) == "40"
    assert total("not_done", "ALL", ("ALL", [dims(status=("EXCLUSIVE", ["Completed"]))])) == "60"  # 20 + 40 (no status)
    assert total("done_web", "ALL", ("ALL", [dims(status=("INCLUSIVE", ["Completed"]), channel=("INCLUSIVE", ["WEB"]))])) == "10"
    assert total("done_or_web", "ALL", ("ANY", [dims(status=("INCLUSIVE", ["Completed"])), dims(channel=("INCLUSIVE", ["WEB"]))])) == "60"
    assert total("none_web", "NONE", ("ALL", [dims(channel=("INCLUSIVE", ["WEB"]))])) == "70"
    assert total("big", "ALL", ("ALL", [dims(amount=("GREATER_THAN_OR_EQUAL", ["30"]))])) == "70"
    assert total("mid", "ALL", ("ALL", [dims(amount=("BETWEEN", ["15", "35"]))])) == "50"
    assert total("ph", "ALL", ("ALL", [dims(channel=("BEGINS_WITH", ["PH"]))])) == "70"
    assert total("either_group", "ANY", ("ALL", [dims(channel=("CONTAINS", ["EB"]))]), ("ALL", [dims(amount=("EQUAL", ["40"]))])) == "70"
    assert total("raw_path", "ALL", ("ALL", [dims(id=("INCLUSIVE", ["1", "2"]))])) == "30"  # not a field: a path into the object


def test_merge_recomputes_from_the_objects_of_both_profiles(profiles, domain):
    define(profiles, domain, "total")
    main = put_order(profiles, domain, "1", email="ann@example.com", amount="10")
    other = put_order(profiles, domain, "2", email="anne@example.com", amount="5")
    profiles.merge_profiles(DomainName=domain, MainProfileId=main, ProfileIdsToBeMerged=[other])
    assert value_of(profiles, domain, main, "total") == "15"


def test_values_follow_deletes_of_objects_and_object_types(profiles, domain):
    define(profiles, domain, "total")
    define(profiles, domain, "web", "COUNT", Filter={"Include": "ALL", "Groups": [{"Type": "ALL", "Dimensions": [
        {"Attributes": {"channel": {"DimensionType": "INCLUSIVE", "Values": ["WEB"]}}}]}]})  # fmt: skip
    profile = put_order(profiles, domain, "1", amount="10", channel="WEB")
    put_order(profiles, domain, "2", amount="5", channel="WEB")
    assert (value_of(profiles, domain, profile, "total"), value_of(profiles, domain, profile, "web")) == ("15", "2")
    put_order(profiles, domain, "2", amount="5", channel="PHONE")  # replaced: the Filter drops it now
    assert value_of(profiles, domain, profile, "web") == "1"
    profiles.delete_profile_object(
        DomainName=domain, ProfileId=profile, ObjectTypeName="orders", ProfileObjectUniqueKey="1"
    )
    assert (value_of(profiles, domain, profile, "total"), value_of(profiles, domain, profile, "web")) == ("5", None)
    profiles.delete_profile_object_type(DomainName=domain, ObjectTypeName="orders")
    assert value_of(profiles, domain, profile, "total") is None


def test_merged_objects_keep_counting_and_can_be_deleted(profiles, domain):
    define(profiles, domain, "count", "COUNT")
    main = put_order(profiles, domain, "1", email="ann@example.com", amount="10")
    other = put_order(profiles, domain, "2", email="anne@example.com", amount="5")
    profiles.merge_profiles(DomainName=domain, MainProfileId=main, ProfileIdsToBeMerged=[other])
    assert value_of(profiles, domain, main, "count") == "2"
    profiles.delete_profile_object(DomainName=domain, ProfileId=main, ObjectTypeName="orders", ProfileObjectUniqueKey="2")
    assert value_of(profiles, domain, main, "count") == "1"


def test_changing_a_field_source_rereads_the_stored_objects(profiles, domain):
    define(profiles, domain, "total")
    profile = put_order(profiles, domain, "1", amount="10", tax="2")
    fields = {**ORDER_FIELDS, "amount": {"Source": "_source.tax", "ContentType": "NUMBER"}}
    profiles.put_profile_object_type(
        DomainName=domain, ObjectTypeName="orders", Description="orders", AllowProfileCreation=True, Fields=fields,
        Keys={
            "orderRef": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["orderId"]}],
            "custEmail": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
        },
    )
    assert value_of(profiles, domain, profile, "total") == "2"


def test_a_definition_recreated_under_its_name_starts_again(profiles, domain):
    profile = put_order(profiles, domain, "1", amount="10")
    define(profiles, domain, "total")
    profiles.delete_calculated_attribute_definition(DomainName=domain, CalculatedAttributeName="total")
    define(profiles, domain, "total", "COUNT", UseHistoricalData=False)
    assert value_of(profiles, domain, profile, "total") is None
    put_order(profiles, domain, "2", amount="5")
    assert value_of(profiles, domain, profile, "total") == "1"


def test_batch_get_and_list_for_profile(profiles, domain, ann):
    bob = put_order(profiles, domain, "9", email="bob@example.com", amount="7")
    for name, statistic in (("c_sum", "SUM"), ("a_count", "COUNT"), ("b_max", "MAXIMUM")):
        define(profiles, domain, name, statistic, DisplayName=name.upper())
    missing = "0" * 32
    found = profiles.batch_get_calculated_attribute_for_profile(
        DomainName=domain, CalculatedAttributeName="c_sum", ProfileIds=[ann, missing, bob, ann]
    )
    assert [(v["ProfileId"], v["Value"], v["DisplayName"], v["IsDataPartial"]) for v in found["CalculatedAttributeValues"]] == [
        (ann, "50", "C_SUM", "false"), (bob, "7", "C_SUM", "false"),
    ]
    assert [(e["ProfileId"], e["Code"]) for e in found["Errors"]] == [(missing, "ResourceNotFoundException")]

    first = profiles.list_calculated_attributes_for_profile(DomainName=domain, ProfileId=ann, MaxResults=2)
    assert [(i["CalculatedAttributeName"], i["Value"]) for i in first["Items"]] == [("a_count", "4"), ("b_max", "25.5")]
    rest = profiles.list_calculated_attributes_for_profile(DomainName=domain, ProfileId=ann, NextToken=first["NextToken"])
    assert [(i["CalculatedAttributeName"], i["Value"], i["DisplayName"]) for i in rest["Items"]] == [("c_sum", "50", "C_SUM")]
    assert "NextToken" not in rest


def test_batch_get_condition_overrides_replace_the_range(profiles, domain):
    now = datetime.now(UTC)
    profile = put_order(profiles, domain, "1", amount="1", createdAt=iso(now - timedelta(days=3)))
    put_order(profiles, domain, "2", amount="2", createdAt=iso(now - timedelta(days=20)))
    source = {"TimestampSource": "{orders.createdAt}", "TimestampFormat": "ISO_8601", "Unit": "DAYS"}
    define(profiles, domain, "week", Conditions={"Range": {"Value": 7, **source}})
    overrides = {"Range": {"Start": 30, "End": 10, "Unit": "DAYS"}}
    found = profiles.batch_get_calculated_attribute_for_profile(
        DomainName=domain, CalculatedAttributeName="week", ProfileIds=[profile], ConditionOverrides=overrides,
    )
    assert [v["Value"] for v in found["CalculatedAttributeValues"]] == ["2"]
    assert found["ConditionOverrides"] == overrides
    assert value_of(profiles, domain, profile, "week") == "1"


def test_standard_objects_and_templates(profiles, unique):
    domain = unique("calc-std")
    profiles.create_domain(DomainName=domain, DefaultExpirationDays=30)
    define(profiles, domain, "_orders_total_price_sum", "SUM", "{_order.TotalPrice}", ["TotalPrice"])
    define(profiles, domain, "_orders_count", "COUNT", "{_order.OrderId}", ["OrderId"])
    define(profiles, domain, "_last_channel", "LAST_OCCURRENCE", "{CTR.channel}", ["channel"])  # before any CTR

    def shopify(payload: dict[str, Any]) -> str:
        return json.dumps({"detail": {"event": {"detail": {"payload": payload}}}})

    profiles.put_profile_object(DomainName=domain, ObjectTypeName="Shopify-Customer", Object=shopify({"id": "c1", "email": "a@x.com"}))
    for order_id, price in (("o1", "10.00"), ("o2", "2.50")):
        order = {"id": order_id, "customer": {"id": "c1"}, "total_price": price}
        profiles.put_profile_object(DomainName=domain, ObjectTypeName="Shopify-Order", Object=shopify(order))
    profile = profiles.search_profiles(DomainName=domain, KeyName="_shopifyCustomerId", Values=["c1"])["Items"][0]["ProfileId"]
    assert value_of(profiles, domain, profile, "_orders_total_price_sum") == "12.5"
    assert value_of(profiles, domain, profile, "_orders_count") == "2"
    contact = {"ContactId": "k1", "Channel": "CHAT", "CustomerEndpoint": {"Address": "+12065550100"}}
    profiles.put_profile_object(DomainName=domain, ObjectTypeName="CTR", Object=json.dumps(contact))
    caller = profiles.search_profiles(DomainName=domain, KeyName="_ctrContactId", Values=["k1"])["Items"][0]["ProfileId"]
    assert value_of(profiles, domain, caller, "_last_channel") == "CHAT"


# --- rejections -----------------------------------------------------------------------------------


def rejected(call: Callable[[], Any]) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as excinfo:
        call()
    return error_of(excinfo)


RANGE = {"Value": 30, "Unit": "DAYS"}


@pytest.mark.parametrize(
    ("members", "path", "words"),
    [
        ({"AttributeDetails": {"Attributes": [{"Name": "amount"}], "Expression": "{orders.amount} +"}},
         "AttributeDetails.Expression", "it ends where a term"),
        ({"AttributeDetails": {"Attributes": [{"Name": "amount"}], "Expression": "{orders amount}"}},
         "AttributeDetails.Expression", "{orders amount} at offset 0 is not {ObjectTypeName.AttributeName}"),
        ({"AttributeDetails": {"Attributes": [{"Name": "amount"}], "Expression": "{invoices.amount}"}},
         "AttributeDetails.Expression", "{invoices.amount}: object type invoices does not exist"),
        ({"AttributeDetails": {"Attributes": [{"Name": "amount"}], "Expression": "{orders.amount} + {CTR.amount}"}},
         "AttributeDetails.Expression", "{CTR.amount} reads object type CTR but {orders.amount} reads orders"),
        ({"AttributeDetails": {"Attributes": [{"Name": "amount"}], "Expression": "{orders.amount} - {orders.tax}"}},
         "AttributeDetails.Expression", "{orders.tax} reads tax, which AttributeDetails.Attributes does not list"),
        ({"AttributeDetails": {"Attributes": [{"Name": "amount"}, {"Name": "tax"}], "Expression": "{orders.amount}"}},
         "AttributeDetails.Attributes", "tax is not used by the Expression"),
        ({"AttributeDetails": {"Attributes": [{"Name": n} for n in ("amount", "tax", "status")],
                               "Expression": "{orders.amount} + {orders.tax} + {orders.status}"}},
         "AttributeDetails.Attributes", "at most 2 attributes, got 3"),
        ({"AttributeDetails": {"Attributes": [{"Name": "amout"}], "Expression": "{orders.amout}"}},
         "AttributeDetails.Expression", "{orders.amout}: amout is not a field of object type orders"),
        ({"AttributeDetails": {"Attributes": [{"Name": "Price"}], "Expression": "{_order.Price}"}},
         "AttributeDetails.Expression", "{_order.Price}: Price is not a field of object type _order"),
        ({"AttributeDetails": {"Attributes": [{"Name": "createdAt"}], "Expression": "{_profile.createdAt}"}},
         "AttributeDetails.Expression", "_profile is the profile itself"),
        ({"AttributeDetails": {"Attributes": [{"Name": "x"}], "Expression": "{_nothing.x}"}},
         "AttributeDetails.Expression", "there is no standard object _nothing"),
        ({"Conditions": {"Range": {"Value": 30}}}, "Conditions.Range.Unit", "needs its Unit"),
        ({"Conditions": {"Range": {"Unit": "DAYS"}}}, "Conditions.Range", "a Range has a Value or a ValueRange"),
        ({"Conditions": {"Range": {"Value": 367, "Unit": "DAYS"}}}, "Conditions.Range.Value", "at most 366 days"),
        ({"Conditions": {"Range": {"ValueRange": {"Start": 0, "End": 30}, "Unit": "DAYS"}}},
         "Conditions.Range.ValueRange", "Start is at least End"),
        ({"Conditions": {"Range": {"ValueRange": {"Start": 400, "End": 0}, "Unit": "DAYS"}}},
         "Conditions.Range.ValueRange", "at most 366 days"),
        ({"Conditions": {"Range": {**RANGE, "TimestampSource": "{orders.createdAt}", "TimestampFormat": "UNIX"}}},
         "Conditions.Range.TimestampFormat", "one of EPOCHMILLI, ISO_8601, got UNIX"),
        ({"Conditions": {"Range": {**RANGE, "TimestampFormat": "ISO_8601"}}},
         "Conditions.Range.TimestampFormat", "it goes with a TimestampSource"),
        ({"Conditions": {"Range": {**RANGE, "TimestampSource": "{CTR.createdAt}"}}},
         "Conditions.Range.TimestampSource", "{CTR.createdAt} reads CTR, but the Expression reads orders"),
        ({"Conditions": {"Range": {**RANGE, "TimestampSource": "orders.createdAt"}}},
         "Conditions.Range.TimestampSource", "orders.createdAt is not {ObjectTypeName.path}"),
        ({"Conditions": {"ObjectCount": 101}}, "Conditions.ObjectCount", "at most 100 objects, got 101"),
        ({"Filter": {"Include": "ALL", "Groups": [{"Type": "ALL", "Dimensions": [
            {"Attributes": {"amount": {"DimensionType": "GREATER_THAN", "Values": ["lots"]}}}]}]}},
         "Filter.Groups[0].Dimensions[0].Attributes.amount.Values", "GREATER_THAN compares numbers; 'lots' is not one"),
        ({"Filter": {"Include": "ALL", "Groups": [{"Type": "ALL", "Dimensions": [
            {"Attributes": {"status": {"DimensionType": "INCLUSIVE", "Values": ["x"]}}},
            {"Attributes": {"amount": {"DimensionType": "BETWEEN", "Values": ["1"]}}}]}]}},
         "Filter.Groups[0].Dimensions[1].Attributes.amount.Values", "BETWEEN compares with exactly 2 value(s), got 1"),
        ({"Filter": {"Include": "ALL", "Groups": [{"Type": "ALL", "Dimensions": [
            {"Attributes": {"createdAt": {"DimensionType": "BEFORE", "Values": ["yesterday"]}}}]}]}},
         "Filter.Groups[0].Dimensions[0].Attributes.createdAt.Values", "BEFORE compares instants; 'yesterday' is not one"),
    ],
)
def test_bad_definitions_are_refused_naming_the_member(profiles, domain, members, path, words):
    request = {
        "DomainName": domain, "CalculatedAttributeName": "bad", "Statistic": "SUM",
        "AttributeDetails": {"Attributes": [{"Name": "amount"}], "Expression": "{orders.amount}"}, **members,
    }
    code, message, status = rejected(lambda: profiles.create_calculated_attribute_definition(**request))
    assert (code, status) == ("BadRequestException", 400)
    assert f"'{path}'" in message and words in message
    assert profiles.list_calculated_attribute_definitions(DomainName=domain)["Items"] == []


def test_model_constraints_are_checked_first(profiles, domain):
    code, message, _ = rejected(lambda: define(profiles, domain, "bad", "MEDIAN"))
    assert code == "BadRequestException" and "Statistic" in message
    code, message, _ = rejected(lambda: define(profiles, domain, "9lives"))
    assert code == "BadRequestException" and "CalculatedAttributeName" in message


def test_bad_updates_change_nothing(profiles, domain):
    source = {"TimestampSource": "{orders.createdAt}", "TimestampFormat": "ISO_8601", "Unit": "DAYS"}
    define(profiles, domain, "total", Conditions={"Range": {"Value": 30, **source}})
    for conditions, path in (
        ({"Range": {"Value": 30, "Unit": "DAYS", "TimestampSource": "{orders.other}"}}, "Conditions.Range.TimestampSource"),
        ({"Range": {"Value": 30, "Unit": "DAYS", "TimestampFormat": "EPOCHMILLI"}}, "Conditions.Range.TimestampFormat"),
        ({"Range": {"Value": 400, "Unit": "DAYS"}}, "Conditions.Range.Value"),
        ({"ObjectCount": 500}, "Conditions.ObjectCount"),
    ):
        code, message, _ = rejected(lambda c=conditions: profiles.update_calculated_attribute_definition(
            DomainName=domain, CalculatedAttributeName="total", Conditions=c))
        assert code == "BadRequestException" and f"'{path}'" in message
    # repeating the fixed members is fine, and they are kept when left out
    updated = profiles.update_calculated_attribute_definition(
        DomainName=domain, CalculatedAttributeName="total", Conditions={"Range": {"Value": 10, "Unit": "DAYS"}}
    )
    assert updated["Conditions"]["Range"] == {"Value": 10, **source}


def test_missing_resources(profiles, domain, ann, unique):
    define(profiles, domain, "total")
    missing_profile = "f" * 32
    cases = [
        (lambda: define(profiles, unique("nodomain"), "total"), "Domain"),
        (lambda: profiles.list_calculated_attribute_definitions(DomainName=unique("nodomain")), "Domain"),
        (lambda: profiles.get_calculated_attribute_definition(DomainName=domain, CalculatedAttributeName="nope"), "nope"),
        (lambda: profiles.update_calculated_attribute_definition(DomainName=domain, CalculatedAttributeName="nope", DisplayName="x"), "nope"),
        (lambda: profiles.delete_calculated_attribute_definition(DomainName=domain, CalculatedAttributeName="nope"), "nope"),
        (lambda: value_of(profiles, domain, ann, "nope"), "nope"),
        (lambda: value_of(profiles, domain, missing_profile, "total"), missing_profile),
        (lambda: profiles.list_calculated_attributes_for_profile(DomainName=domain, ProfileId=missing_profile), missing_profile),
        (lambda: profiles.batch_get_calculated_attribute_for_profile(
            DomainName=domain, CalculatedAttributeName="nope", ProfileIds=[ann]), "nope"),
    ]
    for call, named in cases:
        code, message, status = rejected(call)
        assert (code, status) == ("ResourceNotFoundException", 404) and named in message


def test_other_rejections(profiles, domain, ann):
    define(profiles, domain, "total")
    code, message, _ = rejected(lambda: define(profiles, domain, "total"))
    assert code == "BadRequestException" and "already exists" in message
    code, message, _ = rejected(lambda: profiles.batch_get_calculated_attribute_for_profile(
        DomainName=domain, CalculatedAttributeName="total", ProfileIds=[ann],
        ConditionOverrides={"Range": {"Start": 1, "End": 5, "Unit": "DAYS"}},
    ))
    assert code == "BadRequestException" and "'ConditionOverrides.Range'" in message
    code, message, _ = rejected(lambda: profiles.batch_get_calculated_attribute_for_profile(
        DomainName=domain, CalculatedAttributeName="total", ProfileIds=[ann] * 101))
    assert code == "BadRequestException" and "ProfileIds" in message
    for call in (
        lambda: profiles.list_calculated_attribute_definitions(DomainName=domain, NextToken="bogus"),
        lambda: profiles.list_calculated_attributes_for_profile(DomainName=domain, ProfileId=ann, NextToken="bogus"),
    ):
        code, message, _ = rejected(call)
        assert code == "BadRequestException" and "NextToken" in message


def test_at_most_50_per_domain(profiles, domain):
    for number in range(50):
        define(profiles, domain, f"attr_{number}")
    code, message, status = rejected(lambda: define(profiles, domain, "attr_50"))
    assert (code, status) == ("BadRequestException", 400) and "50" in message
    profiles.delete_calculated_attribute_definition(DomainName=domain, CalculatedAttributeName="attr_0")
    define(profiles, domain, "attr_50")


def test_one_account_never_sees_another(profiles, domain, door):
    define(profiles, domain, "total")
    stranger = door.client("customer-profiles", account="999999999999")
    code, _, _ = rejected(lambda: stranger.get_calculated_attribute_definition(DomainName=domain, CalculatedAttributeName="total"))
    assert code == "ResourceNotFoundException"


# --- windows that move with the clock ---------------------------------------------------------------


def test_range_windows_move_with_the_app_clock(unique):
    clock = ManualClock(datetime(2025, 3, 1, tzinfo=UTC))
    with mock_profiles(Settings(db="memory"), clock=clock):
        profiles = boto3.session.Session().client(
            "customer-profiles", region_name="us-east-1", aws_access_key_id="123456789012", aws_secret_access_key="x"
        )
        domain = orders_domain(profiles, unique("clock"))
        define(profiles, domain, "week", Conditions={"Range": {"Value": 7, "Unit": "DAYS"}})
        define(profiles, domain, "last_in_week", "LAST_OCCURRENCE", Conditions={"Range": {"Value": 7, "Unit": "DAYS"}})
        define(profiles, domain, "two_days_ago", Conditions={"Range": {"ValueRange": {"Start": 3, "End": 1}, "Unit": "DAYS"}})
        profile = put_order(profiles, domain, "1", amount="1")  # 1 March
        clock.advance(days=3)
        put_order(profiles, domain, "2", amount="10")  # 4 March
        found = profiles.get_calculated_attribute_for_profile(DomainName=domain, ProfileId=profile, CalculatedAttributeName="week")
        assert found["Value"] == "11"
        assert found["LastObjectTimestamp"] == datetime(2025, 3, 4, tzinfo=UTC)
        assert value_of(profiles, domain, profile, "two_days_ago") == "1"  # 1 March lies in [1 March, 3 March]
        clock.advance(days=5)  # 9 March: 1 March left the window
        assert value_of(profiles, domain, profile, "week") == "10"
        assert value_of(profiles, domain, profile, "two_days_ago") is None
        clock.advance(days=3)  # 12 March: both left
        assert value_of(profiles, domain, profile, "week") is None
        assert value_of(profiles, domain, profile, "last_in_week") is None
        put_order(profiles, domain, "3", amount="100")
        assert value_of(profiles, domain, profile, "week") == "100"
        assert value_of(profiles, domain, profile, "last_in_week") == "100"
        clock.advance(days=401)  # past the objects' ExpirationDays (400): hidden before any sweep
        define(profiles, domain, "all_time", "COUNT")
        assert value_of(profiles, domain, profile, "all_time") is None


# --- the backfill job of UseHistoricalData --------------------------------------------------------


@pytest.mark.parametrize("db", ["memory", "postgresql"])
def test_a_historical_definition_is_partial_until_its_backfill_has_run(db, request, monkeypatch):
    """With the job held back, the definition is PREPARING and its values partial (only objects
    written since); once run, in batches with progress, it is COMPLETED and complete."""
    monkeypatch.setattr(backfill, "BATCH", 2)
    url = request.getfixturevalue("postgresql_url") if db == "postgresql" else "memory"
    with mock_profiles(Settings(db=url)) as app:
        profiles = boto3.client("customer-profiles", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
        domain = orders_domain(profiles, f"backfill-{db}")
        for order_id in range(5):
            ann = put_order(profiles, domain, str(order_id), amount="10")
        monkeypatch.setattr(app.jobs, "wake", lambda: None)
        define(profiles, domain, "total", timeout=0)
        found = profiles.get_calculated_attribute_definition(DomainName=domain, CalculatedAttributeName="total")
        assert (found["Status"], found["Readiness"]["ProgressPercentage"]) == ("PREPARING", 0)
        put_order(profiles, domain, "new", amount="1")
        value = profiles.get_calculated_attribute_for_profile(DomainName=domain, ProfileId=ann, CalculatedAttributeName="total")
        assert (value["Value"], value["IsDataPartial"]) == ("1", "true")
        progress = []
        original = RunningJob.report

        def record(job: RunningJob, *args: Any, **kwargs: Any) -> None:
            original(job, *args, **kwargs)
            seen = profiles.get_calculated_attribute_definition(DomainName=domain, CalculatedAttributeName="total")
            progress.append((seen["Status"], seen["Readiness"]["ProgressPercentage"]))

        monkeypatch.setattr(RunningJob, "report", record)
        assert app.jobs.run_pending() == 1
        assert progress == [("IN_PROGRESS", 33), ("IN_PROGRESS", 66), ("IN_PROGRESS", 99)]
        found = profiles.get_calculated_attribute_definition(DomainName=domain, CalculatedAttributeName="total")
        assert (found["Status"], found["Readiness"]["ProgressPercentage"]) == ("COMPLETED", 100)
        value = profiles.get_calculated_attribute_for_profile(DomainName=domain, ProfileId=ann, CalculatedAttributeName="total")
        assert (value["Value"], value["IsDataPartial"]) == ("51", "false")


def test_a_resumed_backfill_goes_on_from_its_last_batch(monkeypatch):
    """A job started again after its process died reads only the objects after its last batch;
    a definition deleted before its backfill runs ends the job quietly."""
    monkeypatch.setattr(backfill, "BATCH", 2)
    with mock_profiles() as app:
        profiles = boto3.client("customer-profiles", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
        domain = orders_domain(profiles, "resume")
        for order_id in range(6):
            ann = put_order(profiles, domain, str(order_id), amount="10")
        monkeypatch.setattr(app.jobs, "wake", lambda: None)
        define(profiles, domain, "total", timeout=0)
        define(profiles, domain, "gone", timeout=0)
        profiles.delete_calculated_attribute_definition(DomainName=domain, CalculatedAttributeName="gone")
        with app.store.transaction() as conn:
            domain_id = domain_store.get(conn, "123456789012", "us-east-1", domain)["id"]
            [job] = job_store.of_domain(conn, domain_id, backfill.KIND, "total")
            objects = calculated_store.objects_of_type(conn, domain_id, "orders", None)
            job_store.report(conn, job["job_id"], {"result": {"LastObjectId": objects[3]["id"]}})
        assert app.jobs.run_pending() == 2
        value = profiles.get_calculated_attribute_for_profile(DomainName=domain, ProfileId=ann, CalculatedAttributeName="total")
        assert value["Value"] == "20"  # the two objects after the fourth
        with app.store.read() as conn:
            [gone] = job_store.of_domain(conn, domain_id, backfill.KIND, "gone")
        assert (gone["status"], gone["result"]) == ("SUCCEEDED", {"Stopped": "the definition was deleted"})
