"""GetDomain over HTTP: openprofiles serve (SQLite file) versus a minimal ASGI app under uvicorn.

Both servers run as one uvicorn process each, with the same uvicorn settings (see minimal_asgi.py).
wrk drives each for WARMUP then DURATION seconds, alternating openprofiles and the minimal app
ROUNDS times; the best requests/s of each side is kept. Target: openprofiles >= 0.35 x minimal.
The figure is recorded, not gated: the script exits 0 either way.

    python benchmarks/http_get_domain.py [--db postgresql://...]

``--db`` serves another store (the target is set for the default, a fresh SQLite file); the
domain gets a name of its own and is deleted at the end.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import urllib.request
import uuid
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

TARGET = 0.35
THREADS, CONNECTIONS = 1, 16
WARMUP, DURATION, ROUNDS = 2, 8, 2
DOMAIN = f"bench-domain-{uuid.uuid4().hex[:8]}"

#: wrk script: sends the SigV4-looking header; counts every response whose status is not 200
LUA = """
wrk.method = "GET"
wrk.headers["Authorization"] = "%s"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) not200 = 0 end
function response(status, headers, body) if status ~= 200 then not200 = not200 + 1 end end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("not200") end
  io.write(string.format("NOT200 %%d\\n", total))
end
""" % AUTHORIZATION


def wrk(url: str, seconds: int, script: str) -> dict[str, float]:
    out, figures = run_wrk(url, THREADS, CONNECTIONS, seconds, script, "5s")
    return {**figures, "not200": wrk_number(out, r"NOT200 (\d+)", default=-1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="the store to serve (default: a fresh SQLite file)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("http_get_domain: SKIPPED - wrk is not installed (apt-get install -y wrk); "
              "no figure recorded")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="openprofiles-bench-"))
    processes = []
    try:
        script = tmp / "getdomain.lua"
        script.write_text(LUA)
        op_port, min_port = free_port(), free_port()
        db = args.db or f"sqlite:///{tmp / 'openprofiles.db'}"
        op = spawn(serve_command(op_port, db),
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
        request = urllib.request.Request(f"{op_base}/domains/{DOMAIN}",
                                         headers={"Authorization": AUTHORIZATION})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200, response.status
            op_body = len(response.read())
        with urllib.request.urlopen(min_base + "/", timeout=10) as response:
            min_body = len(response.read())
        sides = {"openprofiles": f"{op_base}/domains/{DOMAIN}", "minimal": f"{min_base}/"}
        results: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
        for _ in range(ROUNDS):
            for name, url in sides.items():
                wrk(url, WARMUP, str(script))
                results[name].append(wrk(url, DURATION, str(script)))
        best = {name: max(runs, key=lambda r: r["rps"]) for name, runs in results.items()}
        op_bad = sum(int(r["not200"]) + int(r["not2xx"]) + int(r["socket_errors"])
                     for r in results["openprofiles"])
        op_unchecked = any(r["not200"] < 0 for r in results["openprofiles"])
        ratio = best["openprofiles"]["rps"] / best["minimal"]["rps"] if best["minimal"]["rps"] else 0
        ok = ratio >= TARGET and op_bad == 0 and not op_unchecked
        total = {name: int(sum(r["requests"] for r in runs)) for name, runs in results.items()}
        print("benchmark: http_get_domain (GetDomain over HTTP vs minimal ASGI app, same uvicorn)")
        store = "a SQLite file" if args.db is None else args.db.split("://")[0]
        print(f"data: 1 domain in {store}; wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION}s "
              f"after {WARMUP}s warm-up, {ROUNDS} alternating rounds, best of each; "
              f"response bodies: GetDomain {op_body} B, minimal {min_body} B; requests measured: "
              f"openprofiles {total['openprofiles']}, minimal {total['minimal']}")
        for name, runs in results.items():
            print(f"  runs {name}: " + ", ".join(f"{r['rps']:.0f} req/s" for r in runs))
        print(f"openprofiles: {best['openprofiles']['rps']:.1f} req/s")
        print(f"peer (minimal ASGI app): {best['minimal']['rps']:.1f} req/s")
        print(f"ratio: {ratio:.3f}")
        print(f"non-200 / socket errors from openprofiles (all runs): {op_bad}"
              + (" (wrk did not report its NOT200 count)" if op_unchecked else ""))
        print(f"target: openprofiles req/s >= {TARGET} x minimal, and every response 200")
        print(f"result: {verdict(ok)}")
        client.delete_domain(DomainName=DOMAIN)
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
