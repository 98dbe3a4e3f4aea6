"""One Settings object for the whole server: CLI flags override OPENPROFILES_* variables, which
override the defaults below."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

ENV_PREFIX = "OPENPROFILES_"


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
    #: worker threads for API calls; 0 runs them on the event loop; None: 0 on SQLite, 40 else
    threads: int | None = None
    #: the region phone numbers without a country code are read in (ISO 3166 code)
    phone_region: str = "US"

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
        for item in fields(cls):
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
