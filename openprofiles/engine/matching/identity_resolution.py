"""ML-based identity resolution (REFERENCE 2.1-2.2): the Identity Resolution Job, as a durable job.

**When a job runs.** Right after `Matching.Enabled` becomes true (CreateDomain or UpdateDomain),
then weekly at the JobSchedule (DayOfTheWeek and Time, UTC; Saturdays 00:00 without one, as AWS
documents): the server's maintenance queues a job when the latest scheduled moment has passed
since the domain's last job and none is waiting or running. A self-hoster starts one at any time
with ``openprofiles identity-resolution DOMAIN`` (in-process: ``app.start_identity_resolution``).
Turning Matching off deletes the domain's waiting jobs. AWS allows three jobs a week per domain;
this limit is not applied to jobs started on demand.

**What a job does** (its Status moves through these; `job_view` maps them):

1. PREPROCESSING and FIND_MATCHING: reads every profile of the domain and finds the match groups
   with the ML model (engine.matching.ml: Splink, trained without labels on the domain's own
   profiles). The groups replace the domain's previous ones in one transaction (GetMatches,
   GetSimilarProfiles read them; MatchGenerationDate is that moment).
2. Export: with ``Matching.ExportingConfig.S3Exporting``, the groups are written as JSON Lines,
   one ``{"MatchId", "ProfileIds", "ConfidenceScore"}`` per line, to
   ``s3://S3BucketName/S3KeyName/<JobId>/matches.jsonl`` (ExportingLocation names it), or to a
   local folder when the S3 endpoint is a ``file://`` URI (openprofiles.sinks.files).
3. MERGING, with ``AutoMerging.Enabled``: each group whose ConfidenceScore is at least
   MinAllowedConfidenceScoreForMerging (every group without one) is consolidated: with
   Consolidation, the group's profiles that agree on every attribute of one of its
   MatchingAttributesList criteria (exact comparison of the normalized values, as rule-based
   matching compares them; profiles linked by any criterion, transitively) are merged together;
   without it, the whole group is. Each merge is one transaction through the MergeProfiles path,
   its main profile chosen by ConflictResolution (engine.matching.merging).

JobStats: NumberOfProfilesReviewed (profiles read), NumberOfMatchesFound (groups found),
NumberOfMergesDone (profiles merged into another). The job ends COMPLETED, or PARTIAL_SUCCESS
when the export or some merges failed (Message says what), or FAILED. Being a durable job, one
killed mid-way runs again from the start: merges already done are whole and their profiles gone,
so nothing is merged twice or by halves. Job records are kept until their domain is deleted.

**GetAutoMergingPreview** applies a configuration to the domain's current groups (up to
`PREVIEW_SAMPLE` of them, in match id order, which is random with respect to the profiles)
without merging, and reports the counts; with an S3 ExportingConfig it also writes the preview
file ``S3KeyName/auto-merging-preview/<id>.jsonl``: for each group that would merge, its MatchId,
the main profile and the profiles that would merge into it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, select

from openprofiles.clock import Clock
from openprofiles.engine.matching.merging import merge_group, merge_order
from openprofiles.engine.matching.ml import MlSettings, match_prepared, prepare
from openprofiles.engine.matching.rules import ATTRIBUTES, RuleSet, root, signatures
from openprofiles.errors import BadRequestException
from openprofiles.jobs.runner import JobFailed, RunningJob
from openprofiles.store import domains as domain_store
from openprofiles.store import jobs as job_store
from openprofiles.store import ml_matches as store
from openprofiles.store import profiles as profile_store
from openprofiles.store.db import Store
from openprofiles.store.schema import profiles

log = logging.getLogger("openprofiles.matching")

KIND = "identity-resolution"
DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
DEFAULT_SCHEDULE = {"DayOfTheWeek": "SATURDAY", "Time": "0:00"}
PREVIEW_SAMPLE = 1000
_BATCH = 2000

#: (destination URI, file name, local file, encryption key) -> the delivered file's URI
Deliver = Callable[[str, str, Path, "str | None"], str]
#: a local scratch file for a suffix, removed when the block ends
Scratch = Callable[[str], Any]
#: (connection, domain id, kind, subject, request) -> job id, in the caller's transaction
Submit = Callable[[Connection, int, str, "str | None", dict[str, Any]], str]


# --- configuration ---------------------------------------------------------------------------


def check_matching(config: dict[str, Any] | None) -> None:
    """Refuse a Matching configuration the job could not apply, naming the member."""
    auto = (config or {}).get("AutoMerging") or {}
    criteria = (auto.get("Consolidation") or {}).get("MatchingAttributesList") or []
    for index, criterion in enumerate(criteria):
        for attribute in criterion:
            if attribute not in ATTRIBUTES and not attribute.startswith("Attributes."):
                raise BadRequestException(
                    f"Matching.AutoMerging.Consolidation.MatchingAttributesList[{index}]: "
                    f"{attribute} is not a profile attribute; use one of {', '.join(ATTRIBUTES)} "
                    "or Attributes.<name>"
                )
    conflict = auto.get("ConflictResolution") or {}
    if conflict.get("ConflictResolvingModel") == "SOURCE" and not conflict.get("SourceName"):
        raise BadRequestException("Matching.AutoMerging.ConflictResolution.SourceName is required with SOURCE")


def _enabled(config: dict[str, Any] | None) -> bool:
    return bool((config or {}).get("Enabled"))


def require_matching(domain: dict[str, Any]) -> None:
    """Refuse a call that reads or runs ML matching on a domain without it."""
    if not _enabled(domain["matching"]):
        raise BadRequestException(f"ML-based matching (Matching) is not enabled for domain {domain['domain_name']}")


def on_matching_set(
    conn: Connection, submit: Submit, domain: dict[str, Any], before: dict[str, Any] | None
) -> bool:
    """After CreateDomain/UpdateDomain: queue a job when Matching was just enabled, delete the
    waiting ones when it was turned off. True when a job was queued."""
    if _enabled(domain["matching"]) and not _enabled(before):
        submit(conn, domain["id"], KIND, None, {"Trigger": "enabled"})
        return True
    if not _enabled(domain["matching"]) and _enabled(before):
        job_store.delete_queued(conn, domain["id"], KIND)
    return False


def last_scheduled(schedule: dict[str, Any] | None, now: datetime) -> datetime:
    """The latest moment at or before ``now`` that the weekly JobSchedule names (UTC)."""
    schedule = schedule or DEFAULT_SCHEDULE
    hours, minutes = (int(part) for part in schedule["Time"].split(":"))
    moment = now.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    moment -= timedelta(days=(now.weekday() - DAYS.index(schedule["DayOfTheWeek"])) % 7)
    return moment if moment <= now else moment - timedelta(days=7)


def queue_scheduled_jobs(db: Store, clock: Clock, submit: Submit) -> int:
    """Queue a job for every domain whose scheduled moment has passed since its last job (the
    maintenance task); how many were queued."""
    now, queued = clock.now(), 0
    with db.transaction() as conn:
        for domain in domain_store.with_matching(conn):
            config = domain["matching"]
            if not _enabled(config):
                continue
            last = job_store.latest(conn, domain["id"], KIND)
            if last is not None and last["status"] in (job_store.QUEUED, job_store.RUNNING):
                continue
            moment = last_scheduled(config.get("JobSchedule"), now).timestamp()
            if last is None or last["created_at"] < moment:
                submit(conn, domain["id"], KIND, None, {"Trigger": "schedule"})
                queued += 1
    return queued


# --- the job ---------------------------------------------------------------------------------


def run_identity_resolution(job: RunningJob, deliver: Deliver, scratch: Scratch) -> dict[str, Any]:
    """The job: find the match groups, export them, merge the mergeable ones."""
    job.report(phase="PREPROCESSING")
    with job.store.snapshot() as conn:
        domain = domain_store.get_by_id(conn, job.domain_id)
        if domain is None:
            raise JobFailed("The domain was deleted")
        if not _enabled(domain["matching"]):
            raise JobFailed("Matching is not enabled for the domain")
        config = domain["matching"]
        settings = MlSettings(phone_region=domain["phone_region"])
        ids = select(profiles.c.id).where(profiles.c.domain_id == domain["id"])
        documents = (
            (row["profile_id"], row["document"])
            for batch in profile_store.stream(conn, ids, _BATCH)
            for row in batch
        )
        prepared = prepare(documents, settings.phone_region)
    job.report(phase="FIND_MATCHING")
    found = match_prepared(prepared, settings)
    now = job.clock.now().timestamp()
    groups = [(m.match_id, m.profile_ids, m.confidence) for m in found.matches]
    with job.store.transaction() as conn:
        store.replace(conn, domain["id"], job.job_id, now, groups)
    stats = {"NumberOfProfilesReviewed": found.profiles, "NumberOfMatchesFound": len(groups), "NumberOfMergesDone": 0}
    job.report(MatchesAt=now, JobStats=stats)
    problems = []
    location = _export(job, config, groups, deliver, scratch, problems)
    auto = config.get("AutoMerging") or {}
    if auto.get("Enabled"):
        job.report(phase="MERGING")
        stats["NumberOfMergesDone"] = _merge_all(job, domain, auto, groups, problems)
    result: dict[str, Any] = {"JobStats": stats, "AutoMerging": auto or None}
    if location is not None:
        result["ExportingLocation"] = location
    if found.skipped:
        result["Note"] = found.skipped
    if problems:
        result["Partial"] = "; ".join(problems)
    return result


def _export(
    job: RunningJob, config: dict[str, Any], groups: list[tuple[str, tuple[str, ...], float]],
    deliver: Deliver, scratch: Scratch, problems: list[str],
) -> dict[str, Any] | None:
    target = (config.get("ExportingConfig") or {}).get("S3Exporting")
    if not target:
        return None
    prefix = (target.get("S3KeyName") or "").strip("/")
    lines = (
        orjson.dumps({"MatchId": m, "ProfileIds": list(ids), "ConfidenceScore": c}) + b"\n"
        for m, ids, c in groups
    )
    try:
        uri = _deliver_lines(deliver, scratch, f"s3://{target['S3BucketName']}/{prefix}", f"{job.job_id}/matches.jsonl", lines)
    except JobFailed as failure:
        problems.append(f"the export failed: {failure}")
        return None
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return {"S3Exporting": {"S3BucketName": bucket, "S3KeyName": key}}


def _deliver_lines(deliver: Deliver, scratch: Scratch, uri: str, name: str, lines: Any) -> str:
    with scratch(".jsonl") as local:
        with local.open("wb") as out:
            out.writelines(lines)
        return deliver(uri, name, local, None)


def consolidated(
    documents: dict[str, dict[str, Any]], auto: dict[str, Any], phone_region: str
) -> list[list[str]]:
    """The sets of profiles of one group that merge together under ``auto``'s Consolidation
    (each set of two or more; the whole group without Consolidation)."""
    criteria = (auto.get("Consolidation") or {}).get("MatchingAttributesList")
    ids = sorted(documents)
    if not criteria:
        return [ids] if len(ids) > 1 else []
    defaults = RuleSet.from_config({})
    rules = RuleSet(tuple(tuple(c) for c in criteria), True, defaults.selected, 0, None)
    parent: dict[str, str] = {}
    holders: dict[tuple[int, str], str] = {}
    for profile_id in ids:
        for signature in signatures(rules, documents[profile_id], phone_region):
            if signature in holders:
                parent[root(parent, profile_id)] = root(parent, holders[signature])
            else:
                holders[signature] = profile_id
    sets: dict[str, list[str]] = {}
    for profile_id in ids:
        sets.setdefault(root(parent, profile_id), []).append(profile_id)
    return [members for members in sets.values() if len(members) > 1]


def _mergeable(groups: list[tuple[str, tuple[str, ...], float]], auto: dict[str, Any]) -> list[tuple[str, tuple[str, ...], float]]:
    floor = auto.get("MinAllowedConfidenceScoreForMerging")
    return [g for g in groups if floor is None or g[2] >= floor]


def _source(auto: dict[str, Any]) -> str | None:
    conflict = auto.get("ConflictResolution") or {}
    return conflict.get("SourceName") if conflict.get("ConflictResolvingModel") == "SOURCE" else None


def _merge_all(
    job: RunningJob, domain: dict[str, Any], auto: dict[str, Any],
    groups: list[tuple[str, tuple[str, ...], float]], problems: list[str],
) -> int:
    merged, failed = 0, 0
    mergeable = _mergeable(groups, auto)
    for done, (_, profile_ids, _) in enumerate(mergeable, start=1):
        with job.store.read() as conn:
            rows = profile_store.get_many(conn, domain["id"], profile_ids)
        sets = consolidated({pid: row["document"] for pid, row in rows.items()}, auto, domain["phone_region"])
        for members in sets:
            try:
                merged += merge_group(job.store, domain, members, _source(auto), job.clock.now())
            except Exception:  # one group's failure does not stop the others
                log.exception("merging %s in job %s failed", members, job.job_id)
                failed += 1
        if done % 100 == 0:
            job.report(progress=done * 100 // len(mergeable))
    if failed:
        problems.append(f"{failed} merges failed; the server's log has the details")
    return merged


# --- reading jobs and previews -----------------------------------------------------------------

_STATUS = {"QUEUED": "PENDING", "FAILED": "FAILED"}


def job_view(row: dict[str, Any], domain_name: str) -> dict[str, Any]:
    """The IdentityResolutionJob of GetIdentityResolutionJob for a job row."""
    result = row["result"] or {}
    if row["status"] == job_store.SUCCEEDED:
        status = "PARTIAL_SUCCESS" if result.get("Partial") else "COMPLETED"
    else:
        status = _STATUS.get(row["status"]) or row["phase"] or "PREPROCESSING"
    message = row["message"] or result.get("Partial")
    if message is None and result.get("Note"):
        message = f"No matches were looked for: {result['Note']}"
    return {
        "DomainName": domain_name,
        "JobId": row["job_id"],
        "Status": status,
        "Message": message,
        "JobStartTime": row["started_at"],
        "JobEndTime": row["ended_at"],
        "LastUpdatedAt": row["updated_at"],
        "AutoMerging": result.get("AutoMerging"),
        "ExportingLocation": result.get("ExportingLocation"),
        "JobStats": result.get("JobStats"),
    }


def latest_matches_at(conn: Connection, domain_id: int) -> float | None:
    """When the domain's current match groups were generated (None: never)."""
    for row in job_store.of_domain(conn, domain_id, KIND, limit=100):
        if (row["result"] or {}).get("MatchesAt") is not None:
            return float(row["result"]["MatchesAt"])
    return None


