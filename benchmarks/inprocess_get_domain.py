"""In-process mode: per-call time of boto3 get_domain inside openprofiles.mock_profiles() versus
moto's mock_aws() answering boto3 connect describe_instance.

Same boto3 client config and credentials for both; each round enters one mock, creates its client
and its resource, warms up, then times N calls; rounds alternate openprofiles and moto ROUNDS times
and the best per-call time of each side is kept. Target: openprofiles <= 0.6 x moto per call.
The figure is recorded, not gated: the script exits 0 either way.

    python benchmarks/inprocess_get_domain.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import boto_client, verdict  # noqa: E402

TARGET = 0.6
N, WARMUP, ROUNDS = 2000, 200, 3
DOMAIN = "bench-domain"


def time_calls(call, n: int) -> float:  # noqa: ANN001
    """Seconds per call of n calls."""
    start = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - start) / n


def openprofiles_round() -> float:
    from openprofiles import mock_profiles

    with mock_profiles():
        client = boto_client("customer-profiles")
        client.create_domain(DomainName=DOMAIN, DefaultExpirationDays=365)
        call = lambda: client.get_domain(DomainName=DOMAIN)  # noqa: E731
        assert call()["DomainName"] == DOMAIN
        time_calls(call, WARMUP)
        return time_calls(call, N)


def moto_round() -> float:
    from moto import mock_aws

    with mock_aws():
        client = boto_client("connect")
        instance = client.create_instance(
            IdentityManagementType="CONNECT_MANAGED", InstanceAlias="bench-instance",
            InboundCallsEnabled=True, OutboundCallsEnabled=True,
        )["Id"]
        call = lambda: client.describe_instance(InstanceId=instance)  # noqa: E731
        assert call()["Instance"]["Id"] == instance
        time_calls(call, WARMUP)
        return time_calls(call, N)


def main() -> int:
    import moto

    import openprofiles

    sides = {"openprofiles": openprofiles_round, "moto": moto_round}
    results: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(ROUNDS):
        for name, run in sides.items():
            results[name].append(run())
    best = {name: min(times) for name, times in results.items()}
    ratio = best["openprofiles"] / best["moto"]
    print("benchmark: inprocess_get_domain (mock_profiles get_domain vs moto mock_aws "
          "connect describe_instance)")
    print(f"data: 1 domain (in-memory SQLite) / 1 moto Connect instance; {N} calls per round after "
          f"{WARMUP} warm-up, {ROUNDS} alternating rounds, best of each; "
          f"openprofiles {openprofiles.__version__}, moto {moto.__version__}")
    for name, times in results.items():
        print(f"  rounds {name}: " + ", ".join(f"{t * 1e6:.0f} us" for t in times))
    print(f"openprofiles: {best['openprofiles'] * 1e6:.1f} us per call")
    print(f"peer (moto): {best['moto'] * 1e6:.1f} us per call")
    print(f"ratio: {ratio:.3f}")
    print(f"target: openprofiles per call <= {TARGET} x moto's")
    print(f"result: {verdict(ratio <= TARGET)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
