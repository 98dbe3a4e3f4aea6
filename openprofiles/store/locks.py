"""Serializing writers on values: two transactions that ingest objects sharing a key value
must not both find "no profile" and both create one.

On PostgreSQL each (name, value) pair takes a transaction-scoped advisory lock, in sorted order so
that two writers never wait on each other crosswise. SQLite needs nothing: its writing
transactions (BEGIN IMMEDIATE) already run one at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import Connection, text

_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


def _lock_id(domain_id: int, name: str, value: str) -> int:
    digest = hashlib.blake2b(f"{domain_id}\x1f{name}\x1f{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_values(conn: Connection, domain_id: int, pairs: Iterable[tuple[str, str]]) -> None:
    if conn.dialect.name != "postgresql":
        return
    for key in sorted({_lock_id(domain_id, n, v) for n, v in pairs}):
        conn.execute(_LOCK, {"key": key})
