"""PutProfileObjectType, GetProfileObjectType, DeleteProfileObjectType, ListProfileObjectTypes."""

from __future__ import annotations

from typing import Any

from openprofiles.engine import object_types as engine
from openprofiles.engine.calculated.observations import rebuild_type
from openprofiles.engine.domains import get_domain
from openprofiles.engine.tags import add_tags
from openprofiles.errors import BadRequestException
from openprofiles.services.context import RequestContext
from openprofiles.services.profiles import operation
from openprofiles.store import tags as tag_store
from openprofiles.store.pagination import cut_page, resume_after

_DEFAULT_PAGE = 100


def object_type_arn(ctx: RequestContext, domain: str, name: str) -> str:
    return ctx.tenant.arn("profile", f"domains/{domain}/object-types/{name}")


def _describe(ctx: RequestContext, conn: Any, domain: dict[str, Any], found: engine.ObjectType) -> dict[str, Any]:
    arn = object_type_arn(ctx, domain["domain_name"], found.name)
    definition = found.definition
    return {
        "ObjectTypeName": found.name,
        **{k: definition[k] for k in engine.DEFINITION_MEMBERS if k in definition},
        "ExpirationDays": definition.get("ExpirationDays", domain["default_expiration_days"]),
        "MaxAvailableProfileObjectCount": engine.MAX_OBJECTS_PER_PROFILE,
        "CreatedAt": found.created_at,
        "LastUpdatedAt": found.updated_at,
        "Tags": tag_store.get(conn, ctx.tenant.account_id, ctx.tenant.region, arn) or None,
    }


@operation("PutProfileObjectType")
def put_profile_object_type(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.transaction() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        found = engine.put_object_type(conn, domain, req["ObjectTypeName"], req, ctx.app.clock.now())
        rebuild_type(conn, domain, found.name)  # its Fields may read its objects differently now
        arn = object_type_arn(ctx, domain["domain_name"], found.name)
        add_tags(conn, ctx.tenant, arn, req.get("Tags", {}), BadRequestException)
        return _describe(ctx, conn, domain, found)


@operation("GetProfileObjectType")
def get_profile_object_type(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        return _describe(ctx, conn, domain, engine.get_object_type(conn, domain, req["ObjectTypeName"]))


@operation("DeleteProfileObjectType")
def delete_profile_object_type(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.transaction() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        engine.delete_object_type(conn, domain, req["ObjectTypeName"])
        tag_store.remove_under(
            conn, ctx.tenant.account_id, ctx.tenant.region,
            object_type_arn(ctx, domain["domain_name"], req["ObjectTypeName"]),
        )
    return {"Message": f"Object type {req['ObjectTypeName']} and its objects were deleted"}


@operation("ListProfileObjectTypes")
def list_profile_object_types(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    limit = req.get("MaxResults", _DEFAULT_PAGE)
    after = resume_after("object-types", req.get("NextToken"))
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        found, token = cut_page("object-types", engine.list_object_types(conn, domain, after, limit + 1), limit, lambda item: item.name)
        items = []
        for item in found:
            described = _describe(ctx, conn, domain, item)
            items.append({k: described.get(k) for k in (
                "ObjectTypeName", "Description", "CreatedAt", "LastUpdatedAt", "MaxProfileObjectCount",
                "MaxAvailableProfileObjectCount", "SourcePriority", "Tags",
            )})
    return {"Items": items, "NextToken": token}
