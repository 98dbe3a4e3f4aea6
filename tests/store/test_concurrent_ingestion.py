"""Concurrent ingestion: 8 writers whose objects share key values, as threads and as processes,
on SQLite and PostgreSQL. One key value never yields two profiles; no object is lost."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import func, select

from openprofiles.engine import domains, ingest, object_types
from openprofiles.engine.tenancy import Tenant
from openprofiles.store.db import Store
from openprofiles.store.schema import profile_keys, profile_objects, profiles

TENANT = Tenant("123456789012", "us-east-1")
NOW = datetime(2026, 1, 1, tzinfo=UTC)
WRITERS, OBJECTS, EMAILS = 8, 40, 10
TYPE = {
    "Description": "orders",
    "AllowProfileCreation": True,
    "Fields": {
        "email": {"Source": "_source.email", "ContentType": "EMAIL_ADDRESS"},
        "id": {"Source": "_source.id"},
    },
    "Keys": {
        "_email": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
        "orderId": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["id"]}],
    },
}


def prepare(url: str) -> None:
    store = Store(url)
    with store.transaction() as conn:
        domain = domains.create_domain(conn, TENANT, "race", {"DefaultExpirationDays": 30}, {}, NOW)
        object_types.put_object_type(conn, domain, "orders", TYPE, NOW)
    store.close()


def write(url: str, writer: int) -> None:
    store = Store(url)
    for n in range(OBJECTS):
        record = {"email": f"Person{(writer + n) % EMAILS}@Example.com", "id": f"{writer}-{n}"}
        with store.transaction() as conn:
            domain = domains.get_domain(conn, TENANT, "race")
            kind = object_types.get_object_type(conn, domain, "orders")
            ingest.put_profile_object(conn, domain, kind, orjson.dumps(record).decode(), NOW)
    store.close()


def check(url: str) -> None:
    store = Store(url)
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(profiles)).scalar_one() == EMAILS
        assert conn.execute(select(func.count()).select_from(profile_objects)).scalar_one() == WRITERS * OBJECTS
        holders = conn.execute(
            select(profile_keys.c.key_value, func.count(func.distinct(profile_keys.c.profile_pk)))
            .where(profile_keys.c.key_name == "_email")
            .group_by(profile_keys.c.key_value)
        ).all()
        assert len(holders) == EMAILS
        assert all(count == 1 for _, count in holders)
    store.close()


@pytest.fixture
def url(db_url: str, request: pytest.FixtureRequest) -> str:
    if db_url.startswith("postgresql"):
        return str(request.getfixturevalue("fresh_postgresql_url"))
    return db_url


def test_threads(url):
    prepare(url)
    threads = [threading.Thread(target=write, args=(url, w)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    check(url)


def test_processes(url):
    prepare(url)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=write, args=(url, w)) for w in range(WRITERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    check(url)
