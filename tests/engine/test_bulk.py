"""The batch path ingests exactly as PutProfileObject does, object after object."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import select

from openprofiles.engine import bulk, domains, ingest, object_types
from openprofiles.engine.tenancy import Tenant
from openprofiles.store.db import Store
from openprofiles.store.schema import object_keys, profile_keys, profile_objects, profiles

TENANT = Tenant("123456789012", "us-east-1")
NOW = datetime(2026, 1, 1, tzinfo=UTC)
TYPE = {
    "Description": "orders",
    "AllowProfileCreation": True,
    "Fields": {
        "email": {"Source": "_source.email", "ContentType": "EMAIL_ADDRESS", "Target": "_profile.EmailAddress"},
        "phone": {"Source": "_source.phone", "ContentType": "PHONE_NUMBER"},
        "first": {"Source": "_source.first", "Target": "_profile.FirstName"},
        "tier": {"Source": "_source.tier", "Target": "_profile.Attributes.tier"},
        "id": {"Source": "_source.id"},
    },
    "Keys": {
        "_email": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
        "phoneKey": [{"StandardIdentifiers": ["PROFILE", "SECONDARY"], "FieldNames": ["phone"]}],
        "orderId": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["id"]}],
    },
}


def objects(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        record = {"id": str(rng.randrange(count // 2))}  # ids repeat: objects are replaced
        if rng.random() < 0.8:
            record["email"] = f"P{rng.randrange(60)}@Example.com"
        if rng.random() < 0.5:
            record["phone"] = f"+1206555{rng.randrange(40):04d}"
        if rng.random() < 0.5:
            record["first"] = rng.choice(["Ann", "Bob", "Cy"])
        if rng.random() < 0.3:
            record["tier"] = rng.choice(["gold", "silver"])
        if rng.random() < 0.03:
            record = {"first": "no keys at all"}  # refused: no UNIQUE value
        out.append(orjson.dumps(record).decode())
    return out


def snapshot(store: Store) -> list[tuple]:
    """The store's content with profiles named by the objects they hold (ids are random)."""
    with store.read() as conn:
        objs = conn.execute(select(profile_objects.c.id, profile_objects.c.profile_pk, profile_objects.c.unique_key, profile_objects.c.document)).all()
        names = {}
        for _, pk, unique, _doc in objs:
            names.setdefault(pk, set()).add(unique)
        label = {pk: ",".join(sorted(u)) for pk, u in names.items()}
        rows = conn.execute(select(profiles)).all()
        label |= {r.id: "holds nothing: " + r.document for r in rows if r.id not in label}
        docs = sorted((label[r.id], r.document) for r in rows)
        keys = sorted((r.key_name, r.key_value, label[r.profile_pk], r.derived) for r in conn.execute(select(profile_keys)))
        okeys = {r.object_pk: [] for r in conn.execute(select(object_keys))}
        for r in conn.execute(select(object_keys)):
            okeys[r.object_pk].append((r.key_name, r.key_value))
        object_rows = sorted((label[pk], unique, doc, tuple(sorted(okeys.get(oid, [])))) for oid, pk, unique, doc in objs)
    return [docs, keys, object_rows]


def prepare(url: str, definition: dict) -> Store:
    store = Store(url)
    with store.transaction() as conn:
        domain = domains.create_domain(conn, TENANT, "d", {"DefaultExpirationDays": 30}, {}, NOW)
        object_types.put_object_type(conn, domain, "orders", definition, NOW)
    return store


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("allow", [True, False])
def test_batch_equals_one_by_one(tmp_path, seed, allow):
    definition = {**TYPE, "AllowProfileCreation": allow}
    texts = objects(400, seed)
    single, batch = prepare(f"sqlite:///{tmp_path}/a.db", definition), prepare(f"sqlite:///{tmp_path}/b.db", definition)
    if not allow:  # give the objects some profiles to find
        for store in (single, batch):
            with store.transaction() as conn:
                domain = domains.get_domain(conn, TENANT, "d")
                for n in range(0, 60, 3):
                    from openprofiles.engine.profiles import create_profile

                    create_profile(conn, domain, {"EmailAddress": f"p{n}@example.com"}, NOW)
    refused = 0
    for text in texts:
        with single.transaction() as conn:
            domain = domains.get_domain(conn, TENANT, "d")
            kind = object_types.get_object_type(conn, domain, "orders")
            try:
                ingest.put_profile_object(conn, domain, kind, text, NOW)
            except Exception:  # noqa: BLE001 - counted, compared below
                refused += 1
    results = []
    for start in range(0, len(texts), 97):
        with batch.transaction() as conn:
            domain = domains.get_domain(conn, TENANT, "d")
            kind = object_types.get_object_type(conn, domain, "orders")
            results.append(bulk.put_profile_objects(conn, domain, kind, texts[start : start + 97], NOW))
    assert sum(len(r.errors) for r in results) == refused > 0
    if not allow:
        assert sum(r.dead_letters for r in results) > 0
    assert snapshot(single) == snapshot(batch)
    single.close()
    batch.close()


def test_batch_on_postgresql(fresh_postgresql_url):
    store = prepare(fresh_postgresql_url, TYPE)
    texts = objects(300, 7)
    with store.transaction() as conn:
        domain = domains.get_domain(conn, TENANT, "d")
        kind = object_types.get_object_type(conn, domain, "orders")
        result = bulk.put_profile_objects(conn, domain, kind, texts, NOW)
    with store.read() as conn:
        held = conn.execute(select(profile_keys.c.key_value, profile_keys.c.profile_pk).where(profile_keys.c.key_name == "_email", profile_keys.c.derived == 0)).all()
    assert result.ingested > 0
    assert len({v for v, _ in held}) == len(held)  # one profile per email value
    store.close()
