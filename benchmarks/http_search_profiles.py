"""SearchProfiles by ``_email`` over HTTP: throughput against a minimal ASGI app, and how the
latency of one call scales from SMALL to LARGE profiles in the domain.

Data: two SQLite files, one domain each, holding SMALL (10,000) and LARGE (1,000,000) profiles.
Seeding that many through the API is too slow, so each file is seeded directly: the server is
started once on it (so that it creates the schema), the domain is created through the API, the
server is stopped; then the profiles go in with ``executemany`` in chunks of CHUNK rows, one
transaction per chunk (PRAGMA synchronous=OFF, journal_mode=WAL): a row in ``profiles`` (document
``{"FirstName": "First<i>", "EmailAddress": "Person<i>@Example.com"}``, provenance ``{}``) and its
derived ``_email`` row in ``profile_keys`` (the lower-cased email, derived = 1; the ``_fullName``
row a server-made profile would also derive is not seeded, since no search here uses it). The WAL
is checkpointed into the file, and a server (the same build) is started on each file.
GetDomain's ProfileCount is checked against the seeded size.

(a) Throughput: wrk ``-t1 -c16`` sends ``POST /domains/<d>/profiles/search`` with
``{"KeyName": "_email", "Values": ["<email>"]}`` to the SMALL server, the Lua ``request()`` picking
a random seeded email (in its stored case, so normalization runs) per request; the peer is
minimal_asgi.py under the same uvicorn settings and the same wrk script. WARMUP then DURATION
seconds each, alternating ROUNDS times, best of each. Every openprofiles answer must be 200 and
hold a profile. Target: openprofiles >= 0.30 x minimal.

(b) Scale: single SearchProfiles calls, one after another, over one keep-alive
``http.client.HTTPConnection`` per server (the same client for both sizes), LATENCY_CALLS calls
per size for random seeded emails, interleaved in LATENCY_BLOCKS blocks (SMALL, LARGE, SMALL, ...)
so that the machine's noise falls on both alike, after a warm-up. Each answer must be 200 and hold
exactly the one profile with that email. Target: median at LARGE <= 1.3 x median at SMALL.

A failed check exits 1; the figures are recorded, not gated (exit 0 either way).

    python benchmarks/http_search_profiles.py [--large N] [--py-spy OUT.txt]

``--large N`` seeds N profiles instead of 1,000,000 (the size used is printed). ``--py-spy OUT``
records the SMALL server with ``py-spy record -f raw`` during its last throughput run (this slows
it down: that run's figure is not comparable).
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    AUTHORIZATION,
    HEALTH_PATH,
    HERE,
    HOST,
    boto_client,
    free_port,
    run_wrk,
    serve_command,
    spawn,
    stop,
    verdict,
    wait_http_ok,
    wrk_number,
)

TARGET_THROUGHPUT = 0.30
TARGET_SCALE = 1.3
SMALL, LARGE = 10_000, 1_000_000
CHUNK = 50_000
THREADS, CONNECTIONS = 1, 16
WARMUP, DURATION, ROUNDS = 2, 8, 2
LATENCY_CALLS, LATENCY_BLOCKS, LATENCY_WARMUP = 2000, 4, 200
DOMAIN = "bench-search"
PATH = f"/domains/{DOMAIN}/profiles/search"
HEADERS = {"Authorization": AUTHORIZATION, "Content-Type": "application/json"}


def email(index: int) -> str:
    """The seeded profile number ``index``'s address, as stored in its document."""
    return f"Person{index}@Example.com"


#: wrk script: a random seeded email per request; counts answers that are not 200, and 200s that
#: hold no profile (only meaningful for openprofiles: the minimal app's body is fixed)
LUA = r"""
wrk.method = "POST"
wrk.headers["Authorization"] = "@AUTHORIZATION@"
wrk.headers["Content-Type"] = "application/json"
local SIZE = @SIZE@
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(tonumber(args[1]) * 100 + tid)
  not200, empty = 0, 0
  bad = ""
end
function request()
  local body = string.format('{"KeyName":"_email","Values":["Person%d@Example.com"]}',
                             math.random(0, SIZE - 1))
  return wrk.format(nil, nil, nil, body)
end
function response(status, headers, body)
  if status ~= 200 then
    not200 = not200 + 1
    if bad == "" then bad = string.format("%d %s", status, string.sub(body or "", 1, 300)) end
  elseif not string.find(body, '"ProfileId"', 1, true) then
    empty = empty + 1
  end
end
function done(summary, latency, requests)
  local n, e = 0, 0
  for _, t in ipairs(threads) do
    n = n + t:get("not200")
    e = e + t:get("empty")
    local b = t:get("bad")
    if b ~= "" then io.write("BADBODY ", (string.gsub(b, "\n", " ")), "\n") end
  end
  io.write(string.format("NOT200 %d\nEMPTY %d\n", n, e))
end
"""


