"""Value normalisation: the one place that decides when two values are "the same".

Used for key indexing at ingestion (by a field's ``ContentType``), SearchProfiles lookups and
identity resolution. Every function returns ``None`` for ``None``, empty or whitespace-only input:
an empty value is absent, so it is never indexed and never matches. Choices marked (INFERENCE) are
ours; AWS documents only the behaviour quoted (REFERENCE.md 1.2, 2.1, 2.3).

ContentType (``normalize``):

- ``STRING``: exact match as written [AWS]; we strip surrounding whitespace, nothing else.
- ``NUMBER``: (INFERENCE) canonical decimal: ``"449.00"``/``"449"``, ``"1e3"``/``"1000"``,
  ``"007"``/``"7"``, ``"-0"``/``"0"``. Only plain ASCII decimals (``+``/``-``, ``.``, exponent)
  count; ``"1,000"``, ``"1_000"``, ``"NaN"``, ``"inf"`` are not numbers and, like any non-number,
  fall back to the stripped string. Exact (no rounding); a value whose plain form would exceed 100
  characters is written ``<d.ddd>e<exp>`` instead.
- ``PHONE_NUMBER``: formatting ignored [AWS]: E.164 via ``phonenumbers``, national numbers read
  in ``default_region`` (ISO 3166 code, ``"US"`` by default; ``None`` = only ``+`` numbers; an
  unknown region is a ValueError). Extensions are dropped. (INFERENCE) A number must be *possible*
  with its country code: local-only numbers (``"345-7890"`` in the US) are not. Anything else falls
  back to its digits (any script, as ASCII), keeping a leading ``+``: ``"+12"`` stays ``"+12"``,
  ``"345-7890"`` becomes ``"3457890"``; text with no digit (``"n/a"``) is absent (``None``), so
  placeholder values never link unrelated profiles. In region US, ten-digit national numbers in
  the usual formats (``(206) 555-0100``, ``206.555.0100``, ``+1 206 555 0100``, ...) are read
  without phonenumbers, with the same result (tested against it), as a regular expression is
  many times faster.
- ``EMAIL_ADDRESS``: case-insensitive [AWS]: trim, Unicode NFC, lowercase (not casefold). Dots
  and ``+tags`` are kept: their meaning is provider-specific.
- ``NAME``: case-insensitive, runs of spaces collapsed [AWS]. We use ``normalize_name``, so
  (INFERENCE) accents are also stripped for keys, as for matching: ``"José"`` = ``"jose"``.

Helpers for identity resolution (INFERENCE, REFERENCE.md 2.3):

- ``normalize_name``: NFKD (so ``"ﬁ"`` = ``"fi"``, full-width = ASCII), casefold, drop the generic
  combining diacritics (U+0300-036F, 1AB0-1AFF, 1DC0-1DFF, 20D0-20FF, FE20-FE2F), fold the
  letters that carry no separable accent (``ł ø đ ð æ œ þ ı`` → ``l o d d ae oe th i``), NFC,
  collapse whitespace. Script-specific marks (Indic vowel signs, kana voicing, Hebrew and Arabic
  points) are kept. Punctuation is kept: ``"O'Brien"`` != ``"OBrien"``.
- ``normalize_address``: as a name, then ``.`` and apostrophes are deleted (``"P.O."`` = ``"po"``),
  every other punctuation or symbol separates words (``"Apt #4"`` = ``"apt 4"``), and each word
  that is a street suffix, unit designator or directional (both spellings, and a few common
  variants) becomes its USPS abbreviation: ``"Street"``/``"St."`` → ``"st"``, ``"North"`` → ``"n"``.
  Short forms are canonical because they are idempotent and never need guessing (``"St"`` may be
  Saint). Unit designators (apt, unit, suite) are dropped: ``"#4"`` = ``"Apt 4"``.
- ``normalize_postal_code``: upper case without spaces or hyphens; a US ZIP+4 keeps its ZIP5.
  ``normalize_state``: a US state's name becomes its code. ``normalize_country``: the common names
  of a few countries become their ISO code (``"USA"`` = ``"United States"``).
- ``normalize_date``: ISO ``YYYY-MM-DD``. Accepts ``YYYY-MM-DD`` (also with ``/`` or ``.``, and a
  trailing time, whose time zone is ignored: the calendar date is taken as written),
  ``MM/DD/YYYY`` and ``MM-DD-YYYY`` (US, month first: ``01/02/2000`` is 2 January),
  ``DD.MM.YYYY`` (day first); when the preferred order is not a date the other one is tried
  (``13/01/2000`` is 13 January). ``Month D, YYYY`` and ``D Mon YYYY`` (English month names or
  abbreviations, optional ordinal suffix, ``-`` also allowed: ``02-Jan-2000``). Exactly eight
  digits are ``YYYYMMDD``; any other run of digits (optionally negative) is epoch milliseconds,
  UTC. Four-digit years only; anything else is ``None``.
- ``normalize_number`` is the NUMBER ContentType (it falls back to the stripped string).
- ``normalize_phone``, ``normalize_name``, ``normalize_address``, ``normalize_postal_code`` and
  ``normalize_date`` keep their last 65,536 results (``functools.lru_cache``): names, postal codes
  and dates repeat across profiles, and a matching pass normalizes millions of them.
- ``join_key``: parts of a multi-field key, already normalised, joined by one space in order;
  ``None`` if any part is ``None`` or empty, or if there are no parts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import phonenumbers

CONTENT_TYPES = ("STRING", "NUMBER", "PHONE_NUMBER", "EMAIL_ADDRESS", "NAME")

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_MAX_PLAIN = 100
_DIACRITICS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_LETTERS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ð": "d", "æ": "ae", "œ": "oe",
                          "þ": "th", "ı": "i"})
_ADDRESS_WORDS = {
    variant: words.split()[0]
    for words in (
        "st street str strt", "ave avenue av avn aven avenu", "rd road",
        "blvd boulevard boul boulv",
        "dr drive drv driv", "ln lane", "ct court crt", "pl place", "pkwy parkway pky parkwy pkway",
        "hwy highway hiway hway highwy", "cir circle circ", "ter terrace terr", "sq square sqr",
        "trl trail", "expy expressway", "fwy freeway", "tpke turnpike", "xing crossing",
        "hts heights", "ctr center centre cntr", "plz plaza", "pt point", "mt mount",
        "mtn mountain", "aly alley", "rte route", "jct junction", "cswy causeway", "cres crescent",
        "sta station", "vlg village", "ste suite", "apt apartment", "bldg building", "fl floor",
        "rm room", "dept department", "ph penthouse", "n north", "s south", "e east", "w west",
        "ne northeast", "nw northwest", "se southeast", "sw southwest",
    )
    for variant in words.split()
}
#: unit designators carry no identity of their own: ``#4`` = ``Apt 4`` = ``Unit 4`` = ``Suite 4``
_UNIT_WORDS = frozenset({"apt", "ste", "unit"})
_US_STATES = {
    name: code.lower()
    for code, name in (
        ("AL", "alabama"), ("AK", "alaska"), ("AZ", "arizona"), ("AR", "arkansas"),
        ("CA", "california"), ("CO", "colorado"), ("CT", "connecticut"), ("DE", "delaware"),
        ("DC", "district of columbia"), ("FL", "florida"), ("GA", "georgia"), ("HI", "hawaii"),
        ("ID", "idaho"), ("IL", "illinois"), ("IN", "indiana"), ("IA", "iowa"), ("KS", "kansas"),
        ("KY", "kentucky"), ("LA", "louisiana"), ("ME", "maine"), ("MD", "maryland"),
        ("MA", "massachusetts"), ("MI", "michigan"), ("MN", "minnesota"), ("MS", "mississippi"),
        ("MO", "missouri"), ("MT", "montana"), ("NE", "nebraska"), ("NV", "nevada"),
        ("NH", "new hampshire"), ("NJ", "new jersey"), ("NM", "new mexico"), ("NY", "new york"),
        ("NC", "north carolina"), ("ND", "north dakota"), ("OH", "ohio"), ("OK", "oklahoma"),
        ("OR", "oregon"), ("PA", "pennsylvania"), ("RI", "rhode island"),
        ("SC", "south carolina"), ("SD", "south dakota"), ("TN", "tennessee"), ("TX", "texas"),
        ("UT", "utah"), ("VT", "vermont"), ("VA", "virginia"), ("WA", "washington"),
        ("WV", "west virginia"), ("WI", "wisconsin"), ("WY", "wyoming"), ("PR", "puerto rico"),
    )
}
_COUNTRIES = {
    variant: code
    for code, variants in (
        ("us", ("us", "usa", "united states", "united states of america", "america")),
        ("gb", ("gb", "uk", "united kingdom", "great britain", "england")),
        ("ca", ("ca", "canada")), ("mx", ("mx", "mexico")), ("de", ("de", "germany", "deutschland")),
        ("fr", ("fr", "france")), ("es", ("es", "spain", "espana")), ("it", ("it", "italy", "italia")),
        ("in", ("in", "india")), ("au", ("au", "australia")), ("jp", ("jp", "japan")),
        ("cn", ("cn", "china")), ("br", ("br", "brazil", "brasil")), ("nl", ("nl", "netherlands")),
        ("ie", ("ie", "ireland")),
    )
    for variant in variants
}
_MONTHS = {
    name[:n]: number
    for number, name in enumerate(
        ("january", "february", "march", "april", "may", "june", "july", "august", "september",
         "october", "november", "december"), start=1)
    for n in (3, len(name))
} | {"sept": 9}
_TIME = r"(?:[T\s][0-9]{1,2}:[0-9]{2}.*)?"
_YMD = re.compile(rf"([0-9]{{4}})([-/.])([0-9]{{1,2}})\2([0-9]{{1,2}}){_TIME}", re.IGNORECASE | re.DOTALL)
_XYY = re.compile(rf"([0-9]{{1,2}})([-/.])([0-9]{{1,2}})\2([0-9]{{4}}){_TIME}", re.IGNORECASE | re.DOTALL)
_ORD = r"(?:st|nd|rd|th)?"
_MONTH_FIRST = re.compile(rf"([a-z]+)\.?\s+([0-9]{{1,2}}){_ORD},?\s+([0-9]{{4}})", re.IGNORECASE)
_DAY_FIRST = re.compile(rf"([0-9]{{1,2}}){_ORD}[\s-]+([a-z]+)\.?,?[\s-]+([0-9]{{4}})", re.IGNORECASE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _present(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value.strip() or None


def normalize(value: str | None, content_type: str = "STRING", *,
              default_region: str | None = "US") -> str | None:
    """The indexed / compared form of ``value`` for a field of ``content_type``."""
    if content_type not in CONTENT_TYPES:
        raise ValueError(f"unknown ContentType {content_type!r}; expected one of {CONTENT_TYPES}")
    if content_type == "PHONE_NUMBER":
        return normalize_phone(value, default_region)
    if content_type == "NUMBER":
        return normalize_number(value)
    if content_type == "EMAIL_ADDRESS":
        return normalize_email(value)
    if content_type == "NAME":
        return normalize_name(value)
    return _present(value)


def normalize_number(value: str | None) -> str | None:
    text = _present(value)
    if text is None or not _NUMBER.fullmatch(text):
        return text
    try:
        sign, digit_tuple, exponent = Decimal(text).as_tuple()
    except InvalidOperation:  # exponent beyond what decimal can hold
        return text
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    if not digits:
        return "0"
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits, minus = stripped, "-" if sign else ""
    if max(exponent, -exponent - len(digits)) + len(digits) > _MAX_PLAIN:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{minus}{mantissa}e{exponent + len(digits) - 1}"
    if exponent >= 0:
        return minus + digits + "0" * exponent
    whole, fraction = digits[:exponent], digits[exponent:]
    return f"{minus}{whole or '0'}.{fraction.rjust(-exponent, '0')}"


#: what phonenumbers reads in region US as +1 and these ten digits, found without it: ten ASCII
#: digits, the first 2-9 (so they hold neither the country code nor the national prefix 1),
#: optionally after "+1" or "1", grouped 3-3-4 by at most one space, hyphen or dot each, the first
#: three optionally in parentheses. Ten digits are a possible number of +1 whatever they are
#: (only the length counts), so the result is "+1" and the digits, as phonenumbers formats it.
#: tests/engine/test_normalize.py checks it against phonenumbers on generated formats
_US_NATIONAL = re.compile(
    r"(?:\+?1[ .-]?)?(?:\(([2-9][0-9]{2})\)|([2-9][0-9]{2}))[ .-]?([0-9]{3})[ .-]?([0-9]{4})"
)


@lru_cache(maxsize=65536)
def normalize_phone(value: str | None, default_region: str | None = "US") -> str | None:
    text = _present(value)
    region = default_region.upper() if default_region else None
    if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {default_region!r}")
    if text is None:
        return None
    if region == "US" and (found := _US_NATIONAL.fullmatch(text)):
        return f"+1{found[1] or found[2]}{found[3]}{found[4]}"  # as _parse_phone, faster
    return _parse_phone(text, region)


def _parse_phone(text: str, region: str | None) -> str | None:
    """``normalize_phone`` of stripped, non-empty text, through phonenumbers."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and (phonenumbers.is_possible_number_with_reason(number)
                               == phonenumbers.ValidationResult.IS_POSSIBLE):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    digits = "".join(str(unicodedata.decimal(c)) for c in text if c.isdecimal())
    if not digits:
        return None
    return "+" + digits if text.startswith(("+", "＋")) else digits


