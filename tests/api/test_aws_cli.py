"""Domains and tags through the AWS CLI (the ``aws`` of the test extra), against a live server.

Each call runs ``aws --endpoint-url <live_server> --output json customer-profiles ...`` signed as a
fresh 12-digit account, with every AWS_* variable of the developer's removed and the CLI's config
and credentials files pointed at empty files, so nothing but the test's own settings reaches it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import new_account

pytestmark = pytest.mark.server

REGION = "us-east-1"
CLI_TIMEOUT = 120


def aws_command() -> list[str]:
    """The ``aws`` console script next to this interpreter, else ``python -m awscli``."""
    script = Path(sys.executable).parent / "aws"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "awscli"]


class Cli:
    """Runs the AWS CLI against one endpoint, signed as one account."""

    def __init__(self, endpoint: str, account: str, home: Path) -> None:
        self.endpoint = endpoint
        self.account = account
        config = home / "aws-config"
        credentials = home / "aws-credentials"
        config.write_text("")
        credentials.write_text("")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(
            AWS_ACCESS_KEY_ID=account,
            AWS_SECRET_ACCESS_KEY="x",
            AWS_DEFAULT_REGION=REGION,
            AWS_CONFIG_FILE=str(config),
            AWS_SHARED_CREDENTIALS_FILE=str(credentials),
            AWS_MAX_ATTEMPTS="1",
            AWS_PAGER="",
        )

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [*aws_command(), "--endpoint-url", self.endpoint, "--output", "json", *args]
        return subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False
        )

    def __call__(self, *args: str) -> Any:
        """Runs a call that must succeed; returns its parsed JSON output (None when it has none)."""
        result = self.run(*args)
        assert result.returncode == 0, (
            f"aws {' '.join(args)} exited with {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
        return json.loads(result.stdout) if result.stdout.strip() else None

    def domain_arn(self, name: str) -> str:
        return f"arn:aws:profile:{REGION}:{self.account}:domains/{name}"


@pytest.fixture
def cli(live_server: str, tmp_path: Path) -> Cli:
    return Cli(live_server, new_account(), tmp_path)


@pytest.fixture
def name() -> Callable[[str], str]:
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:8]}"


def as_datetime(value: Any) -> datetime:
    """A timestamp as the CLI prints it: epoch seconds (CLI v1's default) or ISO 8601."""
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value).astimezone()
    assert isinstance(value, str), value
    return datetime.fromisoformat(value)


def test_domain_lifecycle_and_tags(cli, name):
    domain = name("cli")
    arn = cli.domain_arn(domain)

    created = cli(
        "customer-profiles",
        "create-domain",
        "--domain-name",
        domain,
        "--default-expiration-days",
        "365",
    )
    assert created["DomainName"] == domain
    assert created["DefaultExpirationDays"] == 365
    created_at = as_datetime(created["CreatedAt"])
    assert as_datetime(created["LastUpdatedAt"]) == created_at
    assert "Tags" not in created

    got = cli("customer-profiles", "get-domain", "--domain-name", domain)
    assert got["DomainName"] == domain
    assert got["DefaultExpirationDays"] == 365
    assert as_datetime(got["CreatedAt"]) == created_at
    assert got["Stats"] == {
        "ProfileCount": 0,
        "MeteringProfileCount": 0,
        "ObjectCount": 0,
        "TotalSize": 0,
    }

    # the fresh account sees its one domain and nothing else
    listed = cli("customer-profiles", "list-domains")
    assert [item["DomainName"] for item in listed["Items"]] == [domain]
    assert as_datetime(listed["Items"][0]["CreatedAt"]) == created_at
    assert "NextToken" not in listed

    assert cli("customer-profiles", "list-tags-for-resource", "--resource-arn", arn) == {"tags": {}}
    # tag-resource answers an empty body: the CLI prints nothing
    tagged = cli(
        "customer-profiles", "tag-resource", "--resource-arn", arn, "--tags", "team=crm,env=test"
    )
    assert tagged is None
    tags = cli("customer-profiles", "list-tags-for-resource", "--resource-arn", arn)
    assert tags == {"tags": {"team": "crm", "env": "test"}}
    assert cli("customer-profiles", "get-domain", "--domain-name", domain)["Tags"] == {
        "team": "crm",
        "env": "test",
    }

    untagged = cli(
        "customer-profiles", "untag-resource", "--resource-arn", arn, "--tag-keys", "env"
    )
    assert untagged is None
    tags = cli("customer-profiles", "list-tags-for-resource", "--resource-arn", arn)
    assert tags == {"tags": {"team": "crm"}}

    deleted = cli("customer-profiles", "delete-domain", "--domain-name", domain)
    assert domain in deleted["Message"]
    assert cli("customer-profiles", "list-domains")["Items"] == []


def test_get_missing_domain_fails(cli, name):
    domain = name("missing")

    result = cli.run("customer-profiles", "get-domain", "--domain-name", domain)

    assert result.returncode in (254, 255), (result.returncode, result.stderr)
    assert "ResourceNotFoundException" in result.stderr
    assert "GetDomain" in result.stderr
    assert result.stdout.strip() == ""
