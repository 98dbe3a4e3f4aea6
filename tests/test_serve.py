"""`openprofiles serve`: start-up, configuration, clean shutdown, data kept across restarts."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import boto3
import pytest

from openprofiles.app import build_app
from openprofiles.config import Settings, default_db_path, parse_accounts
from openprofiles.http.asgi import build_asgi
from tests.conftest import CLIENT_CONFIG, free_port, wait_healthy


def serve(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "openprofiles.cli", "serve", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, process)  # type: ignore[arg-type]
    return process, url


def client(url: str):
    return boto3.client(
        "customer-profiles",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=CLIENT_CONFIG,
    )


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_data_survives_a_restart(tmp_path, stop):
    db = f"sqlite:///{tmp_path / 'data.db'}"
    process, url = serve("--db", db)
    client(url).create_domain(DomainName="kept", DefaultExpirationDays=9)
    process.send_signal(stop)
    output, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    assert "data.db" in output  # the start-up banner names where the data lives
    assert "openprofiles stopped" in output

    process, url = serve("--db", db)
    try:
        assert client(url).get_domain(DomainName="kept")["DefaultExpirationDays"] == 9
    finally:
        process.terminate()
        process.communicate(timeout=15)


def test_default_store_is_a_file_in_the_data_directory(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path), "OPENPROFILES_DB": ""}
    process, url = serve(env=env)
    try:
        client(url).create_domain(DomainName="home", DefaultExpirationDays=1)
        assert (tmp_path / "openprofiles" / "openprofiles.db").exists()
    finally:
        process.terminate()
    assert str(tmp_path / "openprofiles" / "openprofiles.db") in process.communicate(timeout=15)[0]


def test_ready_quickly_with_a_throwaway_store():
    started = time.monotonic()
    process, url = serve("--db", "memory")
    try:
        assert time.monotonic() - started < 5  # the benchmark holds the real 2 s figure
        assert client(url).list_domains()["Items"] == []
    finally:
        process.terminate()
        process.communicate(timeout=15)


def test_flags_override_environment_which_overrides_defaults():
    env = {"OPENPROFILES_PORT": "5000", "OPENPROFILES_HOST": "0.0.0.0", "OPENPROFILES_DB": "memory"}
    settings = Settings.load(env, port=6000, host=None)
    assert (settings.port, settings.host, settings.db_url()) == (6000, "0.0.0.0", "sqlite://")
    assert Settings.load({}).port == 4599
    assert Settings.load({"OPENPROFILES_ACCOUNTS": "AK=111122223333"}).accounts == {"AK": "111122223333"}


def test_bad_account_map_is_refused():
    with pytest.raises(ValueError, match="OPENPROFILES_ACCOUNTS"):
        parse_accounts("AK=12")


def test_default_db_path_follows_xdg():
    assert str(default_db_path({"XDG_DATA_HOME": "/data"})) == "/data/openprofiles/openprofiles.db"
    assert default_db_path({}).parts[-3:] == ("share", "openprofiles", "openprofiles.db")


def test_configured_account_map(tmp_path):
    process, url = serve("--db", "memory", env={"OPENPROFILES_ACCOUNTS": "alice=111122223333"})
    try:
        alice = boto3.client(
            "customer-profiles", region_name="us-east-1", endpoint_url=url,
            aws_access_key_id="alice", aws_secret_access_key="x", config=CLIENT_CONFIG,
        )
        mapped = boto3.client(
            "customer-profiles", region_name="us-east-1", endpoint_url=url,
            aws_access_key_id="111122223333", aws_secret_access_key="x", config=CLIENT_CONFIG,
        )
        alice.create_domain(DomainName="a", DefaultExpirationDays=1, Tags={"k": "v"})
        assert [d["DomainName"] for d in mapped.list_domains()["Items"]] == ["a"]
        arn = "arn:aws:profile:us-east-1:111122223333:domains/a"
        assert mapped.list_tags_for_resource(resourceArn=arn)["tags"] == {"k": "v"}
        assert client(url).list_domains()["Items"] == []  # the default account sees nothing
    finally:
        process.terminate()
        process.communicate(timeout=15)



def test_a_body_that_arrives_in_several_messages_is_read_whole():
    """The ASGI adapter joins a request body that the server hands over in several messages."""
    app = build_app(Settings(db="memory"))
    asgi = build_asgi(app)
    body = b'{"DefaultExpirationDays": 7, "Tags": {"team": "' + b"x" * 200 + b'"}}'
    parts = [body[:10], body[10:100], body[100:]]
    messages = [{"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
                for i, part in enumerate(parts)]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/domains/joined", "raw_path": b"/domains/joined",
             "query_string": b"", "headers": [(b"content-type", b"application/json")]}
    try:
        asyncio.run(asgi(scope, receive, send))
        assert sent[0]["status"] == 200, sent
        assert json.loads(sent[1]["body"])["Tags"] == {"team": "x" * 200}
        assert messages == []
    finally:
        app.close()


AUTHORIZATION = (b"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/profile/aws4_request, "
                 b"SignedHeaders=host, Signature=0")


async def _call(asgi, events: list[str], method: str, path: str, body: bytes = b"") -> dict:
    """One request through the ASGI callable: the status, headers and JSON body of its answer;
    ``events`` gets "answered" when its answer is sent."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)
        if message["type"] == "http.response.body":
            events.append("answered")

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(b"content-type", b"application/json"), (b"authorization", AUTHORIZATION)]}
    await asgi(scope, receive, send)
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return {"status": sent[0]["status"], "headers": headers, "body": json.loads(sent[1]["body"] or b"{}")}


