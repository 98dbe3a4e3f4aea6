"""One Settings object for the whole server: CLI flags override OPENPROFILES_* variables, which
override the defaults below.

``OPENPROFILES_<SERVICE>_ENDPOINT_URL`` variables (``OPENPROFILES_SQS_ENDPOINT_URL``,
``OPENPROFILES_KINESIS_ENDPOINT_URL``, ...) point the outbound AWS clients of openprofiles.sinks at
another endpoint (a moto server, LocalStack): they make ``Settings.endpoint_urls``, keyed by the
boto3 service name (``<SERVICE>`` lower-cased, ``_`` read as ``-``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

ENV_PREFIX = "OPENPROFILES_"
_ENDPOINT_URL_VARIABLE = re.compile(r"OPENPROFILES_(\w+)_ENDPOINT_URL")


def default_db_path(env: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_DATA_HOME/openprofiles/openprofiles.db``, else under ``~/.local/share``."""
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "openprofiles" / "openprofiles.db"


def parse_accounts(text: str) -> dict[str, str]:
    """``AKID1=111122223333,AKID2=444455556666`` -> {access key: account id}."""
    pairs = (item.split("=", 1) for item in text.split(",") if item.strip())
    accounts = {}
    for pair in pairs:
        if len(pair) != 2 or not pair[1].strip().isdigit() or len(pair[1].strip()) != 12:
            raise ValueError(f"OPENPROFILES_ACCOUNTS: expected KEY=12-digit-account, got {pair!r}")
        accounts[pair[0].strip()] = pair[1].strip()
    return accounts


def endpoint_urls_from(env: Mapping[str, str]) -> dict[str, str]:
    """``OPENPROFILES_SQS_ENDPOINT_URL=http://...`` -> ``{"sqs": "http://..."}``; empty values
    are skipped."""
    urls = {}
    for name, value in env.items():
        found = _ENDPOINT_URL_VARIABLE.fullmatch(name)
        if found and value.strip():
            urls[found.group(1).lower().replace("_", "-")] = value.strip()
    return urls


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 4599
    #: ``memory``, ``sqlite:///PATH`` or ``postgresql://...``; empty means the default SQLite file.
    db: str = ""
    default_account: str = "123456789012"
    default_region: str = "us-east-1"
    #: access key -> account id; a 12-digit access key is taken as the account id itself.
    accounts: dict[str, str] = field(default_factory=dict)
    log_level: str = "info"
    #: worker threads for API calls; 0 runs them on the event loop; None: see worker_threads
    threads: int | None = None
    #: the region phone numbers without a country code are read in (ISO 3166 code)
    phone_region: str = "US"
    #: boto3 service name -> endpoint URL of the outbound clients (see openprofiles.sinks.aws);
    #: a service not named here talks to AWS (or to boto3's own AWS_ENDPOINT_URL_<SERVICE>)
    endpoint_urls: dict[str, str] = field(default_factory=dict)

    def worker_threads(self, dialect: str) -> int:
        """How many API calls may run at once, each on a worker thread; 0 runs them one at a
        time on the event loop. Unset: 0 on SQLite (the work is all in-process and writes go one
        at a time, so threads would only add hand-offs), 16 on PostgreSQL (calls overlap while
        they wait on the network)."""
        if self.threads is not None:
            return self.threads
        return 0 if dialect == "sqlite" else 16

    def db_url(self) -> str:
        if self.db == "memory":
            return "sqlite://"
        if self.db:
            return self.db
        return f"sqlite:///{default_db_path()}"

    @classmethod
    def load(cls, env: Mapping[str, str] = os.environ, **flags: object) -> Settings:
        """Settings from the environment, with the given (non-None) flags taking precedence."""
        values: dict[str, object] = {}
        endpoint_urls = endpoint_urls_from(env)
        if endpoint_urls:
            values["endpoint_urls"] = endpoint_urls
        for item in fields(cls):
            if item.name == "endpoint_urls":
                continue
            raw = env.get(ENV_PREFIX + item.name.upper())
            if raw is None:
                continue
            if item.name in ("port", "threads"):
                values[item.name] = int(raw)
            elif item.name == "accounts":
                values["accounts"] = parse_accounts(raw)
            else:
                values[item.name] = raw
        values.update({k: v for k, v in flags.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
