"""engine.calculated.sql against engine.calculated.values: for seeded random observations
(numbers of every shape, text, missing values, expired rows, timestamps around the window
edges), the value the SQL subquery gives every profile equals the Value `aggregate` computes in
Python, read as a double for numeric statistics: every Statistic, with and without a Range (or a
RangeOverride), ObjectCount and Threshold, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
from sqlalchemy import Text, insert, literal, select

from openprofiles.engine.calculated import sql
from openprofiles.engine.calculated.definitions import Definition, compiled
from openprofiles.engine.calculated.scalars import parse_number
from openprofiles.engine.calculated.values import Observation, aggregate
from openprofiles.store import calculated as calculated_store
from openprofiles.store.db import Store
from openprofiles.store.schema import calculated_observations, domains, profile_objects, profiles

NOW = 1_750_000_000.0
DAY = 86400.0
STATISTICS = (
    "FIRST_OCCURRENCE", "LAST_OCCURRENCE", "COUNT", "SUM", "MINIMUM", "MAXIMUM", "AVERAGE",
    "MAX_OCCURRENCE",
)  # fmt: skip
#: values whose double sums are not their decimal sums, numbers in every shape parse_number
#: reads, text, and text that only looks like a number
VALUES = (
    "0.1", "0.2", "0.3", "10.10", "20.20", "1e3", " 7 ", "007", "1.", ".5", "-2.5", "3", "3.0",
    "1.5e-3", "2E-7", "\x1c4", "99999999.99", "0.0000001", "12345.6789", "abc", "WEB", "PHONE",
    "x1", "12abc", "1e", ".", "-", "1,5", None,
)  # fmt: skip
THRESHOLDS = ("3", "0.3", "10.1", "-1", "WEB", "abc", "5a", "-x", "1,000")
OPERATORS = ("EQUAL_TO", "NOT_EQUAL_TO", "GREATER_THAN", "LESS_THAN")


def random_value(rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(VALUES)
    if roll < 0.8:
        return f"{rng.randint(-500, 5000) / 100}"
    return rng.choice(("A", "B", "C"))


def conditions(rng: random.Random, variant: int) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if variant & 1:
        found["Range"] = rng.choice(
            [{"Value": 7, "Unit": "DAYS"}, {"ValueRange": {"Start": 10, "End": 2}, "Unit": "DAYS"}]
        )
    if variant & 2:
        found["ObjectCount"] = rng.randint(1, 4)
    if variant & 4:
        found["Threshold"] = {"Value": rng.choice(THRESHOLDS), "Operator": rng.choice(OPERATORS)}
    return found


@pytest.fixture
def seeded(db_url: str) -> Any:
    """A store with one domain, 24 profiles and 64 definitions (8 per statistic, every mix of
    Range, ObjectCount and Threshold), each with 0-8 random observations per profile; yields
    (store, definitions, profile pks, observations by (definition id, profile pk))."""
    rng = random.Random(20260101)
    store = Store(db_url)
    with store.transaction() as conn:
        domain_id = conn.execute(
            insert(domains).values(
                account_id=str(uuid.uuid4().int)[:12], region="us-east-1", domain_name="calc-sql",
                default_expiration_days=30, phone_region="US", created_at=0, updated_at=0,
            )
        ).inserted_primary_key[0]  # fmt: skip
        pks = [
            conn.execute(
                insert(profiles).values(
                    domain_id=domain_id, profile_id=uuid.uuid4().hex, document="{}", provenance="{}",
                    size=0, created_at=0, updated_at=0,
                )
            ).inserted_primary_key[0]
            for _ in range(24)
        ]  # fmt: skip
        definitions: list[Definition] = []
        for statistic in STATISTICS:
            for variant in range(8):
                name = f"{statistic.lower()}_{variant}"
                members = {
                    "AttributeDetails": {
                        "Attributes": [{"Name": "amount"}],
                        "Expression": "{orders.amount}",
                    },
                    "Statistic": statistic,
                    "Conditions": conditions(rng, variant),
                }
                calculated_store.insert_definition(conn, domain_id, name, members, 0.0)
                definitions.append(compiled(calculated_store.get(conn, domain_id, name) or {}))
        observed: dict[tuple[int, int], list[dict[str, Any]]] = {}
        for definition in definitions:
            for pk in pks:
                rows = []
                for _ in range(rng.choice((0, 1, 2, 3, 5, 8))):
                    days = rng.choice((0, 1, 2, 3.5, 5, 7, 9, 10, 12))
                    rows.append({
                        "domain_id": domain_id, "definition_id": definition.id, "profile_pk": pk,
                        "observed_at": NOW - days * DAY + rng.choice((0, 0, 1, -1)), "value": random_value(rng),
                        "expires_at": rng.choice((None, None, NOW + 5, NOW - 5, NOW)),
                    })  # fmt: skip
                observed[definition.id, pk] = rows
        every = [row for rows in observed.values() for row in rows]
        objects = [
            {"domain_id": domain_id, "profile_pk": r["profile_pk"], "object_type_name": "orders",
             "unique_key": str(uuid.uuid4()), "document": "{}", "size": 0, "created_at": 0, "updated_at": 0}
            for r in every
        ]  # fmt: skip
        returning = insert(profile_objects).returning(
            profile_objects.c.id, sort_by_parameter_order=True
        )
        for row, (object_pk,) in zip(every, conn.execute(returning, objects), strict=True):
            row["object_pk"] = object_pk
        conn.execute(insert(calculated_observations), every)
    yield store, definitions, pks, observed
    store.close()


def expected(
    definition: Definition, rows: list[dict[str, Any]], override: dict[str, Any] | None
) -> Any:
    """The Value `aggregate` gives (what GetCalculatedAttributeForProfile answers), as the SQL
    value shows it: a double for a numeric statistic without a Threshold."""
    kept = [r for r in rows if r["expires_at"] is None or r["expires_at"] > NOW]
    found = aggregate(
        definition,
        [Observation(r["object_pk"], r["observed_at"], r["value"]) for r in kept],
        NOW,
        override,
    )
    if found.value is not None and sql.kind_of(definition) == sql.NUMBER:
        return float(found.value)
    return found.value


@pytest.mark.parametrize("override", [None, {"Start": 9, "End": 1, "Unit": "DAYS"}])
def test_the_sql_value_is_the_python_value(seeded: Any, override: dict[str, Any] | None) -> None:
    store, definitions, pks, observed = seeded
    wrong = []
    with store.read() as conn:
        for definition in definitions:
            column = sql.value_of(definition, profiles.c.id, NOW, conn.dialect.name, override)
            found = dict(
                conn.execute(select(profiles.c.id, column).where(profiles.c.id.in_(pks))).all()
            )
            for pk in pks:
                want = expected(definition, observed[definition.id, pk], override)
                if found[pk] != want:
                    wrong.append((definition.name, definition.conditions, pk, want, found[pk]))
    assert wrong == []


def test_every_kind_of_value_is_seen(seeded: Any) -> None:
    """The data exercises what it should: sums that doubles get wrong, ties, empty windows."""
    _, definitions, pks, observed = seeded
    plain_sums = [d for d in definitions if d.statistic == "SUM" and not d.conditions]
    inexact = 0
    for definition in plain_sums:
        for pk in pks:
            kept = [
                r
                for r in observed[definition.id, pk]
                if r["expires_at"] is None or r["expires_at"] > NOW
            ]
            parsed = [parse_number(r["value"]) for r in kept if r["value"] is not None]
            naive = sum(float(n) for n in parsed if n is not None)  # a double sum, as SQL's sum()
            python = aggregate(
                definition,
                [Observation(r["object_pk"], r["observed_at"], r["value"]) for r in kept],
                NOW,
            )
            if python.value is not None and naive != float(python.value):
                inexact += 1
    assert inexact > 0
    values = {expected(d, observed[d.id, pk], None) for d in definitions for pk in pks}
    assert {None, "true", "false"} <= values


def test_number_of_reads_numbers_as_parse_number_does(db_url: str) -> None:
    texts = [
        "1", "-1", "+1", "1.", ".5", ".", "-", "+", "", "e5", "1e", "1e+", "1e5", "1E-5", "1.5e+3",
        "1.e5", ".e5", "+.5", "-.5e2", " 12 ", "\t7\n", "1 2", "0x1A", "1_000", "inf", "Infinity",
        "nan", "007", "00.100", "-0", "5e", "--1", "1-", "12abc", "abc", " ", "1,5", "1.2.3", "1ee5",
        "1e5.5", "9" * 30, "\x0c5\x0b", "\x1c5\x1f", "1d", "1f", "5L", "\r\n3\r\n", ".1e-1",
    ]  # fmt: skip
    store = Store(db_url)
    try:
        with store.read() as conn:
            for text in texts:
                found = conn.execute(
                    select(sql.number_of(literal(text, Text), conn.dialect.name))
                ).scalar()
                number = parse_number(text)
                assert found == (None if number is None else float(number)), repr(text)
    finally:
        store.close()
