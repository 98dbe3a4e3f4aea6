"""ML-based matching (engine.matching.ml): groups found on a small labelled bed, hand-built
duplicates and non-duplicates among them, scores, determinism, degenerate domains."""

from __future__ import annotations

import logging
import re
from itertools import combinations
from typing import Any

import pytest

from benchmarks.identity_testbed import generate, pairwise_scores
from openprofiles.engine.matching.ml import MlResult, MlSettings, find_ml_matches, prepare

Profiles = list[tuple[str, dict[str, Any]]]

ANN = {
    "FirstName": "Ann",
    "LastName": "Kowalczyk",
    "EmailAddress": "ann.kowalczyk@example.com",
    "PhoneNumber": "(206) 555-0100",
    "BirthDate": "1985-03-07",
    "Address": {"Address1": "12 North Main Street", "City": "Seattle", "PostalCode": "98101"},
}
#: Ann again, as another system wrote her down
ANN_AGAIN = {
    "FirstName": "ANN",
    "LastName": "kowalczyk",
    "PersonalEmailAddress": " Ann.Kowalczyk@Example.COM",
    "MobilePhoneNumber": "+1 206-555-0100",
    "BirthDate": "March 7, 1985",
}
#: Ann with first and last name swapped and only her phone and birth date
ANN_SWAPPED = {
    "FirstName": "Kowalczyk",
    "LastName": "Ann",
    "HomePhoneNumber": "206.555.0100",
    "BirthDate": "03/07/1985",
}
#: her husband: same address, same home phone, same last name, and nothing that disagrees but
#: his first name (counted as independent evidence, the phone and the address would merge him)
PIOTR = {
    "FirstName": "Piotr",
    "LastName": "Kowalczyk",
    "HomePhoneNumber": "206-555-0100",
    "Address": {"Address1": "12 N Main St", "City": "Seattle", "PostalCode": "98101"},
}
#: a namesake: same name, nothing else in common
OTHER_ANN = {
    "FirstName": "Ann",
    "LastName": "Kowalczyk",
    "EmailAddress": "akowalczyk@example.org",
    "PhoneNumber": "+1 312 555 0199",
    "BirthDate": "1990-12-01",
    "Address": {"Address1": "400 Lake Shore Drive", "City": "Chicago", "PostalCode": "60611"},
}
HAND_BUILT = {
    "ann": ANN,
    "ann-again": ANN_AGAIN,
    "ann-swapped": ANN_SWAPPED,
    "piotr": PIOTR,
    "other-ann": OTHER_ANN,
}


@pytest.fixture(scope="module")
def bed() -> list[tuple[int, dict[str, Any]]]:
    return generate(2000, seed=11)


@pytest.fixture(scope="module")
def domain(bed: list[tuple[int, dict[str, Any]]]) -> Profiles:
    """The bed (profile ids ``b<index>``) with the hand-built profiles among them."""
    profiles = [(f"b{i}", fields) for i, (_, fields) in enumerate(bed)]
    for k, (name, fields) in enumerate(HAND_BUILT.items()):
        profiles.insert(300 * k + 7, (name, fields))
    return profiles


@pytest.fixture(scope="module")
def result(domain: Profiles) -> MlResult:
    return find_ml_matches(domain)


def group_of(result: MlResult, profile_id: str) -> tuple[str, ...] | None:
    found = [m.profile_ids for m in result.matches if profile_id in m.profile_ids]
    assert len(found) <= 1, f"{profile_id} is in {len(found)} groups"
    return found[0] if found else None


def test_the_bed_is_matched_with_high_precision_and_recall(bed, result):
    labels: list[str | None] = [None] * len(bed)
    for match in result.matches:
        for profile_id in match.profile_ids:
            if profile_id.startswith("b"):
                labels[int(profile_id[1:])] = match.match_id
    precision, recall, f1 = pairwise_scores([cluster for cluster, _ in bed], labels)
    assert precision >= 0.95 and recall >= 0.9 and f1 >= 0.93, (precision, recall, f1)
    assert result.profiles == len(bed) + len(HAND_BUILT)
    assert result.skipped is None


def test_the_same_person_in_other_formats_and_with_swapped_names_is_one_group(result):
    assert group_of(result, "ann") == ("ann", "ann-again", "ann-swapped")


def test_a_household_member_and_a_namesake_are_not_merged(result):
    assert group_of(result, "piotr") is None
    assert group_of(result, "other-ann") is None


def test_groups_are_well_formed(result):
    seen: set[str] = set()
    threshold = MlSettings().threshold
    assert result.matches
    for match in result.matches:
        assert re.fullmatch(r"[0-9a-f]{32}", match.match_id)
        assert len(match.profile_ids) >= 2
        assert list(match.profile_ids) == sorted(set(match.profile_ids))
        assert threshold <= match.confidence <= 1.0
        assert seen.isdisjoint(match.profile_ids)
        seen.update(match.profile_ids)
    assert len({m.match_id for m in result.matches}) == len(result.matches)
    assert len({m.confidence for m in result.matches}) > 1, "confidence never varies"


def test_the_same_profiles_give_the_same_groups_and_scores(domain, result):
    assert find_ml_matches(domain) == result


def linked_pairs(result: MlResult) -> set[tuple[str, str]]:
    return {pair for m in result.matches for pair in combinations(m.profile_ids, 2)}


def test_a_higher_threshold_finds_fewer_pairs(domain, result):
    strict = find_ml_matches(domain, MlSettings(threshold=0.999))
    assert linked_pairs(strict) < linked_pairs(result)
    assert all(m.confidence >= 0.999 for m in strict.matches)


def test_splink_stays_quiet(domain, capfd):
    find_ml_matches(domain[:300])
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert logging.getLogger("splink").getEffectiveLevel() >= logging.ERROR


def test_columns_are_normalized_as_for_rule_based_matching():
    prepared = prepare([("a", ANN), ("b", ANN_AGAIN), ("c", ANN_SWAPPED), ("d", {})], "US")
    rows = prepared.table.to_pylist()
    assert prepared.ids == ["a", "b", "c", "d"]
    assert [r["unique_id"] for r in rows] == [0, 1, 2, 3]
    assert rows[0]["full_name"] == rows[1]["full_name"] == "ann kowalczyk"
    assert rows[0]["emails"] == rows[1]["emails"] == ["ann.kowalczyk@example.com"]
    assert rows[0]["phones"] == rows[1]["phones"] == rows[2]["phones"] == ["+12065550100"]
    assert rows[0]["birth_date"] == rows[1]["birth_date"] == rows[2]["birth_date"]
    assert rows[0]["streets"] == ["12 n main st|98101"]
    assert all(value is None for key, value in rows[3].items() if key != "unique_id")


@pytest.mark.parametrize(
    ("profiles", "reason"),
    [
        ([], "fewer than two profiles"),
        ([("a", ANN)], "fewer than two profiles"),
        ([(str(i), {}) for i in range(20)], "no match to learn from"),
        (
            [(str(i), {"FirstName": f"N{i}", "LastName": "L"}) for i in range(20)],
            "no match to learn from",
        ),
        ([("a", ANN), ("b", ANN_AGAIN)], "too few profiles"),
        ([(str(i), ANN) for i in range(30)], "too few profiles"),
    ],
    ids=["empty", "one", "empty-documents", "all-distinct", "two-duplicates", "all-identical"],
)
def test_degenerate_domains_give_no_matches_and_say_why(profiles, reason):
    result = find_ml_matches(profiles)
    assert result.matches == ()
    assert result.profiles == len(profiles)
    assert result.skipped is not None and reason in result.skipped
