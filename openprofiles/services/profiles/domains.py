"""CreateDomain, GetDomain, UpdateDomain, DeleteDomain, ListDomains."""

from __future__ import annotations

from typing import Any

from openprofiles.engine import domains as engine
from openprofiles.engine.matching.identity_resolution import on_matching_set
from openprofiles.services.context import RequestContext
from openprofiles.services.profiles import operation
from openprofiles.store import tags as tag_store

_DEFAULT_PAGE = 100


def _tags(ctx: RequestContext, conn: Any, row: dict[str, Any]) -> dict[str, str]:
    arn = engine.domain_arn(ctx.tenant, row["domain_name"])
    return tag_store.get(conn, ctx.tenant.account_id, ctx.tenant.region, arn)


def _describe(row: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    return {
        "DomainName": row["domain_name"],
        "DefaultExpirationDays": row["default_expiration_days"],
        "DefaultEncryptionKey": row["default_encryption_key"],
        "DeadLetterQueueUrl": row["dead_letter_queue_url"],
        "Matching": row["matching"],
        "RuleBasedMatching": row["rule_based_matching"],
        "DataStore": row["data_store"],
        "CreatedAt": row["created_at"],
        "LastUpdatedAt": row["updated_at"],
        "Tags": tags or None,
    }


@operation("CreateDomain")
def create_domain(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.transaction() as conn:
        row = engine.create_domain(
            conn, ctx.tenant, req["DomainName"], req, req.get("Tags", {}), ctx.app.clock.now(),
            ctx.app.settings.phone_region,
        )
        queued = on_matching_set(conn, ctx.app.jobs.submit, row, None)
        described = _describe(row, _tags(ctx, conn, row))
    if queued:
        ctx.app.jobs.wake()
    return described


@operation("GetDomain")
def get_domain(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.read() as conn:
        row = engine.describe_domain(conn, ctx.tenant, req["DomainName"])
    described = _describe(row, row["tags"])
    stats = row["stats"]
    described["Stats"] = {
        "ProfileCount": stats["profile_count"],
        "MeteringProfileCount": stats["metering_profile_count"],
        "ObjectCount": stats["object_count"],
        "TotalSize": stats["total_size"],
    }
    return described


@operation("UpdateDomain")
def update_domain(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.transaction() as conn:
        before = engine.get_domain(conn, ctx.tenant, req["DomainName"])["matching"]
        row = engine.update_domain(
            conn, ctx.tenant, req["DomainName"], req, req.get("Tags", {}), ctx.app.clock.now()
        )
        queued = on_matching_set(conn, ctx.app.jobs.submit, row, before)
        described = _describe(row, _tags(ctx, conn, row))
    if queued:
        ctx.app.jobs.wake()
    return described


@operation("DeleteDomain")
def delete_domain(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.transaction() as conn:
        engine.delete_domain(conn, ctx.tenant, req["DomainName"])
    return {"Message": f"Domain {req['DomainName']} was deleted"}


@operation("ListDomains")
def list_domains(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.read() as conn:
        rows, token = engine.list_domains(
            conn, ctx.tenant, req.get("NextToken"), req.get("MaxResults", _DEFAULT_PAGE)
        )
        items = []
        for row in rows:
            described = _describe(row, _tags(ctx, conn, row))
            items.append({k: described[k] for k in ("DomainName", "CreatedAt", "LastUpdatedAt", "Tags")})
    return {"Items": items, "NextToken": token}
