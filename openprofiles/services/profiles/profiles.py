"""CreateProfile, UpdateProfile, DeleteProfile, BatchGetProfile, AddProfileKey, DeleteProfileKey."""

from __future__ import annotations

from typing import Any

from openprofiles.engine import merge
from openprofiles.engine import profiles as engine
from openprofiles.engine.domains import get_domain
from openprofiles.services.context import RequestContext
from openprofiles.services.profiles import operation
from openprofiles.store import profiles as store


@operation("CreateProfile")
def create_profile(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.transaction() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        return {"ProfileId": engine.create_profile(conn, domain, req, ctx.app.clock.now())}


@operation("UpdateProfile")
def update_profile(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.transaction() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        engine.update_profile(conn, domain, req["ProfileId"], req, ctx.app.clock.now())
    return {"ProfileId": req["ProfileId"]}


@operation("DeleteProfile")
def delete_profile(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.transaction() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        engine.delete_profile(conn, domain, req["ProfileId"])
    return {"Message": f"Profile {req['ProfileId']} was deleted"}


@operation("BatchGetProfile")
def batch_get_profile(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        found = store.get_many(conn, domain["id"], req["ProfileIds"])
    wanted = list(dict.fromkeys(req["ProfileIds"]))
    return {
        "Profiles": [engine.render(found[p]) for p in wanted if p in found],
        "Errors": [
            {"ProfileId": p, "Code": "ResourceNotFoundException", "Message": f"Profile {p} does not exist"}
            for p in wanted
            if p not in found
        ],
    }


@operation("AddProfileKey")
def add_profile_key(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.transaction() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        values = engine.add_profile_key(conn, domain, req["ProfileId"], req["KeyName"], req["Values"])
    return {"KeyName": req["KeyName"], "Values": values}


@operation("DeleteProfileKey")
def delete_profile_key(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.transaction() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        engine.delete_profile_key(conn, domain, req["ProfileId"], req["KeyName"], req["Values"])
    return {"Message": f"Key {req['KeyName']} was removed from profile {req['ProfileId']}"}


@operation("MergeProfiles")
def merge_profiles(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.transaction() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        merge.merge_profiles(
            conn, domain, req["MainProfileId"], req["ProfileIdsToBeMerged"],
            req.get("FieldSourceProfileIds", {}), ctx.app.clock.now(),
        )
    merged = len(set(req["ProfileIdsToBeMerged"]) - {req["MainProfileId"]})
    return {"Message": f"Merged {merged} profile(s) into {req['MainProfileId']}"}
