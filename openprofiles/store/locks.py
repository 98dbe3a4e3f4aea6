"""Serializing writers on values: two transactions that ingest objects sharing a key value
must not both find "no profile" and both create one.

On PostgreSQL each (name, value) pair takes a transaction-scoped advisory lock, in sorted order so
that two writers never wait on each other crosswise; a batch of ingestion takes the domain's lock
exclusively instead, which every single writer shares. SQLite needs nothing: its writing
transactions (BEGIN IMMEDIATE) already run one at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import Connection, text

_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_DOMAIN_SHARED = text("SELECT pg_advisory_xact_lock_shared(:key)")


def _lock_id(domain_id: int, name: str, value: str) -> int:
    digest = hashlib.blake2b(f"{domain_id}\x1f{name}\x1f{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_domain(conn: Connection, domain_id: int, exclusive: bool) -> None:
    """The domain's ingestion lock: shared by single writers, exclusive for a batch (a batch
    touches too many values to lock each)."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(_LOCK if exclusive else _DOMAIN_SHARED, {"key": _lock_id(domain_id, "", "")})


def lock_values(conn: Connection, domain_id: int, pairs: Iterable[tuple[str, str]]) -> None:
    """Serialize the writers of these values; a single writer first shares the domain's lock."""
    if conn.dialect.name != "postgresql":
        return
    lock_domain(conn, domain_id, exclusive=False)
    for key in sorted({_lock_id(domain_id, n, v) for n, v in pairs}):
        conn.execute(_LOCK, {"key": key})