def normalize_email(value: str | None) -> str | None:
    text = _present(value)
    return unicodedata.normalize("NFC", text).lower() if text else None


def _fold(text: str) -> str:
    # NFKD before casefold (compatibility forms may be upper case) and after (its output need
    # not be NFKD)
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return unicodedata.normalize("NFC", _DIACRITICS.sub("", text).translate(_LETTERS))


@lru_cache(maxsize=65536)
def normalize_name(value: str | None) -> str | None:
    text = _present(value)
    if text is None:
        return None
    return " ".join(_fold(text).split()) or None


@lru_cache(maxsize=65536)
def normalize_address(value: str | None) -> str | None:
    text = _present(value)
    if text is None:
        return None
    chars = []
    for c in _fold(text):
        if c in ".'’‘":
            continue
        chars.append(" " if unicodedata.category(c)[0] in "PSZC" else c)
    words = [_ADDRESS_WORDS.get(word, word) for word in "".join(chars).split()]
    return " ".join(w for w in words if w not in _UNIT_WORDS) or None


@lru_cache(maxsize=65536)
def normalize_postal_code(value: str | None) -> str | None:
    """Upper case without spaces or hyphens; a US ZIP+4 keeps its five-digit ZIP."""
    text = _present(value)
    if text is None:
        return None
    compact = re.sub(r"[\s-]", "", text).upper()
    return compact[:5] if re.fullmatch(r"[0-9]{9}", compact) else compact or None


