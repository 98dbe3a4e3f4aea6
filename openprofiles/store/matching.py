"""Queries of rule-based matching: the signature index, the match groups, the passes.

A group is *living* while at least two of its profiles exist: a profile deleted since the last
pass drops out of its group at once, and a group left with one profile is no group.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import Connection, Select, and_, bindparam, delete, func, insert, select

from openprofiles.store.query import Query, execute_many
from openprofiles.store.schema import (
    domains,
    match_signatures,
    profile_keys,
    profile_objects,
    profiles,
    rule_based_matches,
    rule_based_passes,
)

#: one statement object each, so that execute_many compiles it once
_INSERT_SIGNATURES = insert(match_signatures)
_INSERT_MATCHES = insert(rule_based_matches)
#: how many ids go in one IN (...) list (SQLite and PostgreSQL cap bound parameters)
_CHUNK = 1000


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def enabled_domains(conn: Connection) -> list[dict[str, Any]]:
    """Every domain with a RuleBasedMatching configuration, with its profiles' count and newest
    update now and at its last pass (None before the first pass)."""
    configured = select(domains.c.id).where(domains.c.rule_based_matching.is_not(None))
    now = (
        select(
            profiles.c.domain_id,
            func.count().label("profile_count"),
            func.max(profiles.c.updated_at).label("newest_update"),
        )
        .where(profiles.c.domain_id.in_(configured))
        .group_by(profiles.c.domain_id)
        .subquery()
    )
    query = (
        select(
            domains.c.id, domains.c.account_id, domains.c.region, domains.c.domain_name,
            domains.c.rule_based_matching,
            func.coalesce(now.c.profile_count, 0).label("profile_count"), now.c.newest_update,
            rule_based_passes.c.profile_count.label("passed_count"),
            rule_based_passes.c.newest_update.label("passed_newest"),
        )
        .outerjoin(now, now.c.domain_id == domains.c.id)
        .outerjoin(rule_based_passes, rule_based_passes.c.domain_id == domains.c.id)
        .where(domains.c.rule_based_matching.is_not(None))
        .order_by(domains.c.id)
    )
    rows = [dict(row._mapping) for row in conn.execute(query)]
    for row in rows:
        row["rule_based_matching"] = orjson.loads(row["rule_based_matching"])
    return rows


def fingerprint(conn: Connection, domain_id: int) -> tuple[int, float | None]:
    """The domain's profile count and newest profile update."""
    query = select(func.count(), func.max(profiles.c.updated_at))
    count, newest = conn.execute(query.where(profiles.c.domain_id == domain_id)).one()
    return int(count), newest


def record_pass(
    conn: Connection, domain_id: int, seen: tuple[int, float | None], now: float
) -> None:
    conn.execute(delete(rule_based_passes).where(rule_based_passes.c.domain_id == domain_id))
    conn.execute(
        insert(rule_based_passes).values(
            domain_id=domain_id, profile_count=seen[0], newest_update=seen[1], passed_at=now
        )
    )


def profile_page(
    conn: Connection, domain_id: int, after: int, limit: int
) -> list[tuple[int, dict[str, Any]]]:
    """(row id, document) of up to ``limit`` profiles after row id ``after``, in id order."""
    query = (
        select(profiles.c.id, profiles.c.document)
        .where(profiles.c.domain_id == domain_id, profiles.c.id > after)
        .order_by(profiles.c.id)
        .limit(limit)
    )
    return [(pk, orjson.loads(document)) for pk, document in conn.execute(query)]


def clear_signatures(conn: Connection, domain_id: int) -> None:
    conn.execute(delete(match_signatures).where(match_signatures.c.domain_id == domain_id))


def add_signatures(conn: Connection, domain_id: int, rows: Iterable[tuple[int, str, int]]) -> None:
    """Index (level, signature, profile row id) triples; each triple at most once."""
    params = [
        {"domain_id": domain_id, "level": level, "signature": signature, "profile_pk": pk}
        for level, signature, pk in sorted(set(rows))
    ]
    execute_many(conn, _INSERT_SIGNATURES, params)


def shared_signatures(
    conn: Connection, domain_id: int, level: int, most: int
) -> list[tuple[str, int]]:
    """(signature, profile row id) of the signatures that 2 to ``most`` profiles share at a
    level, in signature order: the grouping is done by the database."""
    at_level = and_(match_signatures.c.domain_id == domain_id, match_signatures.c.level == level)
    shared = (
        select(match_signatures.c.signature)
        .where(at_level)
        .group_by(match_signatures.c.signature)
        .having(func.count().between(2, most))
        .subquery()
    )
    query = (
        select(match_signatures.c.signature, match_signatures.c.profile_pk)
        .join(shared, shared.c.signature == match_signatures.c.signature)
        .where(at_level)
        .order_by(match_signatures.c.signature, match_signatures.c.profile_pk)
    )
    return [(signature, pk) for signature, pk in conn.execute(query)]


