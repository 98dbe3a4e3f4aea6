"""A domain's Stats (GetDomain), kept as counters by the database itself.

Every write of a profile or an object, whatever code path makes it (ingestion, the batch path,
merges, deletes, expiry, eviction, a migration), moves the counters of its domain through
triggers on ``profiles`` and ``profile_objects``, in the same transaction: a read is one indexed
lookup however large the domain is, and no path can forget to count.

- ProfileCount, ObjectCount: rows of the domain.
- TotalSize: bytes of the profiles' documents plus the objects' documents.
- MeteringProfileCount: as AWS documents it, a profile with more than 100 objects counts as two,
  with more than 200 as three, and so on. The counters keep the extra units,
  ``sum((n - 1) / 100)`` over the profiles' object counts ``n`` (integer division truncating
  toward zero, so 0 for a profile with no object), and add them to ProfileCount.

On SQLite, writers are serialized anyway, so each domain has one counter row (slot 0), updated
by row-level triggers. On PostgreSQL, a single row per domain would serialize every writer of the
domain until it commits, so each server connection adds to a slot of its own
(``mod(pg_backend_pid(), SLOTS)``) and a read sums the slots; the triggers are statement-level, over
the statement's transition tables, so a statement that deletes or moves many objects updates the
counters once, after counting each touched profile's objects as the statement left them.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, func, select, text

from openprofiles.store.query import Query
from openprofiles.store.schema import domain_stats

#: counter rows per domain on PostgreSQL
SLOTS = 16

_READ = Query(
    select(
        func.coalesce(func.sum(domain_stats.c.profile_count), 0),
        func.coalesce(func.sum(domain_stats.c.object_count), 0),
        func.coalesce(func.sum(domain_stats.c.total_size), 0),
        func.coalesce(func.sum(domain_stats.c.metering_extra), 0),
    ).where(domain_stats.c.domain_id == bindparam("domain_id"))
)


def read(conn: Connection, domain_id: int) -> dict[str, int]:
    """The domain's counters, summed over its slots."""
    return as_stats(*_READ.rows(conn, {"domain_id": domain_id})[0])


def as_stats(profiles: int, objects: int, size: int, extra: int) -> dict[str, int]:
    """The Stats of the counters' sums (``extra``: metering units beyond one per profile)."""
    return {
        "profile_count": int(profiles),
        "object_count": int(objects),
        "total_size": int(size),
        "metering_profile_count": int(profiles) + int(extra),
    }


def start(conn: Connection, domain_id: int) -> None:
    """The counter row of a new domain (SQLite's triggers update it; PostgreSQL's add slots)."""
    conn.execute(domain_stats.insert().values(domain_id=domain_id, slot=0))


def recount(conn: Connection) -> None:
    """Set every domain's counters from its rows: how an existing database starts counting."""
    conn.execute(domain_stats.delete())
    conn.execute(text(_RECOUNT))


_RECOUNT = """
INSERT INTO domain_stats (domain_id, slot, profile_count, object_count, total_size, metering_extra)
SELECT d.id, 0,
  (SELECT count(*) FROM profiles p WHERE p.domain_id = d.id),
  (SELECT count(*) FROM profile_objects o WHERE o.domain_id = d.id),
  (SELECT coalesce(sum(p.size), 0) FROM profiles p WHERE p.domain_id = d.id)
    + (SELECT coalesce(sum(o.size), 0) FROM profile_objects o WHERE o.domain_id = d.id),
  (SELECT coalesce(sum((held.n - 1) / 100), 0) FROM
    (SELECT count(*) AS n FROM profile_objects o WHERE o.domain_id = d.id GROUP BY o.profile_pk) held)
FROM domains d
"""

# --- SQLite: row-level triggers on the one counter row ------------------------------------------

