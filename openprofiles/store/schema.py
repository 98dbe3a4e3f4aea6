"""Every table of the store.

Rows of a domain are keyed by the domain's integer id (``domain_id``), itself unique per
(account_id, region, domain_name): compact indexes, and one column to distribute by. Times are
epoch seconds (float) so that SQLite and PostgreSQL compare them alike. JSON documents are kept
as text serialized with orjson.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

#: an auto-incrementing 64-bit key (SQLite only auto-increments INTEGER PRIMARY KEY)
BigId = BigInteger().with_variant(Integer(), "sqlite")

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)

domains = Table(
    "domains",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("domain_name", String(64), nullable=False),
    Column("default_expiration_days", Integer, nullable=False),
    Column("default_encryption_key", String(255)),
    Column("dead_letter_queue_url", String(255)),
    Column("matching", Text),
    Column("rule_based_matching", Text),
    Column("data_store", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("account_id", "region", "domain_name", name="uq_domains_name"),
)

profiles = Table(
    "profiles",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("domain_id", Integer, ForeignKey("domains.id"), nullable=False),
    Column("profile_id", String(32), nullable=False),
    Column("document", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("domain_id", "profile_id", name="uq_profiles_id"),
)

profile_objects = Table(
    "profile_objects",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("domain_id", Integer, ForeignKey("domains.id"), nullable=False),
    Column("profile_pk", BigInteger, ForeignKey("profiles.id"), nullable=False),
    Column("object_type_name", String(255), nullable=False),
    Column("document", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("expires_at", Float),
    Index("ix_profile_objects_profile", "domain_id", "profile_pk", "object_type_name"),
)

tags = Table(
    "tags",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("resource_arn", String(1024), primary_key=True),
    Column("tag_key", String(128), primary_key=True),
    Column("tag_value", String(256), nullable=False),
)

#: tables whose rows belong to a domain, children first: deleting a domain empties them in order
DOMAIN_TABLES = (profile_objects, profiles)
