"""Tags of any resource of either service: the rules that the models do not state.

At most 50 tags per resource; keys that start with ``aws:`` are reserved for AWS. A resource is
tagged only if it exists in the caller's account and region: each kind of ARN has a resolver that
looks it up (domains now; every taggable resource registers its own as it lands).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import Connection

from openprofiles.engine.tenancy import Tenant
from openprofiles.errors import ResourceNotFoundException, ServiceError
from openprofiles.store import domains as domain_store
from openprofiles.store import object_types as type_store
from openprofiles.store import tags as store

MAX_TAGS = 50
_ARN = re.compile(r"^arn:aws:(?P<service>[a-z-]+):(?P<region>[^:]*):(?P<account>\d{12}):(?P<resource>.+)$")

#: (service, pattern over the resource part) -> exists(conn, tenant, match)
Resolver = Callable[[Connection, Tenant, "re.Match[str]"], bool]
_RESOLVERS: list[tuple[str, re.Pattern[str], Resolver]] = []


def resolver(service: str, pattern: str) -> Callable[[Resolver], Resolver]:
    def register(check: Resolver) -> Resolver:
        _RESOLVERS.append((service, re.compile(pattern), check))
        return check

    return register


@resolver("profile", r"^domains/(?P<domain>[^/]+)$")
def _domain_exists(conn: Connection, tenant: Tenant, found: re.Match[str]) -> bool:
    return domain_store.get(conn, tenant.account_id, tenant.region, found["domain"]) is not None


@resolver("profile", r"^domains/(?P<domain>[^/]+)/object-types/(?P<name>[^/]+)$")
def _object_type_exists(conn: Connection, tenant: Tenant, found: re.Match[str]) -> bool:
    domain = domain_store.get(conn, tenant.account_id, tenant.region, found["domain"])
    return domain is not None and type_store.get(conn, domain["id"], found["name"]) is not None


def require_resource(conn: Connection, tenant: Tenant, arn: str) -> None:
    """ResourceNotFoundException unless ``arn`` names an existing resource of the caller."""
    parsed = _ARN.match(arn)
    if parsed and parsed["account"] == tenant.account_id and parsed["region"] == tenant.region:
        for service, pattern, exists in _RESOLVERS:
            found = pattern.match(parsed["resource"])
            if service == parsed["service"] and found and exists(conn, tenant, found):
                return
    raise ResourceNotFoundException(f"Resource {arn} does not exist")


def add_tags(
    conn: Connection,
    tenant: Tenant,
    arn: str,
    values: dict[str, str],
    invalid: type[ServiceError],
) -> None:
    if not values:
        return
    reserved = sorted(k for k in values if k.lower().startswith("aws:"))
    if reserved:
        raise invalid(f"Tag keys starting with 'aws:' are reserved: {', '.join(reserved)}")
    current = store.get(conn, tenant.account_id, tenant.region, arn)
    total = len(current.keys() | values.keys())
    if total > MAX_TAGS:
        raise invalid(f"A resource can have at most {MAX_TAGS} tags; this request would make {total}")
    store.put(conn, tenant.account_id, tenant.region, arn, values)


def tag_resource(
    conn: Connection, tenant: Tenant, arn: str, values: dict[str, str], invalid: type[ServiceError]
) -> None:
    require_resource(conn, tenant, arn)
    add_tags(conn, tenant, arn, values, invalid)


def untag_resource(conn: Connection, tenant: Tenant, arn: str, keys: list[str]) -> None:
    require_resource(conn, tenant, arn)
    store.remove(conn, tenant.account_id, tenant.region, arn, keys)


def list_tags(conn: Connection, tenant: Tenant, arn: str) -> dict[str, str]:
    require_resource(conn, tenant, arn)
    return store.get(conn, tenant.account_id, tenant.region, arn)
