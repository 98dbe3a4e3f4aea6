"""Queries over the domains table, and the statistics of a domain's data."""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Row,
    Text,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    select,
    true,
    update,
)

from openprofiles.store import stats as stats_store
from openprofiles.store.query import Query
from openprofiles.store.schema import DOMAIN_TABLES, domain_stats, domains, tags

_JSON_COLUMNS = ("matching", "rule_based_matching", "data_store")


def _encode(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for column in _JSON_COLUMNS:
        if column in out and out[column] is not None:
            out[column] = orjson.dumps(out[column]).decode()
    return out


def _decode(row: Row[Any] | dict[str, Any]) -> dict[str, Any]:
    """The row as a dict with its JSON columns parsed (a dict is decoded in place)."""
    out = row if isinstance(row, dict) else dict(row._mapping)
    for column in _JSON_COLUMNS:
        if out.get(column) is not None:
            out[column] = orjson.loads(out[column])
    return out


# Statements on the request path are built once: building one costs more than running it.
#: a domain by its name in the caller's account and region (parameters ``account_id``,
#: ``region``, ``name``), for the statements that find one by name
BY_NAME = (
    domains.c.account_id == bindparam("account_id"),
    domains.c.region == bindparam("region"),
    domains.c.domain_name == bindparam("name"),
)
_GET = Query(select(domains).where(*BY_NAME))


#: written into the SQL rather than bound: a statement without bound literals runs with the
#: caller's parameters as they are (see Query)
_ZERO = literal_column("0")


def _described(dialect: str) -> Any:
    """The domain's columns that GetDomain shows, its counters, and its tags as one JSON object.
    SQLite keeps one counter row per domain (joined as it is); PostgreSQL sums the slots in a
    lateral subquery."""
    if dialect == "sqlite":
        tags_object = func.json_group_object(tags.c.tag_key, tags.c.tag_value)
        counters = domain_stats
        joined = domains.outerjoin(counters, and_(counters.c.domain_id == domains.c.id, counters.c.slot == _ZERO))
    else:
        tags_object = func.cast(func.json_object_agg(tags.c.tag_key, tags.c.tag_value), Text)
        counters = (
            select(*(func.sum(domain_stats.c[name]).label(name) for name in _COUNTERS))
            .where(domain_stats.c.domain_id == domains.c.id)
            .lateral()
        )
        joined = domains.outerjoin(counters, true())
    tag_rows = select(tags_object).where(
        tags.c.account_id == domains.c.account_id,
        tags.c.region == domains.c.region,
        tags.c.resource_arn == bindparam("arn"),
    )
    return (
        select(
            *(domains.c[name] for name in _SHOWN),
            *(func.coalesce(counters.c[name], _ZERO).label(name) for name in _COUNTERS),
            tag_rows.scalar_subquery().label("tags"),
        )
        .select_from(joined)
        .where(
            domains.c.account_id == bindparam("account_id"),
            domains.c.region == bindparam("region"),
            domains.c.domain_name == bindparam("name"),
        )
    )


_COUNTERS = ("profile_count", "object_count", "total_size", "metering_extra")
#: what GetDomain shows of the row (each column read costs: the others are left out)
_SHOWN = (
    "domain_name", "default_expiration_days", "default_encryption_key", "dead_letter_queue_url",
    *_JSON_COLUMNS, "created_at", "updated_at",
)
_DESCRIBE = Query({dialect: _described(dialect) for dialect in ("sqlite", "postgresql")})


def describe(conn: Connection, account_id: str, region: str, name: str, arn: str) -> dict[str, Any] | None:
    """What GetDomain shows, in one statement: the domain's columns it shows (``_SHOWN``), with
    ``stats`` (as ``stats`` gives them) and ``tags`` (a dict) added; None when there is no such
    domain."""
    rows = _DESCRIBE.rows(conn, {"account_id": account_id, "region": region, "name": name, "arn": arn})
    if not rows:
        return None
    *shown, profiles, objects, size, extra, tags_text = rows[0]
    described = _decode(dict(zip(_SHOWN, shown, strict=True)))
    described["stats"] = stats_store.as_stats(profiles, objects, size, extra)
    described["tags"] = orjson.loads(tags_text) if tags_text else {}
    return described


_SCOPE = Query(select(domains.c.id, domains.c.phone_region).where(*BY_NAME))


_CATALOG_TAG = Query(select(domains.c.id, domains.c.catalog_tag).where(*BY_NAME))
_RETAG = Query(
    update(domains).where(domains.c.id == bindparam("domain_id")).values(catalog_tag=bindparam("tag"))
)


def catalog_tag(conn: Connection, account_id: str, region: str, name: str) -> tuple[int, int] | None:
    """The domain's id and catalog tag (``schema.domains``); None when there is no such domain."""
    rows = _CATALOG_TAG.rows(conn, {"account_id": account_id, "region": region, "name": name})
    return (rows[0][0], rows[0][1]) if rows else None


def new_catalog_tag() -> int:
    """A tag no earlier catalog of any domain had (62 random bits: a transaction that rolls back
    leaves its tag unused, so tags are drawn rather than counted)."""
    return secrets.randbits(62)


def catalog_changed(conn: Connection, domain_id: int) -> None:
    """Mark the domain's catalog changed: its object types or calculated attribute definitions
    were written (the writers of those tables call this; a write of the row retags it itself)."""
    _RETAG.run(conn, {"domain_id": domain_id, "tag": new_catalog_tag()})


def scope(conn: Connection, account_id: str, region: str, name: str) -> dict[str, Any] | None:
    """The little of a domain that reading its profiles takes (id, domain_name, phone_region),
    for half the cost of its whole row; None when there is no such domain."""
    rows = _SCOPE.rows(conn, {"account_id": account_id, "region": region, "name": name})
    if not rows:
        return None
    domain_id, phone_region = rows[0]
    return {"id": domain_id, "domain_name": name, "phone_region": phone_region}


def get(conn: Connection, account_id: str, region: str, name: str) -> dict[str, Any] | None:
    rows = _GET.dicts(conn, {"account_id": account_id, "region": region, "name": name})
    return _decode(rows[0]) if rows else None


def get_by_id(conn: Connection, domain_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(domains).where(domains.c.id == domain_id)).first()
    return None if row is None else _decode(row)


def with_matching(conn: Connection) -> list[dict[str, Any]]:
    """Every domain with a Matching (ML) configuration."""
    rows = conn.execute(select(domains).where(domains.c.matching.is_not(None)))
    return [_decode(row) for row in rows]


def insert_domain(conn: Connection, values: dict[str, Any]) -> int:
    result = conn.execute(insert(domains).values(**_encode(values), catalog_tag=new_catalog_tag()))
    domain_id = int(result.inserted_primary_key[0])
    stats_store.start(conn, domain_id)
    return domain_id


def update_domain(conn: Connection, domain_id: int, values: dict[str, Any]) -> None:
    conn.execute(
        update(domains).where(domains.c.id == domain_id)
        .values(**_encode(values), catalog_tag=new_catalog_tag())
    )


def delete_domain(conn: Connection, domain_id: int) -> None:
    """The domain and every row that belongs to it."""
    for table in DOMAIN_TABLES:
        conn.execute(delete(table).where(table.c.domain_id == domain_id))
    conn.execute(delete(domains).where(domains.c.id == domain_id))


def list_page(
    conn: Connection, account_id: str, region: str, after: str | None, limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` domains in name order, starting after the name ``after``."""
    query = select(domains).where(domains.c.account_id == account_id, domains.c.region == region)
    if after is not None:
        query = query.where(domains.c.domain_name > after)
    rows = conn.execute(query.order_by(domains.c.domain_name).limit(limit))
    return [_decode(row) for row in rows]


def stats(conn: Connection, domain_id: int) -> dict[str, int]:
    """Counts and sizes of the domain's profiles and objects (see store.stats)."""
    return stats_store.read(conn, domain_id)
