"""PutProfileObject over HTTP: openprofiles serve (SQLite file) versus a minimal ASGI app under
uvicorn.

One ``openprofiles serve --db sqlite:///<tmp>`` process holds a domain with one object type,
``Order``: a PROFILE key ``_email`` over an EMAIL_ADDRESS field (Target _profile.EmailAddress), a
UNIQUE key ``OrderId``, a FirstName field (Target _profile.FirstName), AllowProfileCreation true.
wrk (``-t1 -c8``) sends ``PUT /domains/<d>/profiles/objects`` with a JSON body
``{"ObjectTypeName": "Order", "Object": "<json string>"}``, the SigV4-looking Authorization header
and ``Content-Type: application/json``. Its Lua ``request()`` makes a new object per request: a
unique order id (run tag, thread id, counter) and an email drawn at random from a pool of
EMAIL_POOL addresses (mixed case, so normalization runs), so that some objects create a profile and
the others land on an existing one. The peer is minimal_asgi.py (it drains the body) under the
same uvicorn settings and the same wrk script. Each side gets WARMUP then DURATION seconds,
alternating ROUNDS times; the best requests/s of each is kept.
Target: openprofiles >= 0.20 x minimal, with every response 200.

Afterwards the store is checked through boto3: GetDomain Stats ObjectCount equals the number of
200 answers plus the objects whose answer wrk never read (requests in flight when a wrk run ended:
each is looked up by its order id with ListProfileObjects and counted only if it landed);
ProfileCount equals the number of distinct emails among the stored objects; and SearchProfiles
by a sample of the emails finds exactly one profile each. A failed check exits 1; the throughput
figure is recorded, not gated (exit 0 either way).

    python benchmarks/http_put_profile_object.py [--py-spy OUT.txt]

``--py-spy OUT`` records the openprofiles server with ``py-spy record -f raw`` during its last
measured run (this slows it down: the figures of that run are not comparable).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

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

TARGET = 0.20
THREADS, CONNECTIONS = 1, 8
WARMUP, DURATION, ROUNDS = 2, 8, 2
DOMAIN = "bench-put"
OBJECT_TYPE = "Order"
EMAIL_POOL = 20_000
SEARCH_SAMPLE = 10

OBJECT_TYPE_DEFINITION = {
    "Description": "benchmark orders",
    "AllowProfileCreation": True,
    "Fields": {
        "email": {"Source": "_source.Email", "Target": "_profile.EmailAddress",
                  "ContentType": "EMAIL_ADDRESS"},
        "first_name": {"Source": "_source.FirstName", "Target": "_profile.FirstName",
                       "ContentType": "NAME"},
        "order_id": {"Source": "_source.OrderId", "ContentType": "STRING"},
        "total": {"Source": "_source.Total", "ContentType": "NUMBER"},
    },
    "Keys": {
        "_email": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
        "OrderId": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["order_id"]}],
    },
}


def email(index: int) -> str:
    """The pool's address number ``index``, as the Lua script writes it."""
    return f"Customer{index:05d}@Example.com"


def object_text(order_id: str, index: int) -> str:
    return json.dumps({"OrderId": order_id, "Email": email(index), "FirstName": f"Name{index}",
                       "Total": "12.50"}, separators=(",", ":"))


