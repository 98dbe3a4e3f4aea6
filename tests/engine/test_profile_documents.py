"""Reading a profile's document by field path, and the keys its own fields put in the index."""

from __future__ import annotations

import pytest

from openprofiles.engine.keys import derived_keys, derived_sources
from openprofiles.engine.profiles import leaf_paths, value_at

DOCUMENT = {
    "FirstName": "Ann",
    "LastName": "Lee",
    "EmailAddress": "Ann@Example.com",
    "PhoneNumber": "(206) 555-0100",
    "Address": {"City": "Seattle", "PostalCode": "98101"},
    "Attributes": {"tier": "gold", "a.b": "dotted"},
    "AdditionalInformation": "notes",
}


@pytest.mark.parametrize(
    "path",
    ["FirstName", "Address.City", "Address.Country", "Address", "Attributes.tier", "Attributes.a.b",
     "AdditionalInformation", "AdditionalInformation.x", "MiddleName", "ShippingAddress.City"],
)
def test_a_value_by_path_is_what_the_flattened_document_holds(path):
    assert value_at(DOCUMENT, path) == leaf_paths(DOCUMENT).get(path)


def test_the_keys_of_a_document_come_from_its_derived_sources_alone():
    keys = derived_keys(DOCUMENT, "US")
    assert keys == derived_keys(derived_sources(DOCUMENT), "US")
    assert keys == {("_email", "ann@example.com"), ("_phone", "+12065550100"), ("_fullName", "ann lee")}
