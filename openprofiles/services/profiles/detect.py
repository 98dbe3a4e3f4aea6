"""DetectProfileObjectType: a mapping guessed from sample objects (engine.detect)."""

from __future__ import annotations

from typing import Any

from openprofiles.engine.detect import detect_object_type
from openprofiles.engine.domains import get_domain
from openprofiles.services.context import RequestContext
from openprofiles.services.profiles import operation


@operation("DetectProfileObjectType")
def detect_profile_object_type(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.read() as conn:
        get_domain(conn, ctx.tenant, req["DomainName"])
    detected = detect_object_type(req["Objects"], default_region=ctx.app.settings.phone_region)
    return {"DetectedProfileObjectTypes": [detected]}
