"""Incremental rule-based matching: a profile is matched as it is written (REFERENCE 2.3).

When CreateProfile, UpdateProfile, a merge or PutProfileObject creates a profile or changes its
document, and the domain's RuleBasedMatching is enabled and ACTIVE, :func:`on_profile_written`
(called in the writer's transaction):

1. replaces the profile's rows of the signature index with its signatures at every level that may
   match (levels above MaxAllowedRuleLevelForMatching are not indexed, as in the full pass); a
   created profile is indexed after step 2, so its lookups do not meet its own rows (the guard
   counts it all the same);
2. places the profile, unless it is in a living group already: level by level (1 first), the
   other existing holders of its signatures at that level are looked up by the index's primary
   key (domain_id, level, signature), leaving out a signature held by more than 500 profiles (the
   guard, counted as the full pass counts it). At the first level where it has holders:

   - if any holder is in a living group, the profile joins the earliest of those groups (lowest
     rule level, then match id) together with the holders that are in no group (in the full pass
     they are linked to it through the profile), and the group keeps its rule level;
   - otherwise the profile and those free holders form a new group at that level.

   The group's MatchId is recomputed from its level and members (rules.Match.of), as the full
   pass computes it, so a pass that finds the same group keeps its id.

That is O(levels) indexed queries per write, whatever the domain's size.

What stays with the periodic pass (engine.matching.runner), which is left as the safety net and
still runs over a domain whose profiles changed since its last pass:

- auto-merge (MaxAllowedRuleLevelForMerging): merging is heavy and AWS merges in batch too;
- profiles written by batch ingestion (store.bulk), which does not call this hook;
- a profile already in a group keeps it when its document changes, even if it no longer
  matches, and the groups never split here: only the full pass re-evaluates them;
- a signature that crosses the guard: the groups it linked before stay until the pass;
- cascades of the level order: a holder grouped at a later level that the new profile would now
  group at an earlier level keeps its group here (the full pass regroups it), and when the
  profile could join several groups the full pass picks by its own group order.

In every other case the groups equal what a full pass would find afterwards.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson
from sqlalchemy import Connection

from openprofiles.engine.matching.rules import GUARD, Match, RuleSet, signatures
from openprofiles.store import matching as store


def on_profile_written(
    conn: Connection,
    domain: dict[str, Any],
    pk: int,
    profile_id: str,
    document: dict[str, Any],
    created: bool = False,
) -> None:
    """Index and place one created (``created``) or changed profile, if the domain matches
    rule-based."""
    config = domain.get("rule_based_matching") or {}
    if not config.get("Enabled") or config.get("Status") != "ACTIVE":
        return  # not matching, or a full pass has yet to index the domain
    rules = _rules(orjson.dumps(config, option=orjson.OPT_SORT_KEYS))
    found = signatures(rules, document, domain["phone_region"])
    if created:  # a new row id: no signatures to replace, nor its own to find among the holders
        _place(conn, domain["id"], pk, profile_id, found, created)
        store.add_signatures(conn, domain["id"], [(level, signature, pk) for level, signature in found])
    else:
        store.replace_profile_signatures(conn, domain["id"], pk, found)
        _place(conn, domain["id"], pk, profile_id, found, created)


@functools.lru_cache(maxsize=256)
def _rules(config: bytes) -> RuleSet:
    return RuleSet.from_config(orjson.loads(config))


def _place(
    conn: Connection, domain_id: int, pk: int, profile_id: str, found: set[tuple[int, str]],
    created: bool,
) -> None:  # fmt: skip
    own = None if created else store.group_of(conn, domain_id, profile_id)  # a new id: no group
    if own and len(store.living_members(conn, domain_id, own[0])) >= 2:
        return  # grouped already: the full pass re-evaluates it
    for level in sorted({level for level, _ in found}):
        holders: dict[str, tuple[str, int] | None] = {}
        for signature in sorted(s for lvl, s in found if lvl == level):
            rows = store.signature_holders(conn, domain_id, level, signature, GUARD)
            # the low-cardinality guard, counting the profile (a created one is not indexed yet)
            if len({row[0] for row in rows}) + created > GUARD:
                continue
            for hpk, holder, match_id, rule_level in rows:
                if hpk != pk and (holders.get(holder) is None):
                    holders[holder] = (match_id, rule_level) if match_id else None  # type: ignore[assignment]
        if not holders:
            continue
        target: tuple[tuple[str, int], list[str]] | None = None
        living: set[tuple[str, int]] = set()
        for group in sorted({g for g in holders.values() if g}, key=lambda g: (g[1], g[0])):
            members = store.living_members(conn, domain_id, group[0])
            if len(members) >= 2:
                living.add(group)
                target = target or (group, members)
        free = [p for p, g in holders.items() if g not in living]
        if target:
            (old_id, group_level), members = target
            match = Match.of(group_level, list(dict.fromkeys([*members, profile_id, *free])))
            store.replace_match(conn, domain_id, old_id, match.match_id, match.level, list(match.profile_ids))
        else:
            match = Match.of(level, [profile_id, *free])
            store.replace_match(conn, domain_id, None, match.match_id, match.level, list(match.profile_ids))
        return
