"""Dead letters reach the domain's dead-letter queue: an object that finds no profile, in a type
that may not create one, is sent by the App's maintenance to the SQS queue named by the domain's
DeadLetterQueueUrl. A moto server is the queue; openprofiles runs in-process (``mock_profiles``)
on SQLite in memory and on PostgreSQL, with ``endpoint_urls={"sqs": <moto>}`` (the server door is
left out: its maintenance runs on its own schedule, in another process)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import boto3
import pytest
from sqlalchemy import select

from openprofiles.app import App
from openprofiles.clock import ManualClock
from openprofiles.config import Settings
from openprofiles.engine.dead_letters import MAX_ATTEMPTS, NO_QUEUE
from openprofiles.mock import mock_profiles
from openprofiles.sinks.aws import Clients
from openprofiles.store.schema import dead_letters
from tests.conftest import CLIENT_CONFIG, REGION, Door, free_port, new_account

REASON = "No profile matches the object's PROFILE keys, and its object type may not create one"


@pytest.fixture(params=["mock", "postgresql"])
def db(request: pytest.FixtureRequest) -> str:
    """``memory`` (the mock door's store), or a PostgreSQL database of this test's own: the
    maintenance round delivers every pending row of the store, so no other test's rows."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("fresh_postgresql_url"))
    return "memory"


@pytest.fixture
def sqs(moto_server: str) -> Any:
    return boto3.session.Session().client(
        "sqs", region_name=REGION, endpoint_url=moto_server,
        aws_access_key_id="test", aws_secret_access_key="test", config=CLIENT_CONFIG,
    )


@pytest.fixture
def running(db: str) -> Callable[[str], Any]:
    """``with running(sqs_endpoint) as (app, profiles):`` openprofiles in-process, sending to SQS
    at that endpoint, on a clock the test moves."""

    @contextmanager
    def start(sqs_endpoint: str) -> Iterator[tuple[App, Any]]:
        settings = Settings(db=db, endpoint_urls={"sqs": sqs_endpoint})
        with mock_profiles(settings, clock=ManualClock()) as app:
            yield app, Door("mock", None, new_account()).client("customer-profiles")

    return start


def strict_type(profiles: Any, domain: str, name: str = "Ticket") -> None:
    """A type that may not create profiles: UNIQUE key ticketRef, PROFILE key custEmail."""
    profiles.put_profile_object_type(
        DomainName=domain,
        ObjectTypeName=name,
        Description="tickets of known customers only",
        AllowProfileCreation=False,
        Fields={
            "ticketId": {"Source": "_source.id"},
            "email": {"Source": "_source.email", "ContentType": "EMAIL_ADDRESS"},
            "subject": {"Source": "_source.subject"},
        },
        Keys={
            "ticketRef": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["ticketId"]}],
            "custEmail": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
        },
    )


def domain_with_queue(profiles: Any, unique: Callable[[str], str], queue_url: str | None) -> str:
    name = unique("dlq")
    members = {"DeadLetterQueueUrl": queue_url} if queue_url else {}
    profiles.create_domain(DomainName=name, DefaultExpirationDays=30, **members)
    strict_type(profiles, name)
    return name


def put_orphan(profiles: Any, domain: str, number: int = 1) -> str:
    """An object whose email belongs to no profile: the type sends it to the dead letters."""
    email = f"nobody{number}@example.com"
    record = json.dumps({"id": f"t-{number}", "email": email, "subject": "help"})
    profiles.put_profile_object(DomainName=domain, ObjectTypeName="Ticket", Object=record)
    return record


def rows(app: App) -> list[dict[str, Any]]:
    with app.store.read() as conn:
        found = conn.execute(select(dead_letters).order_by(dead_letters.c.id)).mappings()
        return [dict(row) for row in found]


def receive_all(sqs: Any, queue_url: str, **options: Any) -> list[dict[str, Any]]:
    received = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, **options)
        if not batch.get("Messages"):
            return received
        received += batch["Messages"]
        handles = [m["ReceiptHandle"] for m in batch["Messages"]]
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles)],
        )


def test_dead_letter_reaches_the_domains_queue(running, moto_server, sqs, unique):
    queue_url = sqs.create_queue(QueueName=unique("dlq"))["QueueUrl"]
    with running(moto_server) as (app, profiles):
        domain = domain_with_queue(profiles, unique, queue_url)
        record = put_orphan(profiles, domain)
        found = profiles.search_profiles(
            DomainName=domain, KeyName="custEmail", Values=["nobody1@example.com"]
        )
        assert found["Items"] == []  # no profile was created
        (row,) = rows(app)
        assert row["delivered_at"] is None and row["attempts"] == 0

        assert app.maintenance.run_once()["dead letters"] == 1

        (message,) = receive_all(sqs, queue_url)
        body = json.loads(message["Body"])
        assert body == {
            "ObjectTypeName": "Ticket",
            "Object": record,
            "DomainName": domain,
            "Reason": REASON,
            "Timestamp": body["Timestamp"],
        }
        assert json.loads(body["Object"])["id"] == "t-1"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["Timestamp"])
        (row,) = rows(app)
        assert row["delivered_at"] == app.clock.now().timestamp()
        assert row["attempts"] == 0 and row["last_error"] is None

        assert app.maintenance.run_once()["dead letters"] == 0  # sent once, never again
        assert receive_all(sqs, queue_url) == []


