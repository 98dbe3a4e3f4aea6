"""Rule-based matching through boto3: configuration, the pass, ListRuleBasedMatches,
GetSimilarProfiles and merging.

openprofiles runs in-process (``mock_profiles``) so that the test runs the maintenance round
itself, on SQLite in memory and on a PostgreSQL database of the test's own (the round passes over
every due domain of the store), on a clock the test moves so that "most recent" is certain.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from openprofiles.app import App
from openprofiles.clock import ManualClock
from openprofiles.config import Settings
from openprofiles.engine.matching import incremental, rules, runner
from openprofiles.mock import mock_profiles
from tests.conftest import Door, new_account

RULE_BASED = "RULE_BASED_MATCHING"


@pytest.fixture(params=["mock", "postgresql"])
def running(request: pytest.FixtureRequest) -> Iterator[tuple[App, Any, ManualClock]]:
    db = request.getfixturevalue("fresh_postgresql_url") if request.param == "postgresql" else "memory"
    clock = ManualClock()
    with mock_profiles(Settings(db=db), clock=clock) as app:
        yield app, Door("mock", None, new_account()).client("customer-profiles"), clock


def make(profiles: Any, clock: ManualClock, domain: str, **fields: Any) -> str:
    clock.advance(seconds=1)
    return str(profiles.create_profile(DomainName=domain, **fields)["ProfileId"])


def status(profiles: Any, domain: str) -> str:
    return str(profiles.get_domain(DomainName=domain)["RuleBasedMatching"]["Status"])


def similar(profiles: Any, domain: str, key: str, value: str, **kwargs: Any) -> dict[str, Any]:
    return profiles.get_similar_profiles(
        DomainName=domain, MatchType=RULE_BASED, SearchKey=key, SearchValue=value, **kwargs
    )


def matching_round(app: App) -> int:
    return app.maintenance.run_once()["rule-based matching"]


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def test_existing_profiles_are_matched_by_the_default_rules(running):
    app, profiles, clock = running
    profiles.create_domain(DomainName="d", DefaultExpirationDays=30)
    ann = make(profiles, clock, "d", FirstName="Ann", LastName="Lee", EmailAddress="Ann.Lee@Example.COM")
    ann2 = make(profiles, clock, "d", FirstName="ANN ", LastName="lee", EmailAddress=" ann.lee@example.com")
    other_ann = make(profiles, clock, "d", FirstName="Ann", LastName="Lee", EmailAddress="ann@elsewhere.com")
    bob = make(profiles, clock, "d", FirstName="Bob", LastName="Ray", PhoneNumber="(206) 555-0100")
    bob2 = make(profiles, clock, "d", FirstName="Bob", LastName="Ray", PhoneNumber="+1 206.555.0100")
    make(profiles, clock, "d", FirstName="Bob", LastName="Ray", PhoneNumber="206-555-0199")

    updated = profiles.update_domain(DomainName="d", RuleBasedMatching={"Enabled": True})
    assert updated["RuleBasedMatching"]["Status"] == "PENDING"
    assert profiles.list_rule_based_matches(DomainName="d")["MatchIds"] == []  # no pass yet

    assert matching_round(app) == 1  # one domain activated
    assert status(profiles, "d") == "ACTIVE"
    assert len(profiles.list_rule_based_matches(DomainName="d")["MatchIds"]) == 2

    by_id = similar(profiles, "d", "_profileId", ann)
    assert sorted(by_id["ProfileIds"]) == sorted([ann, ann2])
    assert by_id["RuleLevel"] == 1 and by_id["MatchType"] == RULE_BASED and len(by_id["MatchId"]) == 32
    by_email = similar(profiles, "d", "_email", "ANN.LEE@example.com")
    assert by_email["MatchId"] == by_id["MatchId"]
    phones = similar(profiles, "d", "_phone", "2065550100")
    assert sorted(phones["ProfileIds"]) == sorted([bob, bob2]) and phones["RuleLevel"] == 2
    alone = similar(profiles, "d", "_profileId", other_ann)
    assert alone["ProfileIds"] == [] and "MatchId" not in alone
    assert similar(profiles, "d", "_email", "nobody@example.com")["ProfileIds"] == []

    assert matching_round(app) == 0  # nothing changed since


def test_new_and_deleted_profiles_are_seen(running):
    app, profiles, clock = running
    profiles.create_domain(DomainName="d", DefaultExpirationDays=30, RuleBasedMatching={
        "Enabled": True, "MatchingRules": [{"Rule": ["AccountNumber"]}],
    })
    assert status(profiles, "d") == "ACTIVE"  # a new domain skips PENDING
    first = make(profiles, clock, "d", AccountNumber="A-1")
    second = make(profiles, clock, "d", AccountNumber=" A-1 ")
    # matched as they are written (engine.matching.incremental), before any pass
    matched = profiles.list_rule_based_matches(DomainName="d")["MatchIds"]
    assert len(matched) == 1
    assert matching_round(app) == 0  # a pass ran; nothing to activate or merge
    assert profiles.list_rule_based_matches(DomainName="d")["MatchIds"] == matched  # same id
    assert sorted(similar(profiles, "d", "_profileId", first)["ProfileIds"]) == sorted([first, second])

    third = make(profiles, clock, "d", AccountNumber="A-1")
    matching_round(app)
    assert sorted(similar(profiles, "d", "_profileId", third)["ProfileIds"]) == sorted([first, second, third])
    assert status(profiles, "d") == "ACTIVE"

    profiles.delete_profile(DomainName="d", ProfileId=second)
    profiles.delete_profile(DomainName="d", ProfileId=third)
    # a deleted profile leaves its group at once; a group of one is no group
    assert profiles.list_rule_based_matches(DomainName="d")["MatchIds"] == []
    assert similar(profiles, "d", "_profileId", first)["ProfileIds"] == []


def test_a_failed_pass_stays_in_progress_and_is_retried(running, monkeypatch):
    app, profiles, clock = running
    profiles.create_domain(DomainName="d", DefaultExpirationDays=30)
    make(profiles, clock, "d", AccountNumber="1")
    make(profiles, clock, "d", AccountNumber="1")
    config = {"Enabled": True, "MatchingRules": [{"Rule": ["AccountNumber"]}]}
    profiles.update_domain(DomainName="d", RuleBasedMatching=config)

    def broken(*_: Any) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(runner, "evaluate", broken)
    with pytest.raises(RuntimeError):
        app.maintenance.run_once()
    assert status(profiles, "d") == "IN_PROGRESS"
    with pytest.raises(ClientError) as excinfo:
        profiles.update_domain(DomainName="d", RuleBasedMatching={**config, "MaxAllowedRuleLevelForMerging": 1})
    assert error_code(excinfo) == "BadRequestException" and "IN_PROGRESS" in str(excinfo.value)

    monkeypatch.undo()
    assert matching_round(app) == 1
    assert status(profiles, "d") == "ACTIVE"
    assert len(profiles.list_rule_based_matches(DomainName="d")["MatchIds"]) == 1


def test_pages(running):
    app, profiles, clock = running
    profiles.create_domain(DomainName="d", DefaultExpirationDays=30, RuleBasedMatching={
        "Enabled": True, "MatchingRules": [{"Rule": ["AccountNumber"]}],
    })
    members = [make(profiles, clock, "d", AccountNumber="same") for _ in range(3)]
    for n in range(3):
        make(profiles, clock, "d", AccountNumber=f"pair-{n}")
        make(profiles, clock, "d", AccountNumber=f"pair-{n}")
    matching_round(app)

    seen, kwargs = [], {}
    while True:
        page = profiles.list_rule_based_matches(DomainName="d", MaxResults=1, **kwargs)
        seen += page["MatchIds"]
        if "NextToken" not in page:
            break
        kwargs = {"NextToken": page["NextToken"]}
    assert len(seen) == len(set(seen)) == 4

    ids, kwargs = [], {}
    while True:
        page = similar(profiles, "d", "_profileId", members[0], MaxResults=2, **kwargs)
        ids += page["ProfileIds"]
        if "NextToken" not in page:
            break
        kwargs = {"NextToken": page["NextToken"]}
    assert sorted(ids) == sorted(members)
    with pytest.raises(ClientError) as excinfo:
        profiles.list_rule_based_matches(DomainName="d", NextToken="not-a-token")
    assert error_code(excinfo) == "BadRequestException"


def orders_type(profiles: Any, domain: str, name: str) -> None:
    """Objects that attach to the profile named by their ``pid``."""
    profiles.put_profile_object_type(
        DomainName=domain, ObjectTypeName=name, Description=name, AllowProfileCreation=False,
        Fields={"pid": {"Source": "_source.pid"}, "id": {"Source": "_source.id"}},
        Keys={
            "_profileId": [{"StandardIdentifiers": ["PROFILE", "LOOKUP_ONLY"], "FieldNames": ["pid"]}],
            "orderId": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["id"]}],
        },
    )


def put(profiles: Any, domain: str, type_name: str, profile_id: str, object_id: str) -> None:
    profiles.put_profile_object(
        DomainName=domain, ObjectTypeName=type_name, Object=json.dumps({"pid": profile_id, "id": object_id})
    )


def test_groups_up_to_the_merging_level_are_merged_into_the_most_recent(running):
    app, profiles, clock = running
    profiles.create_domain(DomainName="d", DefaultExpirationDays=30)
    orders_type(profiles, "d", "orders")
    older = make(profiles, clock, "d", FirstName="Ann", LastName="Lee", EmailAddress="ann@x.com",
                 Attributes={"tier": "gold"})
    newer = make(profiles, clock, "d", FirstName="ann", LastName="LEE", EmailAddress="ANN@x.com",
                 BirthDate="1990-01-02")
    bob = make(profiles, clock, "d", FirstName="Bob", LastName="Ray", PhoneNumber="2065550100")
    bob2 = make(profiles, clock, "d", FirstName="Bob", LastName="Ray", PhoneNumber="206 555 0100")
    put(profiles, "d", "orders", older, "1")
    put(profiles, "d", "orders", newer, "2")
    clock.advance(seconds=1)
    profiles.update_profile(DomainName="d", ProfileId=newer, MiddleName="Q")

    profiles.update_domain(DomainName="d", RuleBasedMatching={"Enabled": True, "MaxAllowedRuleLevelForMerging": 1})
    assert status(profiles, "d") == "PENDING"
    assert matching_round(app) == 2  # one group merged, one domain activated
    assert status(profiles, "d") == "ACTIVE"

    found = profiles.batch_get_profile(DomainName="d", ProfileIds=[older, newer])
    assert [p["ProfileId"] for p in found["Profiles"]] == [newer]
    assert [e["ProfileId"] for e in found["Errors"]] == [older]
    merged = found["Profiles"][0]
    assert merged["FirstName"] == "ann" and merged["Attributes"] == {"tier": "gold"}
    assert merged["BirthDate"] == "1990-01-02"
    objects = profiles.list_profile_objects(DomainName="d", ProfileId=newer, ObjectTypeName="orders")["Items"]
    assert sorted(o["ProfileObjectUniqueKey"] for o in objects) == ["1", "2"]

    # level 2 is matched, not merged
    [match_id] = profiles.list_rule_based_matches(DomainName="d")["MatchIds"]
    assert sorted(similar(profiles, "d", "_profileId", bob)["ProfileIds"]) == sorted([bob, bob2])
    assert similar(profiles, "d", "_profileId", bob)["MatchId"] == match_id
    assert similar(profiles, "d", "_profileId", newer)["ProfileIds"] == []


def test_source_conflict_resolution_keeps_the_profile_of_the_source(running):
    app, profiles, clock = running
    profiles.create_domain(DomainName="d", DefaultExpirationDays=30)
    orders_type(profiles, "d", "crm")
    from_crm = make(profiles, clock, "d", AccountNumber="7", FirstName="Ann")
    put(profiles, "d", "crm", from_crm, "c-1")
    recent = make(profiles, clock, "d", AccountNumber="7", FirstName="Anne")
    profiles.update_domain(DomainName="d", RuleBasedMatching={
        "Enabled": True, "MatchingRules": [{"Rule": ["AccountNumber"]}], "MaxAllowedRuleLevelForMerging": 1,
        "ConflictResolution": {"ConflictResolvingModel": "SOURCE", "SourceName": "crm"},
    })
    matching_round(app)
    found = profiles.batch_get_profile(DomainName="d", ProfileIds=[from_crm, recent])["Profiles"]
    assert [(p["ProfileId"], p["FirstName"]) for p in found] == [(from_crm, "Ann")]


def test_errors(running):
    _, profiles, _ = running
    with pytest.raises(ClientError) as excinfo:
        profiles.list_rule_based_matches(DomainName="nope")
    assert error_code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        similar(profiles, "nope", "_profileId", "0" * 32)
    assert error_code(excinfo) == "ResourceNotFoundException"

    profiles.create_domain(DomainName="off", DefaultExpirationDays=30)
    for call in (
        lambda: profiles.list_rule_based_matches(DomainName="off"),
        lambda: similar(profiles, "off", "_profileId", "0" * 32),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_code(excinfo) == "BadRequestException"
        assert "not enabled" in excinfo.value.response["Error"]["Message"]

    profiles.create_domain(DomainName="on", DefaultExpirationDays=30, RuleBasedMatching={"Enabled": True},
                           Matching={"Enabled": True})
    with pytest.raises(ClientError) as excinfo:
        similar(profiles, "on", "_profileId", "0" * 32)
    assert error_code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        profiles.get_similar_profiles(DomainName="on", MatchType="ML_BASED_MATCHING", SearchKey="_profileId",
                                      SearchValue="0" * 32)
    assert error_code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        profiles.get_similar_profiles(DomainName="off", MatchType="ML_BASED_MATCHING", SearchKey="_profileId",
                                      SearchValue="0" * 32)
    assert error_code(excinfo) == "BadRequestException"
    assert "not enabled" in excinfo.value.response["Error"]["Message"]

    with pytest.raises(ClientError) as excinfo:
        profiles.update_domain(DomainName="on", RuleBasedMatching={
            "Enabled": True, "MatchingRules": [{"Rule": ["OrderTotal"]}],
        })
    assert error_code(excinfo) == "BadRequestException"
    assert "MatchingRules[0].Rule" in excinfo.value.response["Error"]["Message"]


def groups(profiles: Any, domain: str, ids: list[str]) -> dict[str, tuple[Any, ...]]:
    """profile id -> (match id, rule level, members) of its group, () when it is in none."""
    found = {}
    for profile_id in ids:
        answer = similar(profiles, domain, "_profileId", profile_id)
        found[profile_id] = (
            (answer["MatchId"], answer["RuleLevel"], tuple(sorted(answer["ProfileIds"])))
            if answer["ProfileIds"] else ()
        )
    return found


ORDERS = {
    "Description": "orders",
    "AllowProfileCreation": True,
    "Fields": {
        "email": {"Source": "_source.email", "ContentType": "EMAIL_ADDRESS", "Target": "_profile.EmailAddress"},
        "orderId": {"Source": "_source.orderId"},
    },
    "Keys": {
        "_email": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["email"]}],
        "OrderId": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["orderId"]}],
    },
}


def test_written_profiles_are_matched_at_once_as_a_pass_would(running):
    app, profiles, clock = running
    profiles.create_domain(DomainName="d", DefaultExpirationDays=30)
    ann = make(profiles, clock, "d", FirstName="Ann", EmailAddress="ann@example.com")
    ann2 = make(profiles, clock, "d", FirstName="Ann", EmailAddress="ANN@example.com")
    bob = make(profiles, clock, "d", FirstName="Bob", PhoneNumber="+12065550100")
    profiles.update_domain(DomainName="d", RuleBasedMatching={"Enabled": True})
    assert matching_round(app) == 1 and status(profiles, "d") == "ACTIVE"
    before = groups(profiles, "d", [ann])[ann]

    # CreateProfile matching a group joins it, without a pass
    ann3 = make(profiles, clock, "d", FirstName="Ann", EmailAddress=" Ann@Example.com")
    joined = similar(profiles, "d", "_profileId", ann3)
    assert sorted(joined["ProfileIds"]) == sorted([ann, ann2, ann3]) and joined["RuleLevel"] == 1
    assert joined["MatchId"] != before[0]  # the id of the group's new members, as a pass gives
    # UpdateProfile that adds a matching email joins
    carl = make(profiles, clock, "d", FirstName="Carl")
    assert similar(profiles, "d", "_profileId", carl)["ProfileIds"] == []
    profiles.update_profile(DomainName="d", ProfileId=carl, BusinessEmailAddress="ann@example.com")
    assert carl in similar(profiles, "d", "_profileId", ann)["ProfileIds"]
    # matching only a free profile: a new group at the level they match
    bob2 = make(profiles, clock, "d", FirstName="BOB", MobilePhoneNumber="+1 206 555 0100")
    pair = similar(profiles, "d", "_profileId", bob)
    assert sorted(pair["ProfileIds"]) == sorted([bob, bob2]) and pair["RuleLevel"] == 2
    # PutProfileObject creating a profile
    profiles.put_profile_object_type(DomainName="d", ObjectTypeName="orders", **ORDERS)
    clock.advance(seconds=1)
    put = profiles.put_profile_object(
        DomainName="d", ObjectTypeName="orders", Object=json.dumps({"orderId": "o1", "email": "ann@EXAMPLE.com"})
    )
    ingested = put["ProfileObjectUniqueKey"] and profiles.search_profiles(
        DomainName="d", KeyName="OrderId", Values=["o1"]
    )["Items"][0]["ProfileId"]
    assert ingested not in (ann, ann2, ann3, carl)  # _email is ambiguous: a new profile
    assert ingested in similar(profiles, "d", "_profileId", ann)["ProfileIds"]

    everyone = [ann, ann2, ann3, bob, bob2, carl, ingested]
    incremental = groups(profiles, "d", everyone)
    assert len(profiles.list_rule_based_matches(DomainName="d")["MatchIds"]) == 2
    matching_round(app)  # the full pass finds the same groups, with the same ids
    assert groups(profiles, "d", everyone) == incremental


def test_written_profiles_respect_the_matching_level_limit(running):
    app, profiles, clock = running
    profiles.create_domain(DomainName="d", DefaultExpirationDays=30, RuleBasedMatching={
        "Enabled": True, "MaxAllowedRuleLevelForMatching": 1,
    })
    bob = make(profiles, clock, "d", FirstName="Bob", PhoneNumber="+12065550100")
    make(profiles, clock, "d", FirstName="Bob", PhoneNumber="+12065550100")  # level 2 only
    ann = make(profiles, clock, "d", EmailAddress="ann@example.com")
    ann2 = make(profiles, clock, "d", EmailAddress="ann@example.com")
    assert similar(profiles, "d", "_profileId", bob)["ProfileIds"] == []
    assert sorted(similar(profiles, "d", "_profileId", ann)["ProfileIds"]) == sorted([ann, ann2])
    incremental = groups(profiles, "d", [bob, ann])
    matching_round(app)
    assert groups(profiles, "d", [bob, ann]) == incremental


def test_written_profiles_respect_the_guard(running, monkeypatch):
    app, profiles, clock = running
    monkeypatch.setattr(incremental, "GUARD", 2)
    monkeypatch.setattr(rules, "GUARD", 2)
    profiles.create_domain(DomainName="d", DefaultExpirationDays=30, RuleBasedMatching={
        "Enabled": True, "MatchingRules": [{"Rule": ["AccountNumber"]}, {"Rule": ["LastName"]}],
    })
    first = make(profiles, clock, "d", AccountNumber="1", LastName="Lee")
    second = make(profiles, clock, "d", AccountNumber="1")
    assert sorted(similar(profiles, "d", "_profileId", first)["ProfileIds"]) == sorted([first, second])
    third = make(profiles, clock, "d", AccountNumber="1")  # 3 holders: skipped
    assert similar(profiles, "d", "_profileId", third)["ProfileIds"] == []
    fourth = make(profiles, clock, "d", AccountNumber="2", LastName="LEE")  # level 2 still matches
    assert sorted(similar(profiles, "d", "_profileId", fourth)["ProfileIds"]) == sorted([first, second, fourth])
    matching_round(app)  # the pass drops the guarded level-1 link; level 2 stays
    assert similar(profiles, "d", "_profileId", third)["ProfileIds"] == []
    assert sorted(similar(profiles, "d", "_profileId", fourth)["ProfileIds"]) == sorted([first, fourth])