def wrk(url: str, seconds: int, script: str, seed: int) -> dict:
    out, figures = run_wrk(url, THREADS, CONNECTIONS, seconds, script, "10s", str(seed))
    return {
        **figures,
        "not200": int(wrk_number(out, r"^NOT200 (\d+)", -1)),
        "empty": int(wrk_number(out, r"^EMPTY (\d+)", -1)),
        "bad_bodies": re.findall(r"^BADBODY (.*)$", out, re.MULTILINE),
    }


def create_schema_and_domain(db: Path) -> None:
    """Start a server on the file (it creates the schema), create the domain, stop it."""
    port = free_port()
    server = spawn(serve_command(port, f"sqlite:///{db}"), env={"XDG_DATA_HOME": str(db.parent)})
    try:
        wait_http_ok(f"http://{HOST}:{port}{HEALTH_PATH}", server)
        boto_client("customer-profiles", f"http://{HOST}:{port}").create_domain(
            DomainName=DOMAIN, DefaultExpirationDays=365
        )
    finally:
        stop(server)
    if server.returncode not in (0, None):
        raise RuntimeError(f"the seeding server exited with {server.returncode}")


def seed(db: Path, size: int) -> float:
    """Insert ``size`` profiles and their _email keys straight into the file; seconds taken."""
    started = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")  # 256 MiB, for this connection only
        (domain_id,) = conn.execute(
            "SELECT id FROM domains WHERE domain_name = ?", (DOMAIN,)
        ).fetchone()
        base = conn.execute("SELECT coalesce(max(id), 0) FROM profiles").fetchone()[0]
        now = time.time()
        for start in range(0, size, CHUNK):
            profile_rows, key_rows = [], []
            for index in range(start, min(start + CHUNK, size)):
                address = email(index)
                document = orjson.dumps({"FirstName": f"First{index}", "EmailAddress": address})
                pk = base + index + 1
                profile_rows.append((pk, domain_id, uuid.uuid4().hex, document.decode(), "{}",
                                     len(document), now, now))
                key_rows.append((domain_id, "_email", address.lower(), pk, 1))
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO profiles (id, domain_id, profile_id, document, provenance, size, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", profile_rows)
            conn.executemany(
                "INSERT INTO profile_keys (domain_id, key_name, key_value, profile_pk, derived) "
                "VALUES (?, ?, ?, ?, ?)", key_rows)
            conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.perf_counter() - started


class Searcher:
    """Sequential SearchProfiles calls over one keep-alive http.client connection."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)

    def call(self, index: int) -> float:
        body = json.dumps({"KeyName": "_email", "Values": [email(index)]})
        started = time.perf_counter()
        self.conn.request("POST", PATH, body=body, headers=HEADERS)
        response = self.conn.getresponse()
        payload = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(
                f"SearchProfiles {email(index)}: {response.status} {payload[:300]!r}"
            )
        items = json.loads(payload)["Items"]
        if len(items) != 1 or items[0]["EmailAddress"] != email(index):
            raise RuntimeError(f"SearchProfiles {email(index)}: expected one profile, got {items}")
        return elapsed

    def close(self) -> None:
        self.conn.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", type=int, default=LARGE, help="profiles in the large domain")
    parser.add_argument("--py-spy", metavar="OUT",
                        help="py-spy record -f raw the server's last run")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("http_search_profiles: SKIPPED - wrk is not installed (apt-get install -y wrk); "
              "no figure recorded")
        return 0
    sizes = {"small": SMALL, "large": args.large}
    tmp = Path(tempfile.mkdtemp(prefix="openprofiles-bench-"))
    processes = []
    try:
        seconds: dict[str, float] = {}
        dbs = {name: tmp / f"{name}.db" for name in sizes}
        for name, size in sizes.items():
            create_schema_and_domain(dbs[name])
            seconds[name] = seed(dbs[name], size)
        ports = {name: free_port() for name in sizes}
        servers = {}
        for name in sizes:
            servers[name] = spawn(serve_command(ports[name], f"sqlite:///{dbs[name]}"),
                                  env={"XDG_DATA_HOME": str(tmp)})
            processes.append(servers[name])
        min_port = free_port()
        mini = spawn([sys.executable, str(HERE / "minimal_asgi.py"), "--host", HOST,
                      "--port", str(min_port)])
        processes.append(mini)
        for name in sizes:
            wait_http_ok(f"http://{HOST}:{ports[name]}{HEALTH_PATH}", servers[name])
        wait_http_ok(f"http://{HOST}:{min_port}/", mini)
        for name, size in sizes.items():
            stats = boto_client("customer-profiles", f"http://{HOST}:{ports[name]}").get_domain(
                DomainName=DOMAIN)["Stats"]
            if stats["ProfileCount"] != size:
                raise RuntimeError(f"{name}: ProfileCount {stats['ProfileCount']} != {size}")

        # (a) throughput on the small domain, against the minimal app
        script = tmp / "search.lua"
        script.write_text(LUA.replace("@AUTHORIZATION@", AUTHORIZATION)
                          .replace("@SIZE@", str(SMALL)))
        sides = {"openprofiles": f"http://{HOST}:{ports['small']}{PATH}",
                 "minimal": f"http://{HOST}:{min_port}{PATH}"}
        results: dict[str, list[dict]] = {name: [] for name in sides}
        warmups: dict[str, list[dict]] = {name: [] for name in sides}
        run = 0
        for round_ in range(ROUNDS):
            for name, url in sides.items():
                run += 1
                warmups[name].append(wrk(url, WARMUP, str(script), run))
                spy = None
                if args.py_spy and name == "openprofiles" and round_ == ROUNDS - 1:
                    spy = subprocess.Popen(
                        [str(Path(sys.executable).parent / "py-spy"), "record", "-f", "raw",
                         "-r", "200", "-d", str(DURATION), "-p", str(servers["small"].pid),
                         "-o", args.py_spy],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    )
                run += 1
                results[name].append(wrk(url, DURATION, str(script), run))
                if spy is not None:
                    spy.wait(60)
        op_runs = warmups["openprofiles"] + results["openprofiles"]
        best = {name: max(runs, key=lambda r: r["rps"]) for name, runs in results.items()}
        op_bad = sum(max(r["not200"], 0) + int(r["not2xx"]) + int(r["socket_errors"])
                     + max(r["empty"], 0) for r in op_runs)
        op_unchecked = any(r["not200"] < 0 or r["empty"] < 0 for r in op_runs)
        peer_rps = best["minimal"]["rps"]
        ratio = best["openprofiles"]["rps"] / peer_rps if peer_rps else 0
        ok_throughput = ratio >= TARGET_THROUGHPUT and op_bad == 0 and not op_unchecked

        # (b) latency of single calls: small versus large, interleaved blocks
        rng = random.Random(7)
        searchers = {name: Searcher(ports[name]) for name in sizes}
        latencies: dict[str, list[float]] = {name: [] for name in sizes}
        for name, size in sizes.items():
            for _ in range(LATENCY_WARMUP):
                searchers[name].call(rng.randrange(size))
        per_block = LATENCY_CALLS // LATENCY_BLOCKS
        for _ in range(LATENCY_BLOCKS):
            for name, size in sizes.items():
                latencies[name] += [searchers[name].call(rng.randrange(size))
                                    for _ in range(per_block)]
        for searcher in searchers.values():
            searcher.close()
        median = {name: statistics.median(values) * 1000 for name, values in latencies.items()}
        p90 = {name: statistics.quantiles(values, n=10)[-1] * 1000
               for name, values in latencies.items()}
        scale = median["large"] / median["small"]
        ok_scale = scale <= TARGET_SCALE

        total = {name: int(sum(r["requests"] for r in runs)) for name, runs in results.items()}
        print("benchmark: http_search_profiles (SearchProfiles by _email over HTTP)")
        print(f"data: SQLite files seeded directly: small {sizes['small']} profiles "
              f"(seeded in {seconds['small']:.1f} s), large {sizes['large']} profiles "
              f"(seeded in {seconds['large']:.1f} s), one _email key each, chunks of {CHUNK}")
        print(f"(a) throughput, {sizes['small']} profiles: wrk -t{THREADS} -c{CONNECTIONS} "
              f"-d{DURATION}s after {WARMUP}s warm-up, {ROUNDS} alternating rounds, best of each; "
              f"requests measured: openprofiles {total['openprofiles']}, "
              f"minimal {total['minimal']}")
        for name, runs in results.items():
            print(f"  runs {name}: " + ", ".join(f"{r['rps']:.0f} req/s" for r in runs))
        print(f"  openprofiles: {best['openprofiles']['rps']:.1f} req/s")
        print(f"  peer (minimal ASGI app): {best['minimal']['rps']:.1f} req/s")
        print(f"  ratio: {ratio:.3f}")
        print(f"  non-200 / socket errors / 200s without a profile from openprofiles (all runs, "
              f"warm-ups included): {op_bad}"
              + (" (wrk did not report its counts)" if op_unchecked else ""))
        for body in [b for r in op_runs for b in r["bad_bodies"]][:3]:
            print(f"    a non-200 answer: {body}")
        print(f"  target: openprofiles req/s >= {TARGET_THROUGHPUT} x minimal, every answer 200 "
              f"with a profile")
        print(f"  result: {verdict(ok_throughput)}")
        print(f"(b) scale: {LATENCY_CALLS} sequential SearchProfiles per size over one keep-alive "
              f"http.client connection, {LATENCY_BLOCKS} interleaved blocks, after "
              f"{LATENCY_WARMUP} warm-up calls each")
        for name, size in sizes.items():
            print(f"  {size} profiles: median {median[name]:.3f} ms, p90 {p90[name]:.3f} ms")
        print(f"  ratio (median at {sizes['large']} / median at {sizes['small']}): {scale:.3f}")
        print(f"  target: median at {sizes['large']} <= {TARGET_SCALE} x median at "
              f"{sizes['small']}")
        print(f"  result: {verdict(ok_scale)}")
        print(f"result: {verdict(ok_throughput and ok_scale)}")
        if args.py_spy:
            print(f"py-spy profile of the last openprofiles throughput run: {args.py_spy}")
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