def normalize_state(value: str | None) -> str | None:
    """A US state's name becomes its postal code (``Washington`` = ``WA``); other regions fold
    as names."""
    name = normalize_name(value)
    return None if name is None else _US_STATES.get(name, name)


def normalize_country(value: str | None) -> str | None:
    """Common names of a few countries become their ISO code (``USA`` = ``United States`` =
    ``us``); others fold as names."""
    name = normalize_name(value)
    return None if name is None else _COUNTRIES.get(name.replace(".", ""), name)


def _date(year: str | int, month: str | int, day: str | int) -> str | None:
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def normalize_date(value: str | None) -> str | None:
    text = _present(value)
    if text is None:
        return None
    if found := _YMD.fullmatch(text):
        return _date(found[1], found[3], found[4])
    if found := _XYY.fullmatch(text):
        first, second = (found[3], found[1]) if found[2] == "." else (found[1], found[3])
        return _date(found[4], first, second) or _date(found[4], second, first)
    if found := _MONTH_FIRST.fullmatch(text):
        month = _MONTHS.get(found[1].lower())
        return _date(found[3], month, found[2]) if month else None
    if found := _DAY_FIRST.fullmatch(text):
        month = _MONTHS.get(found[2].lower())
        return _date(found[3], month, found[1]) if month else None
    if re.fullmatch(r"-?[0-9]+", text):
        if len(text) == 8 and text[0] != "-":
            return _date(text[:4], text[4:6], text[6:])
        try:
            return (_EPOCH + timedelta(milliseconds=int(text))).date().isoformat()
        except (OverflowError, ValueError):
            return None
    return None


def join_key(parts: Iterable[str | None]) -> str | None:
    """The value of a key over several fields; absent when any field is absent."""
    if isinstance(parts, str):
        raise TypeError("join_key takes a list of parts, not a string")
    values: list[str] = []
    for part in parts:
        if not part:
            return None
        values.append(part)
    return " ".join(values) or None