#: wrk script. Arguments after "--": a run tag (unique per wrk run) and a random seed.
#: It prints what it sent and what came back; for openprofiles, each 200's body names its order
#: id (ProfileObjectUniqueKey), which is how objects whose answer never came are found.
LUA = r"""
wrk.method = "PUT"
wrk.headers["Authorization"] = "@AUTHORIZATION@"
wrk.headers["Content-Type"] = "application/json"
local POOL = @POOL@
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  run = args[1]
  math.randomseed(tonumber(args[2]) * 100 + tid)
  counter, ok200, not200, unmatched = 0, 0, 0, 0
  inflight = {}  -- order id -> email index, until its 200 names it
  seen = {}      -- email index -> true, for every object answered 200
  sample = {}    -- the email indexes of the first 200s
  statuses = {}
  bad = ""
end
function request()
  counter = counter + 1
  local id = string.format("o-%s-%d-%d", run, tid, counter)
  local idx = math.random(0, POOL - 1)
  inflight[id] = idx
  local object = string.format(
    '{\\"OrderId\\":\\"%s\\",\\"Email\\":\\"Customer%05d@Example.com\\",' ..
    '\\"FirstName\\":\\"Name%d\\",\\"Total\\":\\"12.50\\"}', id, idx, idx)
  return wrk.format(nil, nil, nil, '{"ObjectTypeName":"@TYPE@","Object":"' .. object .. '"}')
end
function response(status, headers, body)
  if status ~= 200 then
    not200 = not200 + 1
    statuses[status] = (statuses[status] or 0) + 1
    if bad == "" then bad = string.sub(body or "", 1, 300) end
    return
  end
  ok200 = ok200 + 1
  local id = string.match(body, '"ProfileObjectUniqueKey":"([^"]+)"')
  local idx = id and inflight[id]
  if idx == nil then unmatched = unmatched + 1; return end
  inflight[id] = nil
  seen[idx] = true
  if #sample < @SAMPLE@ then table.insert(sample, idx) end
end
function done(summary, latency, requests)
  local sent, ok, bad200, nomatch = 0, 0, 0, 0
  local left, seenall, samples, codes = {}, {}, {}, {}
  for _, t in ipairs(threads) do
    sent = sent + t:get("counter")
    ok = ok + t:get("ok200")
    bad200 = bad200 + t:get("not200")
    nomatch = nomatch + t:get("unmatched")
    for id, idx in pairs(t:get("inflight")) do table.insert(left, id .. ":" .. idx) end
    for idx, _ in pairs(t:get("seen")) do seenall[idx] = true end
    for _, idx in ipairs(t:get("sample")) do table.insert(samples, idx) end
    for code, n in pairs(t:get("statuses")) do codes[code] = (codes[code] or 0) + n end
    local b = t:get("bad")
    if b ~= "" then io.write("BADBODY ", (string.gsub(b, "\n", " ")), "\n") end
  end
  io.write(string.format("SENT %d\nOK200 %d\nNOT200 %d\nUNMATCHED %d\n", sent, ok, bad200, nomatch))
  for code, n in pairs(codes) do io.write(string.format("STATUS %d %d\n", code, n)) end
  local keys = {}
  for idx, _ in pairs(seenall) do table.insert(keys, tostring(idx)) end
  io.write("SEEN ", table.concat(keys, " "), "\n")
  io.write("SAMPLE ", table.concat(samples, " "), "\n")
  if #left <= 1000 then io.write("LEFT ", table.concat(left, " "), "\n") end
end
"""


def lua_script() -> str:
    return (LUA.replace("@AUTHORIZATION@", AUTHORIZATION).replace("@POOL@", str(EMAIL_POOL))
            .replace("@TYPE@", OBJECT_TYPE).replace("@SAMPLE@", str(SEARCH_SAMPLE)))


def wrk(url: str, seconds: int, script: str, tag: str, seed: int) -> dict:
    out, figures = run_wrk(url, THREADS, CONNECTIONS, seconds, script, "10s", tag, str(seed))

    def number(pattern: str, default: float = 0.0) -> float:
        return wrk_number(out, pattern, default)

    def words(prefix: str) -> list[str] | None:
        found = re.search(rf"^{prefix} ?(.*)$", out, re.MULTILINE)
        return found.group(1).split() if found else None

    return {
        **figures,
        "tag": tag,
        "sent": int(number(r"^SENT (\d+)", -1)),
        "ok200": int(number(r"^OK200 (\d+)", -1)),
        "not200": int(number(r"^NOT200 (\d+)", -1)),
        "unmatched": int(number(r"^UNMATCHED (\d+)", -1)),
        "statuses": re.findall(r"^STATUS (\d+) (\d+)$", out, re.MULTILINE),
        "bad_bodies": re.findall(r"^BADBODY (.*)$", out, re.MULTILINE),
        "seen": {int(w) for w in words("SEEN") or []},
        "sample": [int(w) for w in words("SAMPLE") or []],
        "left": None if words("LEFT") is None else [
            (w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) for w in words("LEFT") or []
        ],
        "raw": out,
    }