def preview(
    conn: Connection, domain: dict[str, Any], auto: dict[str, Any], deliver: Deliver, scratch: Scratch
) -> dict[str, Any]:
    """GetAutoMergingPreview: what ``auto`` would merge among the current groups."""
    if latest_matches_at(conn, domain["id"]) is None:
        raise BadRequestException(
            f"Domain {domain['domain_name']} has no ML matching results yet: an identity resolution "
            "job must run first"
        )
    sample = store.groups_page(conn, domain["id"], None, PREVIEW_SAMPLE)
    will_merge, lines = 0, []
    for match_id, profile_ids, _ in _mergeable([(m, tuple(p), c) for m, p, c in sample], auto):
        rows = profile_store.get_many(conn, domain["id"], profile_ids)
        for members in consolidated({pid: r["document"] for pid, r in rows.items()}, auto, domain["phone_region"]):
            main, *others = merge_order(conn, [rows[pid] for pid in members], _source(auto))
            will_merge += len(others)
            lines.append(orjson.dumps({
                "MatchId": match_id, "MainProfileId": main["profile_id"],
                "MergedProfileIds": [r["profile_id"] for r in others],
            }) + b"\n")  # fmt: skip
    target = ((domain["matching"] or {}).get("ExportingConfig") or {}).get("S3Exporting")
    if target:
        prefix = (target.get("S3KeyName") or "").strip("/")
        name = f"auto-merging-preview/{uuid.uuid4().hex}.jsonl"
        try:
            _deliver_lines(deliver, scratch, f"s3://{target['S3BucketName']}/{prefix}", name, lines)
        except JobFailed as failure:
            raise BadRequestException(f"The preview file could not be written: {failure}") from None
    return {
        "NumberOfMatchesInSample": len(sample),
        "NumberOfProfilesInSample": sum(len(ids) for _, ids, _ in sample),
        "NumberOfProfilesWillBeMerged": will_merge,
    }
