"""Bulk ingestion: N objects through the engine's batch entry point versus a raw executemany of
the very rows it wrote, on SQLite, in the same run.

Ours: ``engine.bulk.put_profile_objects`` in batches (one transaction each) into a fresh SQLite
file: objects carry an email (PROFILE key, 60% as many distinct emails as objects, so both the
"new profile" and "existing profile" paths run), an order id (UNIQUE) and a first name (a
Target). The peer: the same rows (profiles, profile_keys, profile_objects, object_keys), read back
from our file and inserted with sqlite3's executemany into a fresh file of the same schema, in
chunks of the same size, one transaction each; only the inserts are timed. The peer's file has the
same schema, so the triggers that keep the domain's Stats counters (store.stats) run on both
sides. The ratio compares the
rows/s of both. Target: ours >= 0.35 x raw; the process's peak RSS stays under 400 MB.

    python benchmarks/bulk_ingest.py [--objects 1000000] [--batch 5000]
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openprofiles.engine import bulk, domains, object_types  # noqa: E402
from openprofiles.engine.tenancy import Tenant  # noqa: E402
from openprofiles.store.db import Store  # noqa: E402

TARGET, RSS_LIMIT_MB = 0.35, 400
TABLES = ("profiles", "profile_keys", "profile_objects", "object_keys")
TENANT = Tenant("123456789012", "us-east-1")
TYPE = {
    "Description": "orders",
    "AllowProfileCreation": True,
    "Fields": {
        "email": {"Source": "_source.email", "ContentType": "EMAIL_ADDRESS", "Target": "_profile.EmailAddress"},
        "first": {"Source": "_source.first", "Target": "_profile.FirstName"},
        "id": {"Source": "_source.id"},
    },
    "Keys": {
        "_email": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
        "orderId": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["id"]}],
    },
}


def objects(start: int, stop: int, people: int) -> list[str]:
    return [
        orjson.dumps(
            {"id": f"order-{n}", "email": f"Person{(n * 7919) % people}@Example.com", "first": f"Name{n % 997}",
             "total": n % 500, "items": ["a", "b"]}
        ).decode()
        for n in range(start, stop)
    ]


def ingest(path: Path, count: int, batch: int) -> float:
    store = Store(f"sqlite:///{path}")
    now = datetime.now(UTC)
    with store.transaction() as conn:
        domain = domains.create_domain(conn, TENANT, "bulk", {"DefaultExpirationDays": 365}, {}, now)
        object_types.put_object_type(conn, domain, "orders", TYPE, now)
    people = max(1, int(count * 0.6))
    started = time.perf_counter()
    for start in range(0, count, batch):
        texts = objects(start, min(count, start + batch), people)
        with store.transaction() as conn:
            domain = domains.get_domain(conn, TENANT, "bulk")
            kind = object_types.get_object_type(conn, domain, "orders")
            result = bulk.put_profile_objects(conn, domain, kind, texts, now)
            if result.errors:
                raise SystemExit(f"ingestion refused objects: {result.errors[:3]}")
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed


def raw_copy(source: Path, target: Path, batch: int) -> tuple[int, float]:
    src, dst = sqlite3.connect(source), sqlite3.connect(target, isolation_level=None)
    dst.execute("PRAGMA journal_mode=WAL")
    dst.execute("PRAGMA synchronous=NORMAL")
    rows, elapsed = 0, 0.0
    for table in TABLES:
        cursor = src.execute(f"SELECT * FROM {table}")  # noqa: S608 - our table names
        width = len(cursor.description)
        sql = f"INSERT INTO {table} VALUES ({','.join('?' * width)})"  # noqa: S608
        while chunk := cursor.fetchmany(batch):
            started = time.perf_counter()
            dst.execute("BEGIN")
            dst.executemany(sql, chunk)
            dst.execute("COMMIT")
            elapsed += time.perf_counter() - started
            rows += len(chunk)
    src.close()
    dst.close()
    return rows, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ours_path, raw_path = Path(tmp) / "ours.db", Path(tmp) / "raw.db"
        ours_time = ingest(ours_path, args.objects, args.batch)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        Store(f"sqlite:///{raw_path}").close()  # the same schema, empty but for the domain row

        with sqlite3.connect(raw_path) as dst, sqlite3.connect(ours_path) as src:
            for table in ("domains", "domain_stats"):  # the domain, its counters at zero
                cursor = src.execute(f"SELECT * FROM {table}")  # noqa: S608 - our table names
                columns = ",".join("?" * len(cursor.description))
                dst.executemany(f"INSERT INTO {table} VALUES ({columns})", cursor)  # noqa: S608
            dst.execute("UPDATE domain_stats SET profile_count = 0, object_count = 0, total_size = 0, metering_extra = 0")
        rows, raw_time = raw_copy(ours_path, raw_path, args.batch)
    ours_rate, raw_rate = rows / ours_time, rows / raw_time
    ratio = ours_rate / raw_rate
    print(f"data: {args.objects} objects in batches of {args.batch} -> {rows} rows in {', '.join(TABLES)}")
    print(f"openprofiles batch ingestion: {ours_time:.1f} s, {ours_rate:,.0f} rows/s ({args.objects / ours_time:,.0f} objects/s)")
    print(f"peer (raw sqlite3 executemany of the same rows): {raw_time:.1f} s, {raw_rate:,.0f} rows/s")
    print(f"ratio: {ratio:.3f}   target: >= {TARGET}")
    print(f"peak RSS of the ingesting process: {peak_mb:.0f} MB   target: < {RSS_LIMIT_MB} MB")
    ok = ratio >= TARGET and peak_mb < RSS_LIMIT_MB
    print(f"result: {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
