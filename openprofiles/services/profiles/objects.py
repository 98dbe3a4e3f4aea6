"""PutProfileObject, ListProfileObjects, DeleteProfileObject."""

from __future__ import annotations

from typing import Any

from openprofiles.engine import objects as engine
from openprofiles.engine.catalog import ingestion_catalog
from openprofiles.engine.domains import get_domain
from openprofiles.engine.ingest import put_profile_object as ingest
from openprofiles.services.context import RequestContext
from openprofiles.services.profiles import operation

_DEFAULT_PAGE = 100


@operation("PutProfileObject")
def put_profile_object(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    now = ctx.app.clock.now()
    with ctx.app.store.transaction() as conn:
        catalog = ingestion_catalog(conn, ctx.tenant, req["DomainName"])
        object_type = catalog.object_type(conn, req["ObjectTypeName"], now)
        outcome = ingest(conn, catalog.domain, object_type, req["Object"], now, catalog.definitions)
    return {"ProfileObjectUniqueKey": outcome.unique_key}


@operation("ListProfileObjects")
def list_profile_objects(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        items, token = engine.list_objects(
            conn, domain, req["ProfileId"], req["ObjectTypeName"], req.get("ObjectFilter"),
            req.get("NextToken"), req.get("MaxResults", _DEFAULT_PAGE), ctx.app.clock.now(),
        )
    return {"Items": items, "NextToken": token}


@operation("DeleteProfileObject")
def delete_profile_object(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.transaction() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        engine.delete_object(
            conn, domain, req["ProfileId"], req["ObjectTypeName"], req["ProfileObjectUniqueKey"]
        )
    return {"Message": f"Object {req['ProfileObjectUniqueKey']} was deleted"}
