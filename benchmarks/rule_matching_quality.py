"""Rule-based matching: quality on a labelled test bed, and the speed of the pass at 1M profiles.

**Quality.** For each size (``--sizes``, default 10,000 and 100,000 profiles) the test bed of
``identity_testbed.py`` (seeded; people with 1-4 noisy records, true clusters known) goes into a
fresh SQLite file through ``engine.profiles.create_profile`` (one transaction per 5,000). Each rule
set is configured on the domain (CreateDomain, then UpdateDomain for the next one), one pass of
``engine.matching.runner.run_rule_based_matching`` runs, and its groups are read from
``rule_based_matches`` (a profile in no group is a singleton). Printed: pairwise precision,
recall and F1 against the true clusters, the pass's wall time, the process's peak RSS.

Rule sets compared:

- ``default``: no MatchingRules, no AttributeTypesSelector: the engine's defaults
  (engine.matching.rules.DEFAULT_RULES and DEFAULT_SELECTOR), which were chosen with this bed;
- ``reference``: REFERENCE 2.3's suggested rules, L1 [EmailAddress, FirstName, LastName],
  L2 [PhoneNumber, FirstName, LastName], L3 [AccountNumber], ONE_TO_ONE with each type only its
  own field: what the defaults are measured against.

**Speed.** ``--speed-size`` profiles (default 1,000,000) of the same test bed are written straight
into the profiles table (executemany of the rows create_profile writes, without the search keys,
which the pass does not read), then the pass of the default rule set runs in a child process, so
its peak RSS is its own. Target: < 60 s and peak RSS < 4 GB. The peer, in the same run: the very
signature rows the pass indexed, read back in its primary key's order (the order the pass
bulk-loads them in) and inserted with sqlite3's executemany into a fresh table of the same
CREATE TABLE (primary key, without the index by profile that the
pass also builds; one transaction), plus one GROUP BY query returning the signatures that 2 to
500 profiles share: the raw SQL work of the pass, without reading profiles, computing signatures
or groups, or storing the groups. The ratio is the pass's time over the peer's. Every figure is
printed; exit 0 either way.

    python benchmarks/rule_matching_quality.py [--sizes 10000 100000] [--speed-size 1000000]
        [--seed 42] [--rule-sets default reference]
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from identity_testbed import iter_generate, pairwise_scores  # noqa: E402

from openprofiles.clock import Clock  # noqa: E402
from openprofiles.engine import domains  # noqa: E402
from openprofiles.engine import profiles as profile_engine  # noqa: E402
from openprofiles.engine.matching.rules import DEFAULT_RULES, DEFAULT_SELECTOR  # noqa: E402
from openprofiles.engine.matching.runner import run_rule_based_matching  # noqa: E402
from openprofiles.engine.tenancy import Tenant  # noqa: E402
from openprofiles.store import profiles as profile_store  # noqa: E402
from openprofiles.store.db import Store  # noqa: E402

TARGET_SECONDS, RSS_LIMIT_MB = 60.0, 4096
BATCH = 5000
TENANT = Tenant("123456789012", "us-east-1")
DOMAIN = "testbed"
RULE_SETS: dict[str, dict[str, Any]] = {
    "default": {"Enabled": True},
    "reference": {
        "Enabled": True,
        "MatchingRules": [
            {"Rule": ["EmailAddress", "FirstName", "LastName"]},
            {"Rule": ["PhoneNumber", "FirstName", "LastName"]},
            {"Rule": ["AccountNumber"]},
        ],
        "AttributeTypesSelector": {
            "AttributeMatchingModel": "ONE_TO_ONE",
            "EmailAddress": ["EmailAddress"],
            "PhoneNumber": ["PhoneNumber"],
            "Address": ["Address"],
        },
    },
}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def describe(config: dict[str, Any]) -> str:
    rules = [r["Rule"] for r in config.get("MatchingRules", [])] or DEFAULT_RULES
    selector = config.get("AttributeTypesSelector") or DEFAULT_SELECTOR
    levels = ", ".join(f"L{i} [{', '.join(r)}]" for i, r in enumerate(rules, start=1))
    kinds = "; ".join(f"{k}: {', '.join(v)}" for k, v in selector.items() if k != "AttributeMatchingModel")
    origin = "engine defaults" if "MatchingRules" not in config else "configured"
    return f"{origin}: {levels}; {selector['AttributeMatchingModel']} ({kinds})"


def new_domain(store: Store, config: dict[str, Any]) -> dict[str, Any]:
    with store.transaction() as conn:
        settings = {"DefaultExpirationDays": 365, "RuleBasedMatching": config}
        return domains.create_domain(conn, TENANT, DOMAIN, settings, {}, datetime.now(UTC))


def insert_via_engine(store: Store, records: list[tuple[int, dict[str, Any]]]) -> dict[str, int]:
    """create_profile for each record, one transaction per BATCH; profile id -> record index."""
    index: dict[str, int] = {}
    now = datetime.now(UTC)
    for start in range(0, len(records), BATCH):
        with store.transaction() as conn:
            domain = domains.get_domain(conn, TENANT, DOMAIN)
            for i in range(start, min(len(records), start + BATCH)):
                index[profile_engine.create_profile(conn, domain, records[i][1], now)] = i
    return index


def insert_rows(store: Store, domain_id: int, n: int, seed: int) -> list[int]:
    """The test bed written straight into the profiles table (profile id = record index in
    hex); the true cluster of each record."""
    from sqlalchemy import insert

    from openprofiles.store.query import execute_many
    from openprofiles.store.schema import profiles

    clusters: list[int] = []
    now = datetime.now(UTC).timestamp()
    rows: list[dict[str, Any]] = []

    def flush() -> None:
        with store.transaction() as conn:
            execute_many(conn, insert(profiles), rows)
        rows.clear()

    for i, (cluster, fields) in enumerate(iter_generate(n, seed)):
        clusters.append(cluster)
        document = {k: v for k, v in fields.items() if k in profile_engine.FIELDS and v not in (None, {}, [])}
        provenance = dict.fromkeys(profile_engine.leaf_paths(document), profile_engine.MANUAL)
        rows.append({"domain_id": domain_id, "profile_id": f"{i:032x}",
                     **profile_store.encode(document, provenance), "created_at": now, "updated_at": now})
        if len(rows) == BATCH:
            flush()
    if rows:
        flush()
    return clusters


def found_labels(db_path: Path, index: dict[str, int] | None, n: int) -> tuple[list[str | None], int, dict[int, int]]:
    """Per record, its match id (None: in no group); the number of groups; groups per level."""
    labels: list[str | None] = [None] * n
    groups: dict[str, int] = {}
    with sqlite3.connect(db_path) as conn:
        for match_id, level, profile_id in conn.execute(
            "SELECT match_id, rule_level, profile_id FROM rule_based_matches"
        ):
            labels[index[profile_id] if index is not None else int(profile_id, 16)] = match_id
            groups[match_id] = level
    per_level: dict[int, int] = {}
    for level in groups.values():
        per_level[level] = per_level.get(level, 0) + 1
    return labels, len(groups), dict(sorted(per_level.items()))


def quality(sizes: list[int], seed: int, rule_sets: list[str], tmp: Path) -> None:
    for n in sizes:
        records = list(iter_generate(n, seed))
        truth = [cluster for cluster, _ in records]
        people = len(set(truth))
        print(f"\n== {n:,} profiles, {people:,} people (seed {seed}), "
              f"{n - people:,} duplicate records ==")
        path = tmp / f"quality-{n}.db"
        store = Store(f"sqlite:///{path}")
        started = time.perf_counter()
        new_domain(store, RULE_SETS[rule_sets[0]])
        index = insert_via_engine(store, records)
        print(f"inserted through create_profile in {time.perf_counter() - started:.1f} s")
        del records
        for k, name in enumerate(rule_sets):
            config = RULE_SETS[name]
            if k:
                with store.transaction() as conn:
                    domains.update_domain(conn, TENANT, DOMAIN, {"RuleBasedMatching": config}, {},
                                          datetime.now(UTC))
            started = time.perf_counter()
            run_rule_based_matching(store, Clock())
            elapsed = time.perf_counter() - started
            labels, groups, per_level = found_labels(path, index, n)
            precision, recall, f1 = pairwise_scores(truth, labels)
            print(f"{name}: {describe(config)}")
            print(f"  precision {precision:.4f}  recall {recall:.4f}  F1 {f1:.4f}  "
                  f"groups {groups:,} (per level {per_level})  pass {elapsed:.1f} s  "
                  f"peak RSS {rss_mb():.0f} MB")
        store.close()
        path.unlink()


def pass_only(url: str) -> None:
    """Child process: one pass over the store; prints its wall time and peak RSS as JSON."""
    store = Store(url)
    started = time.perf_counter()
    run_rule_based_matching(store, Clock())
    elapsed = time.perf_counter() - started
    store.close()
    print(json.dumps({"seconds": elapsed, "peak_rss_mb": rss_mb()}))


def peer(source: Path, target: Path, chunk: int = 20000) -> tuple[int, int, float]:
    """Insert the pass's signature rows into a fresh table with raw executemany, then one GROUP
    BY query; (rows, shared rows, seconds of inserts and query)."""
    src = sqlite3.connect(source)
    ddl = src.execute("SELECT sql FROM sqlite_master WHERE name = 'match_signatures'").fetchone()[0]
    dst = sqlite3.connect(target, isolation_level=None)
    dst.execute("PRAGMA journal_mode=WAL")
    dst.execute("PRAGMA synchronous=NORMAL")
    dst.execute(ddl)
    cursor = src.execute(
        "SELECT domain_id, level, signature, profile_pk FROM match_signatures"
        " ORDER BY domain_id, level, signature, profile_pk"
    )
    rows, elapsed = 0, 0.0
    started = time.perf_counter()
    dst.execute("BEGIN")
    elapsed += time.perf_counter() - started
    while batch := cursor.fetchmany(chunk):
        started = time.perf_counter()
        dst.executemany("INSERT INTO match_signatures VALUES (?, ?, ?, ?)", batch)
        elapsed += time.perf_counter() - started
        rows += len(batch)
    started = time.perf_counter()
    dst.execute("COMMIT")
    shared = dst.execute(
        "SELECT m.level, m.signature, m.profile_pk FROM match_signatures m JOIN ("
        " SELECT domain_id, level, signature FROM match_signatures"
        " GROUP BY domain_id, level, signature HAVING COUNT(*) BETWEEN 2 AND 500) s"
        " ON s.domain_id = m.domain_id AND s.level = m.level AND s.signature = m.signature"
        " ORDER BY m.domain_id, m.level, m.signature, m.profile_pk"
    ).fetchall()
    elapsed += time.perf_counter() - started
    src.close()
    dst.close()
    return rows, len(shared), elapsed


def speed(n: int, seed: int, tmp: Path) -> None:
    path = tmp / f"speed-{n}.db"
    store = Store(f"sqlite:///{path}")
    domain = new_domain(store, RULE_SETS["default"])
    started = time.perf_counter()
    truth = insert_rows(store, domain["id"], n, seed)
    store.close()
    print(f"\n== speed: {n:,} profiles (seed {seed}), default rule set ==")
    print(f"generated and inserted (raw rows) in {time.perf_counter() - started:.1f} s")
    child = subprocess.run(
        [sys.executable, __file__, "--pass-only", f"sqlite:///{path}"],
        capture_output=True, text=True, check=False,
    )
    if child.returncode:
        raise SystemExit(f"the pass failed:\n{child.stderr}")
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    ours, peak = figures["seconds"], figures["peak_rss_mb"]
    labels, groups, per_level = found_labels(path, None, n)
    precision, recall, f1 = pairwise_scores(truth, labels)
    rows, shared, raw = peer(path, tmp / "peer.db")
    print(f"data: {n:,} profiles -> {rows:,} signatures, {shared:,} in shared signatures, "
          f"{groups:,} groups (per level {per_level}); precision {precision:.4f} recall "
          f"{recall:.4f} F1 {f1:.4f}")
    print(f"openprofiles rule-based pass: {ours:.1f} s ({n / ours:,.0f} profiles/s)   "
          f"target: < {TARGET_SECONDS:.0f} s at 1,000,000 profiles")
    print(f"peer (raw sqlite3 executemany of the same signatures + one GROUP BY): {raw:.1f} s")
    print(f"ratio (pass / peer): {ours / raw:.1f}")
    print(f"peak RSS of the pass's process: {peak:.0f} MB   target: < {RSS_LIMIT_MB} MB")
    ok = n >= 1_000_000 and ours < TARGET_SECONDS and peak < RSS_LIMIT_MB
    note = "" if n >= 1_000_000 else f" (size {n:,} < 1,000,000: the target is not measured)"
    print(f"result: {'PASS' if ok else 'FAIL'}{note}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--speed-size", type=int, default=1_000_000, help="0 skips the speed run")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rule-sets", nargs="+", default=list(RULE_SETS), choices=list(RULE_SETS))
    parser.add_argument("--pass-only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pass_only:
        pass_only(args.pass_only)
        return
    with tempfile.TemporaryDirectory() as tmp:
        quality(args.sizes, args.seed, args.rule_sets, Path(tmp))
        if args.speed_size:
            speed(args.speed_size, args.seed, Path(tmp))


if __name__ == "__main__":
    main()