@pytest.fixture
def grouped(tmp_path, monkeypatch):
    """An app on a SQLite file, its ASGI callable, and the events of a run: "commit" when a
    commit group commits (or fails to), "answered" when a call's answer is sent."""
    from openprofiles.store.db import CommitGroup

    app = build_app(Settings(db=f"sqlite:///{tmp_path / 'grouped.db'}"))
    events: list[str] = []
    commit = CommitGroup.commit

    def noted(group: CommitGroup) -> None:
        events.append("commit")
        commit(group)

    monkeypatch.setattr(CommitGroup, "commit", noted)
    yield app, build_asgi(app), events
    app.close()


def _domain_names(app) -> list[str]:
    with app.store.read() as conn:
        return [row[0] for row in conn.exec_driver_sql("SELECT domain_name FROM domains ORDER BY 1")]


def _create_together(asgi, events: list[str], names: list[str]) -> list[dict]:
    async def together() -> list[dict]:
        return await asyncio.gather(*(
            _call(asgi, events, "POST", f"/domains/{name}", b'{"DefaultExpirationDays": 7}')
            for name in names
        ))

    return asyncio.run(together())


def test_calls_that_arrive_together_are_committed_together_then_answered(grouped):
    """On a SQLite file the server commits calls that arrive together at once (http.asgi), and
    answers none before its commit; a read while no write is pending needs no commit."""
    app, asgi, events = grouped
    names = [f"grouped-{i}" for i in range(8)]
    answers = _create_together(asgi, events, names)
    assert [a["status"] for a in answers] == [200] * 8, answers
    assert events == ["commit"] + ["answered"] * 8
    assert _domain_names(app) == names
    events.clear()
    read = asyncio.run(_call(asgi, events, "GET", "/domains/grouped-0"))
    assert read["status"] == 200 and read["body"]["DefaultExpirationDays"] == 7
    assert events == ["answered"]


def test_a_group_whose_commit_fails_answers_each_call_with_an_internal_error(grouped, monkeypatch):
    from openprofiles.store.db import CommitGroup

    app, asgi, events = grouped
    commit = CommitGroup.commit

    def disk_full(group: CommitGroup) -> None:
        # what a failing COMMIT leaves: the transaction rolled back, the error raised
        group.store.thread_connection().connection.driver_connection.execute("ROLLBACK")
        group.open = False
        raise OSError("disk full")

    monkeypatch.setattr(CommitGroup, "commit", disk_full)
    answers = _create_together(asgi, events, ["lost-1", "lost-2", "lost-3"])
    assert [a["status"] for a in answers] == [500] * 3
    for answer in answers:
        assert answer["headers"]["x-amzn-errortype"] == "InternalServerException"
        request_id = answer["headers"]["x-amzn-requestid"]
        assert request_id in answer["body"]["Message"]
    assert len({a["headers"]["x-amzn-requestid"] for a in answers}) == 3
    assert _domain_names(app) == []
    monkeypatch.setattr(CommitGroup, "commit", commit)
    answers = _create_together(asgi, events, ["next"])  # the loop's group goes on
    assert [a["status"] for a in answers] == [200] and _domain_names(app) == ["next"]
