"""GetMatches, ListIdentityResolutionJobs, GetIdentityResolutionJob, GetAutoMergingPreview: the ML
identity resolution of engine.matching.identity_resolution."""

from __future__ import annotations

from typing import Any

from openprofiles.engine.domains import get_domain
from openprofiles.engine.matching import identity_resolution as engine
from openprofiles.errors import BadRequestException, ResourceNotFoundException
from openprofiles.services.context import RequestContext
from openprofiles.services.profiles import operation
from openprofiles.sinks.files import scratch_file
from openprofiles.store import jobs as job_store
from openprofiles.store import ml_matches as match_store
from openprofiles.store.pagination import decode_token, encode_token

_DEFAULT_PAGE = 100


@operation("GetMatches")
def get_matches(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    limit = req.get("MaxResults", _DEFAULT_PAGE)
    after = decode_token("ml-matches", req["NextToken"], 1)[0] if req.get("NextToken") else None
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        engine.require_matching(domain)
        generated = engine.latest_matches_at(conn, domain["id"])
        groups = match_store.groups_page(conn, domain["id"], after, limit + 1)
        total = match_store.count(conn, domain["id"])
    token = encode_token("ml-matches", [groups[limit - 1][0]]) if len(groups) > limit else None
    return {
        "Matches": [
            {"MatchId": match_id, "ProfileIds": ids, "ConfidenceScore": confidence}
            for match_id, ids, confidence in groups[:limit]
        ],
        "MatchGenerationDate": generated,
        "PotentialMatches": total,
        "NextToken": token,
    }


@operation("ListIdentityResolutionJobs")
def list_identity_resolution_jobs(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    limit = req.get("MaxResults", _DEFAULT_PAGE)
    before = None
    if req.get("NextToken"):
        created, job_id = decode_token("identity-resolution-jobs", req["NextToken"], 2)
        if not isinstance(created, int | float) or not isinstance(job_id, str):
            raise BadRequestException("Invalid NextToken: it was not issued by this server")
        before = (float(created), job_id)
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        rows = job_store.of_domain(conn, domain["id"], engine.KIND, None, before, limit + 1)
    token = None
    if len(rows) > limit:
        last = rows[limit - 1]
        token = encode_token("identity-resolution-jobs", [last["created_at"], last["job_id"]])
    items = []
    for row in rows[:limit]:
        view = engine.job_view(row, domain["domain_name"])
        items.append({k: view.get(k) for k in (
            "DomainName", "JobId", "Status", "JobStartTime", "JobEndTime", "JobStats",
            "ExportingLocation", "Message",
        )})  # fmt: skip
    return {"IdentityResolutionJobsList": items, "NextToken": token}


@operation("GetIdentityResolutionJob")
def get_identity_resolution_job(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        row = job_store.get(conn, req["JobId"])
    if row is None or row["domain_id"] != domain["id"] or row["kind"] != engine.KIND:
        raise ResourceNotFoundException(
            f"Identity resolution job {req['JobId']} does not exist in domain {domain['domain_name']}"
        )
    return engine.job_view(row, domain["domain_name"])


@operation("GetAutoMergingPreview")
def get_auto_merging_preview(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    auto = {k: req[k] for k in ("Consolidation", "ConflictResolution", "MinAllowedConfidenceScoreForMerging") if k in req}
    engine.check_matching({"AutoMerging": auto})
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        engine.require_matching(domain)
        counts = engine.preview(conn, domain, auto, ctx.app.deliver_file, scratch_file)
    return {"DomainName": domain["domain_name"], **counts}
