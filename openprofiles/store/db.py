"""The Store: an SQLAlchemy engine for SQLite or PostgreSQL, and its transactions.

Every API call runs in one transaction: ``transaction()`` for calls that write, ``read()`` for
calls that only read. On SQLite a writing transaction starts with ``BEGIN IMMEDIATE``, so two
writers queue for the lock up front instead of failing when a reader upgrades; the database runs
in WAL mode, so readers never wait for writers. The in-memory database (``sqlite://``) is a single
connection shared by all threads, so its transactions are serialized by a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from openprofiles.store import migrations


def _jsonb_as_text(dbapi_connection: Any, _record: Any) -> None:
    """jsonb columns (schema.JsonText) come back as their JSON text, as on SQLite."""
    from psycopg.types.string import TextLoader

    dbapi_connection.adapters.register_loader("jsonb", TextLoader)


class Store:
    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.url = parsed
        self.memory = parsed.drivername.startswith("sqlite") and parsed.database in (None, "", ":memory:")
        self._lock: Any = threading.RLock() if self.memory else None
        self._held_by_thread = parsed.drivername.startswith("sqlite")
        self._local = threading.local()
        self._held: list[Connection] = []
        self._held_lock = threading.Lock()
        if parsed.drivername.startswith("sqlite"):
            self.engine = self._sqlite_engine()
        else:
            self.engine = create_engine(parsed, pool_size=10, max_overflow=20, pool_pre_ping=True)
            event.listen(self.engine, "connect", _jsonb_as_text)
        try:
            self.upgraded_from = migrations.upgrade(self.engine)
        except BaseException:
            self.engine.dispose()
            raise

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _sqlite_engine(self) -> Any:
        if self.memory:
            engine = create_engine(
                "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        else:
            if self.url.database:
                Path(self.url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                self.url, connect_args={"check_same_thread": False, "timeout": 30}
            )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
            cursor = dbapi_connection.cursor()
            if not self.memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # Core begins lazily at its first statement; the transaction is open already then
            driver = conn.connection.driver_connection
            if not driver.in_transaction:
                driver.execute("BEGIN")

        return engine

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A writing transaction: committed when the block ends, rolled back if it raises."""
        with self._lock or nullcontext(), self._connection() as conn:
            if self._held_by_thread:
                with self._sqlite_transaction(conn, "BEGIN IMMEDIATE"):
                    yield conn
            else:
                with conn.begin():
                    yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A reading transaction: one consistent snapshot, nothing written."""
        with self._lock or nullcontext(), self._connection() as conn:
            if self._held_by_thread:
                with self._sqlite_transaction(conn, "BEGIN"):
                    yield conn
            else:
                with conn.begin():
                    yield conn

    @staticmethod
    @contextmanager
    def _sqlite_transaction(conn: Connection, begin: str) -> Iterator[None]:
        """BEGIN and COMMIT sent straight to the driver: Core's transaction objects cost more
        than a short call's work. A Core statement run inside joins this transaction (see
        _on_begin), and Core's own bookkeeping is closed with it."""
        driver = conn.connection.driver_connection
        driver.execute(begin)
        try:
            yield
        except BaseException:
            if conn.in_transaction():
                conn.rollback()
            if driver.in_transaction:
                driver.execute("ROLLBACK")
            raise
        if conn.in_transaction():
            conn.commit()
        if driver.in_transaction:
            driver.execute("COMMIT")

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """On SQLite, each thread keeps one connection open for its calls (taking one from the
        pool costs more than a short transaction); PostgreSQL connections come from the pool."""
        if not self._held_by_thread:
            with self.engine.connect() as conn:
                yield conn
            return
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._local.conn = self.engine.connect()
            with self._held_lock:
                self._held.append(conn)
        yield conn

    def describe(self) -> str:
        """Where the data lives, for the start-up banner (no password)."""
        if self.memory:
            return "in memory (gone when the process ends)"
        return self.url.render_as_string(hide_password=True)

    def close(self) -> None:
        with self._held_lock:
            for conn in self._held:
                conn.close()
            self._held.clear()
        self.engine.dispose()
