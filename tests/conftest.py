"""Fixtures: every API test runs through real boto3 clients behind each door of openprofiles.

``door`` is one of
- ``mock``: in-process (``mock_profiles``) on an in-memory SQLite store,
- ``server``: a live ``openprofiles serve`` subprocess on a SQLite file, over HTTP,
- ``postgresql``: in-process on the PostgreSQL server of ``OPENPROFILES_TEST_POSTGRESQL``.

Tests are isolated by account, not by restarting anything: each test signs with its own 12-digit
access key, which openprofiles takes as the account id, so it sees only what it created.

PostgreSQL tests skip with the reason when no server answers; with ``CI=true`` they fail instead.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from openprofiles.config import Settings
from openprofiles.mock import mock_profiles

REGION = "us-east-1"
PG_URL = os.environ.get("OPENPROFILES_TEST_POSTGRESQL", "postgresql://postgres@127.0.0.1:5432/test")
CLIENT_CONFIG = Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=60)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"openprofiles serve exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"{url}/_openprofiles/health", timeout=1).read()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("openprofiles serve did not answer its health check")


def start_server(db: str, port: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "openprofiles.cli", "serve", "--port", str(port), "--db", db],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
    except Exception:
        process.kill()
        raise
    return process, url


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """A fresh database on the PostgreSQL server of OPENPROFILES_TEST_POSTGRESQL, dropped at the
    end of the session, so every run starts from an empty schema."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(PG_URL).set(drivername="postgresql+psycopg")
    name = f"openprofiles_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means the same
        message = f"PostgreSQL at {PG_URL} is not reachable: {exc.__class__.__name__}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true requires it)")
        pytest.skip(message)
    yield server.set(database=name, drivername="postgresql").render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def fresh_postgresql_url(postgresql_url: str) -> Iterator[str]:
    """A database of this test's own on the test PostgreSQL server."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(postgresql_url).set(drivername="postgresql+psycopg")
    name = f"openprofiles_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield server.set(database=name, drivername="postgresql").render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("server") / "openprofiles.db"
    process, url = start_server(f"sqlite:///{db}")
    yield url
    stop_server(process)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port, for the AWS services openprofiles sends to (SQS,
    ...): its URL, for ``Settings(endpoint_urls={"sqs": url})`` and for the test's own clients."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto server exited with {process.returncode}")
            try:
                urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto server did not answer") from None
                time.sleep(0.05)
    except BaseException:
        process.kill()
        process.wait()
        raise
    yield url
    stop_server(process)


def new_account() -> str:
    return str(random.SystemRandom().randint(10**11, 10**12 - 1))


class Door:
    """Makes boto3 clients for one door, signed as one account."""

    def __init__(self, name: str, endpoint_url: str | None, account: str) -> None:
        self.name = name
        self.endpoint_url = endpoint_url
        self.account = account

    def client(self, service: str, account: str | None = None, region: str = REGION) -> Any:
        return boto3.session.Session().client(
            service,
            region_name=region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=account or self.account,
            aws_secret_access_key="secret",
            config=CLIENT_CONFIG,
        )


@pytest.fixture(params=["mock", "server", "postgresql"])
def door(request: pytest.FixtureRequest) -> Iterator[Door]:
    account = new_account()
    if request.param == "server":
        yield Door("server", request.getfixturevalue("live_server"), account)
        return
    db = request.getfixturevalue("postgresql_url") if request.param == "postgresql" else "memory"
    with mock_profiles(Settings(db=db)):
        yield Door(request.param, None, account)


@pytest.fixture
def profiles(door: Door) -> Any:
    return door.client("customer-profiles")


@pytest.fixture
def connect(door: Door) -> Any:
    return door.client("connect")


@pytest.fixture
def unique() -> Callable[[str], str]:
    """A name no other test uses: ``unique("demo")`` -> ``demo-1a2b3c4d``."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for storage tests: a fresh SQLite file, or the test PostgreSQL."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgresql_url"))
    return f"sqlite:///{tmp_path / 'store.db'}"
