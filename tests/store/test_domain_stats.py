"""GetDomain's Stats are counters kept by the store's triggers: after every kind of write (new
and updated profiles, objects put, replaced, moved by a merge, evicted, expired and deleted, a
deleted profile and object type, the batch path) they equal a count of the rows, on SQLite and
PostgreSQL, and MeteringProfileCount follows AWS's rule of one more unit per 100 objects."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import boto3
import orjson
import pytest
from sqlalchemy import func, select

from openprofiles.clock import ManualClock
from openprofiles.config import Settings
from openprofiles.engine import bulk, domains, object_types
from openprofiles.engine.tenancy import Tenant
from openprofiles.mock import mock_profiles
from openprofiles.store.db import Store
from openprofiles.store.schema import domain_stats, domains as domains_table, profile_objects, profiles
from tests.conftest import CLIENT_CONFIG, REGION, new_account
from tests.store.versions import as_version_2

ORDERS = {
    "Description": "orders",
    "AllowProfileCreation": True,
    "ExpirationDays": 30,
    "Fields": {
        "email": {"Source": "_source.email", "Target": "_profile.EmailAddress", "ContentType": "EMAIL_ADDRESS"},
        "name": {"Source": "_source.name", "Target": "_profile.FirstName", "ContentType": "NAME"},
        "id": {"Source": "_source.id"},
    },
    "Keys": {
        "_email": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
        "orderId": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["id"]}],
    },
}


def counted(conn, domain_id: int) -> dict[str, int]:
    """The Stats as a count of the rows."""
    profile_rows = conn.execute(
        select(func.count(), func.coalesce(func.sum(profiles.c.size), 0)).where(profiles.c.domain_id == domain_id)
    ).one()
    object_rows = conn.execute(
        select(func.count(), func.coalesce(func.sum(profile_objects.c.size), 0)).where(
            profile_objects.c.domain_id == domain_id
        )
    ).one()
    held = conn.execute(
        select(func.count()).where(profile_objects.c.domain_id == domain_id).group_by(profile_objects.c.profile_pk)
    ).scalars()
    return {
        "ProfileCount": profile_rows[0],
        "MeteringProfileCount": profile_rows[0] + sum((n - 1) // 100 for n in held),
        "ObjectCount": object_rows[0],
        "TotalSize": profile_rows[1] + object_rows[1],
    }


def put(client, domain: str, email: str, order: str, name: str = "Ann") -> str:
    record = {"email": email, "id": order, "name": name}
    answer = client.put_profile_object(DomainName=domain, ObjectTypeName="orders", Object=orjson.dumps(record).decode())
    return answer["ProfileObjectUniqueKey"]


@pytest.fixture
def scene(db_url):
    clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    with mock_profiles(Settings(db=db_url), clock=clock) as app:
        client = boto3.session.Session().client(
            "customer-profiles", region_name=REGION, aws_access_key_id=new_account(),
            aws_secret_access_key="x", config=CLIENT_CONFIG,
        )
        yield app, client, clock


def check(app, client, domain: str) -> dict[str, int]:
    reported = client.get_domain(DomainName=domain)["Stats"]
    with app.store.read() as conn:
        domain_id = conn.execute(
            select(domains_table.c.id).where(domains_table.c.domain_name == domain)
        ).scalar_one()
        assert reported == counted(conn, domain_id)
    return reported


def test_stats_follow_every_kind_of_write(scene, unique):
    app, client, clock = scene
    domain = unique("stats")
    client.create_domain(DomainName=domain, DefaultExpirationDays=365)
    assert check(app, client, domain) == {"ProfileCount": 0, "MeteringProfileCount": 0, "ObjectCount": 0, "TotalSize": 0}
    client.put_profile_object_type(DomainName=domain, ObjectTypeName="orders", **ORDERS)
    rng = random.Random(7)
    for n in range(60):
        put(client, domain, f"p{rng.randrange(12)}@example.com", f"o{rng.randrange(40)}", rng.choice(["Ann", "Bo", "Cy"]))
    first = check(app, client, domain)
    assert 0 < first["ProfileCount"] <= 12 and 0 < first["ObjectCount"] <= 40

    created = client.create_profile(DomainName=domain, FirstName="Zed", EmailAddress="zed@example.com")["ProfileId"]
    client.update_profile(DomainName=domain, ProfileId=created, LastName="A much longer last name than before")
    check(app, client, domain)

    found = client.search_profiles(DomainName=domain, KeyName="_email", Values=["p1@example.com"])["Items"]
    main = client.search_profiles(DomainName=domain, KeyName="_email", Values=["p2@example.com"])["Items"]
    if found and main:
        client.merge_profiles(DomainName=domain, MainProfileId=main[0]["ProfileId"], ProfileIdsToBeMerged=[found[0]["ProfileId"]])
        check(app, client, domain)

    objects = client.list_profile_objects(DomainName=domain, ObjectTypeName="orders", ProfileId=main[0]["ProfileId"])["Items"]
    client.delete_profile_object(
        DomainName=domain, ProfileId=main[0]["ProfileId"], ProfileObjectUniqueKey=objects[0]["ProfileObjectUniqueKey"],
        ObjectTypeName="orders",
    )
    client.delete_profile(DomainName=domain, ProfileId=created)
    check(app, client, domain)

    clock.advance(timedelta(days=31))  # every order has expired
    while app.sweep_expired():
        pass
    assert check(app, client, domain)["ObjectCount"] == 0

    put(client, domain, "late@example.com", "late-1")
    client.delete_profile_object_type(DomainName=domain, ObjectTypeName="orders")
    assert check(app, client, domain)["ObjectCount"] == 0


def test_metering_counts_a_unit_per_hundred_objects(scene, unique):
    app, client, _ = scene
    domain = unique("metering")
    client.create_domain(DomainName=domain, DefaultExpirationDays=365)
    client.put_profile_object_type(DomainName=domain, ObjectTypeName="orders", **ORDERS)
    seen = []
    for n in range(1, 206):
        put(client, domain, "busy@example.com", f"busy-{n}")
        if n in (1, 100, 101, 200, 201, 205):
            seen.append(check(app, client, domain)["MeteringProfileCount"])
    assert seen == [1, 1, 2, 2, 3, 3]
    put(client, domain, "quiet@example.com", "quiet-1")
    assert check(app, client, domain)["MeteringProfileCount"] == 4
    profile = client.search_profiles(DomainName=domain, KeyName="_email", Values=["busy@example.com"])["Items"][0]
    keys = [f"busy-{n}" for n in range(1, 7)]
    for key in keys:  # 205 -> 199 objects: 2 units
        client.delete_profile_object(
            DomainName=domain, ProfileId=profile["ProfileId"], ProfileObjectUniqueKey=key, ObjectTypeName="orders"
        )
    assert check(app, client, domain)["MeteringProfileCount"] == 3
    quiet = client.search_profiles(DomainName=domain, KeyName="_email", Values=["quiet@example.com"])["Items"][0]
    client.merge_profiles(DomainName=domain, MainProfileId=quiet["ProfileId"], ProfileIdsToBeMerged=[profile["ProfileId"]])
    merged = check(app, client, domain)  # one profile of 200 objects
    assert (merged["ProfileCount"], merged["ObjectCount"], merged["MeteringProfileCount"]) == (1, 200, 2)


def test_batch_path_and_deleted_domain(db_url):
    tenant = Tenant(new_account(), REGION)
    store = Store(db_url)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        with store.transaction() as conn:
            domain = domains.create_domain(conn, tenant, "batch", {"DefaultExpirationDays": 30}, {}, now)
            kind = object_types.put_object_type(conn, domain, "orders", ORDERS, now)
            texts = [orjson.dumps({"email": f"b{n % 7}@example.com", "id": f"b{n}"}).decode() for n in range(300)]
            bulk.put_profile_objects(conn, domain, kind, texts, now)
        with store.read() as conn:
            assert domains.domain_stats(conn, domain) == {
                "profile_count": 7,
                "object_count": 300,
                "total_size": counted(conn, domain["id"])["TotalSize"],
                "metering_profile_count": 7,
            }
        with store.transaction() as conn:
            domains.delete_domain(conn, tenant, "batch")
        with store.read() as conn:
            assert conn.execute(select(func.count()).where(domain_stats.c.domain_id == domain["id"])).scalar_one() == 0
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def own_db_url(request, tmp_path) -> str:
    """A database of the test's own: it changes the schema."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("fresh_postgresql_url"))
    return f"sqlite:///{tmp_path / 'own.db'}"


