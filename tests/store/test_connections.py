"""How calls get their connections: PostgreSQL's pool (pinged only after idling, sized to the
worker threads), reads without BEGIN/COMMIT and snapshots for jobs on both databases, and the
read-only guard of SQLite's reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from openprofiles.app import build_app
from openprofiles.config import Settings
from openprofiles.engine import domains
from openprofiles.engine.tenancy import Tenant
from openprofiles.store import db
from openprofiles.store import domains as domain_rows
from openprofiles.store.db import BACKGROUND_CONNECTIONS, Store

TENANT = Tenant("123456789012", "us-east-1")
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def pg_store(fresh_postgresql_url):
    store = Store(fresh_postgresql_url)
    with store.transaction() as conn:
        domains.create_domain(conn, TENANT, "kept", {"DefaultExpirationDays": 4}, {}, NOW)
    yield store
    store.close()


def _pings(store: Store, monkeypatch) -> list[object]:
    seen: list[object] = []
    real = store.engine.dialect.do_ping
    monkeypatch.setattr(store.engine.dialect, "do_ping", lambda c: seen.append(c) or real(c))
    return seen


def test_a_connection_in_steady_use_is_not_pinged_and_an_idle_one_is(pg_store, monkeypatch):
    pings = _pings(pg_store, monkeypatch)
    for _ in range(5):
        with pg_store.read() as conn:
            domains.get_domain(conn, TENANT, "kept")
    assert pings == []
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    with pg_store.read() as conn:
        domains.get_domain(conn, TENANT, "kept")
    assert len(pings) == 1


def test_a_pooled_connection_the_server_closed_is_replaced_before_a_call_uses_it(pg_store, monkeypatch):
    with pg_store.read() as conn:
        victim = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    killer = Store(pg_store.url.render_as_string(hide_password=False))
    with killer.read() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim})
    killer.close()
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # as after a second of idling
    with pg_store.read() as conn:
        assert domains.get_domain(conn, TENANT, "kept")["default_expiration_days"] == 4
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != victim


def test_postgresql_reads_run_without_a_transaction_and_writes_within_one(pg_store):
    with pg_store.read() as conn:
        domains.get_domain(conn, TENANT, "kept")
        assert conn.connection.driver_connection.info.transaction_status.name == "IDLE"
    with pg_store.transaction() as conn:
        domains.get_domain(conn, TENANT, "kept")
        assert conn.connection.driver_connection.info.transaction_status.name == "INTRANS"


def test_a_failing_write_on_postgresql_still_writes_nothing(pg_store):
    with pytest.raises(RuntimeError), pg_store.transaction() as conn:
        domains.create_domain(conn, TENANT, "half", {"DefaultExpirationDays": 4}, {}, NOW)
        raise RuntimeError("after the insert")
    with pg_store.read() as conn:
        assert domain_rows.get(conn, TENANT.account_id, TENANT.region, "half") is None


def test_sqlite_reads_run_without_a_transaction_and_snapshots_within_one(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'reads.db'}")
    try:
        with store.transaction() as conn:
            domains.create_domain(conn, TENANT, "kept", {"DefaultExpirationDays": 4}, {}, NOW)
        with store.read() as conn:
            assert domains.get_domain(conn, TENANT, "kept")["default_expiration_days"] == 4
            assert not conn.connection.driver_connection.in_transaction
        with store.snapshot() as conn:
            assert domains.get_domain(conn, TENANT, "kept")["default_expiration_days"] == 4
            assert conn.connection.driver_connection.in_transaction
    finally:
        store.close()


def test_a_read_that_writes_on_sqlite_raises_and_writes_nothing(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'guard.db'}")
    try:
        with pytest.raises(RuntimeError, match="read transaction wrote"), store.read() as conn:
            domains.create_domain(conn, TENANT, "sneaked", {"DefaultExpirationDays": 4}, {}, NOW)
        with store.read() as conn:
            assert domain_rows.get(conn, TENANT.account_id, TENANT.region, "sneaked") is None
    finally:
        store.close()


def test_worker_threads_default_by_store_and_the_pool_holds_one_connection_each(fresh_postgresql_url):
    assert Settings().worker_threads("sqlite") == 0
    assert Settings().worker_threads("postgresql") == 16
    assert Settings(threads=3).worker_threads("sqlite") == 3
    app = build_app(Settings(db=fresh_postgresql_url, threads=6))
    try:
        assert app.store.engine.pool.size() == 6 + BACKGROUND_CONNECTIONS
    finally:
        app.close()


def test_a_postgresql_snapshot_sees_one_state_throughout_and_writes_nothing(pg_store):
    with pg_store.snapshot() as conn:
        assert domains.get_domain(conn, TENANT, "kept")["default_expiration_days"] == 4
        with pg_store.transaction() as other:
            domains.create_domain(other, TENANT, "later", {"DefaultExpirationDays": 4}, {}, NOW)
        assert domain_rows.get(conn, TENANT.account_id, TENANT.region, "later") is None
        with pytest.raises(Exception, match="read-only transaction"):
            domains.create_domain(conn, TENANT, "sneaked", {"DefaultExpirationDays": 4}, {}, NOW)
    with pg_store.read() as conn:
        assert domain_rows.get(conn, TENANT.account_id, TENANT.region, "later") is not None
