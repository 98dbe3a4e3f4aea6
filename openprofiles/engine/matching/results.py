"""Reading match results: ListRuleBasedMatches and GetSimilarProfiles.

Both read the groups of the domain's last rule-based pass (engine.matching.runner); a profile
deleted since is left out at once. GetSimilarProfiles finds the group of a profile: SearchKey
``_profileId`` names it (an unknown profile is a ResourceNotFoundException); any other SearchKey
is a search key whose SearchValue is normalized as the key's values are, and the first profile
holding it (in creation order) that is in a group gives the group (INFERENCE: AWS does not say
which group answers when the value is held by profiles of several groups). A profile in no group
gives an empty ProfileIds. With ML_BASED_MATCHING the groups are those of the last identity
resolution job (engine.matching.identity_resolution), found the same way, and the answer carries
the group's ConfidenceScore.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from openprofiles.engine.keys import PROFILE_ID_KEY, normalized_values
from openprofiles.engine.matching.identity_resolution import require_matching
from openprofiles.errors import BadRequestException, ResourceNotFoundException
from openprofiles.store import matching as store
from openprofiles.store import ml_matches as ml_store
from openprofiles.store import profiles as profile_store
from openprofiles.store.pagination import decode_token, encode_token


@dataclass(frozen=True)
class SimilarProfiles:
    profile_ids: list[str]
    match_id: str | None = None
    rule_level: int | None = None
    next_token: str | None = None
    confidence: float | None = None


def _require_rule_based(domain: dict[str, Any]) -> None:
    if not (domain["rule_based_matching"] or {}).get("Enabled"):
        raise BadRequestException(
            f"Rule-based matching is not enabled for domain {domain['domain_name']}"
        )


def list_matches(
    conn: Connection, domain: dict[str, Any], token: str | None, max_results: int
) -> tuple[list[str], str | None]:
    """One page of the domain's match ids, and the token of the next page."""
    _require_rule_based(domain)
    after = decode_token("rule-matches", token, 1)[0] if token else None
    ids = store.match_ids_page(conn, domain["id"], after, max_results + 1)
    more = len(ids) > max_results
    ids = ids[:max_results]
    return ids, encode_token("rule-matches", [ids[-1]]) if more else None


def similar_profiles(
    conn: Connection,
    domain: dict[str, Any],
    match_type: str,
    search_key: str,
    search_value: str,
    token: str | None,
    max_results: int,
) -> SimilarProfiles:
    if match_type == "ML_BASED_MATCHING":
        return _similar_by_ml(conn, domain, search_key, search_value, token, max_results)
    _require_rule_based(domain)
    if search_key == PROFILE_ID_KEY:
        if profile_store.get(conn, domain["id"], search_value) is None:
            raise ResourceNotFoundException(
                f"Profile {search_value} does not exist in domain {domain['domain_name']}"
            )
        found = store.match_of_profile(conn, domain["id"], search_value)
    else:
        values = normalized_values(conn, domain, search_key, [search_value])
        found = store.match_of_key(conn, domain["id"], search_key, values[0]) if values else None
    if found is None:
        return SimilarProfiles(profile_ids=[])
    match_id, level = found
    after = None
    if token:
        token_match, after = decode_token("similar", token, 2)
        if token_match != match_id:
            raise BadRequestException("Invalid NextToken: it belongs to another match group")
    ids = store.members_page(conn, domain["id"], match_id, after, max_results + 1)
    more = len(ids) > max_results
    ids = ids[:max_results]
    next_token = encode_token("similar", [match_id, ids[-1]]) if more else None
    return SimilarProfiles(ids, match_id, level, next_token)


def _similar_by_ml(
    conn: Connection, domain: dict[str, Any], search_key: str, search_value: str,
    token: str | None, max_results: int,
) -> SimilarProfiles:
    require_matching(domain)
    if search_key == PROFILE_ID_KEY:
        if profile_store.get(conn, domain["id"], search_value) is None:
            raise ResourceNotFoundException(
                f"Profile {search_value} does not exist in domain {domain['domain_name']}"
            )
        holders = [search_value]
    else:
        values = normalized_values(conn, domain, search_key, [search_value])
        pks = sorted(profile_store.find(conn, domain["id"], search_key, values[0])) if values else []
        names = store.profile_ids(conn, pks)
        holders = [names[pk] for pk in pks if pk in names]
    match_id = next((m for pid in holders if (m := ml_store.group_of(conn, domain["id"], pid))), None)
    if match_id is None:
        return SimilarProfiles(profile_ids=[])
    ids, confidence = ml_store.members(conn, domain["id"], match_id)
    if len(ids) < 2:
        return SimilarProfiles(profile_ids=[])
    after = None
    if token:
        token_match, after = decode_token("similar-ml", token, 2)
        if token_match != match_id:
            raise BadRequestException("Invalid NextToken: it belongs to another match group")
    page = [pid for pid in ids if after is None or pid > after][: max_results + 1]
    more = len(page) > max_results
    page = page[:max_results]
    next_token = encode_token("similar-ml", [match_id, page[-1]]) if more else None
    return SimilarProfiles(page, match_id, None, next_token, confidence)
