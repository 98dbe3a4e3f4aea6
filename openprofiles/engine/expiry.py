"""Expiry: a profile object lives ExpirationDays (its type's, else the domain's default) after
its last write. Reads hide expired objects at once; the sweep deletes them (with their key rows),
a batch at a time, driven by the App's clock so tests move time instead of waiting.

Profiles themselves do not expire: only the objects ingested into them do.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from openprofiles.store import objects as store


def sweep_expired(conn: Connection, now: datetime, batch: int = 1000) -> int:
    """Delete up to ``batch`` expired objects; the number deleted."""
    expired = store.expired(conn, now.timestamp(), batch)
    store.delete_objects(conn, expired)
    return len(expired)
