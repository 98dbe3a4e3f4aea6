"""Queries over the tags table: tags of any resource ARN of either service."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, delete, or_, select

from openprofiles.store.query import Query
from openprofiles.store.schema import tags


def _of(account_id: str, region: str, arn: str) -> tuple[object, ...]:
    return (tags.c.account_id == account_id, tags.c.region == region, tags.c.resource_arn == arn)


_GET = Query(
    select(tags.c.tag_key, tags.c.tag_value).where(
        tags.c.account_id == bindparam("account_id"),
        tags.c.region == bindparam("region"),
        tags.c.resource_arn == bindparam("arn"),
    )
)


def get(conn: Connection, account_id: str, region: str, arn: str) -> dict[str, str]:
    rows = _GET.rows(conn, {"account_id": account_id, "region": region, "arn": arn})
    return dict(rows)



def put(conn: Connection, account_id: str, region: str, arn: str, values: dict[str, str]) -> None:
    """Add the tags, replacing the value of a key that is there already."""
    if not values:
        return
    conn.execute(delete(tags).where(*_of(account_id, region, arn), tags.c.tag_key.in_(values)))
    conn.execute(
        tags.insert(),
        [
            {"account_id": account_id, "region": region, "resource_arn": arn, "tag_key": k, "tag_value": v}
            for k, v in values.items()
        ],
    )


def remove(conn: Connection, account_id: str, region: str, arn: str, keys: list[str]) -> None:
    conn.execute(delete(tags).where(*_of(account_id, region, arn), tags.c.tag_key.in_(keys)))


def remove_under(conn: Connection, account_id: str, region: str, arn: str) -> None:
    """Tags of the resource and of every resource whose ARN lies below it (``arn/...``)."""
    conn.execute(
        delete(tags).where(
            tags.c.account_id == account_id,
            tags.c.region == region,
            or_(tags.c.resource_arn == arn, tags.c.resource_arn.startswith(arn + "/", autoescape=True)),
        )
    )
