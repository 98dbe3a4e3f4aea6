"""Queries over the match groups of ML identity resolution (schema.ml_matches).

As with rule-based groups, a profile deleted since the job drops out of its group at once, and a
group left with one living profile is no group.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select

from openprofiles.store.query import execute_many
from openprofiles.store.schema import ml_matches, profiles

_INSERT = insert(ml_matches)


def replace(
    conn: Connection, domain_id: int, job_id: str, now: float,
    groups: Iterable[tuple[str, tuple[str, ...], float]],
) -> None:
    """Make ``groups`` (match id, profile ids, confidence) the domain's match groups."""
    conn.execute(delete(ml_matches).where(ml_matches.c.domain_id == domain_id))
    rows = [
        {"domain_id": domain_id, "match_id": match_id, "profile_id": profile_id,
         "confidence": confidence, "job_id": job_id, "generated_at": now}
        for match_id, profile_ids, confidence in groups
        for profile_id in profile_ids
    ]  # fmt: skip
    execute_many(conn, _INSERT, rows)


def _living(domain_id: int) -> Any:
    """The domain's memberships whose profile still exists."""
    exists = (
        select(profiles.c.id)
        .where(profiles.c.domain_id == domain_id, profiles.c.profile_id == ml_matches.c.profile_id)
        .exists()
    )
    return and_(ml_matches.c.domain_id == domain_id, exists)


def _living_groups(domain_id: int) -> Any:
    """The match ids of the domain's groups with at least two living profiles."""
    return (
        select(ml_matches.c.match_id)
        .where(_living(domain_id))
        .group_by(ml_matches.c.match_id)
        .having(func.count() >= 2)
    )


def groups_page(
    conn: Connection, domain_id: int, after: str | None, limit: int
) -> list[tuple[str, list[str], float]]:
    """Up to ``limit`` living groups in match id order after ``after``: (match id, profile ids,
    confidence)."""
    groups = _living_groups(domain_id)
    if after is not None:
        groups = groups.where(ml_matches.c.match_id > after)
    ids = [row[0] for row in conn.execute(groups.order_by(ml_matches.c.match_id).limit(limit))]
    return [(match_id, *members(conn, domain_id, match_id)) for match_id in ids]


def members(conn: Connection, domain_id: int, match_id: str) -> tuple[list[str], float]:
    """The living profile ids of a group, in id order, and its confidence."""
    rows = conn.execute(
        select(ml_matches.c.profile_id, ml_matches.c.confidence)
        .where(_living(domain_id), ml_matches.c.match_id == match_id)
        .order_by(ml_matches.c.profile_id)
    ).all()
    return [row[0] for row in rows], float(rows[0][1]) if rows else 0.0


def group_of(conn: Connection, domain_id: int, profile_id: str) -> str | None:
    """The match id of a profile's group, if it is in one."""
    return conn.execute(
        select(ml_matches.c.match_id).where(
            ml_matches.c.domain_id == domain_id, ml_matches.c.profile_id == profile_id
        )
    ).scalar()


def count(conn: Connection, domain_id: int) -> int:
    """How many living groups the domain has."""
    counted = _living_groups(domain_id).subquery()
    return int(conn.execute(select(func.count()).select_from(counted)).scalar_one())
