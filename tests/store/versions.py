"""Turn a database of the current schema back into an older version's shape, for upgrade tests."""

from __future__ import annotations

from sqlalchemy import Connection, text

from openprofiles.store import migrations, stats


def as_version_2(conn: Connection) -> None:
    """Without the Stats counters of version 3 and their triggers."""
    as_version_3(conn)
    stats.drop_triggers(conn)
    conn.execute(text("DROP TABLE domain_stats"))
    conn.execute(text("UPDATE schema_version SET version = 2"))


def as_version_3(conn: Connection) -> None:
    """With the key tables of version 3 on SQLite: a table with row ids and an index for its key."""
    as_version_4(conn)
    if conn.dialect.name == "sqlite":
        for table in migrations._KEY_TABLES:
            migrations.rebuild_sqlite_table(conn, *table, options="")
    conn.execute(text("UPDATE schema_version SET version = 3"))


def as_version_4(conn: Connection) -> None:
    """Without the domains' catalog tag of version 5."""
    conn.execute(text("ALTER TABLE domains DROP COLUMN catalog_tag"))
    conn.execute(text("UPDATE schema_version SET version = 4"))