def put_one(base: str, order_id: str, index: int) -> int:
    body = json.dumps({"ObjectTypeName": OBJECT_TYPE, "Object": object_text(order_id, index)})
    request = urllib.request.Request(
        f"{base}/domains/{DOMAIN}/profiles/objects", data=body.encode(), method="PUT",
        headers={"Authorization": AUTHORIZATION, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        payload = json.loads(response.read())
        assert payload == {"ProfileObjectUniqueKey": order_id}, payload
        return response.status


def landed(client, order_id: str, index: int) -> bool:  # noqa: ANN001
    """Whether the object with this order id is stored (its answer was never read)."""
    found = client.search_profiles(DomainName=DOMAIN, KeyName="_email", Values=[email(index)])
    for item in found["Items"]:
        objects = client.list_profile_objects(
            DomainName=DOMAIN, ObjectTypeName=OBJECT_TYPE, ProfileId=item["ProfileId"],
            ObjectFilter={"KeyName": "OrderId", "Values": [order_id]},
        )
        if objects["Items"]:
            return True
    return False


def verify(
    client, runs: list[dict], sanity_index: int  # noqa: ANN001
) -> tuple[list[str], list[str]]:
    """Checks the store against what wrk saw; returns (report lines, failures)."""
    lines, failures = [], []
    answered = 1 + sum(r["ok200"] for r in runs)  # + the sanity PUT
    emails = {sanity_index}.union(*(r["seen"] for r in runs))
    left = [pair for r in runs for pair in (r["left"] or [])]
    if any(r["left"] is None for r in runs):
        failures.append("a wrk run left too many unanswered requests to list")
    landed_left = [(order_id, index) for order_id, index in left if landed(client, order_id, index)]
    emails |= {index for _, index in landed_left}
    stats = client.get_domain(DomainName=DOMAIN)["Stats"]
    expected_objects = answered + len(landed_left)
    lines.append(
        f"store: ObjectCount {stats['ObjectCount']} (expected {expected_objects} = {answered} "
        f"answered 200 + {len(landed_left)} of {len(left)} in flight at a wrk run's end that "
        f"landed); ProfileCount {stats['ProfileCount']} (expected {len(emails)} distinct emails); "
        f"objects onto an existing profile: {stats['ObjectCount'] - stats['ProfileCount']}"
    )
    if stats["ObjectCount"] != expected_objects:
        failures.append(f"ObjectCount {stats['ObjectCount']} != {expected_objects}")
    if stats["ProfileCount"] != len(emails):
        failures.append(f"ProfileCount {stats['ProfileCount']} != {len(emails)} distinct emails")
    sample = list(dict.fromkeys([sanity_index] + [i for r in runs for i in r["sample"]]))
    sample = sample[:: max(1, len(sample) // SEARCH_SAMPLE)][:SEARCH_SAMPLE]
    counts = []
    for index in sample:
        # ask in another case and with spaces: the stored key is lower-cased and trimmed
        items = client.search_profiles(
            DomainName=DOMAIN, KeyName="_email", Values=[f"  {email(index).upper()} "]
        )["Items"]
        counts.append(len(items))
        if len(items) != 1 or items[0].get("EmailAddress", "").lower() != email(index).lower():
            failures.append(f"SearchProfiles {email(index)}: {len(items)} profiles {items[:2]}")
    lines.append(f"SearchProfiles by {len(sample)} sent emails: profiles found {counts}")
    return lines, failures


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--py-spy", metavar="OUT",
                        help="py-spy record -f raw the server's last run")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("http_put_profile_object: SKIPPED - wrk is not installed (apt-get install -y wrk); "
              "no figure recorded")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="openprofiles-bench-"))
    processes = []
    try:
        script = tmp / "put.lua"
        script.write_text(lua_script())
        op_port, min_port = free_port(), free_port()
        op = spawn(serve_command(op_port, f"sqlite:///{tmp / 'openprofiles.db'}"),
                   env={"XDG_DATA_HOME": str(tmp)})
        processes.append(op)
        mini = spawn([sys.executable, str(HERE / "minimal_asgi.py"), "--host", HOST,
                      "--port", str(min_port)])
        processes.append(mini)
        op_base, min_base = f"http://{HOST}:{op_port}", f"http://{HOST}:{min_port}"
        wait_http_ok(op_base + HEALTH_PATH, op)
        wait_http_ok(min_base + "/", mini)
        client = boto_client("customer-profiles", op_base)
        client.create_domain(DomainName=DOMAIN, DefaultExpirationDays=365)
        client.put_profile_object_type(DomainName=DOMAIN, ObjectTypeName=OBJECT_TYPE,
                                       **OBJECT_TYPE_DEFINITION)
        sanity_index = 0
        assert put_one(op_base, "sanity-1", sanity_index) == 200
        path = f"/domains/{DOMAIN}/profiles/objects"
        sides = {"openprofiles": op_base + path, "minimal": min_base + path}
        results: dict[str, list[dict]] = {name: [] for name in sides}
        warmups: dict[str, list[dict]] = {name: [] for name in sides}
        seed = 0
        for round_ in range(ROUNDS):
            for name, url in sides.items():
                seed += 1
                warmups[name].append(wrk(url, WARMUP, str(script), f"w{seed}", seed))
                seed += 1
                spy = None
                if args.py_spy and name == "openprofiles" and round_ == ROUNDS - 1:
                    spy = subprocess.Popen(
                        [str(Path(sys.executable).parent / "py-spy"), "record", "-f", "raw",
                         "-r", "200", "-d", str(DURATION), "-p", str(op.pid), "-o", args.py_spy],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    )
                results[name].append(wrk(url, DURATION, str(script), f"m{seed}", seed))
                if spy is not None:
                    spy.wait(60)
        op_runs = warmups["openprofiles"] + results["openprofiles"]
        best = {name: max(runs, key=lambda r: r["rps"]) for name, runs in results.items()}
        op_bad = sum(r["not200"] + int(r["not2xx"]) + int(r["socket_errors"]) + r["unmatched"]
                     for r in op_runs)
        op_unchecked = any(r["not200"] < 0 or r["ok200"] < 0 for r in op_runs)
        peer_rps = best["minimal"]["rps"]
        ratio = best["openprofiles"]["rps"] / peer_rps if peer_rps else 0
        ok = ratio >= TARGET and op_bad == 0 and not op_unchecked
        check_lines, failures = verify(client, op_runs, sanity_index)
        total = {name: int(sum(r["requests"] for r in runs)) for name, runs in results.items()}
        print("benchmark: http_put_profile_object (PutProfileObject over HTTP vs minimal ASGI app, "
              "same uvicorn)")
        print(f"data: 1 domain, 1 object type (PROFILE _email, UNIQUE OrderId) in a SQLite file; "
              f"every request a new order, emails from a pool of {EMAIL_POOL}; "
              f"wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION}s after {WARMUP}s warm-up, {ROUNDS} "
              f"alternating rounds, best of each; requests measured: openprofiles "
              f"{total['openprofiles']}, minimal {total['minimal']}; objects sent to openprofiles "
              f"(warm-ups included) {sum(r['sent'] for r in op_runs) + 1}")
        for name, runs in results.items():
            print(f"  runs {name}: " + ", ".join(f"{r['rps']:.0f} req/s" for r in runs))
        print(f"openprofiles: {best['openprofiles']['rps']:.1f} req/s")
        print(f"peer (minimal ASGI app): {best['minimal']['rps']:.1f} req/s")
        print(f"ratio: {ratio:.3f}")
        statuses: dict[str, int] = {}
        for r in op_runs:
            for code, n in r["statuses"]:
                statuses[code] = statuses.get(code, 0) + int(n)
        print(f"non-200 responses from openprofiles (all runs, warm-ups included): "
              f"{sum(r['not200'] for r in op_runs)}"
              + (f" by status {statuses}" if statuses else "")
              + f"; socket errors {sum(int(r['socket_errors']) for r in op_runs)}"
              + f"; 200s naming no sent order {sum(r['unmatched'] for r in op_runs)}"
              + (" (wrk did not report its counts)" if op_unchecked else ""))
        for body in [b for r in op_runs for b in r["bad_bodies"]][:3]:
            print(f"  a non-200 body: {body}")
        for line in check_lines:
            print(line)
        print(f"target: openprofiles req/s >= {TARGET} x minimal, and every response 200")
        print(f"result: {verdict(ok)}")
        if args.py_spy:
            print(f"py-spy profile of the last openprofiles run: {args.py_spy}")
        if failures:
            print("CORRECTNESS CHECK FAILED: " + "; ".join(failures))
            return 1
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
