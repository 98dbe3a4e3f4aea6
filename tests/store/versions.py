"""Turn a database of the current schema back into an older version's shape, for upgrade tests."""

from __future__ import annotations

from sqlalchemy import Connection, text

from openprofiles.store import stats


def as_version_2(conn: Connection) -> None:
    """Without the Stats counters of version 3 and their triggers."""
    stats.drop_triggers(conn)
    conn.execute(text("DROP TABLE domain_stats"))
    conn.execute(text("UPDATE schema_version SET version = 2"))
