"""ListRuleBasedMatches, GetSimilarProfiles."""

from __future__ import annotations

from typing import Any

from openprofiles.engine.domains import get_domain
from openprofiles.engine.matching import results
from openprofiles.services.context import RequestContext
from openprofiles.services.profiles import operation

_DEFAULT_PAGE = 100


@operation("ListRuleBasedMatches")
def list_rule_based_matches(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        ids, token = results.list_matches(
            conn, domain, req.get("NextToken"), req.get("MaxResults", _DEFAULT_PAGE)
        )
    return {"MatchIds": ids, "NextToken": token}


@operation("GetSimilarProfiles")
def get_similar_profiles(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        found = results.similar_profiles(
            conn, domain, req["MatchType"], req["SearchKey"], req["SearchValue"],
            req.get("NextToken"), req.get("MaxResults", _DEFAULT_PAGE),
        )
    return {
        "ProfileIds": found.profile_ids,
        "MatchId": found.match_id,
        "MatchType": req["MatchType"],
        "RuleLevel": found.rule_level,
        "ConfidenceScore": found.confidence,
        "NextToken": found.next_token,
    }