#: the change of a profile's extra metering units when its object count became n = count(*)
#: by one object added (f(n) - f(n - 1)) or removed (f(n) - f(n + 1)), f(n) = (n - 1) / 100
_SQLITE_HELD = "(SELECT count(*) FROM profile_objects WHERE profile_pk = {row}.profile_pk)"
_SQLITE_GAINED = "(SELECT (n - 1) / 100 - (n - 2) / 100 FROM (SELECT {held} AS n))"
_SQLITE_LOST = "(SELECT (n - 1) / 100 - n / 100 FROM (SELECT {held} AS n))"


def _sqlite_bump(domain: str, **changes: str) -> str:
    sets = ", ".join(f"{column} = {column} + {change}" for column, change in changes.items())
    return f"UPDATE domain_stats SET {sets} WHERE domain_id = {domain} AND slot = 0;"


def _sqlite_triggers() -> list[str]:
    gained = _SQLITE_GAINED.format(held=_SQLITE_HELD.format(row="NEW"))
    lost = _SQLITE_LOST.format(held=_SQLITE_HELD.format(row="OLD"))
    return [
        "CREATE TRIGGER stats_profile_insert AFTER INSERT ON profiles BEGIN "
        + _sqlite_bump("NEW.domain_id", profile_count="1", total_size="NEW.size") + " END",
        "CREATE TRIGGER stats_profile_delete AFTER DELETE ON profiles BEGIN "
        + _sqlite_bump("OLD.domain_id", profile_count="-1", total_size="-OLD.size") + " END",
        "CREATE TRIGGER stats_profile_resize AFTER UPDATE OF size ON profiles"
        " WHEN NEW.size IS NOT OLD.size BEGIN "
        + _sqlite_bump("NEW.domain_id", total_size="NEW.size - OLD.size") + " END",
        "CREATE TRIGGER stats_object_insert AFTER INSERT ON profile_objects BEGIN "
        + _sqlite_bump("NEW.domain_id", object_count="1", total_size="NEW.size", metering_extra=gained)
        + " END",
        "CREATE TRIGGER stats_object_delete AFTER DELETE ON profile_objects BEGIN "
        + _sqlite_bump("OLD.domain_id", object_count="-1", total_size="-OLD.size", metering_extra=lost)
        + " END",
        "CREATE TRIGGER stats_object_resize AFTER UPDATE OF size ON profile_objects"
        " WHEN NEW.size IS NOT OLD.size BEGIN "
        + _sqlite_bump("NEW.domain_id", total_size="NEW.size - OLD.size") + " END",
        "CREATE TRIGGER stats_object_move AFTER UPDATE OF profile_pk ON profile_objects"
        " WHEN NEW.profile_pk IS NOT OLD.profile_pk BEGIN "
        + _sqlite_bump("NEW.domain_id", metering_extra=f"{gained} + {lost}") + " END",
    ]


# --- PostgreSQL: statement-level triggers over transition tables, one slot per connection -------

_PG_ADD = """
INSERT INTO domain_stats AS s (domain_id, slot, profile_count, object_count, total_size, metering_extra)
SELECT domain_id, mod(pg_backend_pid(), {slots}), sum(profiles), sum(objects), sum(size), sum(extra)
FROM ({changes}) AS changes (domain_id, profiles, objects, size, extra) GROUP BY domain_id
ON CONFLICT (domain_id, slot) DO UPDATE SET
  profile_count = s.profile_count + excluded.profile_count,
  object_count = s.object_count + excluded.object_count,
  total_size = s.total_size + excluded.total_size,
  metering_extra = s.metering_extra + excluded.metering_extra;
"""

#: per profile touched: k objects gained (k > 0) or lost (k < 0) by the statement, n held now
_PG_EXTRA = """
SELECT t.domain_id, 0::bigint AS profiles, 0::bigint AS objects, 0::bigint AS size,
  ((t.n - 1) / 100 - (t.n - t.k - 1) / 100)::bigint AS extra
FROM (SELECT c.domain_id, c.k,
        (SELECT count(*) FROM profile_objects o WHERE o.profile_pk = c.profile_pk) AS n
      FROM ({per_profile}) AS c) AS t
"""


