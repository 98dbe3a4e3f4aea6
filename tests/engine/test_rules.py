"""Rule-based matching: signatures, attribute types, levels, limits and defaults.

Grouping runs in the database, so these tests make real profiles in an in-memory store and
compare the groups of ``evaluate`` by the profiles' labels (their FirstName unless given)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from openprofiles.engine.domains import create_domain
from openprofiles.engine.matching.rules import DEFAULT_RULES, GUARD, RuleSet, evaluate, signatures
from openprofiles.engine.profiles import create_profile
from openprofiles.engine.tenancy import Tenant
from openprofiles.errors import BadRequestException
from openprofiles.store.db import Store

NOW = datetime(2025, 1, 1, tzinfo=UTC)
EXAMPLE_RULES = [{"Rule": ["EmailAddress", "LastName", "FirstName"]}, {"Rule": ["AccountNumber"]}]


@pytest.fixture
def store() -> Iterator[Store]:
    db = Store("sqlite://")
    yield db
    db.close()


def new_domain(conn: Any) -> dict[str, Any]:
    return create_domain(conn, Tenant("123456789012", "us-east-1"), "d", {"DefaultExpirationDays": 30}, {}, NOW)


def groups(
    store: Store, config: dict[str, Any], profiles: dict[str, dict[str, Any]]
) -> set[tuple[int, frozenset[str]]]:
    """(level, labels) of each group that ``config`` finds among the labelled profiles."""
    with store.transaction() as conn:
        domain = new_domain(conn)
        ids = {create_profile(conn, domain, fields, NOW): label for label, fields in profiles.items()}
        matches = evaluate(conn, domain, RuleSet.from_config({"Enabled": True, **config}))
    return {(m.level, frozenset(ids[p] for p in m.profile_ids)) for m in matches}


def sig(config: dict[str, Any], document: dict[str, Any]) -> set[tuple[int, str]]:
    return signatures(RuleSet.from_config({"Enabled": True, **config}), document, "US")


def test_equal_after_normalization_is_one_signature():
    rules = {"MatchingRules": [{"Rule": ["EmailAddress", "PhoneNumber", "FirstName", "BirthDate"]}]}
    a = {"EmailAddress": " Ann.Lee@Example.COM", "PhoneNumber": "(206) 555-0100", "FirstName": "José",
         "BirthDate": "01/02/1990"}
    b = {"EmailAddress": "ann.lee@example.com", "PhoneNumber": "+1 206-555-0100", "FirstName": "JOSE ",
         "BirthDate": "1990-01-02"}
    assert sig(rules, a) == sig(rules, b) != set()
    assert sig(rules, a) != sig(rules, {**b, "FirstName": "Josh"})


def test_an_empty_attribute_gives_no_signature():
    rules = {"MatchingRules": [{"Rule": ["EmailAddress", "LastName"]}]}
    assert sig(rules, {"EmailAddress": "a@x.com"}) == set()
    assert sig(rules, {"EmailAddress": "a@x.com", "LastName": "   "}) == set()
    assert len(sig(rules, {"EmailAddress": "a@x.com", "LastName": "Lee"})) == 1


def test_worked_example_one_to_one_matches_the_same_field(store):
    selector = {"AttributeMatchingModel": "ONE_TO_ONE", "EmailAddress": ["EmailAddress", "BusinessEmailAddress"]}
    person = {"FirstName": "John", "LastName": "Doe"}
    found = groups(store, {"MatchingRules": EXAMPLE_RULES, "AttributeTypesSelector": selector}, {
        "A": {**person, "EmailAddress": "1@example.com", "BusinessEmailAddress": "john@example.com"},
        "B": {**person, "EmailAddress": "2@example.com", "BusinessEmailAddress": "john@example.com"},
    })
    assert found == {(1, frozenset("AB"))}


@pytest.mark.parametrize("model, expected", [
    ("ONE_TO_ONE", set()),
    ("MANY_TO_MANY", {(1, frozenset("AB"))}),
])
def test_worked_example_many_to_many_matches_across_fields(store, model, expected):
    selector = {"AttributeMatchingModel": model, "EmailAddress": ["EmailAddress", "BusinessEmailAddress"]}
    person = {"FirstName": "John", "LastName": "Doe"}
    found = groups(store, {"MatchingRules": EXAMPLE_RULES, "AttributeTypesSelector": selector}, {
        "A": {**person, "EmailAddress": "john@example.com", "BusinessEmailAddress": "1@example.com"},
        "B": {**person, "EmailAddress": "2@example.com", "BusinessEmailAddress": "john@example.com"},
    })
    assert found == expected


def test_unselected_fields_never_match(store):
    selector = {"AttributeMatchingModel": "ONE_TO_ONE", "EmailAddress": ["EmailAddress"]}
    rules = {"MatchingRules": [{"Rule": ["EmailAddress"]}], "AttributeTypesSelector": selector}
    found = groups(store, rules, {
        "A": {"BusinessEmailAddress": "same@example.com"},
        "B": {"BusinessEmailAddress": "same@example.com"},
    })
    assert found == set()


def test_address_parts_come_from_one_address(store):
    selector = {"AttributeMatchingModel": "MANY_TO_MANY", "Address": ["Address", "ShippingAddress"]}
    rules = {"MatchingRules": [{"Rule": ["Address.Address", "Address.City"]}], "AttributeTypesSelector": selector}
    found = groups(store, rules, {
        "A": {"Address": {"Address1": "1 Main Street", "City": "Seattle"}},
        "B": {"ShippingAddress": {"Address1": "1 MAIN ST.", "City": "seattle"}},
        # the street of one address and the city of another are no address
        "C": {"Address": {"Address1": "1 Main St", "City": "Tacoma"}, "ShippingAddress": {"City": "Seattle"}},
    })
    assert found == {(1, frozenset("AB"))}


def test_groups_are_transitive_within_a_level(store):
    selector = {"AttributeMatchingModel": "MANY_TO_MANY", "EmailAddress": ["EmailAddress", "PersonalEmailAddress"]}
    found = groups(store, {"MatchingRules": [{"Rule": ["EmailAddress"]}], "AttributeTypesSelector": selector}, {
        "A": {"EmailAddress": "a@x.com"},
        "B": {"EmailAddress": "b@x.com", "PersonalEmailAddress": "a@x.com"},
        "C": {"PersonalEmailAddress": "b@x.com"},
        "D": {"EmailAddress": "d@x.com"},
    })
    assert found == {(1, frozenset("ABC"))}


def test_a_later_level_joins_the_group_of_a_profile_matched_earlier(store):
    """C and D match no one at level 1; at level 2 they match B, grouped at level 1 already, so
    they join B's group (REFERENCE 2.3: each record tries level 1, 2, ... until it matches)."""
    rules = {"MatchingRules": [{"Rule": ["EmailAddress"]}, {"Rule": ["PhoneNumber"]}]}
    found = groups(store, rules, {
        "A": {"EmailAddress": "ab@x.com"},
        "B": {"EmailAddress": "ab@x.com", "PhoneNumber": "2065550100"},
        "C": {"PhoneNumber": "206-555-0100"},
        "D": {"PhoneNumber": "+12065550100"},
        "E": {"PhoneNumber": "2065550199"},
        "F": {"PhoneNumber": "(206) 555-0199"},
    })
    assert found == {(1, frozenset("ABCD")), (2, frozenset("EF"))}


