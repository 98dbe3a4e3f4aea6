"""The rule-based matching pass over a domain: a maintenance task ("rule-based matching").

A domain is *due* when its RuleBasedMatching is enabled and either its Status is not ACTIVE
(PENDING after a configuration on a domain with profiles; IN_PROGRESS left by a pass that
failed) or its profiles changed since its last pass: their count or newest update differs from
what that pass saw.

A pass over a domain:

1. PENDING becomes IN_PROGRESS, committed at once so that GetDomain shows it; UpdateDomain of
   RuleBasedMatching is refused meanwhile, as AWS does.
2. In one transaction, every profile is indexed and grouped (engine.matching.rules), the groups
   replace the domain's match groups, and what the pass saw of the profiles is recorded.
3. Each group matched at a level up to MaxAllowedRuleLevelForMerging is merged, one transaction
   per group (engine.matching.merging: the main profile by ConflictResolution, the others most
   recent first).
4. Status becomes ACTIVE, unless the configuration changed meanwhile (the domain is then due).

AWS waits an hour in PENDING, evaluates for a time that grows with the domain, and refuses
configuration changes for a day after ACTIVE. openprofiles compresses all of it: a pass runs at
the next maintenance round (within a minute on a server, at once with
``app.maintenance.run_once()`` in-process) and nothing is refused after ACTIVE.

The task returns how many domains it activated plus how many groups it merged. Merges change
profiles, so the domain is due again and the round runs the task once more, finding the matches
of the merged profiles; a pass that neither activates nor merges counts 0, so steady ingestion
does not keep a maintenance round busy.
"""

from __future__ import annotations

from typing import Any

from openprofiles.clock import Clock
from openprofiles.engine.matching.merging import merge_group
from openprofiles.engine.matching.rules import Match, RuleSet, evaluate
from openprofiles.store import domains as domain_store
from openprofiles.store import matching as store
from openprofiles.store.db import Store


def run_rule_based_matching(db: Store, clock: Clock) -> int:
    """Pass over every due domain once; domains activated plus groups merged."""
    with db.read() as conn:
        due = [row for row in store.enabled_domains(conn) if _is_due(row)]
    return sum(_pass(db, row, clock) for row in due)


def _is_due(row: dict[str, Any]) -> bool:
    config = row["rule_based_matching"]
    if not config.get("Enabled"):
        return False
    seen = (row["passed_count"] or 0, row["passed_newest"])
    return config.get("Status") != "ACTIVE" or (row["profile_count"], row["newest_update"]) != seen


def _pass(db: Store, row: dict[str, Any], clock: Clock) -> int:
    with db.transaction() as conn:
        domain = _current(conn, row)
        if domain is None:
            return 0
        config = domain["rule_based_matching"]
        rules = RuleSet.from_config(config)  # before IN_PROGRESS, which would lock a bad config in
        if config.get("Status") == "PENDING":
            _set_status(conn, domain, config, "IN_PROGRESS")
    with db.transaction() as conn:
        seen = store.fingerprint(conn, domain["id"])
        matches = evaluate(conn, domain, rules)
        store.record_pass(conn, domain["id"], seen, clock.now().timestamp())
    mergeable = [m for m in matches if m.level <= rules.merge_up_to]
    merged = sum(_merge(db, domain, m, rules, clock) for m in mergeable)
    with db.transaction() as conn:
        current = _current(conn, row)
        if current is None or _settings(current["rule_based_matching"]) != _settings(config):
            return merged
        if current["rule_based_matching"].get("Status") == "ACTIVE":
            return merged
        _set_status(conn, current, current["rule_based_matching"], "ACTIVE")
    return merged + 1


def _current(conn: Any, row: dict[str, Any]) -> dict[str, Any] | None:
    """The domain as it is now, if it is still the same domain with matching enabled."""
    domain = domain_store.get(conn, row["account_id"], row["region"], row["domain_name"])
    if domain is None or domain["id"] != row["id"]:
        return None
    config = domain["rule_based_matching"]
    return domain if config and config.get("Enabled") else None


def _settings(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != "Status"}


def _set_status(conn: Any, domain: dict[str, Any], config: dict[str, Any], status: str) -> None:
    config = {**config, "Status": status}
    domain_store.update_domain(conn, domain["id"], {"rule_based_matching": config})


def _merge(db: Store, domain: dict[str, Any], match: Match, rules: RuleSet, clock: Clock) -> int:
    """Merge one group in its own transaction (engine.matching.merging); 1 if it was merged."""

    def drop(conn: Any) -> None:
        store.drop_match(conn, domain["id"], match.match_id)

    merged = merge_group(db, domain, match.profile_ids, rules.source_name, clock.now(), drop)
    return 1 if merged else 0
