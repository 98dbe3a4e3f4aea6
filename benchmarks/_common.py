"""Helpers shared by the benchmark scripts (not a benchmark itself).

Only loopback addresses are used. The server helpers mirror tests/conftest.py.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

HOST = "127.0.0.1"
REGION = "us-east-1"
ACCOUNT = "123456789012"
HEALTH_PATH = "/_openprofiles/health"
#: what openprofiles reads from a SigV4 request (it does not verify the signature)
AUTHORIZATION = (
    f"AWS4-HMAC-SHA256 Credential={ACCOUNT}/20260101/{REGION}/profile/aws4_request, "
    "SignedHeaders=host, Signature=0"
)
HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def serve_command(port: int, db: str) -> list[str]:
    return [sys.executable, "-m", "openprofiles.cli", "serve", "--host", HOST, "--port", str(port),
            "--db", db]


def spawn(command: Sequence[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        list(command), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def wait_http_ok(url: str, process: subprocess.Popen[bytes], timeout: float = 20,
                 interval: float = 0.005) -> float:
    """Poll url until it answers 200; returns the monotonic time of that answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    response.read()
                    return time.monotonic()
        except OSError:
            pass
        time.sleep(interval)
    raise RuntimeError(f"{url} did not answer 200 within {timeout}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def boto_client(service: str, endpoint_url: str | None = None):  # noqa: ANN201
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        service,
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id=ACCOUNT,
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=60),
    )


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def gateway_call(gateway, method: str, path: str, body: dict) -> dict:  # noqa: ANN001
    """One call through an in-process App's gateway (signed as ACCOUNT); exits unless it is a 200."""
    import orjson

    from openprofiles.protocol.messages import HttpRequest

    headers = {"host": "localhost", "content-type": "application/json", "authorization": AUTHORIZATION}
    response = gateway.handle(HttpRequest(method, path, "", headers, orjson.dumps(body)))
    if response.status != 200:
        raise SystemExit(f"{method} {path}: {response.status} {response.body[:300]!r}")
    return orjson.loads(response.body) if response.body else {}


def alternate(timed, sides: Sequence[str], rounds: int, block: int, warmup: int = 200) -> dict[str, list[float]]:  # noqa: ANN001
    """Seconds of each ``timed(side)`` call: a warm-up per side (caches, SQLite pages), then
    blocks of calls alternating between the sides, the order swapped every round, so drift in
    the machine's speed falls on both alike."""
    for side in sides:
        for _ in range(warmup):
            timed(side)
    timings: dict[str, list[float]] = {side: [] for side in sides}
    for round_ in range(rounds):
        for side in sides if round_ % 2 == 0 else tuple(reversed(sides)):
            timings[side].extend(timed(side) for _ in range(block))
    return timings


def wrk_number(out: str, pattern: str, default: float = 0.0) -> float:
    """A number wrk (or its Lua script) printed, found by a regex with one group."""
    found = re.search(pattern, out, re.MULTILINE)
    return float(found.group(1)) if found else default


def run_wrk(
    url: str, threads: int, connections: int, seconds: int, script: str, timeout: str, *args: str
) -> tuple[str, dict[str, float]]:
    """wrk's output and its common figures: requests/s, requests, non-2xx answers, socket errors.
    ``args`` go to the Lua script."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", timeout,
               "-s", script, url, *(["--", *args] if args else [])]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    socket_errors = re.search(r"Socket errors:.*", out)
    return out, {
        "rps": wrk_number(out, r"Requests/sec:\s+([\d.]+)"),
        "requests": wrk_number(out, r"(\d+) requests in"),
        "not2xx": wrk_number(out, r"Non-2xx or 3xx responses:\s+(\d+)"),
        "socket_errors": sum(
            int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", socket_errors.group(0))
        ) if socket_errors else 0,
    }
