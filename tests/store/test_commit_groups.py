"""Commit groups (store.db): a thread's calls committed in one transaction, each call a savepoint.

Only on a SQLite file; what another connection sees is read on a thread of its own (each thread
holds its own connection).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from openprofiles.engine import domains
from openprofiles.engine.tenancy import Tenant
from openprofiles.errors import BadRequestException, ResourceNotFoundException
from openprofiles.store.db import Store

TENANT = Tenant("123456789012", "us-east-1")
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path / 'groups.db'}")
    yield opened
    opened.close()


def create(store: Store, name: str, days: int = 7) -> None:
    with store.transaction() as conn:
        domains.create_domain(conn, TENANT, name, {"DefaultExpirationDays": days}, {}, NOW)


def names_seen_elsewhere(store: Store) -> list[str]:
    """The domains another connection (another thread's) reads: what is committed."""
    seen: list[str] = []

    def read() -> None:
        with store.read() as conn:
            seen.extend(d["domain_name"] for d in domains.list_domains(conn, TENANT, None, 100)[0])

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(timeout=10)
    return sorted(seen)


def test_the_calls_of_a_group_are_committed_together(store):
    group = store.commit_group()
    assert not group.open
    create(store, "first")
    create(store, "second")
    assert group.open
    assert names_seen_elsewhere(store) == []  # nothing is committed yet
    with store.read() as conn:  # a read in the group sees the writes before it
        assert domains.get_domain(conn, TENANT, "first")["default_expiration_days"] == 7
    group.commit()
    assert not group.open
    assert names_seen_elsewhere(store) == ["first", "second"]
    create(store, "third")  # the next call opens the group's next transaction
    assert group.open and names_seen_elsewhere(store) == ["first", "second"]
    group.commit()
    assert names_seen_elsewhere(store) == ["first", "second", "third"]


def _create_twice(conn) -> None:
    domains.create_domain(conn, TENANT, "half", {"DefaultExpirationDays": 1}, {}, NOW)
    domains.create_domain(conn, TENANT, "half", {"DefaultExpirationDays": 1}, {}, NOW)


def _create_then_break_a_key(conn) -> None:
    domains.create_domain(conn, TENANT, "half", {"DefaultExpirationDays": 1}, {}, NOW)
    conn.execute(text("INSERT INTO domain_stats (domain_id, slot) SELECT domain_id, slot FROM domain_stats"))


@pytest.mark.parametrize(
    ("failing", "error"), [(_create_twice, BadRequestException), (_create_then_break_a_key, IntegrityError)]
)
def test_a_failing_call_in_a_group_rolls_back_alone(store, failing, error):
    """Whether the call refuses (an API error) or a statement fails in the database."""
    group = store.commit_group()
    create(store, "kept")
    with pytest.raises(error), store.transaction() as conn:
        failing(conn)
    create(store, "after")
    group.commit()
    assert names_seen_elsewhere(store) == ["after", "kept"]


def test_a_read_that_writes_in_a_group_fails_and_its_write_is_undone(store):
    group = store.commit_group()
    create(store, "kept")
    with pytest.raises(RuntimeError, match="a read transaction wrote"), store.read() as conn:
        conn.execute(text("DELETE FROM domain_stats"))
    group.commit()
    with store.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM domain_stats")).scalar_one() == 1


def test_a_failed_commit_keeps_none_of_the_group(store):
    create(store, "before")  # committed on its own: no group yet
    group = store.commit_group()
    create(store, "lost")
    with store.transaction() as conn:  # a foreign key checked only at COMMIT, which then fails
        conn.execute(text("PRAGMA defer_foreign_keys=ON"))
        conn.execute(text("INSERT INTO domain_stats (domain_id, slot) VALUES (999999, 1)"))
    woken: list[str] = []
    store.after_commit(lambda: woken.append("woken"))
    with pytest.raises(Exception, match="FOREIGN KEY"):
        group.commit()
    assert not group.open and woken == []
    assert names_seen_elsewhere(store) == ["before"]
    create(store, "next")  # the connection is ready for the next group
    group.commit()
    assert names_seen_elsewhere(store) == ["before", "next"]


def test_after_commit_waits_for_the_group(store):
    woken: list[str] = []
    store.after_commit(lambda: woken.append("no group"))  # nothing pending: at once
    assert woken == ["no group"]
    group = store.commit_group()
    store.after_commit(lambda: woken.append("group closed"))  # the group has no write yet
    create(store, "queued")
    store.after_commit(lambda: woken.append("committed"))
    assert woken == ["no group", "group closed"]
    group.commit()
    assert woken == ["no group", "group closed", "committed"]


def test_a_snapshot_before_the_first_write_stands_alone_and_one_after_is_a_savepoint(store):
    create(store, "old")
    group = store.commit_group()
    with store.snapshot() as conn:
        domains.get_domain(conn, TENANT, "old")
    assert not group.open
    create(store, "new")
    with store.snapshot() as conn:  # inside the group's transaction: sees its writes
        domains.get_domain(conn, TENANT, "new")
    with pytest.raises(ResourceNotFoundException), store.snapshot() as conn:
        domains.get_domain(conn, TENANT, "missing")
    assert group.open
    group.commit()
    assert names_seen_elsewhere(store) == ["new", "old"]


def test_groups_are_for_sqlite_files_only():
    memory = Store("sqlite://")
    try:
        assert not memory.groups_commits
        with pytest.raises(RuntimeError, match="SQLite database files"):
            memory.commit_group()
    finally:
        memory.close()
