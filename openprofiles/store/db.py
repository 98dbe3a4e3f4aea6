"""The Store: an SQLAlchemy engine for SQLite or PostgreSQL, and its transactions.

Every API call that writes runs in one transaction, ``transaction()``; a call that only reads
uses ``read()``, which sends its statements without BEGIN and COMMIT: each statement reads what
was committed when it began, on either database (see ``read``); a job that needs one view of a
whole domain uses ``snapshot()``. On SQLite a writing transaction starts with
``BEGIN IMMEDIATE``, so two writers queue for the lock up front instead of failing when a
reader upgrades; the database runs
in WAL mode, so readers never wait for writers, and the log is copied back into the database
file by a background thread (store/checkpoints.py). The in-memory database (``sqlite://``) is a
single connection shared by all threads, so its transactions are serialized by a lock.

A thread that runs many short calls one after another (the server's event loop, on SQLite) may
commit them in groups (``commit_group()``): from the first write on, the calls' transactions
become savepoints of one transaction, committed once for all of them. A commit writes every page the transaction changed
to the log, and consecutive calls change many of the same pages (the counters, the ends of the
tables and their indexes), so a group of calls writes about half the pages of its calls one by
one. The caller answers none of the grouped calls before ``commit()`` returns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import NullPool, StaticPool

from openprofiles.store import migrations
from openprofiles.store.checkpoints import INLINE_PAGES, Checkpointer


def _jsonb_as_text(dbapi_connection: Any, _record: Any) -> None:
    """jsonb columns (schema.JsonText) come back as their JSON text, as on SQLite."""
    from psycopg.types.string import TextLoader

    dbapi_connection.adapters.register_loader("jsonb", TextLoader)


#: how a writing transaction and a snapshot begin on SQLite (see the module's docstring); a read
#: sends no BEGIN
_WRITE, _SNAPSHOT, _READ = "BEGIN IMMEDIATE", "BEGIN", ""


#: PostgreSQL connections for the work beside API calls: the job runner, the periodic maintenance
BACKGROUND_CONNECTIONS = 4
#: a pooled PostgreSQL connection given back this long ago is pinged before it is used again (a
#: server restart or an idle timeout may have closed it); one in steady use is not, which saves a
#: round trip on every call
PING_AFTER_IDLE_SECONDS = 1.0


def _postgresql_engine(url: Any, connections: int) -> Any:
    engine = create_engine(url, pool_size=connections, max_overflow=10)
    event.listen(engine, "connect", _jsonb_as_text)

    @event.listens_for(engine, "checkin")
    def _given_back(_dbapi_connection: Any, record: Any) -> None:
        record.info["given_back"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        given_back = record.info.get("given_back")
        if given_back is None or time.monotonic() - given_back < PING_AFTER_IDLE_SECONDS:
            return  # new, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise DisconnectionError("a pooled connection was closed; the pool opens another") from error

    return engine


def dialect_of(url: str) -> str:
    """``sqlite`` or ``postgresql``, from a store URL."""
    return make_url(url).get_backend_name()


class Store:
    def __init__(self, url: str, connections: int = 10) -> None:
        """``connections``: on PostgreSQL, how many the pool keeps open; as many as may be in
        use at once, since a connection beyond them is closed as soon as it is given back
        (opening one costs more than most calls)."""
        parsed = make_url(url)
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.url = parsed
        self.memory = parsed.drivername.startswith("sqlite") and parsed.database in (None, "", ":memory:")
        self._lock: Any = threading.RLock() if self.memory else None
        self._held_by_thread = parsed.drivername.startswith("sqlite")
        self._local = threading.local()
        self._held: dict[threading.Thread, Connection] = {}
        self._held_lock = threading.Lock()
        if parsed.drivername.startswith("sqlite"):
            self.engine = self._sqlite_engine()
        else:
            self.engine = _postgresql_engine(parsed, connections)
            # reads need no BEGIN and COMMIT round trips: under READ COMMITTED each statement of
            # a transaction reads its own snapshot anyway, as each autocommit statement does
            self._reads = self.engine.execution_options(isolation_level="AUTOCOMMIT")
            self._snapshots = self.engine.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        try:
            self.upgraded_from = migrations.upgrade(self.engine)
        except BaseException:
            self.engine.dispose()
            raise
        self.checkpoints = (
            Checkpointer(self.engine.raw_connection)
            if self._held_by_thread and not self.memory
            else None
        )

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
            # no pool: each thread holds its own connection (thread_connection), so a bounded
            # pool would only make the threads beyond its size wait
            engine = create_engine(
                self.url, poolclass=NullPool, connect_args={"check_same_thread": False, "timeout": 30}
            )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
            cursor = dbapi_connection.cursor()
            if not self.memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute(f"PRAGMA wal_autocheckpoint={INLINE_PAGES}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # Core begins lazily at its first statement; the transaction is open already then
            driver = conn.connection.driver_connection
            if not driver.in_transaction:
                driver.execute("BEGIN")

        return engine

    def transaction(self) -> AbstractContextManager[Connection]:
        """A writing transaction: committed when the block ends, rolled back if it raises."""
        if self._held_by_thread:
            return _SqliteTransaction(self, _WRITE)
        return self._pooled_transaction()

    def read(self) -> AbstractContextManager[Connection]:
        """A call that only reads: each statement reads what was committed when it began, as in
        a READ COMMITTED transaction, without BEGIN and COMMIT (round trips on PostgreSQL, and
        on SQLite more than a short read itself costs). On SQLite a read that wrote raises."""
        if self._held_by_thread:
            return _SqliteTransaction(self, _READ)
        return self._pooled_transaction(self._reads)

    def snapshot(self) -> AbstractContextManager[Connection]:
        """A long read that sees one snapshot of the whole database throughout, and may stream
        rows (a job's pass over a domain): on PostgreSQL a REPEATABLE READ, READ ONLY
        transaction; on SQLite a deferred transaction (a read that wrote raises)."""
        if self._held_by_thread:
            return _SqliteTransaction(self, _SNAPSHOT)
        return self._pooled_transaction(self._snapshots)

    @contextmanager
    def _pooled_transaction(self, engine: Any = None) -> Iterator[Connection]:
        """A PostgreSQL transaction on a connection from the pool (SQLite's connections are
        held by their threads)."""
        with (engine or self.engine).connect() as conn, conn.begin():
            yield conn

    @property
    def groups_commits(self) -> bool:
        """Whether ``commit_group`` is there: on a SQLite file."""
        return self._held_by_thread and not self.memory

    def commit_group(self) -> CommitGroup:
        """The calling thread's commit group: from now on, its calls' transactions join the
        group's open transaction until ``CommitGroup.commit``. Its statement journals stay in
        memory (``temp_store``): a savepoint journals the pages its call changes."""
        if not self.groups_commits:
            raise RuntimeError("commit groups are for SQLite database files")
        self._thread_held()[1].execute("PRAGMA temp_store=MEMORY")
        group = self._local.group = CommitGroup(self)
        return group

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once what the calling thread wrote is committed: now, or when its
        open commit group commits (a job's worker must find the job's row)."""
        group = getattr(self._local, "group", None)
        if group is not None and group.open:
            group.callbacks.append(callback)
        else:
            callback()

    def thread_connection(self) -> Connection:
        """On SQLite, each thread keeps one connection open for its calls: opening one costs
        more than a short transaction. The connections of threads that have ended (worker pools
        retire idle threads) are closed when a new one is opened."""
        return self._thread_held()[0]

    def _thread_held(self) -> tuple[Connection, Any]:
        """The calling thread's connection and its driver connection (kept beside it: reaching
        it through the connection costs a quarter of a short read)."""
        held = getattr(self._local, "held", None)
        if held is None or held[0].closed or held[0].invalidated:
            conn = self.engine.connect()
            held = self._local.held = (conn, conn.connection.driver_connection)
            with self._held_lock:
                for thread in [t for t in self._held if not t.is_alive()]:
                    self._held.pop(thread).close()
                self._held[threading.current_thread()] = conn
        return held

    def describe(self) -> str:
        """Where the data lives, for the start-up banner (no password)."""
        if self.memory:
            return "in memory (gone when the process ends)"
        return self.url.render_as_string(hide_password=True)

    def close(self) -> None:
        if self.checkpoints is not None:
            self.checkpoints.close()
        with self._held_lock:
            for conn in self._held.values():
                conn.close()
            self._held.clear()
        self.engine.dispose()


class _SqliteTransaction:
    """A transaction on the calling thread's SQLite connection, with BEGIN and COMMIT sent
    straight to the driver: Core's transaction objects, and generator-based context managers,
    cost more than a short call's work. A read (``begin`` empty) sends no BEGIN: its statements
    run each in its own implicit transaction. A Core statement run inside joins this transaction
    (see the engine's ``begin`` listener), and Core's own bookkeeping is closed with it. A COMMIT
    that fails rolls back, so the connection is ready for the next call."""

    __slots__ = ("begin", "changes", "conn", "driver", "savepoint", "store")

    def __init__(self, store: Store, begin: str) -> None:
        self.store = store
        self.begin = begin

    def __enter__(self) -> Connection:
        lock = self.store._lock
        if lock is not None:
            lock.acquire()
        try:
            self.conn, self.driver = self.store._thread_held()
            group = getattr(self.store._local, "group", None)
            self.savepoint = group is not None and group.join(self.begin, self.driver)
            if self.savepoint:
                self.driver.execute("SAVEPOINT call")
            elif self.begin:
                self.driver.execute(self.begin)
            self.changes = self.driver.total_changes
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        return self.conn

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        conn, driver = self.conn, self.driver
        try:
            if self.savepoint:  # the group's commit closes the transaction, and Core's with it
                self._leave_group(kind is None)
                return
            if kind is not None or self._read_wrote():
                _roll_back(conn, driver)
                if kind is None:
                    raise RuntimeError("a read transaction wrote to the database")
                return
            _commit(conn, driver)
            if self.begin == _WRITE and self.store.checkpoints is not None:
                self.store.checkpoints.committed()
        finally:
            if self.store._lock is not None:
                self.store._lock.release()

    def _leave_group(self, succeeded: bool) -> None:
        """Release this call's savepoint, or roll the call back to it."""
        wrote = self._read_wrote()
        if not succeeded or wrote:
            self.driver.execute("ROLLBACK TO call")
        self.driver.execute("RELEASE call")
        if succeeded and wrote:
            raise RuntimeError("a read transaction wrote to the database")

    def _read_wrote(self) -> bool:
        return self.begin != _WRITE and self.driver.total_changes != self.changes


def _commit(conn: Connection, driver: Any) -> None:
    """Commit Core's bookkeeping (which commits the driver's transaction when Core began it),
    then the driver's own; a commit that fails rolls back, so the connection is ready for the
    next call, and raises."""
    try:
        if conn.in_transaction():
            conn.commit()
        if driver.in_transaction:
            driver.execute("COMMIT")
    except BaseException:
        _roll_back(conn, driver)
        raise


def _roll_back(conn: Connection, driver: Any) -> None:
    if conn.get_transaction() is not None:  # one whose commit failed is not active
        conn.rollback()
    if driver.in_transaction:
        driver.execute("ROLLBACK")


class CommitGroup:
    """One thread's calls committed together (see the module's docstring). The group's
    transaction opens at the first write in it (``BEGIN IMMEDIATE``); from then on every
    transaction of the thread is a savepoint of it, so a call that fails rolls back alone.
    ``commit()`` ends it: every call since the last commit is durable when it returns (or, when
    it raises, none is)."""

    __slots__ = ("callbacks", "open", "store")

    def __init__(self, store: Store) -> None:
        self.store = store
        self.open = False
        self.callbacks: list[Callable[[], None]] = []

    def join(self, begin: str, driver: Any) -> bool:
        """Whether a transaction that would ``begin`` so becomes a savepoint of the group's:
        every one once the group's transaction is open (a read then sees the writes before it),
        which the first write opens; a read or snapshot before it stands alone."""
        if not self.open and begin == _WRITE:
            driver.execute(_WRITE)
            self.open = True
        return self.open

    def commit(self) -> None:
        """Commit the calls since the last commit, then run what waited for them
        (``Store.after_commit``); on failure, roll them back and raise."""
        if not self.open:
            return
        conn, driver = self.store._thread_held()
        self.open = False
        callbacks, self.callbacks = self.callbacks, []
        _commit(conn, driver)
        if self.store.checkpoints is not None:
            self.store.checkpoints.committed()
        for callback in callbacks:
            callback()
