"""Queries of rule-based matching: the signature index, the match groups, the passes.

A group is *living* while at least two of its profiles exist: a profile deleted since the last
pass drops out of its group at once, and a group left with one profile is no group.

The full pass writes a domain's whole signature index and match groups at once: on SQLite both
are written in their primary key's order, and an index by profile is built again after the load
rather than updated row by row when the domain holds most of the table (``_bulk_load``). Those
writes are a fraction of what one insert per row at a random place of the b-trees costs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Index,
    Select,
    String,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal_column,
    select,
)

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


_PAGE = {
    first: Query(
        select(profiles.c.id, profiles.c.profile_id, profiles.c.document)
        .where(
            profiles.c.domain_id == bindparam("domain_id"),
            *(() if first else (profiles.c.profile_id > bindparam("after"),)),
        )
        .order_by(profiles.c.profile_id)
        .limit(bindparam("limit"))
    )
    for first in (True, False)
}


def profile_page(
    conn: Connection, domain_id: int, after: str | None, limit: int
) -> list[tuple[int, str, dict[str, Any]]]:
    """(row id, profile id, document) of up to ``limit`` profiles after profile id ``after``, in
    profile id order: a range of the (domain_id, profile_id) index, so each page costs its own
    rows whatever the domain's size (an order by row id would sort the whole domain per page)."""
    params = {"domain_id": domain_id, "limit": limit, "after": after}
    rows = _PAGE[after is None].rows(conn, params)
    return [(pk, profile_id, orjson.loads(document)) for pk, profile_id, document in rows]


def clear_signatures(conn: Connection, domain_id: int) -> None:
    conn.execute(delete(match_signatures).where(match_signatures.c.domain_id == domain_id))


def add_signatures(conn: Connection, domain_id: int, rows: Iterable[tuple[int, str, int]]) -> None:
    """Index (level, signature, profile row id) triples; each triple at most once."""
    params = [
        {"domain_id": domain_id, "level": level, "signature": signature, "profile_pk": pk}
        for level, signature, pk in sorted(set(rows))
    ]
    execute_many(conn, _INSERT_SIGNATURES, params)


#: the secondary indexes by profile, which a bulk load may build again rather than update
_SIGNATURES_BY_PROFILE = next(i for i in match_signatures.indexes if i.name == "ix_match_signatures_profile")
_MATCHES_BY_PROFILE = next(i for i in rule_based_matches.indexes if i.name == "ix_rule_based_matches_profile")
_STAGE = "temp.rule_based_pass_signatures"


@contextmanager
def _bulk_load(conn: Connection, index: Index, domain_id: int, rows: int) -> Iterator[None]:
    """Around the replacement of a domain's rows of the table of ``index`` by ``rows`` new ones
    (the old ones are deleted inside): on SQLite, when the new rows are at least as many as the
    other domains' ones, the index is dropped first and built again after (one sort instead of
    a delete and an insert at a random place per row), in the caller's transaction, which holds
    SQLite's only writer lock. Elsewhere, or for a small domain, it does nothing."""
    table = index.table
    rebuild = False
    if conn.dialect.name == "sqlite" and rows:
        others = select(func.count()).select_from(table).where(table.c.domain_id != domain_id)
        rebuild = rows >= conn.execute(others).scalar_one()
    if rebuild:
        index.drop(conn)
    yield
    if rebuild:
        index.create(conn)


def replace_signatures(
    conn: Connection, domain_id: int, pages: Iterable[list[tuple[int, str, int]]]
) -> int:
    """Make the domain's signature index exactly the (level, signature, profile row id) rows of
    ``pages`` (each triple once, in any order); the number of rows.

    On SQLite the rows go first into a temporary table without any index, then into the index
    in one INSERT ... SELECT sorted by its primary key, so that the primary key's b-tree is
    written front to back rather than at a random place per row (a bulk load of a million
    profiles costs a fraction of row-by-row inserts). When the domain's rows are at least as many
    as the other domains' ones, the index by profile is dropped first and built again after the
    load (one sort instead of a random insert per row), all in the caller's transaction, which
    holds SQLite's only writer lock. Other databases delete the domain's rows and insert the new
    ones page by page."""
    if conn.dialect.name != "sqlite":
        clear_signatures(conn, domain_id)
        count = 0
        for rows in pages:
            add_signatures(conn, domain_id, rows)
            count += len(rows)
        return count
    driver = conn.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    try:
        cursor.execute(f"DROP TABLE IF EXISTS {_STAGE}")
        cursor.execute(f"CREATE TABLE {_STAGE} (level INTEGER, signature TEXT, profile_pk INTEGER)")
        count = 0
        for rows in pages:
            cursor.executemany(f"INSERT INTO {_STAGE} VALUES (?, ?, ?)", rows)
            count += len(rows)
        with _bulk_load(conn, _SIGNATURES_BY_PROFILE, domain_id, count):
            clear_signatures(conn, domain_id)
            cursor.execute(
                "INSERT INTO match_signatures (domain_id, level, signature, profile_pk)"
                f" SELECT ?, level, signature, profile_pk FROM {_STAGE}"
                " ORDER BY level, signature, profile_pk",
                (domain_id,),
            )
        cursor.execute(f"DROP TABLE {_STAGE}")
    finally:
        cursor.close()
    return count


