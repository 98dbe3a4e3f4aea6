"""Domains through the AWS SDK for JavaScript v3 (``tests/js/domains.mjs``), against a live server.

The Node script does the checks itself and prints one JSON line of what it observed; this test
runs it, requires exit code 0, and checks the observation again.

``tests/js/node_modules`` is installed here (``npm ci``) when missing, since CI starts from a fresh
checkout with only ``pip install`` behind it. Without ``node``/``npm`` on PATH the test skips with
the reason; with ``CI=true`` it fails instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.conftest import new_account

pytestmark = pytest.mark.server

JS_DIR = Path(__file__).resolve().parent.parent / "js"
SCRIPT = JS_DIR / "domains.mjs"
SDK_PACKAGE = "@aws-sdk/client-customer-profiles"
MIN_NODE_MAJOR = 20  # the SDK's own engines.node
NPM_TIMEOUT = 900
SCRIPT_TIMEOUT = 180
REGION = "us-east-1"


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " (CI=true requires it)")
    pytest.skip(reason)


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _node_and_npm() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(n for n, path in (("node", node), ("npm", npm)) if path is None)
        _unavailable(
            f"{missing} not found on PATH: "
            f"the JavaScript SDK test needs Node.js >= {MIN_NODE_MAJOR}"
        )
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    match = re.match(r"v(\d+)\.", version)
    if match is None or int(match.group(1)) < MIN_NODE_MAJOR:
        _unavailable(
            f"node {version or '(unknown version)'} is too old: "
            f"{SDK_PACKAGE} needs >= {MIN_NODE_MAJOR}"
        )
    return node, npm


def _installed_sdk_version() -> str | None:
    manifest = JS_DIR / "node_modules" / SDK_PACKAGE / "package.json"
    try:
        return str(json.loads(manifest.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def _ensure_node_modules(npm: str) -> None:
    """``npm ci`` when node_modules is missing, incomplete, or holds another SDK version."""
    pinned = json.loads((JS_DIR / "package.json").read_text())["dependencies"][SDK_PACKAGE]
    if _installed_sdk_version() == pinned:
        return
    try:
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=JS_DIR,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"npm ci in {JS_DIR} did not finish within {NPM_TIMEOUT}s")
    if result.returncode != 0:
        pytest.fail(
            f"npm ci in {JS_DIR} exited with {result.returncode}\n"
            f"stdout:\n{_tail(result.stdout)}\nstderr:\n{_tail(result.stderr)}"
        )
    installed = _installed_sdk_version()
    assert installed == pinned, (
        f"npm ci installed {SDK_PACKAGE} {installed}, package.json pins {pinned}"
    )


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment without any AWS_* of the developer's, and with empty AWS config files."""
    config = tmp_path / "aws-config"
    credentials = tmp_path / "aws-credentials"
    config.write_text("")
    credentials.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(config), AWS_SHARED_CREDENTIALS_FILE=str(credentials), **extra)
    return env


@pytest.fixture(scope="module")
def node() -> str:
    node, npm = _node_and_npm()
    _ensure_node_modules(npm)
    return node


def run_script(
    node: str, endpoint: str, account: str, domain: str, tmp_path: Path
) -> dict[str, Any]:
    env = _clean_env(
        tmp_path,
        OPENPROFILES_ENDPOINT=endpoint,
        OPENPROFILES_ACCOUNT=account,
        OPENPROFILES_DOMAIN=domain,
    )
    result = subprocess.run(
        [node, str(SCRIPT)],
        cwd=JS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    observed: dict[str, Any] | None = None
    if lines:
        try:
            observed = json.loads(lines[-1])
        except ValueError:
            observed = None
    assert result.returncode == 0 and observed is not None, (
        f"node {SCRIPT.name} exited with {result.returncode}\n"
        f"failures: {observed and observed.get('failures')}\n"
        f"stdout:\n{_tail(result.stdout)}\nstderr:\n{_tail(result.stderr)}"
    )
    return observed


def test_domains_through_js_sdk(node, live_server, tmp_path):
    account = new_account()
    domain = f"js-sdk-{uuid.uuid4().hex[:8]}"

    observed = run_script(node, live_server, account, domain, tmp_path)

    assert observed["ok"] is True
    assert observed["failures"] == []
    assert observed["steps"] == [
        "CreateDomain",
        "GetDomain",
        "ListDomains",
        "UpdateDomain",
        "DeleteDomain",
        "GetDomain(deleted)",
        "CreateDomain(invalid)",
    ]
    assert observed["expectedArn"] == f"arn:aws:profile:{REGION}:{account}:domains/{domain}"

    created = observed["create"]
    assert created["status"] == 200
    assert created["DomainName"] == domain
    assert created["DefaultExpirationDays"] == 365
    assert created["CreatedAtIsDate"] is True
    assert created["LastUpdatedAtIsDate"] is True
    assert created["Tags"] == {"team": "crm", "sdk": "js"}

    got = observed["get"]
    assert got["DomainName"] == domain
    assert got["DefaultExpirationDays"] == 365
    assert got["CreatedAtIsDate"] is True
    assert got["CreatedAt"] == created["CreatedAt"]
    assert got["Stats"] == {
        "ProfileCount": 0,
        "MeteringProfileCount": 0,
        "ObjectCount": 0,
        "TotalSize": 0,
    }
    assert got["Tags"] == {"team": "crm", "sdk": "js"}

    # a fresh account sees only its own domain
    assert observed["list"] == {
        "names": [domain],
        "found": True,
        "CreatedAtIsDate": True,
        "Tags": {"team": "crm", "sdk": "js"},
    }

    assert observed["update"]["DomainName"] == domain
    assert observed["update"]["DefaultExpirationDays"] == 30
    assert observed["update"]["LastUpdatedAtIsDate"] is True
    assert observed["update"]["Tags"]["stage"] == "updated"
    assert observed["afterUpdate"]["DefaultExpirationDays"] == 30

    assert domain in observed["delete"]["Message"]

    not_found = observed["notFound"]
    assert not_found["name"] == "ResourceNotFoundException"
    assert not_found["status"] == 404
    assert not_found["fault"] == "client"
    assert not_found["instanceOfModeled"] is True
    assert domain in not_found["message"]

    bad_request = observed["badRequest"]
    assert bad_request["name"] == "BadRequestException"
    assert bad_request["status"] == 400
    assert bad_request["fault"] == "client"
    assert bad_request["instanceOfModeled"] is True
    assert "DomainName" in bad_request["message"]
