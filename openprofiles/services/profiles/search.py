"""SearchProfiles."""

from __future__ import annotations

from typing import Any

from openprofiles.engine.search import search_profiles as search
from openprofiles.services.context import RequestContext
from openprofiles.services.profiles import operation

_DEFAULT_PAGE = 20


@operation("SearchProfiles")
def search_profiles(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    asked = [(req["KeyName"], req["Values"])]
    asked += [(k["KeyName"], k["Values"]) for k in req.get("AdditionalSearchKeys", [])]
    with ctx.app.store.read() as conn:
        items, token = search(
            conn, ctx.tenant, req["DomainName"], asked, req.get("LogicalOperator", "OR"),
            req.get("NextToken"), req.get("MaxResults", _DEFAULT_PAGE),
        )
    return {"Items": items, "NextToken": token}