def test_many_dead_letters_go_in_batches_of_ten(running, moto_server, sqs, unique):
    queue_url = sqs.create_queue(QueueName=unique("dlq"))["QueueUrl"]
    with running(moto_server) as (app, profiles):
        domain = domain_with_queue(profiles, unique, queue_url)
        sent = {put_orphan(profiles, domain, n) for n in range(25)}

        assert app.maintenance.run_once()["dead letters"] == 25

        bodies = [json.loads(m["Body"]) for m in receive_all(sqs, queue_url)]
        assert sorted(b["Object"] for b in bodies) == sorted(sent)
        assert all(r["delivered_at"] is not None for r in rows(app))


def test_unreachable_queue_keeps_the_dead_letter_for_later(running, moto_server, sqs, unique):
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    queue_url = sqs.create_queue(QueueName=unique("dlq"))["QueueUrl"]
    with running(closed) as (app, profiles):
        domain = domain_with_queue(profiles, unique, queue_url)
        record = put_orphan(profiles, domain)

        assert app.maintenance.run_once()["dead letters"] == 0

        (row,) = rows(app)
        assert row["delivered_at"] is None
        assert row["attempts"] == 1
        assert "EndpointConnectionError" in row["last_error"] and closed in row["last_error"]
        assert row["document"] == record
        assert app.maintenance.run_once()["dead letters"] == 0  # backing off: not tried again yet
        assert rows(app)[0]["attempts"] == 1

        # the endpoint is fixed (as a restart with the right OPENPROFILES_SQS_ENDPOINT_URL would)
        app.sinks = Clients(replace(app.settings, endpoint_urls={"sqs": moto_server}))
        app.clock.advance(seconds=31)
        assert app.maintenance.run_once()["dead letters"] == 1

        (message,) = receive_all(sqs, queue_url)
        assert json.loads(message["Body"])["Object"] == record
        (row,) = rows(app)
        assert row["delivered_at"] is not None and row["attempts"] == 1


def test_failed_sends_are_retried_then_given_up(running, moto_server, sqs, unique, caplog):
    missing = f"{moto_server}/123456789012/{unique('missing')}"
    with running(moto_server) as (app, profiles):
        domain = domain_with_queue(profiles, unique, missing)
        record = put_orphan(profiles, domain)

        for attempt in range(1, MAX_ATTEMPTS + 1):
            with caplog.at_level(logging.WARNING, logger="openprofiles.dead_letters"):
                handled = app.maintenance.run_once()["dead letters"]
            (row,) = rows(app)
            assert row["attempts"] == attempt and row["delivered_at"] is None
            assert re.search("NonExistentQueue|QueueDoesNotExist", row["last_error"])
            assert handled == (1 if attempt == MAX_ATTEMPTS else 0)  # given up at the last one
            app.clock.advance(hours=2)
        assert f"given up after {MAX_ATTEMPTS} attempts" in caplog.text

        app.maintenance.run_once()
        (row,) = rows(app)
        assert row["attempts"] == MAX_ATTEMPTS and row["delivered_at"] is None  # kept, not retried
        assert row["document"] == record


def test_domain_without_queue_drops_the_dead_letter(running, moto_server, unique):
    with running(moto_server) as (app, profiles):
        domain = domain_with_queue(profiles, unique, None)
        record = put_orphan(profiles, domain)

        assert app.maintenance.run_once()["dead letters"] == 1

        (row,) = rows(app)
        assert row["delivered_at"] is not None and row["attempts"] == 0
        assert row["last_error"] == NO_QUEUE
        assert row["document"] == record  # kept for inspection
        assert app.maintenance.run_once()["dead letters"] == 0


def test_fifo_queue_gets_group_and_deduplication_ids(running, moto_server, sqs, unique):
    queue_url = sqs.create_queue(
        QueueName=unique("dlq") + ".fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    with running(moto_server) as (app, profiles):
        domain = domain_with_queue(profiles, unique, queue_url)
        put_orphan(profiles, domain)

        assert app.maintenance.run_once()["dead letters"] == 1

        (message,) = receive_all(sqs, queue_url, MessageSystemAttributeNames=["All"])
        assert re.fullmatch(r"[0-9a-f]{64}", message["Attributes"]["MessageDeduplicationId"])
        assert message["Attributes"]["MessageGroupId"] == "openprofiles"
        assert json.loads(message["Body"])["DomainName"] == domain
