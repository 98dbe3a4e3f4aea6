"""Stored observations give the values that reading every object gives (the computation they
replace), whatever path wrote, replaced, deleted or moved the objects, at any time."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import select

from openprofiles.engine import bulk, domains, ingest, merge, object_types
from openprofiles.engine.calculated import definitions
from openprofiles.engine.calculated.observations import fields_of, rebuild
from openprofiles.engine.calculated.values import Reader, StoredObject, aggregate, observe, profile_values
from openprofiles.engine.expiry import sweep_expired
from openprofiles.engine.tenancy import Tenant
from openprofiles.store import objects as object_store
from openprofiles.store.db import Store
from openprofiles.store.schema import calculated_observations, profile_objects, profiles

TENANT = Tenant("123456789012", "us-east-1")
START = datetime(2026, 1, 1, tzinfo=UTC)
TYPE = {
    "Description": "orders",
    "AllowProfileCreation": True,
    "ExpirationDays": 20,
    "Fields": {
        "email": {"Source": "_source.email", "ContentType": "EMAIL_ADDRESS"},
        "id": {"Source": "_source.id"},
        "amount": {"Source": "_source.amount", "ContentType": "NUMBER"},
        "channel": {"Source": "_source.channel"},
    },
    "Keys": {
        "_email": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
        "orderId": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["id"]}],
    },
}
WEB_ONLY = {"Include": "ALL", "Groups": [{"Type": "ALL", "Dimensions": [
    {"Attributes": {"channel": {"DimensionType": "INCLUSIVE", "Values": ["WEB"]}}}]}]}  # fmt: skip
DEFINITIONS = {
    "total": {"Statistic": "SUM", "UseHistoricalData": True},
    "recent_web": {"Statistic": "COUNT", "UseHistoricalData": True, "Filter": WEB_ONLY,
                   "Conditions": {"Range": {"Value": 5, "Unit": "DAYS"}}},
    "last_by_date": {"Statistic": "LAST_OCCURRENCE", "UseHistoricalData": False, "Conditions": {
        "Range": {"ValueRange": {"Start": 10, "End": 2}, "Unit": "DAYS", "TimestampSource": "{orders.placedAt}",
                  "TimestampFormat": "ISO_8601"}, "ObjectCount": 3}},
}  # fmt: skip


def define(conn, domain, name: str, now: datetime) -> None:
    request = {"AttributeDetails": {"Attributes": [{"Name": "amount"}], "Expression": "{orders.amount}"}}
    found = definitions.create_definition(conn, domain, name, {**request, **DEFINITIONS[name]}, now)
    rebuild(conn, domain, found)


def reread(conn, domain, profile_pk: int, now: datetime) -> list[tuple]:
    """Every value computed from the profile's unexpired objects, as reads did before observations."""
    found = []
    for definition in definitions.list_definitions(conn, domain, None, 100):
        reader = Reader(definition, fields_of(conn, domain, "orders"))
        rows = conn.execute(
            select(profile_objects).where(
                profile_objects.c.profile_pk == profile_pk, profile_objects.c.object_type_name == "orders",
                (profile_objects.c.expires_at.is_(None)) | (profile_objects.c.expires_at > now.timestamp()),
            )
        )
        seen = [observe(definition, reader, StoredObject(r.id, orjson.loads(r.document), r.updated_at)) for r in rows]
        found.append(aggregate(definition, [s for s in seen if s is not None], now.timestamp()))
    return found


def record(rng: random.Random, now: datetime) -> str:
    placed = now - timedelta(days=rng.uniform(0, 12))
    item = {"id": str(rng.randrange(40)), "email": f"p{rng.randrange(8)}@example.com",
            "amount": str(rng.randrange(1, 100)), "channel": rng.choice(["WEB", "PHONE"]), "placedAt": placed.isoformat()}  # fmt: skip
    if rng.random() < 0.1:
        del item["amount"]
    return orjson.dumps(item).decode()


def assert_same(store: Store, domain, now: datetime) -> None:
    with store.read() as conn:
        pks = list(conn.execute(select(profiles.c.id).where(profiles.c.domain_id == domain["id"])).scalars())
        every = definitions.list_definitions(conn, domain, None, 100)
        for pk in pks:
            assert profile_values(conn, every, pk, now) == reread(conn, domain, pk, now)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_observations_agree_with_reading_the_objects(db_url, seed):
    rng = random.Random(seed)
    store = Store(db_url)
    now = START
    with store.transaction() as conn:
        domain = domains.create_domain(conn, TENANT, f"d-{uuid.uuid4().hex[:8]}", {"DefaultExpirationDays": 30}, {}, now)
        object_type = object_types.put_object_type(conn, domain, "orders", TYPE, now)
        define(conn, domain, "total", now)
    for step in range(12):
        now += timedelta(days=rng.choice([0, 1, 2]))
        with store.transaction() as conn:
            if step == 3:
                define(conn, domain, "recent_web", now)  # backfilled from what is there
            if step == 5:
                define(conn, domain, "last_by_date", now)  # counts later objects only
            if rng.random() < 0.5:
                bulk.put_profile_objects(conn, domain, object_type, [record(rng, now) for _ in range(15)], now)
            else:
                for _ in range(10):
                    ingest.put_profile_object(conn, domain, object_type, record(rng, now), now)
            ids = list(conn.execute(select(profile_objects.c.id).where(profile_objects.c.domain_id == domain["id"])).scalars())
            object_store.delete_objects(conn, rng.sample(ids, min(2, len(ids))))  # DeleteProfileObject
            held = list(conn.execute(select(profiles.c.profile_id).where(profiles.c.domain_id == domain["id"])).scalars())
            if step % 4 == 2 and len(held) > 2:
                main, gone = rng.sample(held, 2)
                merge.merge_profiles(conn, domain, main, [gone], {}, now)
            sweep_expired(conn, now + timedelta(days=rng.choice([0, 25])), batch=3)
        assert_same(store, domain, now)
        assert_same(store, domain, now + timedelta(days=rng.uniform(0, 30)))  # the clock alone moves
    with store.read() as conn:
        orphans = select(calculated_observations.c.object_pk).where(
            calculated_observations.c.object_pk.not_in(select(profile_objects.c.id))
        )
        assert list(conn.execute(orphans)) == []
    store.close()
