"""The store on SQLite and PostgreSQL: persistence, schema versions and upgrades, transactions."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, create_engine, inspect, select, text

from openprofiles.engine import domains
from openprofiles.engine.tenancy import Tenant
from openprofiles.errors import BadRequestException
from openprofiles.store import domains as domain_store
from openprofiles.store import migrations, schema
from openprofiles.store import profiles as profile_store
from openprofiles.store.db import Store
from tests.store.versions import as_version_2, as_version_3, as_version_4

TENANT = Tenant("123456789012", "us-east-1")
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def isolated_url(db_url: str) -> Iterator[str]:
    """A database of its own: the SQLite file is new; on PostgreSQL, a fresh schema."""
    if not db_url.startswith("postgresql"):
        yield db_url
        return
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    yield f"{db_url}?options=-csearch_path%3D{name}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
    admin.dispose()


def test_new_database_is_created_at_the_latest_version(isolated_url):
    store = Store(isolated_url)
    assert store.upgraded_from == 0
    with store.read() as conn:
        assert conn.execute(select(schema.schema_version.c.version)).scalar_one() == migrations.LATEST
        assert set(schema.metadata.tables) <= set(inspect(conn).get_table_names())
    store.close()


def test_data_survives_reopening(isolated_url):
    store = Store(isolated_url)
    with store.transaction() as conn:
        domains.create_domain(conn, TENANT, "kept", {"DefaultExpirationDays": 7}, {"k": "v"}, NOW)
    store.close()
    reopened = Store(isolated_url)
    assert reopened.upgraded_from == migrations.LATEST
    with reopened.read() as conn:
        assert domains.get_domain(conn, TENANT, "kept")["default_expiration_days"] == 7
    reopened.close()


def test_upgrade_runs_later_steps_and_keeps_data(isolated_url, monkeypatch):
    store = Store(isolated_url)
    with store.transaction() as conn:
        domains.create_domain(conn, TENANT, "old", {"DefaultExpirationDays": 3}, {}, NOW)
    store.close()

    def add_note(conn):
        conn.execute(text("ALTER TABLE domains ADD COLUMN note VARCHAR(20)"))
        conn.execute(text("UPDATE domains SET note = 'migrated'"))

    monkeypatch.setattr(migrations, "STEPS", [*migrations.STEPS, add_note])
    monkeypatch.setattr(migrations, "LATEST", migrations.LATEST + 1)
    upgraded = Store(isolated_url)
    assert upgraded.upgraded_from == migrations.LATEST - 1
    with upgraded.read() as conn:
        row = conn.execute(text("SELECT domain_name, note FROM domains")).one()
        assert tuple(row) == ("old", "migrated")
        assert conn.execute(select(schema.schema_version.c.version)).scalar_one() == migrations.LATEST
    upgraded.close()


def test_a_failed_upgrade_changes_nothing(isolated_url, monkeypatch):
    Store(isolated_url).close()

    def broken(conn):
        conn.execute(text("ALTER TABLE domains ADD COLUMN half VARCHAR(5)"))
        raise RuntimeError("step failed")

    monkeypatch.setattr(migrations, "STEPS", [*migrations.STEPS, broken])
    monkeypatch.setattr(migrations, "LATEST", migrations.LATEST + 1)
    with pytest.raises(RuntimeError, match="step failed"):
        Store(isolated_url)
    monkeypatch.undo()
    store = Store(isolated_url)
    assert store.upgraded_from == migrations.LATEST
    with store.read() as conn:
        assert "half" not in {c["name"] for c in inspect(conn).get_columns("domains")}
    store.close()


def test_a_database_newer_than_the_code_is_refused(isolated_url, monkeypatch):
    Store(isolated_url).close()
    monkeypatch.setattr(migrations, "LATEST", migrations.LATEST - 1)
    with pytest.raises(RuntimeError, match="newer than this openprofiles"):
        Store(isolated_url)


def test_a_failing_call_writes_nothing(isolated_url):
    store = Store(isolated_url)
    with pytest.raises(BadRequestException), store.transaction() as conn:
        domains.create_domain(conn, TENANT, "half", {"DefaultExpirationDays": 1}, {}, NOW)
        domains.create_domain(conn, TENANT, "half", {"DefaultExpirationDays": 1}, {}, NOW)
    with store.read() as conn:
        assert domains.list_domains(conn, TENANT, None, 10)[0] == []
    store.close()


def test_deleting_a_domain_removes_its_tags_and_rows_only(isolated_url):
    store = Store(isolated_url)
    with store.transaction() as conn:
        for name in ("gone", "stays"):
            domains.create_domain(conn, TENANT, name, {"DefaultExpirationDays": 1}, {"t": name}, NOW)
        domains.delete_domain(conn, TENANT, "gone")
    with store.read() as conn:
        names = [row["domain_name"] for row in domains.list_domains(conn, TENANT, None, 10)[0]]
        assert names == ["stays"]
        tags = conn.execute(select(schema.tags.c.resource_arn)).scalars().all()
        assert tags == [domains.domain_arn(TENANT, "stays")]
    store.close()


@contextmanager
def _database_to_age(url: str, domain: str) -> Iterator[Connection]:
    """A database made at the current version with one domain (5 days' expiry), in a
    transaction for the test to turn it into an older version's shape."""
    Store(url).close()
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            domains.create_domain(conn, TENANT, domain, {"DefaultExpirationDays": 5}, {}, NOW)
            yield conn
    finally:
        engine.dispose()


def test_a_version_1_database_gains_the_job_and_ml_match_tables(isolated_url):
    """A database made before version 2 upgrades to the current shape, data kept."""
    with _database_to_age(isolated_url, "before-jobs") as conn:
        as_version_2(conn)
        conn.execute(text("DROP TABLE jobs"))
        conn.execute(text("DROP TABLE ml_matches"))
        if conn.dialect.name == "postgresql":  # documents as version 1 kept them
            conn.execute(text("ALTER TABLE profiles ALTER COLUMN document TYPE text"))
        if conn.dialect.name == "sqlite":  # the observations' index as version 1 made it
            conn.execute(text("DROP INDEX ix_calculated_observations_profile"))
            conn.execute(text(
                "CREATE INDEX ix_calculated_observations_profile ON calculated_observations (profile_pk, definition_id)"
            ))
        conn.execute(text("UPDATE schema_version SET version = 1"))
    upgraded = Store(isolated_url)
    assert upgraded.upgraded_from == 1
    with upgraded.read() as conn:
        for table in (schema.jobs, schema.ml_matches):
            columns = {c["name"] for c in inspect(conn).get_columns(table.name)}
            assert columns == set(table.c.keys())
            indexes = {i["name"] for i in inspect(conn).get_indexes(table.name)}
            assert indexes == {i.name for i in table.indexes}
            key = inspect(conn).get_pk_constraint(table.name)["constrained_columns"]
            assert key == [c.name for c in table.primary_key]
        [observed] = [i for i in inspect(conn).get_indexes("calculated_observations") if i["name"] == "ix_calculated_observations_profile"]
        [wanted] = [
            i for i in schema.calculated_observations.indexes
            if i._ddl_if is None or i._ddl_if.dialect == conn.dialect.name
        ]
        assert observed["column_names"] == [c.name for c in wanted.columns]
        [document] = [c for c in inspect(conn).get_columns("profiles") if c["name"] == "document"]
        expected = "JSONB" if conn.dialect.name == "postgresql" else "TEXT"
        assert str(document["type"]) == expected
        domain = domains.get_domain(conn, TENANT, "before-jobs")
        assert domain["default_expiration_days"] == 5
        assert domains.domain_stats(conn, domain)["profile_count"] == 0
    upgraded.close()


def test_a_version_3_database_keeps_its_keys_in_tables_without_row_ids(isolated_url):
    """Version 4 rebuilds the key tables on SQLite as their keys' b-trees; rows and lookups kept."""
    with _database_to_age(isolated_url, "keyed") as conn:
        domain_id = domains.get_domain(conn, TENANT, "keyed")["id"]
        profile_pk = conn.execute(text(
            "INSERT INTO profiles (domain_id, profile_id, document, provenance, size, created_at,"
            " updated_at) VALUES (:d, 'p1', '{}', '{}', 2, 0, 0) RETURNING id"
        ), {"d": domain_id}).scalar_one()
        object_pk = conn.execute(text(
            "INSERT INTO profile_objects (domain_id, profile_pk, object_type_name, unique_key,"
            " document, size, created_at, updated_at) VALUES (:d, :p, 'T', 'u1', '{}', 2, 0, 0)"
            " RETURNING id"
        ), {"d": domain_id, "p": profile_pk}).scalar_one()
        conn.execute(text(
            "INSERT INTO profile_keys VALUES (:d, '_email', 'a@example.com', :p, 1),"
            " (:d, 'OrderId', 'u1', :p, 0)"
        ), {"d": domain_id, "p": profile_pk})
        conn.execute(text("INSERT INTO object_keys VALUES (:d, :o, 'OrderId', 'u1')"),
                     {"d": domain_id, "o": object_pk})
        conn.execute(text("INSERT INTO match_signatures VALUES (:d, 1, 'sig', :p)"),
                     {"d": domain_id, "p": profile_pk})
        as_version_3(conn)
        if conn.dialect.name == "sqlite":
            assert "WITHOUT ROWID" not in _table_ddl(conn, "profile_keys")
    upgraded = Store(isolated_url)
    assert upgraded.upgraded_from == 3
    with upgraded.read() as conn:
        for table in (schema.profile_keys, schema.object_keys, schema.match_signatures):
            key = inspect(conn).get_pk_constraint(table.name)["constrained_columns"]
            assert key == [c.name for c in table.primary_key]
            indexes = {i["name"] for i in inspect(conn).get_indexes(table.name)}
            assert indexes == {i.name for i in table.indexes}
            if conn.dialect.name == "sqlite":
                assert _table_ddl(conn, table.name).rstrip().endswith("WITHOUT ROWID")
        assert profile_store.find(conn, domain_id, "_email", "a@example.com") == [profile_pk]
        assert profile_store.find(conn, domain_id, "OrderId", "u1") == [profile_pk]
        assert conn.execute(text("SELECT object_pk, key_name, key_value FROM object_keys")).all() == [
            (object_pk, "OrderId", "u1")
        ]
        assert conn.execute(text("SELECT level, signature, profile_pk FROM match_signatures")).all() == [
            (1, "sig", profile_pk)
        ]
    upgraded.close()


def test_a_version_4_database_gains_the_domains_catalog_tag(isolated_url):
    """Version 5 adds the tag; the domains keep their rows, and a catalog change retags them."""
    with _database_to_age(isolated_url, "tagged") as conn:
        as_version_4(conn)
    upgraded = Store(isolated_url)
    assert upgraded.upgraded_from == 4
    with upgraded.transaction() as conn:
        domain = domains.get_domain(conn, TENANT, "tagged")
        assert (domain["default_expiration_days"], domain["catalog_tag"]) == (5, 0)
        domain_store.catalog_changed(conn, domain["id"])
        assert domains.get_domain(conn, TENANT, "tagged")["catalog_tag"] != 0
    upgraded.close()


def _table_ddl(conn, name: str) -> str:
    return conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name}).scalar_one()


