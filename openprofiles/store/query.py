"""Query: a statement built with SQLAlchemy Core, run straight on the database driver.

Core builds the SQL (so it stays one statement for SQLite and PostgreSQL) and compiles it once per
dialect; executing it through the driver's cursor skips the per-call work of Core's execution
layer (result processing, caching lookups), which costs several times the query itself on the
hottest reads. Use it for plain SELECTs whose columns need no type conversion.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable


class _Compiled(NamedTuple):
    sql: str
    order: tuple[str, ...] | None  # parameter names in order, for positional drivers
    columns: tuple[str, ...]
    defaults: dict[str, Any]  # the values of Core's bound literals, by parameter name
    #: a dict of parameters -> the driver's arguments (a tuple in order, or the dict itself)
    arguments: Callable[[dict[str, Any]], Any]


def _arguments(order: tuple[str, ...] | None) -> Callable[[dict[str, Any]], Any]:
    """The driver's arguments from a dict of parameters, picked out in C (itemgetter)."""
    if order is None:
        return lambda given: given
    if len(order) == 1:
        name = order[0]
        return lambda given: (given[name],)
    if not order:
        return lambda given: ()
    return itemgetter(*order)


def _driver(conn: Connection) -> Any:
    """The driver's own connection under a Core one: sqlite3's and psycopg's (sync) are not
    adapted, so it is the pool's DBAPI connection itself, an attribute away (``driver_connection``
    is three properties away, a cost on every statement)."""
    return conn.connection.dbapi_connection


class Query:
    __slots__ = ("statement", "_compiled")

    def __init__(self, statement: Executable | dict[str, Executable]) -> None:
        """One statement for every dialect, or a statement per dialect name."""
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, conn: Connection) -> _Compiled:
        dialect = conn.dialect
        found = self._compiled.get(dialect.name)
        if found is None:
            statement = self.statement[dialect.name] if isinstance(self.statement, dict) else self.statement
            compiled = statement.compile(dialect=dialect)
            order = tuple(compiled.positiontup or ()) if dialect.positional else None
            columns = tuple(c[0] for c in getattr(compiled, "_result_columns", ()))
            # the literals Core bound (a bindparam() without a value is the caller's to give)
            literals = {
                name: value for name, value in compiled.params.items()
                if not compiled.binds[name].required
            }
            found = _Compiled(compiled.string, order, columns, literals, _arguments(order))
            self._compiled[dialect.name] = found
        return found

    def _execute(self, conn: Connection, params: dict[str, Any]) -> tuple[_Compiled, Any]:
        """The statement run on the driver: its compiled form and the driver's cursor (both
        drivers' connections execute through a fresh cursor, freed with its last reference)."""
        compiled = self._compile(conn)
        defaults = compiled.defaults
        args = compiled.arguments({**defaults, **params} if defaults else params)  # Core's literals
        return compiled, _driver(conn).execute(compiled.sql, args)

    def rows(self, conn: Connection, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        return self._execute(conn, params)[1].fetchall()

    def dicts(self, conn: Connection, params: dict[str, Any]) -> list[dict[str, Any]]:
        compiled, cursor = self._execute(conn, params)
        columns = compiled.columns
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def run(self, conn: Connection, params: dict[str, Any]) -> int:
        """Execute an INSERT, UPDATE or DELETE that returns no rows; the number of rows hit."""
        return int(self._execute(conn, params)[1].rowcount)


def insert_ignoring_duplicates(table: Table) -> dict[str, Executable]:
    """INSERT of every column (as bindparams named after them) that skips a row whose key is
    there already: ``ON CONFLICT DO NOTHING``, written by each dialect's own construct."""
    values = {c.name: bindparam(c.name) for c in table.c}
    return {
        "sqlite": sqlite.insert(table).values(values).on_conflict_do_nothing(),
        "postgresql": postgresql.insert(table).values(values).on_conflict_do_nothing(),
    }


def run_many(conn: Connection, query: Query, rows: list[dict[str, Any]]) -> None:
    """Execute a prepared Query once per row, with the driver's executemany."""
    if not rows:
        return
    sql, _, _, defaults, arguments = query._compile(conn)
    params = [arguments({**defaults, **row} if defaults else row) for row in rows]
    cursor = _driver(conn).cursor()
    try:
        cursor.executemany(sql, params)
    finally:
        cursor.close()


_MANY: dict[tuple[str, Any, tuple[str, ...]], tuple[str, Callable[[dict[str, Any]], Any]]] = {}


def execute_many(conn: Connection, statement: Executable, rows: list[dict[str, Any]]) -> None:
    """Run an INSERT or UPDATE for every row with the driver's executemany. Every row has the
    same keys; the statement (``insert(table)``, or an update of bindparams) is compiled once per
    dialect and set of keys."""
    if not rows:
        return
    keys = tuple(rows[0])
    cache_key = (conn.dialect.name, statement, keys)
    found = _MANY.get(cache_key)
    if found is None:
        compiled = statement.compile(dialect=conn.dialect, column_keys=list(keys))
        order = tuple(compiled.positiontup or ()) if conn.dialect.positional else None
        found = _MANY[cache_key] = (compiled.string, _arguments(order))
    sql, arguments = found
    params = list(map(arguments, rows))
    cursor = _driver(conn).cursor()
    try:
        cursor.executemany(sql, params)
    finally:
        cursor.close()