def _pg_function(name: str, changes: str) -> str:
    body = _PG_ADD.format(slots=SLOTS, changes=changes)
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} "
        "RETURN NULL; END $$"
    )


def _pg_trigger(name: str, event: str, table: str, transitions: str) -> str:
    return (
        f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {transitions} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
    )


def _postgresql_triggers() -> list[str]:
    gained = _PG_EXTRA.format(
        per_profile="SELECT domain_id, profile_pk, count(*) AS k FROM new_rows GROUP BY 1, 2"
    )
    lost = _PG_EXTRA.format(
        per_profile="SELECT domain_id, profile_pk, -count(*) AS k FROM old_rows GROUP BY 1, 2"
    )
    moved_in = _PG_EXTRA.format(
        per_profile="SELECT n.domain_id, n.profile_pk, count(*) AS k FROM new_rows n"
        " JOIN old_rows o ON o.id = n.id WHERE n.profile_pk <> o.profile_pk GROUP BY 1, 2"
    )
    moved_out = _PG_EXTRA.format(
        per_profile="SELECT o.domain_id, o.profile_pk, -count(*) AS k FROM new_rows n"
        " JOIN old_rows o ON o.id = n.id WHERE n.profile_pk <> o.profile_pk GROUP BY 1, 2"
    )
    resized = (
        "SELECT n.domain_id, 0::bigint, 0::bigint, (n.size - o.size)::bigint, 0::bigint"
        " FROM new_rows n JOIN old_rows o ON o.id = n.id"
    )
    statements = []
    for name, event, table, transitions, changes in (
        ("stats_profile_insert", "INSERT", "profiles", "NEW TABLE AS new_rows",
         "SELECT domain_id, 1::bigint, 0::bigint, size::bigint, 0::bigint FROM new_rows"),
        ("stats_profile_delete", "DELETE", "profiles", "OLD TABLE AS old_rows",
         "SELECT domain_id, -1::bigint, 0::bigint, -size::bigint, 0::bigint FROM old_rows"),
        ("stats_profile_update", "UPDATE", "profiles", "OLD TABLE AS old_rows NEW TABLE AS new_rows",
         resized),
        ("stats_object_insert", "INSERT", "profile_objects", "NEW TABLE AS new_rows",
         "SELECT domain_id, 0::bigint, 1::bigint, size::bigint, 0::bigint FROM new_rows"
         f" UNION ALL {gained}"),
        ("stats_object_delete", "DELETE", "profile_objects", "OLD TABLE AS old_rows",
         "SELECT domain_id, 0::bigint, -1::bigint, -size::bigint, 0::bigint FROM old_rows"
         f" UNION ALL {lost}"),
        ("stats_object_update", "UPDATE", "profile_objects",
         "OLD TABLE AS old_rows NEW TABLE AS new_rows",
         f"{resized} UNION ALL {moved_in} UNION ALL {moved_out}"),
    ):
        statements.append(_pg_function(name, changes))
        statements.append(_pg_trigger(name, event, table, transitions))
    return statements


def create_triggers(conn: Connection) -> None:
    """The triggers that keep the counters, for the connection's dialect."""
    dialect = conn.dialect.name
    statements = _postgresql_triggers() if dialect == "postgresql" else _sqlite_triggers()
    for statement in statements:
        conn.exec_driver_sql(statement)


def drop_triggers(conn: Connection) -> None:
    """Remove the triggers (and PostgreSQL's functions): a bulk load that writes the tables
    directly drops them first, then creates them again and recounts."""
    statements = _postgresql_triggers() if conn.dialect.name == "postgresql" else _sqlite_triggers()
    for statement in reversed(statements):  # each trigger before its function
        words = statement.split()
        kind, name = words[1], words[2].removesuffix("()")
        if kind == "TRIGGER":
            table = words[words.index("ON") + 1]
            on = f" ON {table}" if conn.dialect.name == "postgresql" else ""
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}{on}")
        else:
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}()")