def test_a_profile_keeps_its_highest_priority_group(store):
    """A grouped profile is never moved by a later level, even when it matches another group."""
    rules = {"MatchingRules": [{"Rule": ["EmailAddress"]}, {"Rule": ["PhoneNumber"]}]}
    found = groups(store, rules, {
        "A": {"EmailAddress": "a@x.com", "PhoneNumber": "2065550100"},
        "B": {"EmailAddress": "a@x.com"},
        "C": {"EmailAddress": "c@x.com", "PhoneNumber": "2065550100"},
        "D": {"EmailAddress": "c@x.com"},
    })
    assert found == {(1, frozenset("AB")), (1, frozenset("CD"))}


def test_levels_above_the_matching_limit_never_match(store):
    rules = {"MatchingRules": [{"Rule": ["EmailAddress"]}, {"Rule": ["PhoneNumber"]}]}
    people = {"A": {"PhoneNumber": "2065550100"}, "B": {"PhoneNumber": "2065550100"}}
    assert groups(store, {**rules, "MaxAllowedRuleLevelForMatching": 1}, people) == set()
    assert RuleSet.from_config({"Enabled": True, **rules, "MaxAllowedRuleLevelForMatching": 1}).levels == (
        ("EmailAddress",),
    )


def test_custom_attributes_match_exactly(store):
    found = groups(store, {"MatchingRules": [{"Rule": ["Attributes.loyaltyId"]}]}, {
        "A": {"Attributes": {"loyaltyId": "L-1"}},
        "B": {"Attributes": {"loyaltyId": " L-1 "}},
        "C": {"Attributes": {"loyaltyId": "l-1"}},
    })
    assert found == {(1, frozenset("AB"))}


