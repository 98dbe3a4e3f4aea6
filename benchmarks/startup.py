"""Startup and idle memory of ``openprofiles serve --db sqlite:///<tmp>`` on a fresh data dir.

Times spawn -> first 200 of GET /_openprofiles/health, and spawn -> first successful boto3
ListDomains (best of STARTS fresh starts; target < 2 s); then, after a few requests and a short
idle, reads the server's VmRSS from /proc/<pid>/status (target < 120 MB). The peer, for reference,
is the startup of ``python -c pass`` on the same interpreter. Exits 0 either way.

    python benchmarks/startup.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    HEALTH_PATH,
    HOST,
    boto_client,
    free_port,
    serve_command,
    spawn,
    stop,
    verdict,
    wait_http_ok,
)

STARTS = 3
TARGET_SECONDS = 2.0
TARGET_RSS_MB = 120.0
PEER_RUNS = 5


def first_list_domains(client, process: subprocess.Popen[bytes], timeout: float = 20) -> float:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"openprofiles serve exited with {process.returncode}")
        try:
            client.list_domains()
            return time.monotonic()
        except Exception:  # noqa: BLE001 - not up yet, whatever the error
            time.sleep(0.005)
    raise RuntimeError(f"ListDomains did not succeed within {timeout}s")


def warm(client) -> None:  # noqa: ANN001
    """Run botocore's lazy first-call work in this process, against a port nobody listens on."""
    try:
        client.list_domains()
    except Exception:  # noqa: BLE001 - the connection is expected to fail
        pass


def vm_status(pid: int) -> dict[str, float]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024  # kB -> MB (MiB)
    return values


def peer_seconds() -> float:
    best = float("inf")
    for _ in range(PEER_RUNS):
        start = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        best = min(best, time.monotonic() - start)
    return best


def one_start(measure_rss: bool) -> tuple[float, float, dict[str, float]]:
    tmp = Path(tempfile.mkdtemp(prefix="openprofiles-startup-"))
    port = free_port()
    base = f"http://{HOST}:{port}"
    client = boto_client("customer-profiles", base)
    warm(client)
    process = None
    try:
        spawned = time.monotonic()
        process = spawn(serve_command(port, f"sqlite:///{tmp / 'data' / 'openprofiles.db'}"),
                        env={"XDG_DATA_HOME": str(tmp / "xdg")})
        healthy = wait_http_ok(base + HEALTH_PATH, process, interval=0.005)
        listed = first_list_domains(client, process)
        memory: dict[str, float] = {}
        if measure_rss:
            client.create_domain(DomainName="bench-domain", DefaultExpirationDays=365)
            for _ in range(10):
                client.get_domain(DomainName="bench-domain")
                client.list_domains()
            wait_http_ok(base + HEALTH_PATH, process)
            time.sleep(1.0)  # idle
            memory = vm_status(process.pid)
        return healthy - spawned, listed - spawned, memory
    finally:
        if process is not None:
            stop(process)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    peer = peer_seconds()
    starts = [one_start(measure_rss=(i == STARTS - 1)) for i in range(STARTS)]
    health = min(s[0] for s in starts)
    listed = min(s[1] for s in starts)
    memory = starts[-1][2]
    rss = memory.get("VmRSS", float("nan"))
    print("benchmark: startup (openprofiles serve --db sqlite:///<tmp>, fresh data dir each start)")
    print(f"data: empty SQLite file created at start; {STARTS} starts, best of each; RSS after "
          "1 CreateDomain + 10 GetDomain + 10 ListDomains + health, then 1 s idle")
    print("  starts (health, ListDomains): "
          + ", ".join(f"({h:.3f} s, {l:.3f} s)" for h, l, _ in starts))
    print(f"spawn -> first health 200: {health:.3f} s")
    print(f"spawn -> first ListDomains: {listed:.3f} s")
    print(f"peer (python -c pass, best of {PEER_RUNS}): {peer:.3f} s")
    print(f"ratio: health {health / peer:.1f} x peer, ListDomains {listed / peer:.1f} x peer")
    print(f"target: first ListDomains < {TARGET_SECONDS} s -> {verdict(listed < TARGET_SECONDS)}")
    print(f"idle VmRSS: {rss:.1f} MB (VmHWM {memory.get('VmHWM', float('nan')):.1f} MB)")
    print(f"target: VmRSS < {TARGET_RSS_MB:.0f} MB -> {verdict(rss < TARGET_RSS_MB)}")
    ok = health < TARGET_SECONDS and listed < TARGET_SECONDS and rss < TARGET_RSS_MB
    print(f"result: {verdict(ok)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
