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
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import UserDefinedType

metadata = MetaData()


class _JsonbText(UserDefinedType[str]):
    """A ``jsonb`` column that the application reads and writes as JSON text: parameters go
    untyped (PostgreSQL reads the text as jsonb when it stores it) and the store's connections
    load jsonb values as text (store.db). PostgreSQL then keeps the document parsed, so queries
    into it (segments, attribute listings) do not parse it again for every row."""

    cache_ok = True

    def get_col_spec(self, **_: object) -> str:
        return "JSONB"


#: JSON documents that queries look into: text on SQLite, jsonb on PostgreSQL
JsonText = Text().with_variant(_JsonbText(), "postgresql")

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
    #: how phone numbers without a country code are read in this domain's keys, fixed at creation
    #: (from OPENPROFILES_PHONE_REGION) so that old and new key values always agree
    Column("phone_region", String(2), nullable=False),
    Column("default_encryption_key", String(255)),
    Column("dead_letter_queue_url", String(255)),
    Column("matching", Text),
    Column("rule_based_matching", Text),
    Column("data_store", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    #: a random number drawn anew whenever the domain's row, its object types or its calculated
    #: attribute definitions change: what a call may keep of them between calls is valid while
    #: the tag is the same (see engine.catalog)
    Column("catalog_tag", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("account_id", "region", "domain_name", name="uq_domains_name"),
)

object_types = Table(
    "object_types",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("domain_id", Integer, ForeignKey("domains.id"), nullable=False),
    Column("name", String(255), nullable=False),
    #: the PutProfileObjectType members that define it (Description, Fields, Keys, ...)
    Column("definition", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("domain_id", "name", name="uq_object_types_name"),
)

#: the counters behind GetDomain's Stats, kept by triggers (see store.stats): one row per domain
#: on SQLite, one per slot (server connection) on PostgreSQL, summed when read
domain_stats = Table(
    "domain_stats",
    metadata,
    Column("domain_id", Integer, ForeignKey("domains.id"), primary_key=True),
    Column("slot", Integer, primary_key=True),
    Column("profile_count", BigInteger, nullable=False, default=0, server_default="0"),
    Column("object_count", BigInteger, nullable=False, default=0, server_default="0"),
    Column("total_size", BigInteger, nullable=False, default=0, server_default="0"),
    #: units of MeteringProfileCount beyond one per profile
    Column("metering_extra", BigInteger, nullable=False, default=0, server_default="0"),
)

#: the content types of each key name of a domain: key names are domain-global, and a search
#: value is normalized as the key's values were
search_keys = Table(
    "search_keys",
    metadata,
    Column("domain_id", Integer, ForeignKey("domains.id"), primary_key=True),
    Column("key_name", String(64), primary_key=True),
    Column("content_types", String(255), nullable=False),
)

profiles = Table(
    "profiles",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("domain_id", Integer, ForeignKey("domains.id"), nullable=False),
    Column("profile_id", String(32), nullable=False),
    #: the standard profile's fields, as the API's Profile shape (without ProfileId)
    Column("document", JsonText, nullable=False),
    #: which writer set each field: field path -> rank (see engine.profiles)
    Column("provenance", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("domain_id", "profile_id", name="uq_profiles_id"),
)

#: the index behind SearchProfiles and ingestion's profile lookup: (key name, value) -> profile.
#: This and the other tables of small rows that are all key (object_keys, match_signatures) are,
#: on SQLite, the b-tree of their primary key (WITHOUT ROWID): a row is written once, not into a
#: table and again into its key's index, so a write changes fewer pages
profile_keys = Table(
    "profile_keys",
    metadata,
    Column("domain_id", Integer, nullable=False),
    Column("key_name", String(64), nullable=False),
    Column("key_value", String(1024), nullable=False),
    Column("profile_pk", BigInteger, ForeignKey("profiles.id"), nullable=False),
    #: 1 for keys derived from the profile's own fields (_email, _phone, ...), rebuilt on write
    Column("derived", Integer, nullable=False),
    PrimaryKeyConstraint("domain_id", "key_name", "key_value", "profile_pk", "derived"),
    Index("ix_profile_keys_profile", "profile_pk"),
    sqlite_with_rowid=False,
)

profile_objects = Table(
    "profile_objects",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("domain_id", Integer, ForeignKey("domains.id"), nullable=False),
    Column("profile_pk", BigInteger, ForeignKey("profiles.id"), nullable=False),
    Column("object_type_name", String(255), nullable=False),
    #: the value of the object type's UNIQUE key (ProfileObjectUniqueKey)
    Column("unique_key", String(1024), nullable=False),
    Column("document", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("source_updated_at", Float),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("expires_at", Float),
    UniqueConstraint("domain_id", "object_type_name", "unique_key", name="uq_profile_objects_key"),
    Index("ix_profile_objects_profile", "profile_pk", "object_type_name", "id"),
    Index("ix_profile_objects_expiry", "expires_at"),
)

#: the key values of each object, behind ListProfileObjects' ObjectFilter
object_keys = Table(
    "object_keys",
    metadata,
    Column("domain_id", Integer, nullable=False),
    Column("object_pk", BigInteger, ForeignKey("profile_objects.id"), nullable=False),
    Column("key_name", String(64), nullable=False),
    Column("key_value", String(1024), nullable=False),
    PrimaryKeyConstraint("object_pk", "key_name", "key_value"),
    sqlite_with_rowid=False,
)

#: objects that found no profile in a type that may not create one: the outbox of the domain's
#: dead-letter queue (see engine.dead_letters)
dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("domain_id", Integer, ForeignKey("domains.id"), nullable=False),
    Column("object_type_name", String(255), nullable=False),
    Column("document", Text, nullable=False),
    Column("reason", String(1000), nullable=False),
    Column("created_at", Float, nullable=False),
    #: when it was sent to the queue, or dropped (no queue); NULL while it is pending
    Column("delivered_at", Float),
    #: failed sends so far; a row is given up (left undelivered, not retried) at the limit
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    #: why the last send failed (or why the row was dropped)
    Column("last_error", Text),
    #: not retried before this time (backoff after a failed send); NULL: at once
    Column("next_attempt_at", Float),
    Index("ix_dead_letters_pending", "delivered_at", "id"),
)

#: calculated attribute definitions: the API members that define each one (see
#: engine.calculated.definitions)
calculated_attributes = Table(
    "calculated_attributes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("domain_id", Integer, ForeignKey("domains.id"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("definition", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("domain_id", "name", name="uq_calculated_attributes_name"),
)

#: what each object brings to each calculated attribute of its type (the output of
#: engine.calculated.values `observe`: its date and Expression value, after the Filter), written
#: with the object so that a read aggregates these rows instead of reading documents. Keyed by
#: object: deleting, replacing or moving (merge) an object does the same to its rows; expires_at
#: copies the object's, so that reads hide expired objects before the sweep deletes them
calculated_observations = Table(
    "calculated_observations",
    metadata,
    Column("domain_id", Integer, ForeignKey("domains.id"), nullable=False),
    Column("definition_id", Integer, ForeignKey("calculated_attributes.id"), nullable=False),
    Column("object_pk", BigInteger, ForeignKey("profile_objects.id"), nullable=False),
    Column("profile_pk", BigInteger, ForeignKey("profiles.id"), nullable=False),
    Column("observed_at", Float, nullable=False),
    Column("value", Text),
    Column("expires_at", Float),
    PrimaryKeyConstraint("object_pk", "definition_id"),
    #: a profile's observations of a definition: on SQLite the index holds every column a value
    #: reads (segments aggregate them for every candidate profile without touching the table);
    #: PostgreSQL's B-tree entries are size-limited, so there it holds the key only
    Index(
        "ix_calculated_observations_profile", "profile_pk", "definition_id", "observed_at",
        "expires_at", "value", "object_pk",
    ).ddl_if(dialect="sqlite"),
    Index("ix_calculated_observations_profile", "profile_pk", "definition_id").ddl_if(dialect="postgresql"),
)

#: segment definitions: the API members that define each one (see engine.segments.definitions)
segment_definitions = Table(
    "segment_definitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("domain_id", Integer, ForeignKey("domains.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("definition", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("domain_id", "name", name="uq_segment_definitions_name"),
)

#: segment estimates, counted when they are requested (see engine.segments.evaluate)
segment_estimates = Table(
    "segment_estimates",
    metadata,
    Column("estimate_id", String(32), primary_key=True),
    Column("domain_id", Integer, ForeignKey("domains.id"), nullable=False),
    Column("estimate", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
)

#: durable background jobs (segment snapshots, calculated attribute backfills, identity
#: resolution), run by openprofiles.jobs.runner. ``status`` is the runner's (QUEUED, RUNNING,
#: SUCCEEDED, FAILED); ``phase`` and ``progress`` what the job reports while it runs; ``request``
#: and ``result`` JSON. ``lease_until`` is wall-clock time: a RUNNING job whose lease has passed
#: lost its process, and is queued again (or failed after its last attempt). Other times are the
#: App clock's
jobs = Table(
    "jobs",
    metadata,
    Column("job_id", String(32), primary_key=True),
    Column("domain_id", Integer, ForeignKey("domains.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("subject", String(255)),
    Column("status", String(16), nullable=False),
    Column("phase", String(32)),
    Column("progress", Integer),
    Column("request", Text, nullable=False),
    Column("result", Text),
    Column("message", Text),
    Column("attempts", Integer, nullable=False),
    Column("lease_until", Float),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("ended_at", Float),
    Column("updated_at", Float, nullable=False),
    Index("ix_jobs_domain_kind", "domain_id", "kind", "subject", "created_at"),
    Index("ix_jobs_status", "status", "created_at"),
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

#: rule-based matching's index, rebuilt by each pass: the signature (a hash of the normalized
#: values, see engine.matching.rules) of each profile at each rule level; grouped in SQL
match_signatures = Table(
    "match_signatures",
    metadata,
    Column("domain_id", Integer, ForeignKey("domains.id"), nullable=False),
    Column("level", Integer, nullable=False),
    Column("signature", String(32), nullable=False),
    Column("profile_pk", BigInteger, nullable=False),
    PrimaryKeyConstraint("domain_id", "level", "signature", "profile_pk"),
    #: incremental matching replaces one profile's rows (engine.matching.incremental)
    Index("ix_match_signatures_profile", "domain_id", "profile_pk"),
    sqlite_with_rowid=False,
)

#: the match groups of the last rule-based pass (ListRuleBasedMatches, GetSimilarProfiles). By
#: profile id, not row id: a deleted profile's rows then match no profile, even one that reuses
#: its row id before the next pass
rule_based_matches = Table(
    "rule_based_matches",
    metadata,
    Column("domain_id", Integer, ForeignKey("domains.id"), nullable=False),
    Column("match_id", String(32), nullable=False),
    Column("rule_level", Integer, nullable=False),
    Column("profile_id", String(32), nullable=False),
    PrimaryKeyConstraint("domain_id", "match_id", "profile_id"),
    Index("ix_rule_based_matches_profile", "domain_id", "profile_id"),
)

#: the match groups of the domain's last ML identity resolution job (GetMatches,
#: GetSimilarProfiles, GetAutoMergingPreview), replaced whole when a job finds its matches
ml_matches = Table(
    "ml_matches",
    metadata,
    Column("domain_id", Integer, ForeignKey("domains.id"), nullable=False),
    Column("match_id", String(32), nullable=False),
    Column("profile_id", String(32), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("job_id", String(32), nullable=False),
    Column("generated_at", Float, nullable=False),
    PrimaryKeyConstraint("domain_id", "match_id", "profile_id"),
    Index("ix_ml_matches_profile", "domain_id", "profile_id"),
)

#: each domain's last rule-based pass, and its profiles' count and newest update then: a domain
#: whose figures differ now has changed since (see engine.matching.runner)
rule_based_passes = Table(
    "rule_based_passes",
    metadata,
    Column("domain_id", Integer, ForeignKey("domains.id"), primary_key=True),
    Column("profile_count", Integer, nullable=False),
    Column("newest_update", Float),
    Column("passed_at", Float, nullable=False),
)

#: tables whose rows belong to a domain (by a domain_id column), children first: deleting a
#: domain empties them in this order
DOMAIN_TABLES = (
    match_signatures, rule_based_matches, rule_based_passes, ml_matches,
    calculated_observations, object_keys, profile_objects, profile_keys, profiles, search_keys,
    object_types, dead_letters, jobs, calculated_attributes, segment_estimates, segment_definitions,
    domain_stats,
)
