"""TagResource, UntagResource, ListTagsForResource of Customer Profiles resources."""

from __future__ import annotations

from typing import Any

from openprofiles.engine import tags as engine
from openprofiles.errors import BadRequestException
from openprofiles.services.context import RequestContext
from openprofiles.services.profiles import operation


@operation("TagResource")
def tag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.transaction() as conn:
        engine.tag_resource(conn, ctx.tenant, req["resourceArn"], req["tags"], BadRequestException)
    return {}


@operation("UntagResource")
def untag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.transaction() as conn:
        engine.untag_resource(conn, ctx.tenant, req["resourceArn"], req["tagKeys"])
    return {}


@operation("ListTagsForResource")
def list_tags_for_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.read() as conn:
        return {"tags": engine.list_tags(conn, ctx.tenant, req["resourceArn"])}
