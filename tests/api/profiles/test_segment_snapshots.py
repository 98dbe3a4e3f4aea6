"""Segment snapshots through boto3 behind every door: CSV, JSONL and ORC files of the members,
delivered to file:// folders and to S3 (a moto server), with their status and errors."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
from botocore.exceptions import ClientError

from openprofiles import mock_profiles
from openprofiles.config import Settings

REGION = "us-east-1"
PEOPLE = {
    "ann": {"FirstName": "Ann", "LastName": "Lee", "Address": {"City": "Oslo", "Country": "NO"},
            "Attributes": {"tier": "gold"}},
    "bob": {"FirstName": "Bob", "EmailAddress": "bob@corp.test", "Attributes": {"tier": "gold", "pets": "2"}},
    "cy": {"FirstName": "Cy", "Attributes": {"tier": "silver"}},
}  # fmt: skip
GOLD = {"Include": "ALL", "Groups": [{"Dimensions": [{"ProfileAttributes": {
    "Attributes": {"tier": {"DimensionType": "INCLUSIVE", "Values": ["gold"]}}}}]}]}  # fmt: skip


@pytest.fixture
def segment(profiles: Any, unique: Callable[[str], str]) -> tuple[str, dict[str, str]]:
    """A domain holding PEOPLE and a segment ``gold`` of ann and bob; the domain, the ids."""
    domain = unique("snap")
    profiles.create_domain(DomainName=domain, DefaultExpirationDays=30)
    ids = {who: profiles.create_profile(DomainName=domain, **fields)["ProfileId"] for who, fields in PEOPLE.items()}
    profiles.create_segment_definition(
        DomainName=domain, SegmentDefinitionName="gold", DisplayName="Gold", SegmentGroups=GOLD
    )
    return domain, ids


def finished(profiles: Any, domain: str, snapshot_id: str, timeout: float = 20) -> dict[str, Any]:
    """GetSegmentSnapshot polled until the snapshot is no longer IN_PROGRESS."""
    deadline = time.monotonic() + timeout
    while True:
        found = profiles.get_segment_snapshot(
            DomainName=domain, SegmentDefinitionName="gold", SnapshotId=snapshot_id
        )
        if found["Status"] != "IN_PROGRESS" or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def snapshot(profiles: Any, domain: str, data_format: str, destination: str) -> tuple[str, dict[str, Any]]:
    created = profiles.create_segment_snapshot(
        DomainName=domain, SegmentDefinitionName="gold", DataFormat=data_format, DestinationUri=destination
    )
    return created["SnapshotId"], finished(profiles, domain, created["SnapshotId"])


def test_a_csv_snapshot_holds_the_members_with_flattened_columns(profiles, segment, tmp_path):
    domain, ids = segment
    snapshot_id, found = snapshot(profiles, domain, "CSV", tmp_path.as_uri())
    written = tmp_path / "gold" / f"{snapshot_id}.csv"
    assert found["Status"] == "COMPLETED", found
    assert (found["DataFormat"], found["DestinationUri"]) == ("CSV", tmp_path.as_uri())
    assert found["StatusMessage"] == f"2 profiles written to {written.as_uri()}"
    rows = list(csv.DictReader(io.StringIO(written.read_text())))
    assert list(rows[0]) == [
        "ProfileId", "FirstName", "LastName", "EmailAddress", "Address.City", "Address.Country",
        "Attributes.pets", "Attributes.tier",
    ]  # fmt: skip
    by_id = {row["ProfileId"]: row for row in rows}
    assert set(by_id) == {ids["ann"], ids["bob"]}
    assert by_id[ids["ann"]]["Address.City"] == "Oslo"
    assert by_id[ids["ann"]]["EmailAddress"] == ""
    assert by_id[ids["bob"]]["Attributes.pets"] == "2"


def test_a_jsonl_snapshot_holds_each_member_as_its_profile(profiles, segment, tmp_path):
    domain, ids = segment
    snapshot_id, found = snapshot(profiles, domain, "JSONL", tmp_path.as_uri() + "/exports")
    assert found["Status"] == "COMPLETED", found
    lines = (tmp_path / "exports" / "gold" / f"{snapshot_id}.jsonl").read_bytes().splitlines()
    members = {item["ProfileId"]: item for item in map(orjson.loads, lines)}
    assert members == {
        ids["ann"]: {"ProfileId": ids["ann"], **PEOPLE["ann"]},
        ids["bob"]: {"ProfileId": ids["bob"], **PEOPLE["bob"]},
    }


def test_an_orc_snapshot_reads_back_with_pyarrow(profiles, segment, tmp_path):
    from pyarrow import orc

    domain, ids = segment
    snapshot_id, found = snapshot(profiles, domain, "ORC", tmp_path.as_uri())
    assert found["Status"] == "COMPLETED", found
    table = orc.read_table(str(tmp_path / "gold" / f"{snapshot_id}.orc"))
    assert table.column_names[0] == "ProfileId"
    rows = {row["ProfileId"]: row for row in table.to_pylist()}
    assert set(rows) == {ids["ann"], ids["bob"]}
    assert rows[ids["bob"]]["Address.City"] is None
    assert rows[ids["ann"]]["Attributes.tier"] == "gold"


def test_a_snapshot_takes_the_members_at_the_time_it_runs(profiles, segment, tmp_path):
    domain, ids = segment
    profiles.update_profile(DomainName=domain, ProfileId=ids["cy"], Attributes={"tier": "gold"})
    profiles.delete_profile(DomainName=domain, ProfileId=ids["ann"])
    snapshot_id, _ = snapshot(profiles, domain, "JSONL", tmp_path.as_uri())
    lines = (tmp_path / "gold" / f"{snapshot_id}.jsonl").read_bytes().splitlines()
    assert {orjson.loads(line)["ProfileId"] for line in lines} == {ids["bob"], ids["cy"]}


def test_an_empty_segment_gives_an_empty_file(profiles, segment, tmp_path):
    domain, ids = segment
    for profile_id in ids.values():
        profiles.delete_profile(DomainName=domain, ProfileId=profile_id)
    for data_format, suffix in (("CSV", "csv"), ("JSONL", "jsonl"), ("ORC", "orc")):
        snapshot_id, found = snapshot(profiles, domain, data_format, tmp_path.as_uri())
        assert found["Status"] == "COMPLETED"
        assert found["StatusMessage"].startswith("0 profiles written")
        assert (tmp_path / "gold" / f"{snapshot_id}.{suffix}").exists()


def test_a_destination_that_cannot_be_written_fails_the_snapshot(profiles, segment, tmp_path):
    domain, _ = segment
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    _, found = snapshot(profiles, domain, "CSV", blocker.as_uri())
    assert found["Status"] == "FAILED"
    assert "could not write" in found["StatusMessage"]


@pytest.mark.parametrize(
    ("destination", "field"),
    [(None, "DestinationUri is required"), ("https://example.com/x", "DestinationUri"),
     ("s3://", "DestinationUri"), ("file://host/x", "DestinationUri"), ("file:relative", "DestinationUri")],
)  # fmt: skip
def test_a_bad_destination_is_refused_when_asked(profiles, segment, destination, field):
    domain, _ = segment
    extra = {} if destination is None else {"DestinationUri": destination}
    with pytest.raises(ClientError) as excinfo:
        profiles.create_segment_snapshot(DomainName=domain, SegmentDefinitionName="gold", DataFormat="CSV", **extra)
    assert excinfo.value.response["Error"]["Code"] == "BadRequestException"
    assert field in excinfo.value.response["Error"]["Message"]


def test_unknown_segments_and_snapshots_are_not_found(profiles, segment, tmp_path):
    domain, _ = segment
    with pytest.raises(ClientError) as excinfo:
        profiles.create_segment_snapshot(
            DomainName=domain, SegmentDefinitionName="nope", DataFormat="CSV", DestinationUri=tmp_path.as_uri()
        )
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        profiles.get_segment_snapshot(DomainName=domain, SegmentDefinitionName="gold", SnapshotId="0" * 32)
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"
    snapshot_id, _ = snapshot(profiles, domain, "CSV", tmp_path.as_uri())
    profiles.create_segment_definition(DomainName=domain, SegmentDefinitionName="other", DisplayName="Other", SegmentGroups=GOLD)
    with pytest.raises(ClientError) as excinfo:
        profiles.get_segment_snapshot(DomainName=domain, SegmentDefinitionName="other", SnapshotId=snapshot_id)
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_snapshot_reaches_s3(moto_server, unique):
    s3 = boto3.client(
        "s3", region_name=REGION, endpoint_url=moto_server, aws_access_key_id="test", aws_secret_access_key="test"
    )
    bucket = unique("snapshots")
    s3.create_bucket(Bucket=bucket)
    with mock_profiles(Settings(db="memory", endpoint_urls={"s3": moto_server})):
        profiles = boto3.client(
            "customer-profiles", region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s"
        )
        profiles.create_domain(DomainName="d", DefaultExpirationDays=30)
        ids = {who: profiles.create_profile(DomainName="d", **f)["ProfileId"] for who, f in PEOPLE.items()}
        profiles.create_segment_definition(DomainName="d", SegmentDefinitionName="gold", DisplayName="Gold", SegmentGroups=GOLD)
        snapshot_id, found = snapshot(profiles, "d", "JSONL", f"s3://{bucket}/exports/")
        missing_bucket = snapshot(profiles, "d", "CSV", f"s3://{unique('absent')}/x")[1]
    assert found["Status"] == "COMPLETED", found
    body = s3.get_object(Bucket=bucket, Key=f"exports/gold/{snapshot_id}.jsonl")["Body"].read()
    assert {orjson.loads(line)["ProfileId"] for line in body.splitlines()} == {ids["ann"], ids["bob"]}
    assert missing_bucket["Status"] == "FAILED"
    assert "could not write s3://" in missing_bucket["StatusMessage"]


def test_snapshot_ids_are_32_hex(profiles, segment, tmp_path: Path):
    domain, _ = segment
    snapshot_id, _ = snapshot(profiles, domain, "CSV", tmp_path.as_uri())
    assert len(snapshot_id) == 32 and int(snapshot_id, 16) >= 0


def test_a_snapshot_follows_the_segment_sort(profiles, unique, tmp_path):
    """Rows come in SegmentSort order: a number attribute descending, then a name ascending,
    missing values last; ties and unsorted definitions by creation."""
    domain = unique("sorted")
    profiles.create_domain(DomainName=domain, DefaultExpirationDays=30)
    people = [("Cy", "2"), ("Ann", "10"), ("Bob", "10"), ("Dee", None), ("Eve", "9")]
    for first, pets in people:
        attributes = {"tier": "gold", **({"pets": pets} if pets else {})}
        profiles.create_profile(DomainName=domain, FirstName=first, Attributes=attributes)
    sort = {"Attributes": [
        {"Name": "Attributes.pets", "DataType": "NUMBER", "Order": "DESC", "Type": "PROFILE"},
        {"Name": "FirstName", "Order": "ASC"},
    ]}  # fmt: skip
    profiles.create_segment_definition(
        DomainName=domain, SegmentDefinitionName="gold", DisplayName="Gold", SegmentGroups=GOLD, SegmentSort=sort
    )
    snapshot_id, found = snapshot(profiles, domain, "JSONL", tmp_path.as_uri())
    assert found["Status"] == "COMPLETED", found
    lines = (tmp_path / "gold" / f"{snapshot_id}.jsonl").read_bytes().splitlines()
    assert [orjson.loads(line)["FirstName"] for line in lines] == ["Ann", "Bob", "Eve", "Cy", "Dee"]


def test_a_sort_on_an_unknown_calculated_attribute_is_refused(profiles, unique):
    domain = unique("badsort")
    profiles.create_domain(DomainName=domain, DefaultExpirationDays=30)
    sort = {"Attributes": [{"Name": "spend", "Order": "DESC", "Type": "CALCULATED"}]}
    with pytest.raises(ClientError) as excinfo:
        profiles.create_segment_definition(
            DomainName=domain, SegmentDefinitionName="s", DisplayName="S", SegmentGroups=GOLD, SegmentSort=sort
        )
    assert excinfo.value.response["Error"]["Code"] == "BadRequestException"
    assert "SegmentSort.Attributes[0].Name" in excinfo.value.response["Error"]["Message"]


def test_a_snapshot_sorts_by_a_calculated_attribute(profiles, unique, tmp_path):
    from tests.api.profiles.test_segments import define, orders_type, profile_of, put_order

    domain = unique("calcsort")
    profiles.create_domain(DomainName=domain, DefaultExpirationDays=30)
    orders_type(profiles, domain)
    define(profiles, domain, "spend", "SUM", ("{orders.amount}", "amount"))
    for who, amounts in (("ann", ["5"]), ("bob", ["7", "8"]), ("cy", ["1"])):
        for i, amount in enumerate(amounts):
            put_order(profiles, domain, f"{who}-{i}", f"{who}@example.com", amount)
    ids = {who: profile_of(profiles, domain, f"{who}@example.com") for who in ("ann", "bob", "cy")}
    everyone = {"Include": "ALL", "Groups": [{"Dimensions": [{"CalculatedAttributes": {
        "spend": {"DimensionType": "GREATER_THAN", "Values": ["0"]}}}]}]}  # fmt: skip
    sort = {"Attributes": [{"Name": "spend", "Order": "DESC", "Type": "CALCULATED"}]}
    profiles.create_segment_definition(
        DomainName=domain, SegmentDefinitionName="gold", DisplayName="All", SegmentGroups=everyone, SegmentSort=sort
    )
    snapshot_id, found = snapshot(profiles, domain, "CSV", tmp_path.as_uri())
    rows = list(csv.DictReader(io.StringIO((tmp_path / "gold" / f"{snapshot_id}.csv").read_text())))
    assert [row["ProfileId"] for row in rows] == [ids["bob"], ids["ann"], ids["cy"]]
