"""Median latency of PutProfileObject on a domain with rule-based matching enabled and ACTIVE
(profiles matched as they are written, engine.matching.incremental) versus the same object type
on a domain without it.

In-process: requests go through `openprofiles.app.build_app(...).gateway.handle` (parsing,
validation, handler, serialization; no HTTP server), on one SQLite file holding two domains with
the same object type (PROFILE key `_email`, UNIQUE key `OrderId`, AllowProfileCreation; targets
EmailAddress, FirstName, LastName and PhoneNumber, so the default rules' levels 1 to 4 have
signatures). One domain has RuleBasedMatching {"Enabled": true} with the default rules (ACTIVE
from creation, as it has no profiles yet). Each request is an order of a customer drawn from a
pool: new and existing profiles both occur, and pairs of customers share a first name and phone
(level-2 matches), so groups form and grow. Blocks of requests alternate between the domains,
the order swapped every round; the median of every request of each side is compared.
Target: with / without <= 1.25. Prints figures, ratio, PASS/FAIL; exits 0 either way.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import alternate, gateway_call, verdict  # noqa: E402
from openprofiles.app import build_app  # noqa: E402
from openprofiles.config import Settings  # noqa: E402

TARGET = 1.25
TYPE = {
    "Description": "orders",
    "AllowProfileCreation": True,
    "Fields": {
        "email": {"Source": "_source.email", "ContentType": "EMAIL_ADDRESS", "Target": "_profile.EmailAddress"},
        "first": {"Source": "_source.first", "Target": "_profile.FirstName"},
        "last": {"Source": "_source.last", "Target": "_profile.LastName"},
        "phone": {"Source": "_source.phone", "ContentType": "PHONE_NUMBER", "Target": "_profile.PhoneNumber"},
        "orderId": {"Source": "_source.orderId"},
    },
    "Keys": {
        "_email": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
        "OrderId": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["orderId"]}],
    },
}
FIRST = ["Ann", "Bob", "Carl", "Dana", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jo"]
LAST = ["Lee", "Ray", "Kim", "Diaz", "Moss", "Nash", "Ortiz"]


def setup(gateway, domain: str, matching: bool) -> None:  # noqa: ANN001
    body: dict = {"DefaultExpirationDays": 365}
    if matching:
        body["RuleBasedMatching"] = {"Enabled": True}
    created = gateway_call(gateway, "POST", f"/domains/{domain}", body)
    if matching and created["RuleBasedMatching"]["Status"] != "ACTIVE":
        raise SystemExit("rule-based matching is not ACTIVE")
    gateway_call(gateway, "PUT", f"/domains/{domain}/object-types/orders", TYPE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--block", type=int, default=300)
    parser.add_argument("--customers", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Settings(db=f"sqlite:///{tmp}/bench.db"))
        gateway = app.gateway
        setup(gateway, "plain", False)
        setup(gateway, "match", True)
        counter = 0

        def put(domain: str) -> float:
            nonlocal counter
            counter += 1
            c = rng.randrange(args.customers)
            pair = c // 2  # two customers (two emails) share a first name and a phone
            record = {"orderId": f"o{counter}", "email": f"c{c}@example.com", "first": FIRST[pair % len(FIRST)],
                      "last": LAST[c % len(LAST)], "phone": f"+1206{5550000 + pair % 10000:07d}"}  # fmt: skip
            body = {"ObjectTypeName": "orders", "Object": orjson.dumps(record).decode()}
            started = time.perf_counter()
            gateway_call(gateway, "PUT", f"/domains/{domain}/profiles/objects", body)
            return time.perf_counter() - started

        timings = alternate(put, ("plain", "match"), args.rounds, args.block)
        groups = gateway_call(gateway, "GET", "/domains/match/profiles/ruleBasedMatches", {})
        status = gateway_call(gateway, "GET", "/domains/match", {})["RuleBasedMatching"]["Status"]
        app.close()
    plain, match = statistics.median(timings["plain"]), statistics.median(timings["match"])
    ratio = match / plain
    print(f"data: {args.rounds} rounds x {args.block} PutProfileObject per side, {args.customers} customers, SQLite file, in-process gateway")
    print(f"sanity: matching Status {status}, match groups formed (first page): {len(groups.get('MatchIds', []))}")
    print(f"median without rule-based matching: {plain * 1e6:.0f} us")
    print(f"median with rule-based matching (incremental): {match * 1e6:.0f} us")
    print(f"ratio: {ratio:.3f} (target <= {TARGET:.2f}) {verdict(ratio <= TARGET)}")


if __name__ == "__main__":
    main()
