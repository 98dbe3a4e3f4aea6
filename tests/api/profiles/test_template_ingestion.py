"""Objects ingested through built-in templates, used implicitly by name."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def domain(profiles, unique):
    name = unique("tpl")
    profiles.create_domain(DomainName=name, DefaultExpirationDays=30)
    return name


def shopify(payload):
    return json.dumps({"detail": {"event": {"detail": {"payload": payload}}}})


def test_shopify_customer_and_order(profiles, domain):
    customer = {"id": "c1", "email": "Ann@Example.com", "first_name": "Ann", "default_address": {"city": "Lyon"}}
    profiles.put_profile_object(DomainName=domain, ObjectTypeName="Shopify-Customer", Object=shopify(customer))
    order = {
        "id": "o1", "customer": {"id": "c1"}, "total_price": "10.00", "currency": "EUR",
        "line_items": [{"title": "Book", "price": "4.00", "quantity": 1}, {"title": "Pen", "price": "6.00", "quantity": 2}],
    }
    profiles.put_profile_object(DomainName=domain, ObjectTypeName="Shopify-Order", Object=shopify(order))
    found = profiles.search_profiles(DomainName=domain, KeyName="_shopifyCustomerId", Values=["c1"])["Items"]
    assert len(found) == 1
    profile = found[0]
    assert (profile["FirstName"], profile["Address"]["City"]) == ("Ann", "Lyon")
    orders = profiles.list_profile_objects(DomainName=domain, ProfileId=profile["ProfileId"], ObjectTypeName="_order")["Items"]
    assert len(orders) == 1
    record = json.loads(orders[0]["Object"])
    assert record["TotalPrice"] == "10.00" and record["Currency"] == "EUR"
    assert record["OrderItems"] == [
        {"Title": "Book", "Price": "4.00", "Quantity": "1"},
        {"Title": "Pen", "Price": "6.00", "Quantity": "2"},
    ]
    # the same order again updates the one _order record
    order["total_price"] = "12.00"
    profiles.put_profile_object(DomainName=domain, ObjectTypeName="Shopify-Order", Object=shopify(order))
    orders = profiles.list_profile_objects(DomainName=domain, ProfileId=profile["ProfileId"], ObjectTypeName="_order")["Items"]
    assert [json.loads(o["Object"])["TotalPrice"] for o in orders] == ["12.00"]


def test_zendesk_ticket_becomes_a_case_of_its_requester(profiles, domain):
    profiles.put_profile_object(
        DomainName=domain, ObjectTypeName="Zendesk-users",
        Object=json.dumps({"id": 7, "email": "bob@example.com", "phone": "+12065550100"}),
    )
    ticket = {"id": 99, "requester_id": 7, "subject": "Broken", "description": "It broke", "status": "open"}
    profiles.put_profile_object(DomainName=domain, ObjectTypeName="Zendesk-tickets", Object=json.dumps(ticket))
    profile = profiles.search_profiles(DomainName=domain, KeyName="_zendeskUserId", Values=["7"])["Items"][0]
    cases = profiles.list_profile_objects(DomainName=domain, ProfileId=profile["ProfileId"], ObjectTypeName="_case")["Items"]
    assert [json.loads(c["Object"])["Title"] for c in cases] == ["Broken"]
    assert profiles.get_profile_object_type(DomainName=domain, ObjectTypeName="Zendesk-tickets")["TemplateId"] == "Zendesk-tickets"
