"""SearchProfiles: key conditions answered from the profile_keys index, never from documents.

Each condition (a key name and its values, OR'ed) is a set of profiles read from the index;
up to five conditions combine with AND (intersection) or OR (union, the default). ``_profileId``
is answered from the profiles table. Pages are in profile order and resume after the last
profile of the previous page. Each profile comes with FoundByItems: the conditions, and the asked
values of each, that it matched.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, and_, intersect, or_, select, union

from openprofiles.engine.domains import domain_scope
from openprofiles.engine.keys import PROFILE_ID_KEY, normalizer, normalizer_of_predefined
from openprofiles.engine.profiles import render
from openprofiles.engine.tenancy import Tenant
from openprofiles.store import profiles as store
from openprofiles.store.pagination import decode_token, encode_token
from openprofiles.store.schema import profile_keys, profiles

#: a condition: a key name and {normalized value: the value as asked}
Condition = tuple[str, dict[str, str]]


def _matching(domain_id: int, key_name: str, values: list[str]) -> Select[Any]:
    """The ids of the profiles that satisfy one condition."""
    if key_name == PROFILE_ID_KEY:
        return select(profiles.c.id).where(profiles.c.domain_id == domain_id, profiles.c.profile_id.in_(values))
    return select(profile_keys.c.profile_pk).where(
        profile_keys.c.domain_id == domain_id,
        profile_keys.c.key_name == key_name,
        profile_keys.c.key_value.in_(values),
    )


def _conditions(conn: Connection, domain: dict[str, Any], asked: list[tuple[str, list[str]]]) -> list[Condition]:
    conditions = []
    for name, values in asked:
        normalize = normalizer(conn, domain, name)
        pairs: dict[str, str] = {}
        for raw in values:
            value = normalize(raw)
            if value:
                pairs.setdefault(value, raw)
        conditions.append((name, pairs))
    return conditions


def _single_value_page(
    conn: Connection, tenant: Tenant, domain_name: str, name: str, value: str, raw: str,
    after: int | None, limit: int, domain_found: bool = False,
) -> tuple[list[dict[str, Any]], str | None]:
    """The usual search, one key and one value: one indexed query answers it whole, the
    domain's name included (a page with no profile checks that the domain is there, unless the
    caller has found it already)."""
    rows = store.holders_page(
        conn, tenant.account_id, tenant.region, domain_name, name, value, after, limit + 1
    )
    if not rows and not domain_found:
        domain_scope(conn, tenant, domain_name)
    found_by = [{"KeyName": name, "Values": [raw]}]
    items = [render(row, found_by) for row in rows[:limit]]
    return items, encode_token("search", [rows[limit - 1]["id"]]) if len(rows) > limit else None


def search_profiles(
    conn: Connection,
    tenant: Tenant,
    domain_name: str,
    asked: list[tuple[str, list[str]]],
    logical_operator: str,
    token: str | None,
    max_results: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the profiles that match, and the token of the next page; or
    ResourceNotFoundException when there is no such domain."""
    after = decode_token("search", token, 1)[0] if token else None
    if len(asked) == 1 and len(asked[0][1]) == 1 and asked[0][0] != PROFILE_ID_KEY:
        name, (raw,) = asked[0]
        normalize = normalizer_of_predefined(name)
        value = normalize(raw) if normalize is not None else None
        if value:
            return _single_value_page(conn, tenant, domain_name, name, value, raw, after, max_results)
    domain = domain_scope(conn, tenant, domain_name)
    conditions = _conditions(conn, domain, asked)
    if len(conditions) == 1 and len(conditions[0][1]) == 1 and conditions[0][0] != PROFILE_ID_KEY:
        name, pairs = conditions[0]
        (value, raw), = pairs.items()
        return _single_value_page(
            conn, tenant, domain_name, name, value, raw, after, max_results, domain_found=True
        )
    selects = [_matching(domain["id"], name, list(pairs)) for name, pairs in conditions if pairs]
    if not selects or (logical_operator == "AND" and len(selects) < len(conditions)):
        return [], None
    if len(selects) == 1:
        ids: Any = selects[0]
    else:
        compound = intersect(*selects) if logical_operator == "AND" else union(*selects)
        ids = select(compound.subquery().c[0])
    query = select(profiles.c.id).where(profiles.c.id.in_(ids))
    if after is not None:
        query = query.where(profiles.c.id > after)
    pks = list(conn.execute(query.order_by(profiles.c.id).limit(max_results + 1)).scalars())
    more = len(pks) > max_results
    pks = pks[:max_results]
    rows = store.get_by_pks(conn, pks)
    hits = _found_by(conn, rows, conditions)
    items = [render(rows[pk], hits[pk]) for pk in pks]
    return items, encode_token("search", [pks[-1]]) if more else None


def _found_by(
    conn: Connection, rows: dict[int, dict[str, Any]], conditions: list[Condition]
) -> dict[int, list[dict[str, Any]]]:
    """Per profile, each condition it matched, with the asked values that matched it."""
    wanted = [(n, v) for n, pairs in conditions if n != PROFILE_ID_KEY for v in pairs]
    held: dict[int, set[tuple[str, str]]] = {pk: set() for pk in rows}
    if rows and wanted:
        query = select(profile_keys.c.profile_pk, profile_keys.c.key_name, profile_keys.c.key_value).where(
            profile_keys.c.profile_pk.in_(list(rows)),
            or_(*(and_(profile_keys.c.key_name == n, profile_keys.c.key_value == v) for n, v in wanted)),
        )
        for pk, name, value in conn.execute(query):
            held[pk].add((name, value))
    result: dict[int, list[dict[str, Any]]] = {}
    for pk, row in rows.items():
        items = []
        for name, pairs in conditions:
            if name == PROFILE_ID_KEY:
                matched = [raw for value, raw in pairs.items() if value == row["profile_id"]]
            else:
                matched = [raw for value, raw in pairs.items() if (name, value) in held[pk]]
            if matched:
                items.append({"KeyName": name, "Values": matched})
        result[pk] = items
    return result