@pytest.mark.parametrize("sharing, grouped", [(GUARD, True), (GUARD + 1, False)])
def test_low_cardinality_guard_skips_a_signature_shared_too_widely(store, sharing, grouped):
    people = {f"p{n}": {"AccountNumber": "000"} for n in range(sharing)}
    people |= {"A": {"AccountNumber": "123"}, "B": {"AccountNumber": "123"}}
    found = groups(store, {"MatchingRules": [{"Rule": ["AccountNumber"]}]}, people)
    shared = (1, frozenset(f"p{n}" for n in range(sharing)))
    assert found == ({shared} if grouped else set()) | {(1, frozenset("AB"))}


def test_default_rules(store):
    assert RuleSet.from_config({"Enabled": True}).levels == DEFAULT_RULES
    found = groups(store, {}, {
        "A": {"FirstName": "Ann", "LastName": "Lee", "EmailAddress": "ann@x.com"},
        "B": {"FirstName": "ANN", "LastName": "Lee", "EmailAddress": "Ann@X.com"},
        "C": {"FirstName": "Bob", "LastName": "Ray", "PhoneNumber": "2065550199"},
        "D": {"FirstName": "Bob", "LastName": "Ray", "PhoneNumber": "(206) 555-0199"},
        "E": {"FirstName": "Eve", "AccountNumber": "42"},
        "F": {"FirstName": "Fay", "AccountNumber": "42"},
        "G": {"FirstName": "Ann", "LastName": "Lee", "EmailAddress": "other@x.com"},
        # any email field meets any other by default (MANY_TO_MANY over all three)
        "H": {"FirstName": "Annie", "PersonalEmailAddress": " ann@x.com"},
        # a shared family phone alone is no match: the first names differ
        "I": {"FirstName": "Ivy", "LastName": "Ray", "MobilePhoneNumber": "+1 206 555 0199"},
        "J": {"FirstName": "Jo", "LastName": "Kim", "BirthDate": "1990-01-02"},
        "K": {"FirstName": "JO", "LastName": "Kim", "BirthDate": "01/02/1990"},
    })
    assert found == {(1, frozenset("ABH")), (2, frozenset("CD")), (3, frozenset("JK")), (5, frozenset("EF"))}


def test_match_ids_are_stable_for_an_unchanged_group(store):
    people = {"A": {"AccountNumber": "1"}, "B": {"AccountNumber": "1"}}
    rules = RuleSet.from_config({"Enabled": True, "MatchingRules": [{"Rule": ["AccountNumber"]}]})
    with store.transaction() as conn:
        domain = new_domain(conn)
        for fields in people.values():
            create_profile(conn, domain, fields, NOW)
        first = evaluate(conn, domain, rules)
        assert evaluate(conn, domain, rules) == first and len(first[0].match_id) == 32


@pytest.mark.parametrize("config, member", [
    ({"MatchingRules": [{"Rule": ["FirstName"]}, {"Rule": ["ShoeSize"]}]}, "MatchingRules[1].Rule"),
    ({"MatchingRules": [{"Rule": ["Address"]}]}, "MatchingRules[0].Rule"),
    ({"MatchingRules": [{"Rule": ["Attributes."]}]}, "MatchingRules[0].Rule"),
    ({"AttributeTypesSelector": {"AttributeMatchingModel": "ONE_TO_ONE", "PhoneNumber": ["FaxNumber"]}},
     "AttributeTypesSelector.PhoneNumber"),
    ({"ConflictResolution": {"ConflictResolvingModel": "SOURCE"}}, "ConflictResolution.SourceName"),
])
def test_rules_the_matcher_cannot_apply_are_refused(config, member):
    with pytest.raises(BadRequestException, match=member.replace("[", r"\[").replace("]", r"\]")):
        RuleSet.from_config({"Enabled": True, **config})


