"""Turn a database of the current schema back into an older version's shape, for upgrade tests."""

from __future__ import annotations

from sqlalchemy import Connection, text

_STATS_TRIGGERS = {
    "sqlite": ("stats_profile_insert", "stats_profile_delete", "stats_profile_resize",
               "stats_object_insert", "stats_object_delete", "stats_object_resize", "stats_object_move"),
    "postgresql": ("stats_profile_insert", "stats_profile_delete", "stats_profile_update",
                   "stats_object_insert", "stats_object_delete", "stats_object_update"),
}


def as_version_2(conn: Connection) -> None:
    """Without the Stats counters of version 3 and their triggers."""
    dialect = conn.dialect.name
    for name in _STATS_TRIGGERS[dialect]:
        if dialect == "postgresql":
            table = "profiles" if name.startswith("stats_profile") else "profile_objects"
            conn.execute(text(f"DROP TRIGGER {name} ON {table}"))
            conn.execute(text(f"DROP FUNCTION {name}()"))
        else:
            conn.execute(text(f"DROP TRIGGER {name}"))
    conn.execute(text("DROP TABLE domain_stats"))
    conn.execute(text("UPDATE schema_version SET version = 2"))
