"""TagResource, UntagResource and ListTagsForResource, shared by both services.

The two models declare the same three operations on the same routes; they differ only in the
error their service uses for a bad request, so each service registers these handlers with its own.
"""

from __future__ import annotations

from typing import Any

from openprofiles.engine import tags as engine
from openprofiles.errors import ServiceError
from openprofiles.services.context import RequestContext
from openprofiles.services.registry import Registrar


def register(operation: Registrar, invalid: type[ServiceError]) -> None:
    @operation("TagResource")
    def tag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        with ctx.app.store.transaction() as conn:
            engine.tag_resource(conn, ctx.tenant, req["resourceArn"], req["tags"], invalid)
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