def test_an_older_database_is_counted_when_upgraded(own_db_url):
    """A version-2 database (no counters) gets them counted from its rows by the upgrade."""
    db_url = own_db_url
    tenant = Tenant(new_account(), REGION)
    store = Store(db_url)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with store.transaction() as conn:
        domain = domains.create_domain(conn, tenant, "old", {"DefaultExpirationDays": 30}, {}, now)
        kind = object_types.put_object_type(conn, domain, "orders", ORDERS, now)
        texts = [orjson.dumps({"email": "old@example.com", "id": f"x{n}"}).decode() for n in range(150)]
        bulk.put_profile_objects(conn, domain, kind, texts, now)
        expected = domains.domain_stats(conn, domain)
        as_version_2(conn)
    store.close()
    assert expected["metering_profile_count"] == 2
    upgraded = Store(db_url)
    try:
        assert upgraded.upgraded_from == 2
        with upgraded.read() as conn:
            assert domains.domain_stats(conn, domain) == expected
        with upgraded.transaction() as conn:  # and the triggers count from then on
            kind = object_types.get_object_type(conn, domain, "orders")
            bulk.put_profile_objects(conn, domain, kind, [orjson.dumps({"email": "new@example.com", "id": "y"}).decode()], now)
            assert domains.domain_stats(conn, domain)["profile_count"] == expected["profile_count"] + 1
    finally:
        upgraded.close()
