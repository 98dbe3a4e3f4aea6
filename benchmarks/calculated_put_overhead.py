"""Median latency of PutProfileObject with three calculated attributes on the object type, versus
the same object type without any.

In-process: requests go through `openprofiles.app.build_app(...).gateway.handle` (parsing,
validation, handler, serialization; no HTTP server), on one SQLite file holding two domains with
the same object type (PROFILE key `_email`, UNIQUE key `OrderId`, AllowProfileCreation). One
domain also has three definitions on the type: SUM of the amount, COUNT of WEB orders over 30
days (a Filter and a Range), and LAST_OCCURRENCE of the channel dated by the order's own
ISO-8601 timestamp. Each request is a new order of an email drawn from a pool (so new and
existing profiles both occur). Blocks of requests alternate between the domains, the order
swapped every round; the median of every request of each side is compared.
Target: with / without <= 1.30. Prints figures, ratio, PASS/FAIL; exits 0 either way.
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

TARGET = 1.30
TYPE = {
    "Description": "orders",
    "AllowProfileCreation": True,
    "Fields": {
        "email": {"Source": "_source.email", "ContentType": "EMAIL_ADDRESS", "Target": "_profile.EmailAddress"},
        "orderId": {"Source": "_source.orderId"},
        "amount": {"Source": "_source.amount", "ContentType": "NUMBER"},
        "channel": {"Source": "_source.channel"},
    },
    "Keys": {
        "_email": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
        "OrderId": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["orderId"]}],
    },
}
WEB = {"Include": "ALL", "Groups": [{"Type": "ALL", "Dimensions": [
    {"Attributes": {"channel": {"DimensionType": "INCLUSIVE", "Values": ["WEB"]}}}]}]}  # fmt: skip
DEFINITIONS = {
    "total_spent": {"Statistic": "SUM", "AttributeDetails": {"Attributes": [{"Name": "amount"}], "Expression": "{orders.amount}"}},
    "web_orders_30d": {"Statistic": "COUNT", "Filter": WEB, "Conditions": {"Range": {"Value": 30, "Unit": "DAYS"}},
                       "AttributeDetails": {"Attributes": [{"Name": "orderId"}], "Expression": "{orders.orderId}"}},
    "last_channel": {"Statistic": "LAST_OCCURRENCE", "AttributeDetails": {"Attributes": [{"Name": "channel"}], "Expression": "{orders.channel}"},
                     "Conditions": {"Range": {"Value": 366, "Unit": "DAYS", "TimestampSource": "{orders.placedAt}", "TimestampFormat": "ISO_8601"}}},
}  # fmt: skip


def setup(gateway, domain: str, with_definitions: bool) -> None:  # noqa: ANN001
    gateway_call(gateway, "POST", f"/domains/{domain}", {"DefaultExpirationDays": 365})
    gateway_call(gateway, "PUT", f"/domains/{domain}/object-types/orders", TYPE)
    if with_definitions:
        for name, members in DEFINITIONS.items():
            gateway_call(gateway, "POST", f"/domains/{domain}/calculated-attributes/{name}", {**members, "UseHistoricalData": True})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--block", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Settings(db=f"sqlite:///{tmp}/bench.db"))
        gateway = app.gateway
        setup(gateway, "plain", False)
        setup(gateway, "calc", True)
        counter = 0

        def put(domain: str) -> float:
            nonlocal counter
            counter += 1
            record = {"orderId": f"o{counter}", "email": f"c{rng.randrange(2000)}@example.com",
                      "amount": str(rng.randrange(1, 500)), "channel": rng.choice(["WEB", "PHONE", "STORE"]),
                      "placedAt": "2026-01-01T10:00:00Z"}  # fmt: skip
            body = {"ObjectTypeName": "orders", "Object": orjson.dumps(record).decode()}
            started = time.perf_counter()
            gateway_call(gateway, "PUT", f"/domains/{domain}/profiles/objects", body)
            return time.perf_counter() - started

        timings = alternate(put, ("plain", "calc"), args.rounds, args.block)
        emails = {"c1@example.com"}
        put_record = {"ObjectTypeName": "orders", "Object": orjson.dumps({"orderId": "last", "email": "c1@example.com", "amount": "1"}).decode()}
        gateway_call(gateway, "PUT", "/domains/calc/profiles/objects", put_record)
        profile = gateway_call(gateway, "POST", "/domains/calc/profiles/search", {"KeyName": "_email", "Values": sorted(emails)})
        value = gateway_call(gateway, "GET", f"/domains/calc/profile/{profile['Items'][0]['ProfileId']}/calculated-attributes/total_spent", {})
        app.close()
    plain, calc = statistics.median(timings["plain"]), statistics.median(timings["calc"])
    ratio = calc / plain
    print(f"data: {args.rounds} rounds x {args.block} PutProfileObject per side, 2000 emails, SQLite file, in-process gateway")
    print(f"sanity: total_spent of c1@example.com = {value.get('Value')}")
    print(f"median without calculated attributes: {plain * 1e6:.0f} us")
    print(f"median with three calculated attributes: {calc * 1e6:.0f} us")
    print(f"ratio: {ratio:.3f} (target <= {TARGET:.2f}) {verdict(ratio <= TARGET)}")


if __name__ == "__main__":
    main()
