"""Value normalisation: every ContentType and every matching helper, table-driven."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import pytest

from openprofiles.engine import normalize as module
from openprofiles.engine.normalize import (
    CONTENT_TYPES,
    join_key,
    normalize,
    normalize_address,
    normalize_date,
    normalize_email,
    normalize_name,
    normalize_number,
    normalize_phone,
)

EMPTY = [None, "", " ", "\t\n", "\u00a0", "\u3000"]


def test_content_types() -> None:
    assert CONTENT_TYPES == ("STRING", "NUMBER", "PHONE_NUMBER", "EMAIL_ADDRESS", "NAME")


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize("value", EMPTY)
def test_empty_is_absent(content_type: str, value: str | None) -> None:
    assert normalize(value, content_type) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "function",
    [normalize_email, normalize_phone, normalize_name, normalize_address, normalize_date,
     normalize_number],
)
@pytest.mark.parametrize("value", EMPTY)
def test_helpers_empty_is_absent(function, value) -> None:  # type: ignore[no-untyped-def]
    assert function(value) is None


@pytest.mark.parametrize("content_type", ["string", "PHONE", "", "DATE"])
def test_unknown_content_type(content_type: str) -> None:
    with pytest.raises(ValueError, match="ContentType"):
        normalize("x", content_type)
    with pytest.raises(ValueError):  # even for an empty value: a bad type is a caller bug
        normalize("", content_type)


def test_not_a_string() -> None:
    with pytest.raises(TypeError):
        normalize(42, "NUMBER")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("content_type", "value", "expected"),
    [
        ("STRING", "  Hello World ", "Hello World"),
        ("STRING", "a  B", "a  B"),
        ("STRING", "Café", "Café"),
        ("STRING", "007", "007"),
        ("NUMBER", "449.00", "449"),
        ("NUMBER", "abc", "abc"),
        ("PHONE_NUMBER", "(206)-345-7890", "+12063457890"),
        ("EMAIL_ADDRESS", " John.Doe+X@Example.COM ", "john.doe+x@example.com"),
        ("NAME", "John  SMITH", "john smith"),
        ("NAME", "José", "jose"),
    ],
)
def test_normalize_by_content_type(content_type: str, value: str, expected: str) -> None:
    assert normalize(value, content_type) == expected


def test_normalize_default_is_string() -> None:
    assert normalize(" x ") == "x"


def test_normalize_phone_region() -> None:
    assert normalize("020 7946 0958", "PHONE_NUMBER", default_region="GB") == "+442079460958"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("449.00", "449"),
        ("449", "449"),
        ("1e3", "1000"),
        ("1E+3", "1000"),
        ("-0.50", "-0.5"),
        (" 12 ", "12"),
        ("007", "7"),
        ("1.50", "1.5"),
        ("+5", "5"),
        (".5", "0.5"),
        ("5.", "5"),
        ("0", "0"),
        ("-0", "0"),
        ("0.000", "0"),
        ("-0.0e5", "0"),
        ("0.0012", "0.0012"),
        ("1.5e-3", "0.0015"),
        ("12300e-2", "123"),
        ("123456789012345678901234567890.5", "123456789012345678901234567890.5"),
        ("1e99", "1" + "0" * 99),
        ("1e100", "1e100"),
        ("-1.50e-200", "-1.5e-200"),
        ("1e999999999999999999", "1e999999999999999999"),
        ("1e99999999999999999999999", "1e99999999999999999999999"),  # beyond decimal: as is
        ("abc", "abc"),
        (" abc ", "abc"),
        ("1,000", "1,000"),
        ("1_000", "1_000"),
        ("NaN", "NaN"),
        ("inf", "inf"),
        ("١٢", "١٢"),  # non-ASCII digits are not numbers
        ("1.2.3", "1.2.3"),
        ("e5", "e5"),
    ],
)
def test_number(value: str, expected: str) -> None:
    assert normalize_number(value) == expected
    assert normalize(value, "NUMBER") == expected


@pytest.mark.parametrize(
    ("value", "region", "expected"),
    [
        ("+1 (206) 345-7890", "US", "+12063457890"),
        ("2063457890", "US", "+12063457890"),
        ("(206)-345-7890", "US", "+12063457890"),
        ("206.345.7890", "US", "+12063457890"),
        ("1-206-345-7890", "US", "+12063457890"),
        ("+15551234567", "US", "+15551234567"),
        ("(555)-123-4567", "US", "+15551234567"),
        ("555-010-0000", "US", "+15550100000"),
        ("+1-555-010-0000", "US", "+15550100000"),
        ("206-345-7890 ext. 12", "US", "+12063457890"),
        ("２０６３４５７８９０", "US", "+12063457890"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("+44 20 7946 0958", "GB", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("0044 20 7946 0958", "GB", "+442079460958"),
        ("020 7946 0958", "gb", "+442079460958"),
        ("+1 (206) 345-7890", "GB", "+12063457890"),
        ("+49 30 123456", "US", "+4930123456"),
        ("+33 1 23 45 67 89", "DE", "+33123456789"),
        ("2063457890", None, "2063457890"),  # no region: only + numbers parse
        ("+1 206 345 7890", None, "+12063457890"),
        # fallbacks: digits only, leading + kept
        ("345-7890", "US", "3457890"),  # local-only: never a guessed E.164
        ("+12", "US", "+12"),
        ("12", "US", "12"),
        ("phone: 12-34", "US", "1234"),
        ("+1 234", "US", "+1234"),
        ("n/a", "US", None),
        ("call me maybe", "US", None),
        ("+", "US", None),
        ("x" * 300 + "5", "US", "5"),
    ],
)
def test_phone(value: str, region: str | None, expected: str | None) -> None:
    assert normalize_phone(value, region) == expected
    assert normalize(value, "PHONE_NUMBER", default_region=region) == expected


def test_phone_default_region_is_us() -> None:
    assert normalize_phone("2063457890") == "+12063457890"
    assert normalize("2063457890", "PHONE_NUMBER") == "+12063457890"


def test_phone_unknown_region() -> None:
    with pytest.raises(ValueError, match="region"):
        normalize_phone("2063457890", "XX")
    with pytest.raises(ValueError, match="region"):
        normalize("2063457890", "PHONE_NUMBER", default_region="USA")


def _phone_formats() -> list[str]:
    """Ways of writing phone numbers: the usual US ones and, for a half, near misses (area codes
    starting with 0 or 1, missing or extra digits, odd separators, country codes, extensions)."""
    rng = random.Random(7)
    found = []
    for _ in range(20000):
        odd = rng.random() < 0.5
        pick = rng.choice
        area = pick("0123456789" if odd else "23456789") + f"{rng.randrange(100):02d}"
        area = pick([area, area, f"({area})"] + ([f"({area}", f"{area})"] if odd else []))
        lengths = (3, 3, 3, 2) if odd else (3,)
        found.append(
            pick(["", "", "+1", "1", "+1 ", "1-", "1 ", "1.", "+1-"]
                 + (["+", "11", "+11", "+44 ", "0", "001", "(1)"] if odd else []))
            + area
            + pick(["", " ", "-", "."] + (["  ", "/", "--", ". ", ")", "\t"] if odd else []))
            + f"{rng.randrange(10**3):03d}"[: pick(lengths)]
            + pick(["", " ", "-", "."] + (["  ", "/"] if odd else []))
            + f"{rng.randrange(10**5):05d}"[: pick((4, 4, 3, 5) if odd else (4,))]
            + (pick(["", "", " x12", " ext. 5", "#", ";ext=9"]) if odd else "")
        )
    return found


def test_phone_shortcut_agrees_with_phonenumbers() -> None:
    """Ten-digit US numbers skip phonenumbers; the result is what phonenumbers gives."""
    shortcut = 0
    for number in _phone_formats():
        if module._US_NATIONAL.fullmatch(number.strip()):
            shortcut += 1
        assert normalize_phone(number, "US") == module._parse_phone(number.strip(), "US"), number
    assert shortcut > 5000


def test_phone_is_cached() -> None:
    normalize_phone.cache_clear()
    normalize_phone("+1 206 345 7890", "US")
    normalize_phone("+1 206 345 7890", "US")
    assert normalize_phone.cache_info().hits == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("John.Doe@Example.com", "john.doe@example.com"),
        ("  JOHN_DOE@ANYCOMPANY.COM\n", "john_doe@anycompany.com"),
        ("john.doe+news@gmail.com", "john.doe+news@gmail.com"),  # dots and tags kept
        ("JöRG@Example.de", "jörg@example.de"),
        ("jo\u0308rg@example.de", "jörg@example.de"),  # NFC: decomposed = composed
        ("STRASSE@x.de", "strasse@x.de"),
        ("Straße@x.de", "straße@x.de"),  # lowercase, not casefold
        ("not an email", "not an email"),
    ],
)
def test_email(value: str, expected: str) -> None:
    assert normalize_email(value) == expected
    assert normalize(value, "EMAIL_ADDRESS") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("John  SMITH", "john smith"),
        ("john smith", "john smith"),
        ("  John \t\n Smith  ", "john smith"),
        ("John\u00a0Smith", "john smith"),
        ("José", "jose"),
        ("JOSÉ", "jose"),
        ("Jose\u0301", "jose"),
        ("François Müller", "francois muller"),
        ("Ægir Øvrebø", "aegir ovrebo"),
        ("Łukasz Żółć", "lukasz zolc"),
        ("Þór Đorđević", "thor dordevic"),
        ("Straße", "strasse"),
        ("İlknur", "ilknur"),
        ("Ｊｏｈｎ", "john"),
        ("ﬁnn", "finn"),
        ("Ἀλέξανδρος", "αλεξανδροσ"),
        ("Владимир Йорданов", "владимир иорданов"),
        ("Nguyễn Thị Ánh", "nguyen thi anh"),
        ("山田 太郎", "山田 太郎"),
        ("ガク", "ガク"),  # kana voicing marks are not accents
        ("हिन्दी", "हिन्दी"),  # Indic vowel signs and virama kept
        ("O'Brien", "o'brien"),
        ("Mary-Jane", "mary-jane"),
        ("\u0301", None),  # only a mark: nothing left
    ],
)
def test_name(value: str, expected: str | None) -> None:
    assert normalize_name(value) == expected
    assert normalize(value, "NAME") == expected


def test_name_equalities() -> None:
    assert normalize("John  SMITH", "NAME") == normalize("john smith", "NAME")
    assert normalize_name("Zoë") == normalize_name("ZOE") == normalize_name("zoe\u0308")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("123 Main Street", "123 main st"),
        ("123 MAIN ST.", "123 main st"),
        ("123 Main St", "123 main st"),
        ("123 Main Str", "123 main st"),
        ("  123   Main\tStreet ", "123 main st"),
        ("456 Oak Avenue", "456 oak ave"),
        ("456 Oak Av.", "456 oak ave"),
        ("1 Sunset Boulevard", "1 sunset blvd"),
        ("9 Elm Road", "9 elm rd"),
        ("9 Elm Drive", "9 elm dr"),
        ("9 Elm Lane", "9 elm ln"),
        ("9 Elm Court", "9 elm ct"),
        ("9 Elm Place", "9 elm pl"),
        ("9 Elm Parkway", "9 elm pkwy"),
        ("9 State Highway 1", "9 state hwy 1"),
        ("12 North Elm Street, Suite 400", "12 n elm st 400"),
        ("12 N. Elm St., Ste. 400", "12 n elm st 400"),
        ("100 Southwest 5th Avenue, Apartment #4B", "100 sw 5th ave 4b"),
        ("100 SW 5th Ave Apt 4B", "100 sw 5th ave 4b"),
        ("East West Road", "e w rd"),
        ("Building 7, Floor 3, Room 12", "bldg 7 fl 3 rm 12"),
        ("P.O. Box 123", "po box 123"),
        ("O'Hare Drive", "ohare dr"),
        ("Rue de l’Église", "rue de leglise"),
        ("Königstraße 5", "konigstrasse 5"),
        ("Calle José-María 3", "calle jose maria 3"),
        ("Main St/2nd Ave", "main st 2nd ave"),
        ("St Louis Street", "st louis st"),
        ("Unit 5 (rear)", "5 rear"),
        ("...", None),
        ("#", None),
    ],
)
def test_address(value: str, expected: str | None) -> None:
    assert normalize_address(value) == expected


def test_address_idempotent() -> None:
    for value in ("12 North Elm Street, Suite 400", "Königstraße 5", "P.O. Box 1"):
        once = normalize_address(value)
        assert once is not None
        assert normalize_address(once) == once


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2000-01-02", "2000-01-02"),
        ("2000-1-2", "2000-01-02"),
        ("2000-01-02T10:30:00Z", "2000-01-02"),
        ("2000-01-02T23:30:00-08:00", "2000-01-02"),  # calendar date as written
        ("2000-01-02 10:30", "2000-01-02"),
        ("2000/01/02", "2000-01-02"),
        ("2000.01.02", "2000-01-02"),
        ("01/02/2000", "2000-01-02"),  # ambiguous: month first (US)
        ("1/2/2000", "2000-01-02"),
        ("01-02-2000", "2000-01-02"),
        ("01/02/2000 08:00", "2000-01-02"),
        ("13/01/2000", "2000-01-13"),  # cannot be month first
        ("02.01.2000", "2000-01-02"),  # dots: day first
        ("2.1.2000", "2000-01-02"),
        ("12.25.2000", "2000-12-25"),  # cannot be day first
        ("January 2, 2000", "2000-01-02"),
        ("Jan 2, 2000", "2000-01-02"),
        ("jan. 2 2000", "2000-01-02"),
        ("Sept 2, 2000", "2000-09-02"),
        ("September 2nd, 2000", "2000-09-02"),
        ("May 31, 1999", "1999-05-31"),
        ("2 Jan 2000", "2000-01-02"),
        ("02 January 2000", "2000-01-02"),
        ("2nd January, 2000", "2000-01-02"),
        ("02-Jan-2000", "2000-01-02"),
        ("29 FEB 2000", "2000-02-29"),
        ("20000102", "2000-01-02"),  # eight digits: YYYYMMDD
        ("946771200000", "2000-01-02"),  # epoch milliseconds, UTC
        ("946857599999", "2000-01-02"),
        ("0", "1970-01-01"),
        ("-315619200000", "1960-01-01"),
        # not dates
        ("2000-02-30", None),
        ("29 Feb 2001", None),
        ("13/13/2000", None),
        ("01/02/00", None),  # two-digit years are not read
        ("Smarch 2, 2000", None),
        ("2000-01", None),
        ("20001332", None),
        ("-1234567", "1969-12-31"),  # 8 characters but negative: epoch
        ("9" * 30, None),
        ("yesterday", None),
        ("٢٠٠٠-٠١-٠٢", None),
    ],
)
def test_date(value: str, expected: str | None) -> None:
    assert normalize_date(value) == expected


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (["john", "smith"], "john smith"),
        (["smith", "john"], "smith john"),
        (["+12063457890"], "+12063457890"),
        (["a b", "c"], "a b c"),
        (["john", None], None),
        ([None, "smith"], None),
        (["john", ""], None),
        ([], None),
        ((p for p in ["x", "y"]), "x y"),
    ],
)
def test_join_key(parts, expected: str | None) -> None:  # type: ignore[no-untyped-def]
    assert join_key(parts) == expected


def test_join_key_with_normalize() -> None:
    parts = [normalize(" John ", "NAME"), normalize("(206)-345-7890", "PHONE_NUMBER")]
    assert join_key(parts) == "john +12063457890"
    assert join_key([normalize("Ann", "NAME"), normalize("  ", "PHONE_NUMBER")]) is None


def test_join_key_rejects_a_string() -> None:
    with pytest.raises(TypeError):
        join_key("john")  # type: ignore[arg-type]


def test_engine_layer_imports() -> None:
    source = Path(module.__file__).read_text(encoding="utf-8")
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    forbidden = ("botocore", "sqlalchemy", "starlette", "uvicorn", "openprofiles.protocol",
                 "openprofiles.services", "openprofiles.http", "openprofiles.store")
    assert not [name for name in imported if name.startswith(forbidden)]


@pytest.mark.parametrize(
    ("function", "value", "expected"),
    [
        ("normalize_postal_code", "98101-1234", "98101"),
        ("normalize_postal_code", "981011234", "98101"),
        ("normalize_postal_code", " 98101 ", "98101"),
        ("normalize_postal_code", "sw1a 1aa", "SW1A1AA"),
        ("normalize_postal_code", "  ", None),
        ("normalize_state", "Washington", "wa"),
        ("normalize_state", "WA", "wa"),
        ("normalize_state", "new  york", "ny"),
        ("normalize_state", "Bavaria", "bavaria"),
        ("normalize_country", "U.S.A.", "us"),
        ("normalize_country", "United States", "us"),
        ("normalize_country", "UK", "gb"),
        ("normalize_country", "Narnia", "narnia"),
        ("normalize_address", "123 Main St #4", "123 main st 4"),
        ("normalize_address", "123 Main Street, Apt. 4", "123 main st 4"),
        ("normalize_address", "123 Main St Unit 4", "123 main st 4"),
    ],
)
def test_address_parts(function, value, expected):
    import openprofiles.engine.normalize as module

    assert getattr(module, function)(value) == expected