def test_any_number_of_threads_read_a_sqlite_file_and_ended_threads_give_back_their_connection(tmp_path):
    """Each thread holds a connection of its own (store.db.thread_connection): a 24-thread
    worker pool is served at once, and the connections of threads that ended are closed."""
    store = Store(f"sqlite:///{tmp_path / 'threads.db'}")
    with store.transaction() as conn:  # this thread's connection
        domains.create_domain(conn, TENANT, "shared", {"DefaultExpirationDays": 3}, {}, NOW)
    start = threading.Barrier(24)
    read: list[int] = []

    opened = []

    def call() -> None:
        start.wait(timeout=10)
        with store.read() as conn:
            read.append(domains.get_domain(conn, TENANT, "shared")["default_expiration_days"])
            opened.append(conn)

    workers = [threading.Thread(target=call) for _ in range(24)]
    began = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=20)
    assert read == [3] * 24
    assert time.monotonic() - began < 10  # nobody waited for a connection to come free
    assert len(set(map(id, opened))) == 24
    late = threading.Thread(target=_read_shared, args=(store,))
    late.start()
    late.join(timeout=10)
    assert set(store._held) == {threading.current_thread(), late}
    assert all(conn.closed for conn in opened)
    store.close()


def _read_shared(store: Store) -> None:
    with store.read() as conn:
        domains.get_domain(conn, TENANT, "shared")