def profile_ids(conn: Connection, pks: Iterable[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for chunk in _chunks(sorted(set(pks))):
        query = select(profiles.c.id, profiles.c.profile_id).where(profiles.c.id.in_(chunk))
        found.update({pk: profile_id for pk, profile_id in conn.execute(query)})
    return found


def replace_matches(conn: Connection, domain_id: int, rows: Iterable[tuple[str, int, str]]) -> None:
    """Make the domain's match groups exactly the (match id, rule level, profile id) rows."""
    conn.execute(delete(rule_based_matches).where(rule_based_matches.c.domain_id == domain_id))
    params = [
        {"domain_id": domain_id, "match_id": m, "rule_level": level, "profile_id": p}
        for m, level, p in rows
    ]
    execute_many(conn, insert(rule_based_matches), params)


def drop_match(conn: Connection, domain_id: int, match_id: str) -> None:
    conn.execute(
        delete(rule_based_matches).where(
            rule_based_matches.c.domain_id == domain_id, rule_based_matches.c.match_id == match_id
        )
    )


def holding_type(conn: Connection, pks: list[int], type_name: str) -> set[int]:
    """Which of these profiles hold an object of the type."""
    query = select(profile_objects.c.profile_pk).distinct().where(
        profile_objects.c.profile_pk.in_(pks), profile_objects.c.object_type_name == type_name
    )
    return set(conn.execute(query).scalars())


def _living(domain_id: int) -> Any:
    """The domain's living groups: match id and rule level."""
    return (
        select(rule_based_matches.c.match_id, rule_based_matches.c.rule_level)
        .join(profiles, _member_exists(domain_id))
        .where(rule_based_matches.c.domain_id == domain_id)
        .group_by(rule_based_matches.c.match_id, rule_based_matches.c.rule_level)
        .having(func.count() >= 2)
        .subquery()
    )


def _member_exists(domain_id: int) -> Any:
    return and_(
        profiles.c.domain_id == domain_id, profiles.c.profile_id == rule_based_matches.c.profile_id
    )


def match_ids_page(conn: Connection, domain_id: int, after: str | None, limit: int) -> list[str]:
    """Up to ``limit`` living match ids in order, after ``after``."""
    living = _living(domain_id)
    query: Select[Any] = select(living.c.match_id)
    if after is not None:
        query = query.where(living.c.match_id > after)
    return list(conn.execute(query.order_by(living.c.match_id).limit(limit)).scalars())


def _first_match(conn: Connection, domain_id: int, which: Any) -> tuple[str, int] | None:
    """(match id, rule level) of the living group of the first profile (in row id order) that
    satisfies ``which`` and is in one."""
    living = _living(domain_id)
    query = (
        select(living.c.match_id, living.c.rule_level)
        .join(rule_based_matches, and_(
            rule_based_matches.c.domain_id == domain_id,
            rule_based_matches.c.match_id == living.c.match_id,
        ))
        .join(profiles, _member_exists(domain_id))
        .where(which)
        .order_by(profiles.c.id)
        .limit(1)
    )
    row = conn.execute(query).first()
    return (row[0], row[1]) if row else None


def match_of_profile(conn: Connection, domain_id: int, profile_id: str) -> tuple[str, int] | None:
    return _first_match(conn, domain_id, profiles.c.profile_id == profile_id)


def match_of_key(
    conn: Connection, domain_id: int, key_name: str, key_value: str
) -> tuple[str, int] | None:
    """The group of the first profile holding the key value that is in a group."""
    holders = select(profile_keys.c.profile_pk).where(
        profile_keys.c.domain_id == domain_id,
        profile_keys.c.key_name == key_name,
        profile_keys.c.key_value == key_value,
    )
    return _first_match(conn, domain_id, profiles.c.id.in_(holders))


def members_page(
    conn: Connection, domain_id: int, match_id: str, after: str | None, limit: int
) -> list[str]:
    """Up to ``limit`` existing profile ids of a group in order, after ``after``."""
    query = (
        select(rule_based_matches.c.profile_id)
        .join(profiles, _member_exists(domain_id))
        .where(
            rule_based_matches.c.domain_id == domain_id, rule_based_matches.c.match_id == match_id
        )
    )
    if after is not None:
        query = query.where(rule_based_matches.c.profile_id > after)
    query = query.order_by(rule_based_matches.c.profile_id).limit(limit)
    return list(conn.execute(query).scalars())



# --- incremental matching (engine.matching.incremental): one profile at a time, indexed. Fixed
# statements run through store.query.Query: they are on PutProfileObject's path ---

_DROP_PROFILE_SIGNATURES = Query(
    delete(match_signatures).where(
        match_signatures.c.domain_id == bindparam("domain_id"),
        match_signatures.c.profile_pk == bindparam("pk"),
    )
)
_HOLDERS = Query(
    select(profiles.c.id, profiles.c.profile_id, rule_based_matches.c.match_id, rule_based_matches.c.rule_level)
    .select_from(match_signatures)
    .join(profiles, and_(
        profiles.c.id == match_signatures.c.profile_pk, profiles.c.domain_id == match_signatures.c.domain_id
    ))
    .outerjoin(rule_based_matches, and_(
        rule_based_matches.c.domain_id == match_signatures.c.domain_id,
        rule_based_matches.c.profile_id == profiles.c.profile_id,
    ))
    .where(
        match_signatures.c.domain_id == bindparam("domain_id"),
        match_signatures.c.level == bindparam("level"),
        match_signatures.c.signature == bindparam("signature"),
    )
    .limit(bindparam("limit"))
)  # fmt: skip
_GROUP_OF = Query(
    select(rule_based_matches.c.match_id, rule_based_matches.c.rule_level).where(
        rule_based_matches.c.domain_id == bindparam("domain_id"),
        rule_based_matches.c.profile_id == bindparam("profile_id"),
    )
)
_LIVING_MEMBERS = Query(
    select(rule_based_matches.c.profile_id)
    .join(profiles, _member_exists(bindparam("domain_id")))
    .where(
        rule_based_matches.c.domain_id == bindparam("domain_id"),
        rule_based_matches.c.match_id == bindparam("match_id"),
    )
)
_DROP_MEMBERSHIP = Query(
    delete(rule_based_matches).where(
        rule_based_matches.c.domain_id == bindparam("domain_id"),
        rule_based_matches.c.profile_id == bindparam("profile_id"),
    )
)
_DROP_MATCH = Query(
    delete(rule_based_matches).where(
        rule_based_matches.c.domain_id == bindparam("domain_id"),
        rule_based_matches.c.match_id == bindparam("match_id"),
    )
)


def replace_profile_signatures(
    conn: Connection, domain_id: int, pk: int, rows: Iterable[tuple[int, str]]
) -> None:
    """Make a profile's indexed signatures exactly the (level, signature) rows."""
    _DROP_PROFILE_SIGNATURES.run(conn, {"domain_id": domain_id, "pk": pk})
    add_signatures(conn, domain_id, [(level, signature, pk) for level, signature in rows])


def signature_holders(
    conn: Connection, domain_id: int, level: int, signature: str, most: int
) -> list[tuple[int, str, str | None, int | None]]:
    """(row id, profile id, match id, rule level) of the existing profiles holding a signature
    at a level (the match of a profile in a stored group, else None), by the index's primary
    key; at most ``most`` + 1 rows, so more than ``most`` means the guard skips it."""
    params = {"domain_id": domain_id, "level": level, "signature": signature, "limit": most + 1}
    return [tuple(row) for row in _HOLDERS.rows(conn, params)]  # type: ignore[misc]


def group_of(conn: Connection, domain_id: int, profile_id: str) -> tuple[str, int] | None:
    """(match id, rule level) of a profile's stored group, if it is in one."""
    row = _GROUP_OF.rows(conn, {"domain_id": domain_id, "profile_id": profile_id})
    return (row[0][0], row[0][1]) if row else None


def living_members(conn: Connection, domain_id: int, match_id: str) -> list[str]:
    """The existing profiles of a stored group."""
    rows = _LIVING_MEMBERS.rows(conn, {"domain_id": domain_id, "match_id": match_id})
    return [profile_id for (profile_id,) in rows]


def drop_memberships(conn: Connection, domain_id: int, profile_ids: list[str]) -> None:
    """Take these profiles out of whatever stored group they are in."""
    for profile_id in profile_ids:
        _DROP_MEMBERSHIP.run(conn, {"domain_id": domain_id, "profile_id": profile_id})


def replace_match(
    conn: Connection, domain_id: int, old_id: str | None, match_id: str, level: int, profile_ids: list[str]
) -> None:
    """Store a group (its members taken out of any other) in place of group ``old_id``."""
    if old_id is not None:
        _DROP_MATCH.run(conn, {"domain_id": domain_id, "match_id": old_id})
    drop_memberships(conn, domain_id, profile_ids)
    params = [
        {"domain_id": domain_id, "match_id": match_id, "rule_level": level, "profile_id": p}
        for p in sorted(set(profile_ids))
    ]
    execute_many(conn, _INSERT_MATCHES, params)