def test_selector_accepts_the_documented_short_names():
    selector = {"AttributeMatchingModel": "ONE_TO_ONE", "EmailAddress": ["Email", "BusinessEmail"],
                "Address": ["MaillingAddress"]}
    rules = RuleSet.from_config({"Enabled": True, "AttributeTypesSelector": selector})
    assert rules.selected["EmailAddress"] == ("EmailAddress", "BusinessEmailAddress")
    assert rules.selected["Address"] == ("MailingAddress",)
    assert rules.selected["PhoneNumber"] == ("PhoneNumber",)


def _indexed(conn: Any) -> tuple[dict[int, int], set[str]]:
    """Signature rows per domain, and the names of match_signatures' indexes."""
    driver = conn.connection.driver_connection
    rows = dict(driver.execute("SELECT domain_id, count(*) FROM match_signatures GROUP BY domain_id").fetchall())
    names = {name for (name,) in driver.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'match_signatures'")}
    return rows, names


def test_a_pass_replaces_only_its_domains_index_and_keeps_the_index_by_profile(store):
    rules = RuleSet.from_config({"Enabled": True})
    people = [{"FirstName": "Ann", "LastName": "Lee", "EmailAddress": f"a{n % 3}@x.com"} for n in range(9)]
    with store.transaction() as conn:
        small = create_domain(conn, Tenant("123456789012", "us-east-1"), "small", {"DefaultExpirationDays": 30}, {}, NOW)
        big = create_domain(conn, Tenant("123456789012", "us-east-1"), "big", {"DefaultExpirationDays": 30}, {}, NOW)
        for fields in people[:6:3]:  # both a0@x.com
            create_profile(conn, small, fields, NOW)
        for fields in people:
            create_profile(conn, big, fields, NOW)
        small_groups = evaluate(conn, small, rules)
        # the big domain outweighs the rest: its load rebuilds the index by profile
        big_groups = evaluate(conn, big, rules)
        rows, names = _indexed(conn)
        assert rows == {small["id"]: 2, big["id"]: 9} and "ix_match_signatures_profile" in names
        # the small one does not: the index stays as it is; both passes are repeatable
        assert evaluate(conn, small, rules) == small_groups and evaluate(conn, big, rules) == big_groups
        assert _indexed(conn) == (rows, names)
    assert [len(m.profile_ids) for m in big_groups] == [3, 3, 3] and len(small_groups) == 1


def test_groups_do_not_depend_on_the_page_size(store):
    people = [{"FirstName": f"N{n % 4}", "LastName": "Lee", "PhoneNumber": f"206555{n % 5:04d}",
               "EmailAddress": f"{n % 7}@x.com", "BirthDate": "1990-01-02"} for n in range(40)]
    rules = RuleSet.from_config({"Enabled": True})
    with store.transaction() as conn:
        domain = new_domain(conn)
        for fields in people:
            create_profile(conn, domain, fields, NOW)
        assert evaluate(conn, domain, rules, batch=3) == evaluate(conn, domain, rules)


def test_signatures_keep_their_values():
    """Signatures indexed by earlier versions stay valid: incremental matching compares new ones
    with them."""
    document = {"EmailAddress": "Ann@x.com", "PhoneNumber": "(206) 555-0100", "FirstName": "Ann",
                "LastName": "Lee", "BirthDate": "01/02/1990", "Address": {"PostalCode": "98101-1234"}}
    assert sig({}, document) == {
        (1, "c766372aa7ceb038986f4c58f849d116"), (2, "63c3643a643f710a01d2f32d07b7f8a5"),
        (3, "7dc7b2769ad191096ced490d66a6e505"), (4, "c417f95fad2f6e13838ec5714eb88e99"),
    }
    document = {"BusinessEmailAddress": "Ann@x.com", "HomePhoneNumber": "+1 206 555 0100",
                "FirstName": "Ann", "LastName": "Lee",
                "ShippingAddress": {"Address1": "1 Main Street", "City": "Seattle", "PostalCode": "98101"}}
    rules = [{"Rule": ["Address.City", "EmailAddress", "LastName", "Address.Address"]},
             {"Rule": ["PhoneNumber", "FirstName"]}]
    selector = {"AttributeMatchingModel": "ONE_TO_ONE", "EmailAddress": ["BusinessEmailAddress"],
                "PhoneNumber": ["HomePhoneNumber"], "Address": ["ShippingAddress"]}
    assert sig({"MatchingRules": rules, "AttributeTypesSelector": selector}, document) == {
        (1, "dd3bf468c3467231e686aa1fd5b05391"), (2, "c116f65d65001e06dc9841a1cece278f"),
    }
