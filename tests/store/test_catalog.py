"""The catalogs a connection keeps (engine.catalog): one read in a transaction that rolled back is
never used afterwards, and a catalog written meanwhile is read afresh. On SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from openprofiles.engine import domains, object_types
from openprofiles.engine.catalog import ingestion_catalog
from openprofiles.engine.tenancy import Tenant
from openprofiles.store.db import Store

TENANT = Tenant("123456789012", "us-east-1")
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def orders(target: str) -> dict:
    return {
        "Description": "orders",
        "Fields": {
            "email": {"Source": "_source.email", "ContentType": "EMAIL_ADDRESS"},
            "name": {"Source": "_source.name", "Target": target},
            "id": {"Source": "_source.id"},
        },
        "Keys": {
            "_email": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
            "orderId": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["id"]}],
        },
    }


def name_target(store: Store, domain: str) -> str | None:
    with store.transaction() as conn:
        catalog = ingestion_catalog(conn, TENANT, domain)
        return catalog.object_type(conn, "orders", NOW).fields["name"].target


def test_a_catalog_read_in_a_transaction_that_rolled_back_is_not_used(db_url):
    store = Store(db_url)
    name = f"kept-{uuid.uuid4().hex[:8]}"
    with store.transaction() as conn:
        domain = domains.create_domain(conn, TENANT, name, {"DefaultExpirationDays": 3}, {}, NOW)
        object_types.put_object_type(conn, domain, "orders", orders("_profile.FirstName"), NOW)
    assert name_target(store, name) == "_profile.FirstName"

    with pytest.raises(RuntimeError), store.transaction() as conn:
        object_types.put_object_type(conn, domain, "orders", orders("_profile.LastName"), NOW)
        catalog = ingestion_catalog(conn, TENANT, name)  # the transaction sees its own change
        assert catalog.object_type(conn, "orders", NOW).fields["name"].target == "_profile.LastName"
        raise RuntimeError("rolled back")
    assert name_target(store, name) == "_profile.FirstName"

    with store.transaction() as conn:  # and a change that commits is read at the next call
        object_types.put_object_type(conn, domain, "orders", orders("_profile.MiddleName"), NOW)
    assert name_target(store, name) == "_profile.MiddleName"
    store.close()
