"""Two servers on one database, as a deployment runs them: what one changes in a domain's
definitions (its object types, calculated attributes, the domain itself), the other's next
PutProfileObject follows, although each keeps the definitions it read between calls
(engine.catalog). On a SQLite file and on PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import CLIENT_CONFIG, REGION, new_account, start_server, stop_server

FIELDS = {
    "email": {"Source": "_source.email", "Target": "_profile.EmailAddress", "ContentType": "EMAIL_ADDRESS"},
    "name": {"Source": "_source.name", "Target": "_profile.FirstName", "ContentType": "NAME"},
    "id": {"Source": "_source.id"},
    "amount": {"Source": "_source.amount", "ContentType": "NUMBER"},
}
KEYS = {
    "_email": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
    "orderId": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["id"]}],
}


@pytest.fixture(params=["sqlite", "postgresql"])
def two_servers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    if request.param == "postgresql":
        db = str(request.getfixturevalue("fresh_postgresql_url"))
    else:
        db = f"sqlite:///{tmp_path / 'shared.db'}"
    account = new_account()
    started = []
    try:
        for _ in range(2):
            started.append(start_server(db))
        yield tuple(  # type: ignore[misc]
            boto3.session.Session().client(
                "customer-profiles", region_name=REGION, endpoint_url=url, aws_access_key_id=account,
                aws_secret_access_key="secret", config=CLIENT_CONFIG,
            )
            for _, url in started
        )
    finally:
        for process, _ in started:
            stop_server(process)


def orders_domain(client: Any) -> str:
    """A new domain with the orders type; its name."""
    domain = f"shared-{uuid.uuid4().hex[:8]}"
    client.create_domain(DomainName=domain, DefaultExpirationDays=30)
    orders_type(client, domain)
    return domain


def orders_type(client: Any, domain: str, fields: dict[str, Any] = FIELDS) -> None:
    client.put_profile_object_type(
        DomainName=domain, ObjectTypeName="orders", Description="orders", AllowProfileCreation=True,
        Fields=fields, Keys=KEYS,
    )


def put(client: Any, domain: str, order_id: str, email: str, **fields: str) -> None:
    record = {"id": order_id, "email": email, **fields}
    client.put_profile_object(DomainName=domain, ObjectTypeName="orders", Object=json.dumps(record))


def profile_of(client: Any, domain: str, email: str) -> dict[str, Any]:
    [found] = client.search_profiles(DomainName=domain, KeyName="_email", Values=[email])["Items"]
    return dict(found)


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def test_a_changed_object_type_is_followed_by_the_other_server(two_servers):
    first, second = two_servers
    domain = orders_domain(first)
    put(first, domain, "o1", "ann@example.com", name="Ann")
    assert profile_of(first, domain, "ann@example.com")["FirstName"] == "Ann"

    # the name now goes to LastName
    orders_type(second, domain, {**FIELDS, "name": {**FIELDS["name"], "Target": "_profile.LastName"}})
    put(first, domain, "o2", "bob@example.com", name="Bob")
    bob = profile_of(second, domain, "bob@example.com")
    assert bob["LastName"] == "Bob"
    assert "FirstName" not in bob

    # the type is gone: the first server no longer ingests it
    second.delete_profile_object_type(DomainName=domain, ObjectTypeName="orders")
    with pytest.raises(ClientError) as excinfo:
        put(first, domain, "o3", "ann@example.com", name="Ann")
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_a_calculated_attribute_made_on_the_other_server_counts_the_next_object(two_servers):
    first, second = two_servers
    domain = orders_domain(first)
    put(first, domain, "o1", "ann@example.com", amount="100")
    # without historical data, a definition observes the objects written after it, as they come
    second.create_calculated_attribute_definition(
        DomainName=domain, CalculatedAttributeName="spent", Statistic="SUM", UseHistoricalData=False,
        AttributeDetails={"Attributes": [{"Name": "amount"}], "Expression": "{orders.amount}"},
    )
    put(first, domain, "o2", "ann@example.com", amount="7")
    ann = profile_of(second, domain, "ann@example.com")["ProfileId"]
    found = second.get_calculated_attribute_for_profile(
        DomainName=domain, ProfileId=ann, CalculatedAttributeName="spent"
    )
    assert float(found["Value"]) == 7

    second.delete_calculated_attribute_definition(DomainName=domain, CalculatedAttributeName="spent")
    put(first, domain, "o3", "ann@example.com", amount="5")  # nothing left to observe it for
    assert len(first.list_profile_objects(DomainName=domain, ObjectTypeName="orders", ProfileId=ann)["Items"]) == 3


def test_a_domain_made_again_under_its_name_is_a_new_domain_to_the_other_server(two_servers):
    first, second = two_servers
    domain = orders_domain(first)
    put(first, domain, "o1", "ann@example.com")

    second.delete_domain(DomainName=domain)
    with pytest.raises(ClientError) as excinfo:
        put(first, domain, "o2", "ann@example.com")
    assert error_code(excinfo) == "ResourceNotFoundException"
    second.create_domain(DomainName=domain, DefaultExpirationDays=30)
    with pytest.raises(ClientError) as excinfo:  # the new domain has no object types
        put(first, domain, "o3", "ann@example.com")
    assert error_code(excinfo) == "ResourceNotFoundException"
    assert second.get_domain(DomainName=domain)["Stats"]["ObjectCount"] == 0
