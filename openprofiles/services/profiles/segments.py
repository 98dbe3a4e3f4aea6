"""Segment definitions, estimates and membership (REFERENCE 4).

CreateSegmentDefinition, GetSegmentDefinition, ListSegmentDefinitions, DeleteSegmentDefinition,
CreateSegmentEstimate, GetSegmentEstimate, GetSegmentMembership, CreateSegmentSnapshot,
GetSegmentSnapshot. Estimates are counted when they are created (engine.segments.evaluate), so
GetSegmentEstimate answers SUCCEEDED at once; snapshots are durable jobs
(engine.segments.snapshots).
"""

from __future__ import annotations

from typing import Any

from openprofiles.engine.domains import get_domain
from openprofiles.engine.profiles import render
from openprofiles.engine.segments import definitions as engine
from openprofiles.engine.segments import snapshots
from openprofiles.engine.segments.evaluate import create_estimate, get_estimate, members_among
from openprofiles.engine.tags import add_tags
from openprofiles.errors import BadRequestException
from openprofiles.services.context import RequestContext
from openprofiles.services.profiles import operation
from openprofiles.sinks.files import DestinationError, check_destination
from openprofiles.store import profiles as profile_store
from openprofiles.store import tags as tag_store
from openprofiles.store.pagination import cut_page, resume_after

_DEFAULT_PAGE = 100
_LIST_ITEM = (
    "SegmentDefinitionName", "DisplayName", "Description", "SegmentDefinitionArn", "CreatedAt", "Tags",
    "SegmentType",
)  # fmt: skip


def _describe(
    ctx: RequestContext, conn: Any, domain: dict[str, Any], found: engine.SegmentDefinition
) -> dict[str, Any]:
    arn = engine.definition_arn(ctx.tenant, domain["domain_name"], found.name)
    return {
        "SegmentDefinitionName": found.name,
        **found.members,
        "SegmentDefinitionArn": arn,
        "CreatedAt": found.created_at,
        "Tags": tag_store.get(conn, ctx.tenant.account_id, ctx.tenant.region, arn) or None,
        "SegmentType": engine.segment_type(found),
    }


@operation("CreateSegmentDefinition")
def create_segment_definition(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.transaction() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        found = engine.create_definition(conn, domain, req["SegmentDefinitionName"], req, ctx.app.clock.now())
        arn = engine.definition_arn(ctx.tenant, domain["domain_name"], found.name)
        add_tags(conn, ctx.tenant, arn, req.get("Tags", {}), BadRequestException)
        described = _describe(ctx, conn, domain, found)
    return {k: described.get(k) for k in (
        "SegmentDefinitionName", "DisplayName", "Description", "CreatedAt", "SegmentDefinitionArn", "Tags",
    )}


@operation("GetSegmentDefinition")
def get_segment_definition(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        found = engine.get_definition(conn, domain, req["SegmentDefinitionName"])
        return _describe(ctx, conn, domain, found)


@operation("ListSegmentDefinitions")
def list_segment_definitions(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    limit = req.get("MaxResults", _DEFAULT_PAGE)
    after = resume_after("segment-definitions", req.get("NextToken"))
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        found, token = cut_page("segment-definitions", engine.list_definitions(conn, domain, after, limit + 1), limit, lambda item: item.name)
        items = []
        for item in found:
            described = _describe(ctx, conn, domain, item)
            items.append({k: described.get(k) for k in _LIST_ITEM})
    return {"Items": items, "NextToken": token}


@operation("DeleteSegmentDefinition")
def delete_segment_definition(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["SegmentDefinitionName"]
    with ctx.app.store.transaction() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        engine.delete_definition(conn, domain, name)
        arn = engine.definition_arn(ctx.tenant, domain["domain_name"], name)
        tag_store.remove_under(conn, ctx.tenant.account_id, ctx.tenant.region, arn)
    return {"Message": f"Segment definition {name} was deleted"}


@operation("CreateSegmentEstimate")
def create_segment_estimate(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.transaction() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        query, sql = req.get("SegmentQuery"), req.get("SegmentSqlQuery")
        estimate = create_estimate(conn, domain, query, sql, ctx.app.clock.now())
    return {"DomainName": domain["domain_name"], "EstimateId": estimate.estimate_id, "StatusCode": 200}


@operation("GetSegmentEstimate")
def get_segment_estimate(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        estimate = get_estimate(conn, domain, req["EstimateId"])
    return {
        "DomainName": domain["domain_name"],
        "EstimateId": estimate.estimate_id,
        "Status": "SUCCEEDED",
        "Estimate": str(estimate.count),
        "StatusCode": 200,
    }


@operation("GetSegmentMembership")
def get_segment_membership(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    wanted, now = list(dict.fromkeys(req["ProfileIds"])), ctx.app.clock.now()
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        found = engine.get_definition(conn, domain, req["SegmentDefinitionName"])
        rows = profile_store.get_many(conn, domain["id"], wanted)
        members = members_among(conn, domain, found, list(rows), now)
    results, failures = [], []
    for profile_id in wanted:
        if profile_id not in rows:
            message = f"Profile {profile_id} does not exist in domain {domain['domain_name']}"
            failures.append({"ProfileId": profile_id, "Message": message, "Status": 404})
        elif profile_id in members:
            results.append({"ProfileId": profile_id, "QueryResult": "PRESENT", "Profile": render(rows[profile_id])})
        else:
            results.append({"ProfileId": profile_id, "QueryResult": "ABSENT"})
    return {
        "SegmentDefinitionName": found.name,
        "Profiles": results,
        "Failures": failures,
        "LastComputedAt": now.timestamp(),
    }


@operation("CreateSegmentSnapshot")
def create_segment_snapshot(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    destination = req.get("DestinationUri")
    if destination is None:
        raise BadRequestException("DestinationUri is required: an s3:// or file:// folder for the snapshot")
    try:
        check_destination(destination)
    except DestinationError as error:
        raise BadRequestException(f"DestinationUri: {error}") from None
    name = req["SegmentDefinitionName"]
    with ctx.app.store.transaction() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        engine.get_definition(conn, domain, name)
        request = {k: req[k] for k in snapshots.MEMBERS if req.get(k) is not None}
        snapshot_id = ctx.app.jobs.submit(conn, domain["id"], snapshots.KIND, name, request)
    ctx.app.jobs.wake()
    return {"SnapshotId": snapshot_id}


@operation("GetSegmentSnapshot")
def get_segment_snapshot(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        return snapshots.get_snapshot(conn, domain, req["SegmentDefinitionName"], req["SnapshotId"])
