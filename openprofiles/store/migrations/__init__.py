"""Creates the schema of a new database and upgrades an existing one, at startup.

A new database gets ``schema.metadata`` as it stands and the latest version number. An existing
one is at the version its ``schema_version`` row says; each later step in ``STEPS`` runs in order,
in the same transaction as the version bump, so a failed upgrade changes nothing. A schema change
therefore comes as two edits: the table in ``schema.py`` (for new databases) and a step here (for
existing ones), e.g. ``def _add_profile_size(conn): conn.execute(text("ALTER TABLE ..."))``,
tested by upgrading a database made at the previous version.

Version 1 is the schema of the first release; no database exists at an earlier shape. Version 2
adds the job table and the ML match groups, stores profile documents as jsonb on PostgreSQL
and widens an index on SQLite. Version 3 adds the domains' Stats counters and the triggers that
keep them (``store.stats``), counted once from the rows already there. Version 4 makes the key
tables on SQLite the b-trees of their primary keys (WITHOUT ROWID), rows kept. Version 5 adds
the domains' catalog tag (``schema.domains``), 0 for every domain until its definitions next change.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, inspect, select, text, update

from openprofiles.store import schema, stats


def _add_jobs(conn: Connection) -> None:
    """Version 2: the durable job table, the ML match groups, profile documents as jsonb on
    PostgreSQL, and on SQLite an index of calculated observations that covers their values
    (spelled out as they were then, so that a later change to ``schema`` comes as a step of its
    own)."""
    conn.execute(
        text(
            "CREATE TABLE jobs (job_id VARCHAR(32) NOT NULL PRIMARY KEY,"
            " domain_id INTEGER NOT NULL REFERENCES domains (id), kind VARCHAR(32) NOT NULL,"
            " subject VARCHAR(255), status VARCHAR(16) NOT NULL, phase VARCHAR(32),"
            " progress INTEGER, request TEXT NOT NULL, result TEXT, message TEXT,"
            " attempts INTEGER NOT NULL, lease_until FLOAT, created_at FLOAT NOT NULL,"
            " started_at FLOAT, ended_at FLOAT, updated_at FLOAT NOT NULL)"
        )
    )
    conn.execute(text("CREATE INDEX ix_jobs_domain_kind ON jobs (domain_id, kind, subject, created_at)"))
    conn.execute(text("CREATE INDEX ix_jobs_status ON jobs (status, created_at)"))
    conn.execute(
        text(
            "CREATE TABLE ml_matches (domain_id INTEGER NOT NULL REFERENCES domains (id),"
            " match_id VARCHAR(32) NOT NULL, profile_id VARCHAR(32) NOT NULL,"
            " confidence FLOAT NOT NULL, job_id VARCHAR(32) NOT NULL, generated_at FLOAT NOT NULL,"
            " PRIMARY KEY (domain_id, match_id, profile_id))"
        )
    )
    conn.execute(text("CREATE INDEX ix_ml_matches_profile ON ml_matches (domain_id, profile_id)"))
    if conn.dialect.name == "postgresql":  # documents that queries look into, kept parsed
        conn.execute(text("ALTER TABLE profiles ALTER COLUMN document TYPE jsonb USING document::jsonb"))
    if conn.dialect.name == "sqlite":  # the observations' index covers what a value reads
        conn.execute(text("DROP INDEX ix_calculated_observations_profile"))
        conn.execute(
            text(
                "CREATE INDEX ix_calculated_observations_profile ON calculated_observations"
                " (profile_pk, definition_id, observed_at, expires_at, value, object_pk)"
            )
        )


def _add_domain_stats(conn: Connection) -> None:
    """Version 3: the counters of GetDomain's Stats, their triggers, and a first count."""
    conn.execute(
        text(
            "CREATE TABLE domain_stats (domain_id INTEGER NOT NULL REFERENCES domains (id),"
            " slot INTEGER NOT NULL, profile_count BIGINT DEFAULT 0 NOT NULL,"
            " object_count BIGINT DEFAULT 0 NOT NULL, total_size BIGINT DEFAULT 0 NOT NULL,"
            " metering_extra BIGINT DEFAULT 0 NOT NULL, PRIMARY KEY (domain_id, slot))"
        )
    )
    stats.create_triggers(conn)
    stats.recount(conn)


