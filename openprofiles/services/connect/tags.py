"""TagResource, UntagResource, ListTagsForResource of Amazon Connect resources."""

from __future__ import annotations

from typing import Any

from openprofiles.engine import tags as engine
from openprofiles.errors import InvalidParameterException
from openprofiles.services.connect import operation
from openprofiles.services.context import RequestContext


@operation("TagResource")
def tag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.transaction() as conn:
        engine.tag_resource(
            conn, ctx.tenant, req["resourceArn"], req["tags"], InvalidParameterException
        )
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
