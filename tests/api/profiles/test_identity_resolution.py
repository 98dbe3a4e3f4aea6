"""ML identity resolution through boto3: jobs queued when Matching is enabled and on schedule,
their status and stats, GetMatches, GetSimilarProfiles, auto-merging with Consolidation, the
preview, S3 exports (a moto server) and the on-demand CLI (REFERENCE 2.1-2.2)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import combinations
from typing import Any

import boto3
import orjson
import pytest
from botocore.exceptions import ClientError

from benchmarks.identity_testbed import generate
from openprofiles.clock import ManualClock
from openprofiles.config import Settings
from openprofiles.mock import mock_profiles

REGION = "us-east-1"
MATCHING = {"Enabled": True}
#: a Friday noon: the default schedule (Saturdays 00:00 UTC) comes 12 hours later
FRIDAY = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def client() -> Any:
    return boto3.client("customer-profiles", region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s")


@pytest.fixture(scope="module")
def people() -> list[tuple[int, dict[str, Any]]]:
    return generate(400, seed=7)


@pytest.fixture
def running(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any, ManualClock]]:
    """An in-process universe on a ManualClock: (app, client, clock)."""
    clock = ManualClock(FRIDAY)
    settings = request.param if hasattr(request, "param") else Settings(db="memory")
    with mock_profiles(settings, clock) as app:
        yield app, client(), clock


def load(profiles: Any, domain: str, people: list[tuple[int, dict[str, Any]]], **config: Any) -> dict[str, int]:
    """A domain holding ``people``; profile id -> true cluster."""
    profiles.create_domain(DomainName=domain, DefaultExpirationDays=30, **config)
    return {profiles.create_profile(DomainName=domain, **fields)["ProfileId"]: cluster for cluster, fields in people}


def jobs_of(profiles: Any, domain: str) -> list[dict[str, Any]]:
    return profiles.list_identity_resolution_jobs(DomainName=domain)["IdentityResolutionJobsList"]


def all_matches(profiles: Any, domain: str) -> list[dict[str, Any]]:
    found, token = [], None
    while True:
        page = profiles.get_matches(DomainName=domain, MaxResults=7, **({"NextToken": token} if token else {}))
        found += page["Matches"]
        token = page.get("NextToken")
        if not token:
            return found


def test_enabling_matching_runs_a_job_that_finds_the_duplicates(running, people):
    app, profiles, _ = running
    truth = load(profiles, "ml", people)
    profiles.update_domain(DomainName="ml", Matching=MATCHING)
    [job] = jobs_of(profiles, "ml")
    assert job["Status"] == "COMPLETED", job
    assert job["JobStats"] == {
        "NumberOfProfilesReviewed": len(people), "NumberOfMatchesFound": job["JobStats"]["NumberOfMatchesFound"],
        "NumberOfMergesDone": 0,
    }  # fmt: skip
    found = all_matches(profiles, "ml")
    summary = profiles.get_matches(DomainName="ml")
    assert summary["PotentialMatches"] == len(found) == job["JobStats"]["NumberOfMatchesFound"] > 20
    assert summary["MatchGenerationDate"] == FRIDAY
    assert len({m["MatchId"] for m in found}) == len(found)
    pairs = [pair for m in found for pair in combinations(m["ProfileIds"], 2)]
    assert all(0 <= m["ConfidenceScore"] <= 1 and len(m["ProfileIds"]) >= 2 for m in found)
    precision = sum(truth[a] == truth[b] for a, b in pairs) / len(pairs)
    assert precision > 0.9
    detail = profiles.get_identity_resolution_job(DomainName="ml", JobId=job["JobId"])
    assert (detail["Status"], detail["JobStartTime"], detail["JobEndTime"]) == ("COMPLETED", FRIDAY, FRIDAY)
    assert "AutoMerging" not in detail and "ExportingLocation" not in detail


def test_get_similar_profiles_finds_the_ml_group(running, people):
    _, profiles, _ = running
    load(profiles, "similar", people)
    profiles.update_domain(DomainName="similar", Matching=MATCHING)
    group = all_matches(profiles, "similar")[0]
    member = group["ProfileIds"][0]
    found = profiles.get_similar_profiles(
        DomainName="similar", MatchType="ML_BASED_MATCHING", SearchKey="_profileId", SearchValue=member
    )
    assert (found["MatchId"], found["ProfileIds"], found["ConfidenceScore"]) == (
        group["MatchId"], sorted(group["ProfileIds"]), group["ConfidenceScore"],
    )
    first = profiles.get_similar_profiles(
        DomainName="similar", MatchType="ML_BASED_MATCHING", SearchKey="_profileId", SearchValue=member, MaxResults=1
    )
    assert first["ProfileIds"] == sorted(group["ProfileIds"])[:1] and first["NextToken"]
    lonely = profiles.create_profile(DomainName="similar", FirstName="Zed", EmailAddress="zed@nowhere.test")
    alone = profiles.get_similar_profiles(
        DomainName="similar", MatchType="ML_BASED_MATCHING", SearchKey="_email", SearchValue="ZED@nowhere.test"
    )
    assert alone["ProfileIds"] == [] and lonely["ProfileId"]


def test_auto_merging_merges_the_groups_its_consolidation_allows(running, people):
    _, profiles, clock = running
    load(profiles, "merge", people)
    profiles.update_domain(DomainName="merge", Matching=MATCHING)
    auto = {"Consolidation": {"MatchingAttributesList": [["FirstName", "LastName"]]},
            "ConflictResolution": {"ConflictResolvingModel": "RECENCY"}, "MinAllowedConfidenceScoreForMerging": 0.95}  # fmt: skip
    preview = profiles.get_auto_merging_preview(DomainName="merge", **auto)
    assert preview["NumberOfMatchesInSample"] == profiles.get_matches(DomainName="merge")["PotentialMatches"]
    assert 0 < preview["NumberOfProfilesWillBeMerged"] < preview["NumberOfProfilesInSample"]
    before = profiles.get_domain(DomainName="merge")["Stats"]["ProfileCount"]
    profiles.update_domain(DomainName="merge", Matching={"Enabled": False})
    clock.advance(minutes=1)
    profiles.update_domain(DomainName="merge", Matching={"Enabled": True, "AutoMerging": {"Enabled": True, **auto}})
    job = jobs_of(profiles, "merge")[0]
    after = profiles.get_domain(DomainName="merge")["Stats"]["ProfileCount"]
    assert job["Status"] == "COMPLETED", job
    assert job["JobStats"]["NumberOfMergesDone"] == before - after == preview["NumberOfProfilesWillBeMerged"]
    detail = profiles.get_identity_resolution_job(DomainName="merge", JobId=job["JobId"])
    assert detail["AutoMerging"]["MinAllowedConfidenceScoreForMerging"] == 0.95


def test_consolidation_merges_only_profiles_that_agree_on_a_criterion():
    from openprofiles.engine.matching.identity_resolution import consolidated

    documents = {
        "a": {"FirstName": "Ann", "LastName": "Lee", "EmailAddress": "ann@x.test", "PhoneNumber": "+12065550100"},
        "b": {"FirstName": "ANN", "LastName": "lee", "EmailAddress": "Ann@X.test "},
        "c": {"FirstName": "Annie", "LastName": "Lee", "PhoneNumber": "(206) 555-0100"},
        "d": {"FirstName": "Anne", "LastName": "Leigh"},
    }
    by_name_email = {"Consolidation": {"MatchingAttributesList": [["FirstName", "LastName", "EmailAddress"]]}}
    assert consolidated(documents, by_name_email, "US") == [["a", "b"]]
    then_phone = {"Consolidation": {"MatchingAttributesList": [["FirstName", "LastName", "EmailAddress"], ["PhoneNumber"]]}}
    assert consolidated(documents, then_phone, "US") == [["a", "b", "c"]]
    assert consolidated(documents, {}, "US") == [["a", "b", "c", "d"]]


def test_jobs_follow_the_weekly_schedule(running):
    app, profiles, clock = running
    profiles.create_domain(DomainName="weekly", DefaultExpirationDays=30, Matching=MATCHING)
    assert len(jobs_of(profiles, "weekly")) == 1  # right after enabling
    app.maintenance.run_once()
    assert len(jobs_of(profiles, "weekly")) == 1
    clock.advance(hours=12, minutes=1)  # Saturday 00:01
    app.maintenance.run_once()
    app.maintenance.run_once()
    assert [j["Status"] for j in jobs_of(profiles, "weekly")] == ["COMPLETED", "COMPLETED"]
    schedule = {"DayOfTheWeek": "MONDAY", "Time": "9:30"}
    profiles.update_domain(DomainName="weekly", Matching={"Enabled": True, "JobSchedule": schedule})
    clock.advance(days=2, hours=9, minutes=28)  # Monday 09:29
    app.maintenance.run_once()
    assert len(jobs_of(profiles, "weekly")) == 2
    clock.advance(minutes=2)
    app.maintenance.run_once()
    assert len(jobs_of(profiles, "weekly")) == 3


def test_turning_matching_off_drops_the_waiting_jobs(running, monkeypatch):
    app, profiles, _ = running
    monkeypatch.setattr(app.jobs, "wake", lambda: None)
    profiles.create_domain(DomainName="off", DefaultExpirationDays=30, Matching=MATCHING)
    assert [j["Status"] for j in jobs_of(profiles, "off")] == ["PENDING"]
    profiles.update_domain(DomainName="off", Matching={"Enabled": False})
    assert jobs_of(profiles, "off") == []


@pytest.mark.parametrize(
    ("matching", "member"),
    [({"Enabled": True, "AutoMerging": {"Enabled": True, "Consolidation": {"MatchingAttributesList": [["Shoe"]]}}},
      "Matching.AutoMerging.Consolidation.MatchingAttributesList[0]"),
     ({"Enabled": True, "AutoMerging": {"Enabled": True, "ConflictResolution": {"ConflictResolvingModel": "SOURCE"}}},
      "Matching.AutoMerging.ConflictResolution.SourceName")],
)  # fmt: skip
def test_a_matching_configuration_that_cannot_apply_is_refused(profiles, unique, matching, member):
    with pytest.raises(ClientError) as excinfo:
        profiles.create_domain(DomainName=unique("bad"), DefaultExpirationDays=30, Matching=matching)
    assert excinfo.value.response["Error"]["Code"] == "BadRequestException"
    assert member in excinfo.value.response["Error"]["Message"]


def test_reads_need_matching_and_known_jobs(profiles, unique):
    domain = unique("plain")
    profiles.create_domain(DomainName=domain, DefaultExpirationDays=30)
    for call in (
        lambda: profiles.get_matches(DomainName=domain),
        lambda: profiles.get_auto_merging_preview(
            DomainName=domain, Consolidation={"MatchingAttributesList": [["EmailAddress"]]},
            ConflictResolution={"ConflictResolvingModel": "RECENCY"},
        ),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert excinfo.value.response["Error"]["Code"] == "BadRequestException"
    with pytest.raises(ClientError) as excinfo:
        profiles.get_identity_resolution_job(DomainName=domain, JobId="0" * 32)
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_domain_without_profiles_completes_a_job_with_nothing_found(profiles, unique):
    domain = unique("empty")
    profiles.create_domain(DomainName=domain, DefaultExpirationDays=30, Matching=MATCHING)
    deadline = time.monotonic() + 20
    while (job := jobs_of(profiles, domain)[0])["Status"] not in ("COMPLETED", "FAILED"):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    assert job["Status"] == "COMPLETED"
    assert job["JobStats"]["NumberOfProfilesReviewed"] == 0
    found = profiles.get_matches(DomainName=domain)
    assert (found["Matches"], found["PotentialMatches"]) == ([], 0)


def test_the_job_exports_its_groups_to_s3(moto_server, unique, people):
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto_server, aws_access_key_id="t", aws_secret_access_key="t")
    bucket = unique("matches")
    s3.create_bucket(Bucket=bucket)
    exporting = {"S3Exporting": {"S3BucketName": bucket, "S3KeyName": "ir"}}
    with mock_profiles(Settings(db="memory", endpoint_urls={"s3": moto_server})):
        profiles = client()
        load(profiles, "export", people)
        profiles.update_domain(DomainName="export", Matching={"Enabled": True, "ExportingConfig": exporting})
        [job] = jobs_of(profiles, "export")
        matches = all_matches(profiles, "export")
        preview = profiles.get_auto_merging_preview(
            DomainName="export", Consolidation={"MatchingAttributesList": [["EmailAddress"]]},
            ConflictResolution={"ConflictResolvingModel": "RECENCY"},
        )
    key = f"ir/{job['JobId']}/matches.jsonl"
    assert job["ExportingLocation"] == {"S3Exporting": {"S3BucketName": bucket, "S3KeyName": key}}
    lines = s3.get_object(Bucket=bucket, Key=key)["Body"].read().splitlines()
    exported = {item["MatchId"]: item for item in map(orjson.loads, lines)}
    assert {m["MatchId"]: sorted(m["ProfileIds"]) for m in matches} == {
        k: sorted(v["ProfileIds"]) for k, v in exported.items()
    }
    [preview_file] = s3.list_objects_v2(Bucket=bucket, Prefix="ir/auto-merging-preview/")["Contents"]
    merged = [orjson.loads(line) for line in s3.get_object(Bucket=bucket, Key=preview_file["Key"])["Body"].read().splitlines()]
    assert sum(len(item["MergedProfileIds"]) for item in merged) == preview["NumberOfProfilesWillBeMerged"]


def test_the_cli_runs_a_job_on_demand(tmp_path, people):
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with mock_profiles(Settings(db=db)):
        profiles = client()
        load(profiles, "cli", people[:120])
        profiles.update_domain(DomainName="cli", Matching=MATCHING)
    done = subprocess.run(
        [sys.executable, "-m", "openprofiles.cli", "identity-resolution", "cli", "--db", db],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    job = orjson.loads(done.stdout)
    assert job["Status"] == "COMPLETED" and job["JobStats"]["NumberOfProfilesReviewed"] == 120
    with mock_profiles(Settings(db=db)):
        assert len(jobs_of(client(), "cli")) == 2
    missing = subprocess.run(
        [sys.executable, "-m", "openprofiles.cli", "identity-resolution", "nope", "--db", db],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert missing.returncode == 1 and "nope" in missing.stderr


def test_the_schedule_names_the_latest_moment():
    from openprofiles.engine.matching.identity_resolution import last_scheduled

    assert last_scheduled(None, FRIDAY) == datetime(2026, 11, 14, 0, 0, tzinfo=UTC)
    assert last_scheduled(None, FRIDAY + timedelta(hours=12)) == datetime(2026, 11, 21, 0, 0, tzinfo=UTC)
    monday = {"DayOfTheWeek": "MONDAY", "Time": "09:30"}
    assert last_scheduled(monday, datetime(2026, 11, 23, 9, 29, tzinfo=UTC)) == datetime(2026, 11, 16, 9, 30, tzinfo=UTC)
    assert last_scheduled(monday, datetime(2026, 11, 23, 9, 30, tzinfo=UTC)) == datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def test_exports_go_to_a_local_folder_when_s3_is_a_file_uri(tmp_path, people):
    """With the S3 endpoint set to a file:// folder, an S3 ExportingConfig writes locally."""
    exporting = {"S3Exporting": {"S3BucketName": "local-bucket", "S3KeyName": "runs"}}
    with mock_profiles(Settings(db="memory", endpoint_urls={"s3": tmp_path.as_uri()})):
        profiles = client()
        load(profiles, "local", people[:150])
        profiles.update_domain(DomainName="local", Matching={"Enabled": True, "ExportingConfig": exporting})
        [job] = jobs_of(profiles, "local")
        matches = all_matches(profiles, "local")
    key = f"runs/{job['JobId']}/matches.jsonl"
    assert job["ExportingLocation"] == {"S3Exporting": {"S3BucketName": "local-bucket", "S3KeyName": key}}
    lines = (tmp_path / "local-bucket" / key).read_bytes().splitlines()
    assert sorted(orjson.loads(line)["MatchId"] for line in lines) == sorted(m["MatchId"] for m in matches)