def _shared_query() -> Query:
    """Per signature shared at a level, its profile row ids joined by commas."""
    at_level = and_(
        match_signatures.c.domain_id == bindparam("domain_id"),
        match_signatures.c.level == bindparam("level"),
    )
    joined = {
        "sqlite": func.group_concat(match_signatures.c.profile_pk),
        "postgresql": func.string_agg(
            cast(match_signatures.c.profile_pk, String), literal_column("','")
        ),
    }
    return Query({
        dialect: select(pks)
        .where(at_level)
        .group_by(match_signatures.c.signature)
        .having(func.count().between(2, bindparam("most")))
        .order_by(match_signatures.c.signature)
        for dialect, pks in joined.items()
    })


_SHARED = _shared_query()


def shared_signatures(conn: Connection, domain_id: int, level: int, most: int) -> list[list[int]]:
    """The profile row ids (ascending) of each signature that 2 to ``most`` profiles share at a
    level, in signature order: the grouping is done by the database, one row per signature
    read along the primary key."""
    params = {"domain_id": domain_id, "level": level, "most": most}
    return [sorted(map(int, pks.split(","))) for (pks,) in _SHARED.rows(conn, params)]


_IDS_PAGE = {
    first: Query(
        select(profiles.c.id, profiles.c.profile_id)
        .where(
            profiles.c.domain_id == bindparam("domain_id"),
            *(() if first else (profiles.c.profile_id > bindparam("after"),)),
        )
        .order_by(profiles.c.profile_id)
        .limit(bindparam("limit"))
    )
    for first in (True, False)
}


def domain_profile_ids(
    conn: Connection, domain_id: int, pks: Iterable[int], page: int = 50000
) -> dict[int, str]:
    """The profile ids of these row ids of the domain's profiles, read in one walk along the
    (domain_id, profile_id) index, which holds both: for the full pass, whose groups hold a
    large share of the domain, that is a fraction of the cost of a lookup per row id."""
    wanted = set(pks)
    found: dict[int, str] = {}
    after = None
    while len(found) < len(wanted):
        params = {"domain_id": domain_id, "after": after, "limit": page}
        rows = _IDS_PAGE[after is None].rows(conn, params)
        if not rows:
            break
        found.update((pk, profile_id) for pk, profile_id in rows if pk in wanted)
        after = rows[-1][1]
    return found


def profile_ids(conn: Connection, pks: Iterable[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for chunk in _chunks(sorted(set(pks))):
        query = select(profiles.c.id, profiles.c.profile_id).where(profiles.c.id.in_(chunk))
        found.update({pk: profile_id for pk, profile_id in conn.execute(query)})
    return found


def replace_matches(conn: Connection, domain_id: int, rows: Iterable[tuple[str, int, str]]) -> None:
    """Make the domain's match groups exactly the (match id, rule level, profile id) rows."""
    params = [
        {"domain_id": domain_id, "match_id": m, "rule_level": level, "profile_id": p}
        for m, level, p in sorted(rows)  # in primary key order: its b-tree is written in order
    ]
    with _bulk_load(conn, _MATCHES_BY_PROFILE, domain_id, len(params)):
        conn.execute(delete(rule_based_matches).where(rule_based_matches.c.domain_id == domain_id))
        execute_many(conn, _INSERT_MATCHES, params)


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
    return _HOLDERS.rows(conn, params)  # the drivers' rows are tuples


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
