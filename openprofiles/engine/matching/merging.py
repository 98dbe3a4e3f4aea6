"""Merging a match group, for rule-based matching (MaxAllowedRuleLevelForMerging) and ML
auto-merging alike: one transaction per group, through engine.merge (the MergeProfiles path).

The main profile: RECENCY, the most recently updated one; SOURCE, the most recently updated of
those holding an object of the type SourceName, else as RECENCY. The others follow, the most
recent first, so each field comes from the most recent profile that has it (merge takes the main
profile's value, else the first merged one's). A profile deleted meanwhile is left out; a group
left with one profile is not merged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from openprofiles.engine.merge import merge_profiles
from openprofiles.errors import ResourceNotFoundException
from openprofiles.store import matching as store
from openprofiles.store import profiles as profile_store
from openprofiles.store.db import Store


def merge_order(conn: Connection, rows: list[dict[str, Any]], source_name: str | None) -> list[dict[str, Any]]:
    """The profiles of a group, the main one first, then the others most recent first."""
    order = sorted(rows, key=lambda r: (r["updated_at"], r["profile_id"]), reverse=True)
    if source_name:
        holders = store.holding_type(conn, [r["id"] for r in order], source_name)
        main = next((r for r in order if r["id"] in holders), order[0])
        order = [main, *(r for r in order if r is not main)]
    return order


def merge_group(
    db: Store, domain: dict[str, Any], profile_ids: tuple[str, ...] | list[str], source_name: str | None,
    now: datetime, before: Callable[[Connection], None] | None = None,
) -> int:
    """Merge the group's living profiles into its main one, in one transaction (``before`` runs
    first in it); how many profiles were merged away."""
    try:
        with db.transaction() as conn:
            if before is not None:
                before(conn)
            rows = profile_store.get_many(conn, domain["id"], profile_ids)
            if len(rows) < 2:
                return 0
            main, *others = merge_order(conn, list(rows.values()), source_name)
            merge_profiles(conn, domain, main["profile_id"], [r["profile_id"] for r in others], {}, now)
    except ResourceNotFoundException:  # deleted between the read and the lock: next time
        return 0
    return len(others)
