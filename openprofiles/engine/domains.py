"""Domains: the container of a tenant's profiles, with its defaults and matching configuration.

UpdateDomain is a partial update: an absent member keeps its value; an empty string clears
DefaultEncryptionKey and DeadLetterQueueUrl; Matching, RuleBasedMatching and DataStore are replaced
whole when given (RuleBasedMatching not while a matching pass is IN_PROGRESS); Tags are added
(as TagResource does). Deleting a domain deletes every row that belongs to it, and the tags of
the domain and of everything under its ARN, in one transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from openprofiles.engine import tags as tag_rules
from openprofiles.engine.matching.identity_resolution import check_matching
from openprofiles.engine.matching.rules import RuleSet
from openprofiles.engine.tenancy import Tenant
from openprofiles.errors import BadRequestException, ResourceNotFoundException
from openprofiles.store import domains as store
from openprofiles.store import tags as tag_store
from openprofiles.store.pagination import decode_token, encode_token

#: the members of a domain's configuration, API name -> column
SETTINGS = {
    "DefaultExpirationDays": "default_expiration_days",
    "DefaultEncryptionKey": "default_encryption_key",
    "DeadLetterQueueUrl": "dead_letter_queue_url",
    "Matching": "matching",
    "RuleBasedMatching": "rule_based_matching",
    "DataStore": "data_store",
}
_CLEARED_BY_EMPTY_STRING = ("default_encryption_key", "dead_letter_queue_url")


def domain_arn(tenant: Tenant, name: str) -> str:
    return tenant.arn("profile", f"domains/{name}")


def get_domain(conn: Connection, tenant: Tenant, name: str) -> dict[str, Any]:
    """The domain's row, or ResourceNotFoundException."""
    row = store.get(conn, tenant.account_id, tenant.region, name)
    if row is None:
        raise ResourceNotFoundException(f"Domain {name} does not exist")
    return row


def domain_scope(conn: Connection, tenant: Tenant, name: str) -> dict[str, Any]:
    """What reading a domain's profiles needs of it (``id``, ``domain_name``, ``phone_region``),
    or ResourceNotFoundException: the hot reads (SearchProfiles) need no more of the row."""
    scope = store.scope(conn, tenant.account_id, tenant.region, name)
    if scope is None:
        raise ResourceNotFoundException(f"Domain {name} does not exist")
    return scope


def describe_domain(conn: Connection, tenant: Tenant, name: str) -> dict[str, Any]:
    """The domain's row with its ``stats`` (see domain_stats) and ``tags``, read at once; or
    ResourceNotFoundException."""
    row = store.describe(conn, tenant.account_id, tenant.region, name, domain_arn(tenant, name))
    if row is None:
        raise ResourceNotFoundException(f"Domain {name} does not exist")
    return row


def create_domain(
    conn: Connection,
    tenant: Tenant,
    name: str,
    settings: dict[str, Any],
    tags: dict[str, str],
    now: datetime,
    phone_region: str = "US",
) -> dict[str, Any]:
    if store.get(conn, tenant.account_id, tenant.region, name) is not None:
        raise BadRequestException(f"Domain {name} already exists")
    values = _columns(settings)
    check_matching(values.get("matching"))
    values["rule_based_matching"] = _with_status(values.get("rule_based_matching"), has_profiles=False)
    values["data_store"] = _with_readiness(values.get("data_store"))
    stamp = now.timestamp()
    values.update(
        account_id=tenant.account_id,
        region=tenant.region,
        domain_name=name,
        phone_region=phone_region,
        created_at=stamp,
        updated_at=stamp,
    )
    store.insert_domain(conn, values)
    tag_rules.add_tags(conn, tenant, domain_arn(tenant, name), tags, BadRequestException)
    return get_domain(conn, tenant, name)


def update_domain(
    conn: Connection,
    tenant: Tenant,
    name: str,
    settings: dict[str, Any],
    tags: dict[str, str],
    now: datetime,
) -> dict[str, Any]:
    current = get_domain(conn, tenant, name)
    values = _columns(settings)
    for column in _CLEARED_BY_EMPTY_STRING:
        if values.get(column) == "":
            values[column] = None
    check_matching(values.get("matching"))
    if "rule_based_matching" in values:
        if (current["rule_based_matching"] or {}).get("Status") == "IN_PROGRESS":
            raise BadRequestException("RuleBasedMatching cannot change while its Status is IN_PROGRESS")
        has_profiles = store.stats(conn, current["id"])["profile_count"] > 0
        values["rule_based_matching"] = _with_status(values["rule_based_matching"], has_profiles)
    if "data_store" in values:
        values["data_store"] = _with_readiness(values["data_store"])
    values["updated_at"] = now.timestamp()
    store.update_domain(conn, current["id"], values)
    tag_rules.add_tags(conn, tenant, domain_arn(tenant, name), tags, BadRequestException)
    return get_domain(conn, tenant, name)


def delete_domain(conn: Connection, tenant: Tenant, name: str) -> None:
    current = get_domain(conn, tenant, name)
    store.delete_domain(conn, current["id"])
    tag_store.remove_under(conn, tenant.account_id, tenant.region, domain_arn(tenant, name))


def list_domains(
    conn: Connection, tenant: Tenant, token: str | None, max_results: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of domains in name order, and the token of the next page (None at the end)."""
    after = decode_token("domains", token, 1)[0] if token else None
    rows = store.list_page(conn, tenant.account_id, tenant.region, after, max_results + 1)
    more = len(rows) > max_results
    rows = rows[:max_results]
    return rows, encode_token("domains", [rows[-1]["domain_name"]]) if more else None


def domain_stats(conn: Connection, domain: dict[str, Any]) -> dict[str, int]:
    """Profile and object counts, their total size, and the metering count (a profile with more
    than 100 objects counts as two, more than 200 as three, ...), kept by the store as counters."""
    return store.stats(conn, domain["id"])


def _columns(settings: dict[str, Any]) -> dict[str, Any]:
    return {SETTINGS[k]: v for k, v in settings.items() if k in SETTINGS and v is not None}


def _with_status(config: dict[str, Any] | None, has_profiles: bool) -> dict[str, Any] | None:
    """Rule-based matching starts ACTIVE on a domain with no profiles (nothing to evaluate) and
    PENDING on one whose existing profiles must first be evaluated (engine.matching.runner makes
    it ACTIVE). Rules the matcher cannot apply are refused here, naming the member."""
    if not config or not config.get("Enabled"):
        return config
    RuleSet.from_config(config)
    return {**config, "Status": "PENDING" if has_profiles else "ACTIVE"}


def _with_readiness(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """The data store is queried in place, so it is ready as soon as it is enabled."""
    if not config or not config.get("Enabled"):
        return config
    return {**config, "Readiness": {"ProgressPercentage": 100, "Message": "Ready"}}
