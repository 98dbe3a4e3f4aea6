"""CreateSegmentEstimate of a three-group segment at 1,000,000 profiles and 5,000,000 objects,
against the same selection hand-written as one SQL query on the same database; and
GetSegmentMembership of 100 profile ids.

For each store (``--stores sqlite,postgresql``):

Setup, through the API in-process (``build_app(Settings(db=...)).gateway``, no HTTP server): the
domain (DefaultExpirationDays 1000), the object type ``orders`` (fields orderId, email
(EMAIL_ADDRESS, target ``_profile.EmailAddress``), amount (NUMBER), date; PROFILE key ``_email``,
UNIQUE key ``OrderId``) and the calculated attribute ``total_spend``: SUM of ``{orders.amount}``
with a Range of the last 365 days and UseHistoricalData (its backfill job runs before any object
exists). The Range is exercised: orders are spread over the last 730 days, so about half of them
count. A throw-away domain with the same type and definition first receives one CreateProfile and
one PutProfileObject through the API, and the rows the engine wrote (profile document,
provenance, ``_email`` key, object row, calculated observation) must equal the rows the seeder
would write for the same input (exit 1 if not); that domain is deleted.

Seeding, straight into the tables the engine writes (the App closed meanwhile): PROFILES profiles
with documents as CreateProfile stores them (FirstName, LastName, BirthDate uniform over
1940-2006, PhoneNumber, EmailAddress, Address {City, State (population-weighted), Country,
PostalCode}, Attributes {tier gold 12% / silver 23% / bronze 30% / none 35%, channel,
newsletter}) and their derived ``_email`` row in ``profile_keys`` (the ``_fullName`` and ``_phone``
rows, and the ``object_keys`` and ``OrderId`` key rows of the objects, are not seeded: no segment
reads them); OBJECTS ``orders`` rows in ``profile_objects`` (owners drawn with log-normal weights:
about 5 per profile, skewed: median 3, a few hundred at most, about 14% of profiles without any;
ids in ingestion order, oldest first), each with its UNIQUE key, and its ``calculated_observations`` row exactly as
`engine.calculated.observations` writes it (observed at its ingestion time, value the amount's
text, the object's expiry). Ingestion times keep more than an hour away from the 365-day edge of
the Range, so the run's moving clock never moves an order across it. The secondary indexes of the
four tables are dropped before the load and created again after it with their own definitions;
SQLite: executemany, CHUNK rows per transaction, ``PRAGMA synchronous=OFF`` on the seeding
connection; PostgreSQL: COPY (``cursor.copy``) with ``session_replication_role = replica`` (the
rows are consistent by construction, so foreign keys are not checked row by row), sequences moved
past the ids. The triggers that keep the domain's Stats counters are dropped before the load, and
created again and the counters recounted after it (as schema upgrades do). Then ANALYZE
(PostgreSQL: VACUUM ANALYZE). The seeding time is printed. With the
App built again, GetCalculatedAttributeForProfile for SAMPLE profiles must give the sum the
generator computed for their orders in the window (exit 1 if not).

The segment (Include ALL): group 1, ``Attributes.tier`` INCLUSIVE gold, silver and
``Address.State`` INCLUSIVE the ten largest states (about 21%); group 2 (Type ANY),
``BirthDate`` BEFORE 1960-01-01 or BETWEEN 1985-01-01 and 1994-12-31 (about 45%); group 3,
``total_spend`` GREATER_THAN the whole-dollar 65th percentile of the seeded spends plus half a
cent (about 35%; the half cent keeps every two-decimal sum away from the bound, so that a double
sum and an exact sum agree). About 3.3% of the profiles are members; the generator's own count
of them is the oracle.

(1) CreateSegmentEstimate through the gateway (the count is taken in the create call; its
Estimate is read back with GetSegmentEstimate, untimed), against the same selection hand-written
as one SQL query, run on the App's own connection (``store.read()``): ``correlated`` (the
document's members with ``json_extract`` / ``#>>`` and the window's sum as a correlated subquery
on the profile's observations) and, on PostgreSQL, also ``grouped`` (a join with the
observations summed per profile under GROUP BY ... HAVING, which PostgreSQL can run in parallel;
on SQLite it takes several times as long as ``correlated``, so it is left out there) and
``parsed-once`` (the document cast to jsonb once per row in a LATERAL subquery, the profile
members tested on it in a fenced (OFFSET 0) subquery, and the correlated sum applied to the rows
that pass, so that it does not run first). ROUNDS rounds alternate the estimate and every
variant; the best time of each is kept, and the peer is the fastest variant (the ratio to each
variant is printed too). Every count must equal the estimate and the oracle (exit 1 if not).
Targets: estimate <= 1.5 x peer, and < 3 s.

(2) GetSegmentMembership through the gateway on a segment definition of the same groups, for 100
profile ids: 30 members, 35 profiles that pass groups 1 and 2 but not the calculated attribute,
35 others; each answer must match the oracle. Median of MEMBERSHIP_CALLS calls after a warm-up.
Target: < 50 ms.

The figures are recorded, not gated (exit 0 either way); a failed check exits 1.

    python benchmarks/segment_estimate.py [--stores sqlite,postgresql] [--profiles 1000000]
        [--objects 5000000] [--postgresql URL] [--keep]

``--postgresql`` names the server (default ``postgresql://postgres@127.0.0.1:5432/postgres``); a
scratch database ``openprofiles_bench_<hex>`` is created on it and dropped at the end. ``--keep``
keeps the SQLite file and the PostgreSQL database and prints where they are. At the defaults the
seeding takes several minutes per store.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import accumulate
from pathlib import Path
from typing import Any

import orjson
import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import gateway_call, verdict  # noqa: E402
from openprofiles.app import App, build_app  # noqa: E402
from openprofiles.store import stats  # noqa: E402
from openprofiles.store.db import Store  # noqa: E402
from openprofiles.config import Settings  # noqa: E402

TARGET_RATIO, TARGET_SECONDS, TARGET_MEMBERSHIP_MS = 1.5, 3.0, 50.0
PROFILES, OBJECTS = 1_000_000, 5_000_000
CHUNK = 100_000
ROUNDS = 3
SAMPLE = 20
MEMBERSHIP_CALLS, MEMBERSHIP_WARMUP = 20, 3
DOMAIN, PROBE_DOMAIN, SEGMENT = "bench-segments", "bench-segments-probe", "spenders"
TYPE_NAME, ATTRIBUTE = "orders", "total_spend"
EXPIRATION_DAYS, RANGE_DAYS, HISTORY_DAYS = 1000, 365, 730
DAY = 86400
MANUAL_RANK = 1  # engine.profiles.MANUAL: the rank CreateProfile gives every field
SEED = 20260101

TYPE = {
    "Description": "orders",
    "AllowProfileCreation": True,
    "Fields": {
        "orderId": {"Source": "_source.orderId"},
        "email": {"Source": "_source.email", "ContentType": "EMAIL_ADDRESS", "Target": "_profile.EmailAddress"},
        "amount": {"Source": "_source.amount", "ContentType": "NUMBER"},
        "date": {"Source": "_source.date"},
    },
    "Keys": {
        "_email": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
        "OrderId": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["orderId"]}],
    },
}  # fmt: skip
DEFINITION = {
    "Statistic": "SUM",
    "UseHistoricalData": True,
    "Conditions": {"Range": {"Value": RANGE_DAYS, "Unit": "DAYS"}},
    "AttributeDetails": {"Attributes": [{"Name": "amount"}], "Expression": "{orders.amount}"},
}

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony", "Sandra", "Mark", "Margaret",
    "Donald", "Ashley", "Steven", "Kimberly", "Andrew", "Emily", "Paul", "Donna", "Joshua", "Michelle",
    "Kenneth", "Carol", "Kevin", "Amanda", "Brian", "Melissa", "George", "Deborah", "Timothy", "Stephanie",
    "Ronald", "Rebecca", "Jason", "Sharon", "Edward", "Laura", "Jeffrey", "Cynthia", "Ryan", "Dorothy",
    "Jacob", "Amy", "Gary", "Kathleen", "Nicholas", "Angela", "Eric", "Shirley", "Jonathan", "Emma",
    "Luis", "Maria", "Wei", "Mei", "Carlos", "Ana", "Jose", "Sofia", "Ahmed", "Fatima",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
    "Chen", "Wang", "Kim", "Patel", "Singh", "Cohen", "Murphy", "Cook", "Rogers", "Morgan",
)  # fmt: skip
MAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "aol.com", "proton.me")
#: (state, weight (population, millions), cities, first ZIP digits)
STATES = (
    ("CA", 39.0, ("Los Angeles", "San Diego", "San Jose", "Fresno"), 900),
    ("TX", 30.0, ("Houston", "Dallas", "Austin", "San Antonio"), 750),
    ("FL", 22.2, ("Miami", "Orlando", "Tampa", "Jacksonville"), 320),
    ("NY", 19.6, ("New York", "Buffalo", "Rochester"), 100),
    ("PA", 13.0, ("Philadelphia", "Pittsburgh", "Allentown"), 150),
    ("IL", 12.5, ("Chicago", "Aurora", "Naperville"), 600),
    ("OH", 11.8, ("Columbus", "Cleveland", "Cincinnati"), 430),
    ("GA", 11.0, ("Atlanta", "Augusta", "Savannah"), 300),
    ("NC", 10.8, ("Charlotte", "Raleigh", "Greensboro"), 270),
    ("MI", 10.0, ("Detroit", "Grand Rapids", "Lansing"), 480),
    ("NJ", 9.3, ("Newark", "Jersey City", "Paterson"), 70),
    ("VA", 8.7, ("Virginia Beach", "Richmond", "Norfolk"), 220),
    ("WA", 7.8, ("Seattle", "Spokane", "Tacoma"), 980),
    ("AZ", 7.4, ("Phoenix", "Tucson", "Mesa"), 850),
    ("TN", 7.1, ("Nashville", "Memphis", "Knoxville"), 370),
    ("MA", 7.0, ("Boston", "Worcester", "Springfield"), 10),
    ("IN", 6.9, ("Indianapolis", "Fort Wayne"), 460),
    ("MO", 6.2, ("Kansas City", "St. Louis"), 630),
    ("MD", 6.2, ("Baltimore", "Columbia"), 210),
    ("WI", 5.9, ("Milwaukee", "Madison"), 530),
    ("CO", 5.9, ("Denver", "Colorado Springs"), 800),
    ("MN", 5.7, ("Minneapolis", "Saint Paul"), 550),
    ("SC", 5.4, ("Charleston", "Columbia"), 290),
    ("AL", 5.1, ("Birmingham", "Montgomery"), 350),
    ("LA", 4.6, ("New Orleans", "Baton Rouge"), 700),
    ("KY", 4.5, ("Louisville", "Lexington"), 400),
    ("OR", 4.2, ("Portland", "Eugene"), 970),
    ("OK", 4.0, ("Oklahoma City", "Tulsa"), 730),
    ("CT", 3.6, ("Bridgeport", "New Haven"), 60),
    ("UT", 3.4, ("Salt Lake City", "Provo"), 840),
)  # fmt: skip
TIERS = (("gold", 12), ("silver", 23), ("bronze", 30), ("none", 35))
CHANNELS = ("web", "store", "phone", "app")

# the segment
SEGMENT_TIERS = ("gold", "silver")
SEGMENT_STATES = tuple(s[0] for s in STATES[:10])
BORN_BEFORE = "1960-01-01"
BORN_BETWEEN = ("1985-01-01", "1994-12-31")
SPEND_QUANTILE = 0.65
BIRTH_FIRST, BIRTH_LAST = date(1940, 1, 1).toordinal(), date(2006, 12, 31).toordinal()


def segment_groups(threshold: str) -> dict[str, Any]:
    return {
        "Include": "ALL",
        "Groups": [
            {"Type": "ALL", "Dimensions": [
                {"ProfileAttributes": {"Attributes": {"tier": {"DimensionType": "INCLUSIVE", "Values": list(SEGMENT_TIERS)}}}},
                {"ProfileAttributes": {"Address": {"State": {"DimensionType": "INCLUSIVE", "Values": list(SEGMENT_STATES)}}}},
            ]},
            {"Type": "ANY", "Dimensions": [
                {"ProfileAttributes": {"BirthDate": {"DimensionType": "BEFORE", "Values": [BORN_BEFORE]}}},
                {"ProfileAttributes": {"BirthDate": {"DimensionType": "BETWEEN", "Values": list(BORN_BETWEEN)}}},
            ]},
            {"Type": "ALL", "Dimensions": [
                {"CalculatedAttributes": {ATTRIBUTE: {"DimensionType": "GREATER_THAN", "Values": [threshold]}}},
            ]},
        ],
    }  # fmt: skip


# --- the data -------------------------------------------------------------------------------


def _pick(rng: random.Random, cumulative: list[float]) -> int:
    return bisect_right(cumulative, rng.random() * cumulative[-1])


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@dataclass
class Dataset:
    """The seeded profiles and orders, as compact columns from which every row is formatted, and
    what the segment selects among them (the oracle)."""

    profiles: int
    objects: int
    seed: int = SEED
    #: the time the rows are written (set before seeding): orders are dated back from it
    base: float = 0.0
    first: array = field(init=False)
    last: array = field(init=False)
    mail: array = field(init=False)
    state: array = field(init=False)
    city: array = field(init=False)
    birth: array = field(init=False)
    tier: array = field(init=False)
    extra: array = field(init=False)
    owner: array = field(init=False)
    day: array = field(init=False)
    second: array = field(init=False)
    cents: array = field(init=False)
    spend: array = field(init=False)
    orders_in_window: array = field(init=False)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        n, m = self.profiles, self.objects
        states = list(accumulate(s[1] for s in STATES))
        tiers = list(accumulate(t[1] for t in TIERS))
        self.first, self.last, self.mail = array("H"), array("H"), array("B")
        self.state, self.city, self.tier, self.extra = array("B"), array("B"), array("B"), array("B")
        self.birth = array("i")
        for _ in range(n):
            self.first.append(rng.randrange(len(FIRST_NAMES)))
            self.last.append(rng.randrange(len(LAST_NAMES)))
            self.mail.append(rng.randrange(len(MAIL_DOMAINS)))
            s = _pick(rng, states)
            self.state.append(s)
            self.city.append(rng.randrange(len(STATES[s][2])))
            self.birth.append(rng.randint(BIRTH_FIRST, BIRTH_LAST))
            self.tier.append(_pick(rng, tiers))
            self.extra.append(rng.randrange(256))
        # orders: owners drawn with log-normal weights (about 5 per profile, skewed), the
        # oldest first (ids in ingestion order)
        weights = list(accumulate(rng.lognormvariate(0.0, 1.0) for _ in range(n)))
        self.owner = array("i")
        population = range(n)
        for start in range(0, m, 500_000):
            self.owner.extend(rng.choices(population, cum_weights=weights, k=min(500_000, m - start)))
        del weights
        self.day = array("H", (HISTORY_DAYS - 1 - (j * HISTORY_DAYS) // m for j in range(m)))
        # more than an hour from the whole days before ``base``, where the Range's edge falls
        self.second = array("i", (rng.randrange(3601, DAY - 3601) for _ in range(m)))
        self.cents = array("i", (99 + int(rng.lognormvariate(7.8, 0.8)) for _ in range(m)))
        self.spend = array("q", bytes(8 * n))
        self.orders_in_window = array("H", bytes(2 * n))
        for j in range(m):
            if self.day[j] < RANGE_DAYS:
                self.spend[self.owner[j]] += self.cents[j]
                self.orders_in_window[self.owner[j]] += 1

    # formatting

    @staticmethod
    def profile_id(index: int) -> str:
        return hashlib.md5(f"segment-bench-{index}".encode()).hexdigest()

    def email(self, index: int) -> str:
        return (f"{FIRST_NAMES[self.first[index]]}.{LAST_NAMES[self.last[index]]}{index}"
                f"@{MAIL_DOMAINS[self.mail[index]]}")

    def document(self, index: int) -> dict[str, Any]:
        """The profile as CreateProfile stores it (its members in the engine's order)."""
        state, cities, zip3 = STATES[self.state[index]][0], STATES[self.state[index]][2], STATES[self.state[index]][3]
        extra = self.extra[index]
        return {
            "FirstName": FIRST_NAMES[self.first[index]],
            "LastName": LAST_NAMES[self.last[index]],
            "BirthDate": date.fromordinal(self.birth[index]).isoformat(),
            "PhoneNumber": f"+1{2012000000 + (index * 7919) % 7_987_000_000}",
            "EmailAddress": self.email(index),
            "Address": {"City": cities[self.city[index]], "State": state, "Country": "USA",
                        "PostalCode": f"{zip3 + index % 10:03d}{index % 100:02d}"},
            "Attributes": {"tier": TIERS[self.tier[index]][0], "channel": CHANNELS[extra % 4],
                           "newsletter": "true" if extra & 4 else "false"},
        }  # fmt: skip

    @staticmethod
    def provenance(document: dict[str, Any]) -> dict[str, int]:
        """Every field (nested members by their path) at CreateProfile's rank."""
        ranks = {}
        for name, value in document.items():
            if isinstance(value, dict):
                ranks.update({f"{name}.{member}": MANUAL_RANK for member in value})
            else:
                ranks[name] = MANUAL_RANK
        return ranks

    def order(self, j: int) -> tuple[str, float]:
        """Order ``j``'s JSON text (as PutProfileObject receives it) and its ingestion time."""
        stamp = self.stamp(j)
        record = {"orderId": self.order_id(j), "email": self.email(self.owner[j]), "amount": money(self.cents[j]),
                  "date": datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip
        return orjson.dumps(record).decode(), stamp

    @staticmethod
    def order_id(j: int) -> str:
        return f"ORD-{j + 1:09d}"

    def stamp(self, j: int) -> float:
        return self.base - self.day[j] * DAY - self.second[j] - (j % 1000) / 1000

    # oracle

    def threshold(self) -> tuple[str, int]:
        """total_spend's bound: the whole-dollar quantile plus half a cent, and that in cents."""
        spends = sorted(self.spend)
        dollars = spends[int(len(spends) * SPEND_QUANTILE)] // 100
        return f"{dollars}.005", dollars * 100

    def groups_1_2(self, index: int) -> bool:
        if TIERS[self.tier[index]][0] not in SEGMENT_TIERS:
            return False
        if STATES[self.state[index]][0] not in SEGMENT_STATES:
            return False
        born = date.fromordinal(self.birth[index]).isoformat()
        return born < BORN_BEFORE or BORN_BETWEEN[0] <= born <= BORN_BETWEEN[1]

    def is_member(self, index: int, bound_cents: int) -> bool:
        return self.groups_1_2(index) and self.spend[index] > bound_cents

    # rows, as the engine writes them

    def profile_rows(self, start: int, stop: int, domain_id: int, pk_base: int) -> Iterator[tuple[tuple, tuple]]:
        created = self.base - 3 * 365 * DAY
        for i in range(start, stop):
            document = self.document(i)
            text = orjson.dumps(document).decode()
            pk = pk_base + i + 1
            yield (
                (pk, domain_id, self.profile_id(i), text, orjson.dumps(self.provenance(document)).decode(),
                 len(text), created, self.base),
                (domain_id, "_email", self.email(i).lower(), pk, 1),
            )  # fmt: skip

    def object_rows(
        self, start: int, stop: int, domain_id: int, definition_id: int, pk_base: int, object_base: int
    ) -> Iterator[tuple[tuple, tuple]]:
        for j in range(start, stop):
            text, stamp = self.order(j)
            expires = stamp + EXPIRATION_DAYS * DAY
            pk, owner = object_base + j + 1, pk_base + self.owner[j] + 1
            yield (
                (pk, domain_id, owner, TYPE_NAME, self.order_id(j), text, len(text.encode()), None, stamp, stamp,
                 expires),
                (domain_id, definition_id, pk, owner, stamp, money(self.cents[j]), expires),
            )  # fmt: skip


PROFILE_COLUMNS = ("id", "domain_id", "profile_id", "document", "provenance", "size", "created_at", "updated_at")
KEY_COLUMNS = ("domain_id", "key_name", "key_value", "profile_pk", "derived")
OBJECT_COLUMNS = ("id", "domain_id", "profile_pk", "object_type_name", "unique_key", "document", "size",
                  "source_updated_at", "created_at", "updated_at", "expires_at")  # fmt: skip
OBSERVATION_COLUMNS = ("domain_id", "definition_id", "object_pk", "profile_pk", "observed_at", "value", "expires_at")
SEEDED_TABLES = ("profiles", "profile_keys", "profile_objects", "calculated_observations")


def _insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


# --- the stores -----------------------------------------------------------------------------


@dataclass
class Target:
    """One store under test: its URL, and how to seed it and drop it."""

    kind: str
    url: str
    cleanup: Callable[[], None]
    where: str


def sqlite_target(tmp: Path) -> Target:
    path = tmp / "segments.db"
    return Target("sqlite", f"sqlite:///{path}", lambda: None, str(path))


def postgresql_target(server: str) -> Target:
    name = f"openprofiles_bench_{uuid.uuid4().hex[:10]}"
    admin = make_url(server).set(drivername="postgresql")
    admin_dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    url = admin.set(database=name).render_as_string(hide_password=False)
    return Target("postgresql", url, drop, url)


def seed_sqlite(target: Target, data: Dataset, ids: dict[str, int]) -> None:
    conn = sqlite3.connect(make_url(target.url).database, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-524288")  # 512 MiB, for this connection only
        marks = ",".join(f"'{t}'" for t in SEEDED_TABLES)
        indexes = conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        _load(data, ids, lambda table, columns, rows: conn.executemany(_insert(table, columns), rows),
              lambda: conn.execute("BEGIN"), lambda: conn.execute("COMMIT"))  # fmt: skip
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def seed_postgresql(target: Target, data: Dataset, ids: dict[str, int]) -> None:
    with psycopg.connect(target.url) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET maintenance_work_mem = '512MB'")
        indexes = conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
            "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conindid = (quote_ident(i.indexname))::regclass)", (list(SEEDED_TABLES),)
        ).fetchall()  # fmt: skip
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.commit()

        def copy(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
            with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as out:
                for row in rows:
                    out.write_row(row)

        _load(data, ids, copy, lambda: None, conn.commit)
        for _, sql in indexes:
            conn.execute(sql)
        for table in ("profiles", "profile_objects"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
    with psycopg.connect(target.url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _load(data: Dataset, ids: dict[str, int], write: Callable[[str, tuple[str, ...], list[tuple]], Any],
          begin: Callable[[], Any], commit: Callable[[], Any]) -> None:  # fmt: skip
    domain_id, definition_id = ids["domain"], ids["definition"]
    for start in range(0, data.profiles, CHUNK):
        pairs = list(data.profile_rows(start, min(start + CHUNK, data.profiles), domain_id, ids["profile_base"]))
        begin()
        write("profiles", PROFILE_COLUMNS, [p for p, _ in pairs])
        write("profile_keys", KEY_COLUMNS, [k for _, k in pairs])
        commit()
    for start in range(0, data.objects, CHUNK):
        pairs = list(data.object_rows(start, min(start + CHUNK, data.objects), domain_id, definition_id,
                                      ids["profile_base"], ids["object_base"]))  # fmt: skip
        begin()
        write("profile_objects", OBJECT_COLUMNS, [o for o, _ in pairs])
        write("calculated_observations", OBSERVATION_COLUMNS, [c for _, c in pairs])
        commit()


# --- through the API ------------------------------------------------------------------------


def create_domain(app: App, name: str) -> None:
    gateway_call(app.gateway, "POST", f"/domains/{name}", {"DefaultExpirationDays": EXPIRATION_DAYS})
    gateway_call(app.gateway, "PUT", f"/domains/{name}/object-types/{TYPE_NAME}", TYPE)
    gateway_call(app.gateway, "POST", f"/domains/{name}/calculated-attributes/{ATTRIBUTE}", DEFINITION)
    app.jobs.run_pending()  # the definition's backfill (no object yet)


def ids_of(app: App, name: str) -> dict[str, int]:
    with app.store.read() as conn:
        domain = conn.execute(text("SELECT id FROM domains WHERE domain_name = :n"), {"n": name}).scalar_one()
        definition = conn.execute(
            text("SELECT id FROM calculated_attributes WHERE domain_id = :d AND name = :n"),
            {"d": domain, "n": ATTRIBUTE},
        ).scalar_one()
        profile_base = conn.execute(text("SELECT coalesce(max(id), 0) FROM profiles")).scalar_one()
        object_base = conn.execute(text("SELECT coalesce(max(id), 0) FROM profile_objects")).scalar_one()
    return {"domain": domain, "definition": definition, "profile_base": int(profile_base),
            "object_base": int(object_base)}  # fmt: skip


def check_rows_match_engine(app: App, data: Dataset) -> list[str]:
    """One profile and one order through the API in a throw-away domain: the rows the engine
    wrote must be the rows the seeder writes for the same input. Problems found."""
    create_domain(app, PROBE_DOMAIN)
    data.base = time.time()
    index, j = 0, next(j for j in range(data.objects) if data.owner[j] == 0)
    document = data.document(index)
    made = gateway_call(app.gateway, "POST", f"/domains/{PROBE_DOMAIN}/profiles", document)
    order_text, _ = data.order(j)
    gateway_call(app.gateway, "PUT", f"/domains/{PROBE_DOMAIN}/profiles/objects",
                 {"ObjectTypeName": TYPE_NAME, "Object": order_text})  # fmt: skip
    ids = ids_of(app, PROBE_DOMAIN)
    problems = []
    with app.store.read() as conn:
        profile = conn.execute(text("SELECT * FROM profiles WHERE profile_id = :p"), {"p": made["ProfileId"]}).one()
        keys = conn.execute(
            text("SELECT key_name, key_value, derived FROM profile_keys WHERE profile_pk = :pk"), {"pk": profile.id}
        ).all()
        obj = conn.execute(text("SELECT * FROM profile_objects WHERE domain_id = :d"), {"d": ids["domain"]}).one()
        seen = conn.execute(
            text("SELECT * FROM calculated_observations WHERE object_pk = :o"), {"o": obj.id}
        ).one()
    want_profile, want_key = next(data.profile_rows(index, index + 1, ids["domain"], profile.id - 1))
    want_object, want_seen = next(data.object_rows(j, j + 1, ids["domain"], ids["definition"], profile.id - 1,
                                                   obj.id - j - 1))  # fmt: skip
    # documents compare as JSON: PostgreSQL keeps them as jsonb, which orders keys its own way
    got_profile = (profile.id, profile.domain_id, want_profile[2], orjson.loads(profile.document),
                   profile.provenance, profile.size, want_profile[6], want_profile[7])  # fmt: skip
    want_profile = (*want_profile[:3], orjson.loads(want_profile[3]), *want_profile[4:])
    if got_profile != want_profile:
        problems.append(f"profile row: engine {got_profile} != seeder {want_profile}")
    if (want_key[1], want_key[2], want_key[4]) not in {tuple(k) for k in keys}:
        problems.append(f"_email key: seeder {want_key} not among the engine's {keys}")
    got_object = tuple(getattr(obj, c) for c in OBJECT_COLUMNS)
    got_object = (*got_object[:8], want_object[8], want_object[9], want_object[10])
    if got_object != want_object or abs(obj.expires_at - obj.updated_at - EXPIRATION_DAYS * DAY) > 1e-3:
        problems.append(f"object row: engine {tuple(obj)} != seeder {want_object}")
    got_seen = tuple(getattr(seen, c) for c in OBSERVATION_COLUMNS)
    if got_seen[:4] + got_seen[5:6] != want_seen[:4] + want_seen[5:6] or seen.observed_at != obj.updated_at \
            or seen.expires_at != obj.expires_at:  # fmt: skip
        problems.append(f"observation row: engine {tuple(seen)} != seeder {want_seen}")
    gateway_call(app.gateway, "DELETE", f"/domains/{PROBE_DOMAIN}", {})
    return problems


def check_values(app: App, data: Dataset, rng: random.Random) -> list[str]:
    """GetCalculatedAttributeForProfile of SAMPLE profiles with orders in the window against the
    generator's sums. Problems found."""
    candidates = [i for i in range(0, data.profiles, max(1, data.profiles // 5000)) if data.orders_in_window[i]]
    problems = []
    for i in rng.sample(candidates, min(SAMPLE, len(candidates))):
        path = f"/domains/{DOMAIN}/profile/{data.profile_id(i)}/calculated-attributes/{ATTRIBUTE}"
        value = gateway_call(app.gateway, "GET", path, {}).get("Value")
        if value is None or Decimal(value) != Decimal(data.spend[i]) / 100:
            problems.append(f"profile {i}: {ATTRIBUTE} = {value}, seeded {money(data.spend[i])}")
    return problems


def estimate(app: App, groups: dict[str, Any]) -> tuple[float, int]:
    started = time.perf_counter()
    made = gateway_call(app.gateway, "POST", f"/domains/{DOMAIN}/segment-estimates", {"SegmentQuery": groups})
    elapsed = time.perf_counter() - started
    found = gateway_call(app.gateway, "GET", f"/domains/{DOMAIN}/segment-estimates/{made['EstimateId']}", {})
    return elapsed, int(found["Estimate"])


# --- the peer: the selection hand-written ---------------------------------------------------


def peer_queries(kind: str) -> dict[str, str]:
    """The segment as one SQL query, as written by hand for each database."""
    tiers = ", ".join(f"'{t}'" for t in SEGMENT_TIERS)
    states = ", ".join(f"'{s}'" for s in SEGMENT_STATES)
    if kind == "sqlite":
        def member(path: str) -> str:
            return f"json_extract(p.document, '$.{path}')"

        number = "CAST(o.value AS REAL)"
    else:
        def member(path: str) -> str:
            return f"(p.document::jsonb #>> '{{{path.replace('.', ',')}}}')"

        number = "o.value::numeric"
    filters = (
        f"{member('Attributes.tier')} IN ({tiers}) AND {member('Address.State')} IN ({states}) "
        f"AND ({member('BirthDate')} < '{BORN_BEFORE}' "
        f"OR {member('BirthDate')} BETWEEN '{BORN_BETWEEN[0]}' AND '{BORN_BETWEEN[1]}')"
    )
    window = ("o.definition_id = :definition AND (o.expires_at IS NULL OR o.expires_at > :now) "
              "AND o.observed_at BETWEEN :since AND :now")  # fmt: skip
    correlated = (
        f"SELECT count(*) FROM profiles p WHERE p.domain_id = :domain AND {filters} "
        f"AND (SELECT sum({number}) FROM calculated_observations o WHERE o.profile_pk = p.id AND {window}) > :bound"
    )
    if kind == "sqlite":
        return {"correlated": correlated}
    grouped = (
        f"SELECT count(*) FROM profiles p JOIN (SELECT o.profile_pk FROM calculated_observations o WHERE {window} "
        f"GROUP BY o.profile_pk HAVING sum({number}) > :bound) s ON s.profile_pk = p.id "
        f"WHERE p.domain_id = :domain AND {filters}"
    )
    once = filters.replace("(p.document::jsonb #>> ", "(d.j #>> ")
    parsed_once = (
        "SELECT count(*) FROM (SELECT p.id FROM profiles p CROSS JOIN LATERAL (SELECT p.document::jsonb AS j "
        f"OFFSET 0) d WHERE p.domain_id = :domain AND {once} OFFSET 0) p "
        f"WHERE (SELECT sum({number}) FROM calculated_observations o WHERE o.profile_pk = p.id AND {window}) > :bound"
    )
    queries = {"correlated": correlated, "grouped": grouped, "parsed-once": parsed_once}
    return queries


def run_peer(app: App, sql: str, ids: dict[str, int], threshold: str) -> tuple[float, int]:
    now = time.time()
    params = {"domain": ids["domain"], "definition": ids["definition"], "now": now,
              "since": now - RANGE_DAYS * DAY, "bound": float(threshold) if app.store.dialect == "sqlite"
              else Decimal(threshold)}  # fmt: skip
    started = time.perf_counter()
    with app.store.read() as conn:
        count = int(conn.execute(text(sql), params).scalar_one())
    return time.perf_counter() - started, count


# --- one store ------------------------------------------------------------------------------


def membership_ids(data: Dataset, bound: int, rng: random.Random) -> tuple[list[str], set[str]]:
    members, near, others = [], [], []
    for i in rng.sample(range(data.profiles), data.profiles):
        if data.is_member(i, bound):
            if len(members) < 30:
                members.append(i)
        elif data.groups_1_2(i):
            if len(near) < 35:
                near.append(i)
        elif len(others) < 35:
            others.append(i)
        if len(members) == 30 and len(near) == 35 and len(others) == 35:
            break
    chosen = members + near + others
    rng.shuffle(chosen)
    return [data.profile_id(i) for i in chosen], {data.profile_id(i) for i in members}


def in_store(target: Target, work: Callable[[Any], Any]) -> None:
    """Run ``work(conn)`` in one transaction of the target's store."""
    store = Store(target.url)
    try:
        with store.transaction() as conn:
            work(conn)
    finally:
        store.close()


def run_store(target: Target, data: Dataset) -> tuple[dict[str, Any], bool]:
    """Set up, seed and measure one store; its figures, and whether every check held."""
    rng = random.Random(SEED + 1)
    settings = Settings(db=target.url)
    app = build_app(settings)
    try:
        create_domain(app, DOMAIN)
        problems = check_rows_match_engine(app, data)
        ids = ids_of(app, DOMAIN)
    finally:
        app.close()
    if problems:
        for problem in problems:
            print(f"  seeded rows differ from the engine's: {problem}")
        return {}, False
    data.base = time.time()
    started = time.perf_counter()
    in_store(target, stats.drop_triggers)  # the Stats counters are counted once after the load
    (seed_sqlite if target.kind == "sqlite" else seed_postgresql)(target, data, ids)
    in_store(target, lambda conn: (stats.create_triggers(conn), stats.recount(conn)))
    seeding = time.perf_counter() - started
    print(f"  seeded {data.profiles} profiles, {data.objects} orders and their observations in {seeding:.1f} s")

    app = build_app(settings)
    try:
        problems = check_values(app, data, rng)
        for problem in problems:
            print(f"  calculated attribute differs from the seeded sum: {problem}")
        threshold, bound = data.threshold()
        groups = segment_groups(threshold)
        expected = sum(1 for i in range(data.profiles) if data.is_member(i, bound))
        estimate(app, groups)  # warm-up: caches, the pages of the tables
        queries = peer_queries(target.kind)
        times: dict[str, list[float]] = {name: [] for name in ("estimate", *queries)}
        counts: dict[str, set[int]] = {name: set() for name in times}
        for round_ in range(ROUNDS):
            order = ["estimate", *queries] if round_ % 2 == 0 else [*queries, "estimate"]
            for name in order:
                elapsed, count = estimate(app, groups) if name == "estimate" else run_peer(
                    app, queries[name], ids, threshold)
                times[name].append(elapsed)
                counts[name].add(count)
        best = {name: min(values) for name, values in times.items()}
        peer_name = min(queries, key=lambda name: best[name])
        counts_ok = all(found == {expected} for found in counts.values())

        gateway_call(app.gateway, "POST", f"/domains/{DOMAIN}/segment-definitions/{SEGMENT}",
                     {"DisplayName": "big spenders", "SegmentGroups": groups})  # fmt: skip
        profile_ids, members = membership_ids(data, bound, rng)
        path = f"/domains/{DOMAIN}/segments/{SEGMENT}/membership"
        answer = gateway_call(app.gateway, "POST", path, {"ProfileIds": profile_ids})
        present = {p["ProfileId"] for p in answer.get("Profiles", []) if p.get("QueryResult") == "PRESENT"}
        membership_ok = present == members and not answer.get("Failures")
        for _ in range(MEMBERSHIP_WARMUP):
            gateway_call(app.gateway, "POST", path, {"ProfileIds": profile_ids})
        latencies = []
        for _ in range(MEMBERSHIP_CALLS):
            started = time.perf_counter()
            gateway_call(app.gateway, "POST", path, {"ProfileIds": profile_ids})
            latencies.append(time.perf_counter() - started)
    finally:
        app.close()
    figures = {
        "seeding": seeding, "threshold": threshold, "expected": expected, "times": times, "counts": counts,
        "best": best, "peer": peer_name, "membership": statistics.median(latencies) * 1000,
        "membership_p90": sorted(latencies)[int(len(latencies) * 0.9) - 1] * 1000, "members": len(members),
        "queries": queries,
    }  # fmt: skip
    checks = not problems and counts_ok and membership_ok
    if not counts_ok:
        print(f"  counts differ: {counts} (oracle {expected})")
    if not membership_ok:
        print(f"  membership differs: {len(present)} PRESENT, {len(members)} expected, "
              f"{len(present ^ members)} wrong, failures {answer.get('Failures')}")  # fmt: skip
    return figures, checks


def report(figures: dict[str, Any], data: Dataset) -> bool:
    best, peer = figures["best"], figures["peer"]
    ratio = best["estimate"] / best[peer]
    ok_ratio, ok_abs = ratio <= TARGET_RATIO, best["estimate"] < TARGET_SECONDS
    ok_membership = figures["membership"] < TARGET_MEMBERSHIP_MS
    print(f"  segment: tier in {SEGMENT_TIERS} and State in 10 states; BirthDate < {BORN_BEFORE} or in "
          f"{BORN_BETWEEN}; {ATTRIBUTE} (SUM, last {RANGE_DAYS} days) > {figures['threshold']}: "
          f"{figures['expected']} of {data.profiles} profiles")  # fmt: skip
    print(f"  (1) CreateSegmentEstimate vs the hand-written query, {ROUNDS} alternating rounds, best of each:")
    for name, values in figures["times"].items():
        label = "CreateSegmentEstimate" if name == "estimate" else f"hand-written, {name}"
        print(f"    {label}: best {min(values):.3f} s (runs: {', '.join(f'{v:.3f}' for v in values)})")
    print(f"    peer (fastest hand-written): {peer}, {best[peer]:.3f} s; ratio to each variant: "
          + ", ".join(f"{name} {best['estimate'] / best[name]:.2f}" for name in figures["queries"]))
    print(f"    ratio estimate / peer: {ratio:.2f} (target <= {TARGET_RATIO}) {verdict(ok_ratio)}")
    print(f"    estimate: {best['estimate']:.3f} s (target < {TARGET_SECONDS:.0f} s) {verdict(ok_abs)}")
    print(f"  (2) GetSegmentMembership, 100 ids ({figures['members']} members): median "
          f"{figures['membership']:.1f} ms, p90 {figures['membership_p90']:.1f} ms over {MEMBERSHIP_CALLS} calls "
          f"(target < {TARGET_MEMBERSHIP_MS:.0f} ms) {verdict(ok_membership)}")  # fmt: skip
    return ok_ratio and ok_abs and ok_membership


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--profiles", type=int, default=PROFILES)
    parser.add_argument("--objects", type=int, default=OBJECTS)
    parser.add_argument("--postgresql", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="the PostgreSQL server (a scratch database is created on it)")
    parser.add_argument("--keep", action="store_true", help="keep the databases, print where they are")
    args = parser.parse_args()
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if set(stores) - {"sqlite", "postgresql"}:
        parser.error("--stores takes sqlite and/or postgresql")
    started = time.perf_counter()
    data = Dataset(args.profiles, args.objects)
    print("benchmark: segment_estimate (CreateSegmentEstimate and GetSegmentMembership, in-process gateway)")
    print(f"data: {args.profiles} profiles, {args.objects} orders (generated in {time.perf_counter() - started:.1f} s)")
    tmp = Path(tempfile.mkdtemp(prefix="openprofiles-bench-"))
    all_checks, all_pass = True, True
    try:
        for kind in stores:
            target = sqlite_target(tmp) if kind == "sqlite" else postgresql_target(args.postgresql)
            print(f"store: {kind}")
            try:
                figures, checks = run_store(target, data)
                all_checks &= checks
                if figures:
                    all_pass &= report(figures, data)
            finally:
                if args.keep:
                    print(f"  kept: {target.where}")
                else:
                    target.cleanup()
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"result: {verdict(all_pass)}" + ("" if all_checks else " (a check failed: see above)"))
    print(f"total time: {time.perf_counter() - started:.0f} s")
    return 0 if all_checks else 1


if __name__ == "__main__":
    sys.exit(main())
