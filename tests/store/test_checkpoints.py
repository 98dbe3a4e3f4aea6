"""Background WAL checkpoints of a SQLite file store (store/checkpoints.py)."""

from __future__ import annotations

import shutil
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from openprofiles.engine import domains
from openprofiles.engine.tenancy import Tenant
from openprofiles.store import checkpoints
from openprofiles.store.db import Store

TENANT = Tenant("123456789012", "us-east-1")
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _write_domains(store: Store, count: int) -> None:
    for i in range(count):
        with store.transaction() as conn:
            domains.create_domain(conn, TENANT, f"d{i}", {"DefaultExpirationDays": 7}, {}, NOW)


def _domains_in_database_file(path: Path, tmp_path: Path) -> int:
    """The domains the database file holds by itself: a copy of it without its -wal file sees
    only what checkpoints have copied there."""
    alone = tmp_path / "alone.db"
    shutil.copyfile(path, alone)
    with sqlite3.connect(alone) as conn:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'domains'").fetchall():
            return 0  # not even the schema is there yet
        return conn.execute("SELECT count(*) FROM domains").fetchone()[0]


def _wait_for(predicate, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_committed_pages_reach_the_database_file_without_a_commit_paying_for_it(tmp_path):
    path = tmp_path / "store.db"
    store = Store(f"sqlite:///{path}")
    try:
        assert store.checkpoints is not None
        writes = checkpoints.EVERY_COMMITS + 5
        _write_domains(store, writes)
        # far below the inline bound: only the background thread copies pages
        assert _wait_for(lambda: _domains_in_database_file(path, tmp_path) == writes)
        with store.thread_connection().connection.driver_connection as raw:
            assert raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == checkpoints.INLINE_PAGES
    finally:
        store.close()


def test_a_few_writes_are_checkpointed_once_writes_stop(tmp_path):
    path = tmp_path / "store.db"
    store = Store(f"sqlite:///{path}")
    try:
        _write_domains(store, 3)
        assert _wait_for(lambda: _domains_in_database_file(path, tmp_path) == 3,
                         seconds=checkpoints.IDLE_SECONDS * 5)
    finally:
        store.close()


def test_closing_the_store_stops_its_checkpoint_thread(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    thread = store.checkpoints._thread
    assert thread.is_alive()
    store.close()
    assert not thread.is_alive()


def test_memory_and_postgresql_stores_have_no_checkpoint_thread(postgresql_url):
    for url in ("sqlite://", postgresql_url):
        store = Store(url)
        try:
            assert store.checkpoints is None
        finally:
            store.close()