#: version 4's key tables: (name, columns, primary key, secondary indexes), as they were then
_KEY_TABLES = (
    (
        "profile_keys",
        (
            "domain_id INTEGER NOT NULL, key_name VARCHAR(64) NOT NULL,"
            " key_value VARCHAR(1024) NOT NULL, profile_pk BIGINT NOT NULL REFERENCES profiles (id),"
            " derived INTEGER NOT NULL"
        ),
        "domain_id, key_name, key_value, profile_pk, derived",
        ["CREATE INDEX ix_profile_keys_profile ON profile_keys (profile_pk)"],
    ),
    (
        "object_keys",
        (
            "domain_id INTEGER NOT NULL, object_pk BIGINT NOT NULL REFERENCES profile_objects (id),"
            " key_name VARCHAR(64) NOT NULL, key_value VARCHAR(1024) NOT NULL"
        ),
        "object_pk, key_name, key_value",
        [],
    ),
    (
        "match_signatures",
        (
            "domain_id INTEGER NOT NULL REFERENCES domains (id), level INTEGER NOT NULL,"
            " signature VARCHAR(32) NOT NULL, profile_pk BIGINT NOT NULL"
        ),
        "domain_id, level, signature, profile_pk",
        ["CREATE INDEX ix_match_signatures_profile ON match_signatures (domain_id, profile_pk)"],
    ),
)


def _key_tables_without_rowid(conn: Connection) -> None:
    """Version 4: on SQLite, each key table rebuilt as the b-tree of its primary key. PostgreSQL
    is unchanged."""
    if conn.dialect.name != "sqlite":
        return
    for table in _KEY_TABLES:
        rebuild_sqlite_table(conn, *table, options="WITHOUT ROWID")


def rebuild_sqlite_table(
    conn: Connection, name: str, columns: str, key: str, indexes: list[str], options: str
) -> None:
    """Make a SQLite table anew with these columns, primary key and table options, its rows
    copied in key order (so a key's b-tree is written front to back), then its indexes."""
    names = ", ".join(column.split()[0] for column in columns.split(","))
    conn.execute(text(f"CREATE TABLE {name}_rebuilt ({columns}, PRIMARY KEY ({key})) {options}"))
    conn.execute(text(f"INSERT INTO {name}_rebuilt ({names}) SELECT {names} FROM {name} ORDER BY {key}"))
    conn.execute(text(f"DROP TABLE {name}"))
    conn.execute(text(f"ALTER TABLE {name}_rebuilt RENAME TO {name}"))
    for index in indexes:
        conn.execute(text(index))


def _add_catalog_tag(conn: Connection) -> None:
    """Version 5: the domains' catalog tag."""
    conn.execute(text("ALTER TABLE domains ADD COLUMN catalog_tag BIGINT DEFAULT 0 NOT NULL"))


#: STEPS[i] upgrades a database from version i + 1 to version i + 2
STEPS: list[Callable[[Connection], None]] = [
    _add_jobs, _add_domain_stats, _key_tables_without_rowid, _add_catalog_tag,
]
LATEST = 1 + len(STEPS)


def upgrade(engine: Engine) -> int:
    """Bring the database to the latest version; return the version it was at (0 when new)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # one server at a time creates or upgrades; the others wait, then find it done
            conn.execute(text("SELECT pg_advisory_xact_lock(7461703)"))
        if not inspect(conn).has_table(schema.schema_version.name):
            schema.metadata.create_all(conn)
            stats.create_triggers(conn)
            conn.execute(schema.schema_version.insert().values(version=LATEST))
            return 0
        found = conn.execute(select(schema.schema_version.c.version)).scalar_one()
        if found > LATEST:
            raise RuntimeError(
                f"the database is at schema version {found}, newer than this openprofiles "
                f"({LATEST}); upgrade openprofiles"
            )
        for step in STEPS[found - 1 :]:
            step(conn)
        if found != LATEST:
            conn.execute(update(schema.schema_version).values(version=LATEST))
        return found
