"""DetectProfileObjectType: a mapping (Fields, Keys, timestamp format) guessed from sample objects.

AWS uses a generative model; openprofiles uses deterministic heuristics (REFERENCE 6.2,
INFERENCE), so the same objects always give the same mapping, and the mapping always passes
PutProfileObjectType's checks (``compile_definition``):

- **Parsing**: every object must be a JSON object, else "Could not parse object string into
  JSON" naming ``Objects[i]``. Objects are flattened: a nested object becomes dotted source paths
  (``_source.a.b``); a list is one attribute (its value is its JSON text); an empty object is
  nothing. The union of the leaf attributes of all objects counts toward the limit of 120
  ("Breached limit of 120 attributes"). Attributes a plain accessor cannot address (a name with
  ``.``, ``[``, ``]`` or ``{{``, empty, or ending a path with a space) count but are left out.
- **Names** are split into lower-case words (``firstName``, ``first_name``, ``FIRST-NAME`` are
  all ``first name``) and compared as their concatenation (``firstname``), with synonyms.
- **Per attribute**, from its name and from every value seen (null values carry no evidence):
  a timestamp-like name (updated, modified, modstamp) whose values are all 13-digit epoch
  millis (``EpochMilli``) or all parse with one of a few SimpleDateFormat patterns →
  ``_profile.SourceLastUpdatedTimestamp`` (one attribute; the format is returned); values that
  all look like e-mail addresses (or an e-mail name with no value) → EMAIL_ADDRESS,
  ``_profile.EmailAddress`` (further ones → Personal/BusinessEmailAddress by name); a phone
  name (phone, mobile, tel, cell...) whose values all normalize to E.164 (or have no value) →
  PHONE_NUMBER, ``_profile.PhoneNumber`` / Mobile / Home / Business by name; first, middle and
  last name synonyms (also ``name.first``) → NAME, ``_profile.FirstName``...; a full name →
  NAME kept as an attribute; birth date names whose values are dates → ``_profile.BirthDate``;
  gender → ``_profile.GenderString``; account number → ``_profile.AccountNumber``; company or
  business name → ``_profile.BusinessName``; address parts by name (street/address1/line1,
  address2..4, city, county, state, province, country, zip/postal) → ``_profile.Address.*``,
  or Mailing/Shipping/BillingAddress when the path says so (state, province, county and
  line<n> only with an address context: an address parent, a qualifier, or a sibling part);
  JSON numbers → NUMBER; everything else STRING. Lists, objects and booleans are STRING.
- **One attribute per target**: an attribute nearer the top, then with the more exact name,
  then seen first, wins; the others keep their ContentType and go to
  ``_profile.Attributes.<name>`` like every attribute without a standard target (the name is
  the path with every other character as ``_``, unique).
- **Field names** are the path (``default_address.city``), other characters as ``_``, starting
  with a letter, never ``Tags``, unique (``_2``, ``_3``...).
- **Keys**: UNIQUE + PROFILE on an id-like attribute (``id``, ``uuid``, ``guid``, ``*_id``,
  ``*Id``), the one present in most objects, then nearest the top, then ``id`` itself before
  ``customerId``-like names before other ids; its key name is its field name as a key name
  (letters first, no dots). With no id, UNIQUE + PROFILE go on ``_email``. ``_email`` (PROFILE)
  on the main e-mail field and ``_phone`` (PROFILE) on the main phone field. With neither an id
  nor an e-mail there is no UNIQUE key candidate, so a BadRequestException says so (documented
  choice: AWS only warns, but a mapping without a UNIQUE key cannot be saved).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from openprofiles.engine.normalize import normalize_date, normalize_phone
from openprofiles.engine.object_types import compile_definition
from openprofiles.engine.timestamps import parse_source_timestamp
from openprofiles.errors import BadRequestException

MAX_ATTRIBUTES = 120
#: SourceLastUpdatedTimestampFormat candidates, tried in order (the first that reads every value)
TIMESTAMP_PATTERNS = (
    "yyyy-MM-dd'T'HH:mm:ss.SSSX",
    "yyyy-MM-dd'T'HH:mm:ssX",
    "yyyy-MM-dd'T'HH:mm:ss",
    "yyyy-MM-dd HH:mm:ss",
    "yyyy-MM-dd",
)
NO_UNIQUE_KEY = "No attribute can identify the object: add an id or email attribute"

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+|[^\W\d_]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
_EPOCH_MILLI = re.compile(r"[0-9]{13}")
_FIELD_CHAR = re.compile(r"[^A-Za-z0-9_\-]")
_ATTRIBUTE_CHAR = re.compile(r"[^A-Za-z0-9_]")

# synonyms, as concatenated lower-case words, most exact first (the position is the rank)
_FIRST = ("firstname", "givenname", "fname", "forename", "christianname")
_MIDDLE = ("middlename", "middleinitial", "mname")
_LAST = ("lastname", "familyname", "surname", "lname")
_IN_NAME = {"first": "FirstName", "given": "FirstName", "middle": "MiddleName",
            "last": "LastName", "family": "LastName"}  # fmt: skip
_FULL_NAME = ("fullname", "name", "customername", "contactname", "displayname", "personname")
_PERSON_PARENTS = {"customer", "contact", "person", "user", "profile", "member", "client",
                   "owner", "lead", "buyer", "patient", "guest"}  # fmt: skip
_BIRTH = ("birthdate", "dateofbirth", "dob", "birthday", "birthdt", "bdate", "bday")
_GENDER = ("gender", "sex", "genderidentity")
_ACCOUNT = ("accountnumber", "accountno", "accountnum", "acctnumber", "acctno", "acctnum",
            "customernumber", "customerno", "membernumber", "membershipnumber")  # fmt: skip
_BUSINESS = ("companyname", "businessname", "company", "business", "organization",
             "organisation", "organizationname", "organisationname", "employer",
             "employername", "accountname")  # fmt: skip
_ADDRESS_PARTS: dict[str, tuple[str, ...]] = {
    "Address1": ("address1", "addressline1", "streetaddress", "street", "street1", "line1",
                 "addr1", "streetline1", "address", "addr"),
    "Address2": ("address2", "addressline2", "street2", "line2", "addr2", "streetline2"),
    "Address3": ("address3", "addressline3", "street3", "line3", "addr3", "streetline3"),
    "Address4": ("address4", "addressline4", "street4", "line4", "addr4", "streetline4"),
    "City": ("city", "town", "cityname", "locality"),
    "County": ("county", "countyname"),
    "State": ("state", "statecode", "statename", "stateorprovince"),
    "Province": ("province", "provincecode", "provincename"),
    "Country": ("country", "countryname", "countrycode"),
    "PostalCode": ("postalcode", "zip", "zipcode", "postcode", "postal", "zip5"),
}  # fmt: skip
#: address parts that are also common words elsewhere: they need an address context
_CONTEXT_PARTS = {"state", "statecode", "statename", "province", "provincecode", "provincename",
                  "county", "countyname", "line1", "line2", "line3", "line4"}  # fmt: skip
_ADDRESS_GROUPS = {"mailing": "MailingAddress", "shipping": "ShippingAddress",
                   "ship": "ShippingAddress", "billing": "BillingAddress",
                   "bill": "BillingAddress"}  # fmt: skip
_ADDRESS_QUALIFIERS = {*_ADDRESS_GROUPS, "home", "other", "primary", "default", "main",
                       "current", "residential", "physical"}  # fmt: skip
_ADDRESS_CONTEXT = {"address", "addr", "addresses", "location", "residence", *_ADDRESS_GROUPS}
_PHONE_WORDS = {"phone", "telephone", "tel", "mobile", "cell", "cellphone", "mobilephone",
                "homephone", "workphone", "msisdn", "phonenumber", "telephonenumber"}  # fmt: skip
_PHONE_ENDS = _PHONE_WORDS | {"number", "no", "num", "nr"}
_PHONE_TARGETS = (  # (name words, target), tried in order; otherwise PhoneNumber
    ({"mobile", "cell", "cellphone", "mobilephone"}, "MobilePhoneNumber"),
    ({"home", "homephone"}, "HomePhoneNumber"),
    ({"business", "work", "office", "workphone", "company"}, "BusinessPhoneNumber"),
)
_EMAIL_TARGETS = (
    ({"personal", "home", "private"}, "PersonalEmailAddress"),
    ({"business", "work", "office", "company", "corporate"}, "BusinessEmailAddress"),
)
_TIMESTAMP_WORDS = {"updated": 0, "modified": 0, "lastmodified": 0, "lastupdated": 0,
                    "modstamp": 1, "update": 1, "modification": 1}  # fmt: skip
_ID_SELF = {"customerid", "contactid", "userid", "profileid", "personid", "memberid", "clientid",
            "leadid", "externalid", "recordid", "uniqueid", "objectid"}  # fmt: skip


@dataclass
class _Attribute:
    path: tuple[str, ...]
    order: int
    values: list[Any] = field(default_factory=list)  # non-null values seen
    seen_in: int = 0  # objects that have the attribute (null included)
    # decided by the heuristics
    content_type: str = "STRING"
    wants: tuple[str, ...] = ()  # standard targets it may take, best first
    rank: int = 0  # how exact its name is for those targets (lower is better)
    kind: str = ""  # "email", "phone", "timestamp" or ""
    target: str | None = None
    field_name: str = ""

    @property
    def depth(self) -> int:
        return len(self.path)

    @property
    def words(self) -> list[str]:
        return _words(self.path[-1])

    @property
    def compact(self) -> str:
        return "".join(self.words)

    @property
    def parent_words(self) -> list[str]:
        return [w for segment in self.path[:-1] for w in _words(segment)]

    @property
    def present_values(self) -> list[Any]:
        return [v for v in self.values if not (isinstance(v, str) and not v.strip())]

    @property
    def scalar(self) -> bool:
        """Every value is a string or a number (not a boolean, list or object)."""
        return all(_is_text_or_number(v) for v in self.values)


def _is_text_or_number(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _words(name: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(name)]


def detect_object_type(objects: list[str], *, default_region: str | None = "US") -> dict[str, Any]:
    """One DetectedProfileObjectType (Fields, Keys, SourceLastUpdatedTimestampFormat if found)."""
    records = _parse(objects)
    attributes = _flatten(records)
    if len(attributes) > MAX_ATTRIBUTES:
        raise BadRequestException(
            f"Breached limit of {MAX_ATTRIBUTES} attributes: the objects have {len(attributes)} "
            "attributes (nested attributes count)"
        )
    attributes = [a for a in attributes if _addressable(a.path)]
    timestamp_format = _classify(attributes, default_region)
    _assign_targets(attributes)
    _name_fields(attributes)
    fields: dict[str, dict[str, str]] = {}
    for attribute in attributes:
        spec = {"Source": "_source." + ".".join(attribute.path)}
        if attribute.target:
            spec["Target"] = attribute.target
        spec["ContentType"] = attribute.content_type
        fields[attribute.field_name] = spec
    detected: dict[str, Any] = {"Fields": fields, "Keys": _keys(attributes)}
    if timestamp_format is not None:
        detected["SourceLastUpdatedTimestampFormat"] = timestamp_format
    compile_definition(detected)  # a detected mapping is always a valid one
    return detected


def _parse(objects: list[str]) -> list[dict[str, Any]]:
    if not objects:
        raise BadRequestException("Objects must hold at least one object")
    records = []
    for at, text in enumerate(objects):
        try:
            record = orjson.loads(text)
        except (orjson.JSONDecodeError, TypeError) as exc:
            raise BadRequestException(
                f"Could not parse object string into JSON: Objects[{at}]: {exc}"
            ) from None
        if not isinstance(record, dict):
            raise BadRequestException(
                f"Could not parse object string into JSON: Objects[{at}] is not a JSON object"
            )
        records.append(record)
    return records


def _flatten(records: list[dict[str, Any]]) -> list[_Attribute]:
    found: dict[tuple[str, ...], _Attribute] = {}
    parents: set[tuple[str, ...]] = set()

    def walk(value: dict[str, Any], prefix: tuple[str, ...], here: set[tuple[str, ...]]) -> None:
        for name, item in value.items():
            path = (*prefix, name)
            if isinstance(item, dict):
                parents.add(path)
                walk(item, path, here)
                continue
            attribute = found.get(path)
            if attribute is None:
                attribute = found[path] = _Attribute(path, len(found))
            if path not in here:
                here.add(path)
                attribute.seen_in += 1
            if item is not None:
                attribute.values.append(item)

    for record in records:
        walk(record, (), set())
    # a path that is null in one object and an object in another is that object's parts
    return [a for path, a in found.items() if a.values or path not in parents]


def _addressable(path: tuple[str, ...]) -> bool:
    """A plain accessor ``_source.a.b`` reaches this path."""
    if any(not s or set(s) & set(".[]") or "{{" in s for s in path):
        return False
    return not path[-1][-1].isspace() and not path[0][0].isspace()


# classification


def _classify(attributes: list[_Attribute], region: str | None) -> str | None:
    """Set each attribute's ContentType and wanted targets; the SourceLastUpdatedTimestampFormat."""
    for attribute in attributes:
        _classify_one(attribute, region)
    for attribute in attributes:
        if attribute.kind == "context":
            _check_address_context(attribute, attributes)
    stamps = sorted((a for a in attributes if a.kind == "timestamp"),
                    key=lambda a: (-a.seen_in, a.depth, a.rank, a.order))  # fmt: skip
    for loser in stamps[1:]:
        loser.kind, loser.wants = "", ()
    if not stamps:
        return None
    stamps[0].wants = ("_profile.SourceLastUpdatedTimestamp",)
    return _timestamp_format(stamps[0].present_values)


def _classify_one(attribute: _Attribute, region: str | None) -> None:
    values = attribute.present_values
    numeric = bool(values) and all(_is_number(v) for v in values)
    attribute.content_type = "NUMBER" if numeric else "STRING"
    if not attribute.scalar:
        return  # lists, objects, booleans: kept as they are
    words, compact = attribute.words, attribute.compact
    texts = [str(v).strip() for v in values]

    # timestamp of the source's last update
    stamp_rank = min((_TIMESTAMP_WORDS[w] for w in (*words, compact) if w in _TIMESTAMP_WORDS),
                     default=None)  # fmt: skip
    if stamp_rank is not None and texts and _timestamp_format(values) is not None:
        attribute.kind, attribute.rank = "timestamp", stamp_rank
        return

    # e-mail: by its values, or by its name when it has none
    email_name = compact.endswith(("email", "emailaddress")) or compact == "mail"
    if (texts and all(_EMAIL.fullmatch(t) for t in texts)) or (not texts and email_name):
        attribute.content_type, attribute.kind = "EMAIL_ADDRESS", "email"
        qualified = [t for names, t in _EMAIL_TARGETS if names & set(words)]
        attribute.rank = 1 if qualified else 0
        attribute.wants = tuple(f"_profile.{t}" for t in ("EmailAddress", *qualified))
        return

    # phone: a phone name, and values that read as phone numbers
    if (set(words) & _PHONE_WORDS or compact in _PHONE_WORDS) and (
        words[-1] in _PHONE_ENDS or compact in _PHONE_WORDS
    ):
        phones = [normalize_phone(t, region) for t in texts]
        if all(p is not None and _E164.fullmatch(p) for p in phones):
            attribute.content_type, attribute.kind = "PHONE_NUMBER", "phone"
            target = next((t for names, t in _PHONE_TARGETS if names & set(words)), "PhoneNumber")
            attribute.rank = 0 if target == "PhoneNumber" else 1
            attribute.wants = (f"_profile.{target}",)
            return

    if numeric and not _numeric_allowed(attribute):
        return
    parent_last = attribute.parent_words[-1] if attribute.parent_words else ""
    for synonyms, target in ((_FIRST, "FirstName"), (_MIDDLE, "MiddleName"), (_LAST, "LastName")):
        if compact in synonyms:
            _want(attribute, target, synonyms.index(compact), "NAME")
            return
    if parent_last == "name" and compact in _IN_NAME:
        _want(attribute, _IN_NAME[compact], 1, "NAME")
        return
    if compact in _FULL_NAME and (
        attribute.depth == 1 or parent_last in _PERSON_PARENTS
    ):
        attribute.content_type = "NAME"  # no standard target: kept as an attribute
        return
    if compact in _BIRTH:
        if not texts or all(normalize_date(t) for t in texts):
            _want(attribute, "BirthDate", _BIRTH.index(compact))
        return
    for synonyms, target in ((_GENDER, "GenderString"), (_ACCOUNT, "AccountNumber"),
                             (_BUSINESS, "BusinessName")):  # fmt: skip
        if compact in synonyms:
            _want(attribute, target, synonyms.index(compact))
            return
    _address_part(attribute)


def _numeric_allowed(attribute: _Attribute) -> bool:
    """JSON numbers may still be an account number or an address part (a zip code)."""
    compact = attribute.compact
    return compact in _ACCOUNT or any(
        compact.endswith(p) for p in ("zip", "zipcode", "postalcode", "postcode", "zip5")
    )


def _want(attribute: _Attribute, target: str, rank: int, content_type: str | None = None) -> None:
    attribute.wants, attribute.rank = (f"_profile.{target}",), rank
    if content_type:
        attribute.content_type = content_type
    elif attribute.content_type == "NUMBER":
        attribute.content_type = "STRING"  # an identifier-like number keeps its digits as text


def _address_part(attribute: _Attribute) -> None:
    words = attribute.words
    path_words = set(attribute.parent_words) | set(words)
    group = next((g for w, g in _ADDRESS_GROUPS.items() if w in path_words), "Address")
    bare = [w for w in words if w not in _ADDRESS_QUALIFIERS]
    qualified = len(bare) < len(words)
    candidates = ["".join(bare)]
    if len(bare) > 1 and bare[0] in ("address", "addr"):
        candidates.append("".join(bare[1:]))
        qualified = True
    for candidate in candidates:
        for part, synonyms in _ADDRESS_PARTS.items():
            if candidate in synonyms:
                _want(attribute, f"{group}.{part}", synonyms.index(candidate))
                attribute.kind = "" if candidate not in _CONTEXT_PARTS or qualified else "context"
                return


def _check_address_context(attribute: _Attribute, attributes: list[_Attribute]) -> None:
    """An ambiguous part (``state``) is an address part only beside an address: an address
    parent, or a sibling that is surely an address part."""
    attribute.kind = ""
    if set(attribute.parent_words) & _ADDRESS_CONTEXT:
        return
    for other in attributes:
        sibling = other.path[:-1] == attribute.path[:-1] and other is not attribute
        if sibling and other.kind == "" and _is_address(other):
            return
    attribute.wants, attribute.rank = (), 0
    if attribute.present_values and all(_is_number(v) for v in attribute.present_values):
        attribute.content_type = "NUMBER"


def _is_address(attribute: _Attribute) -> bool:
    return bool(attribute.wants) and attribute.wants[0].split(".")[1].endswith("Address")


def _timestamp_format(values: Iterable[Any]) -> str | None:
    texts = [str(v).strip() for v in values if not isinstance(v, bool)]
    if not texts or any(isinstance(v, bool) for v in values):
        return None
    if all(_EPOCH_MILLI.fullmatch(t) for t in texts):
        return "EpochMilli"
    for pattern in TIMESTAMP_PATTERNS:
        if all(parse_source_timestamp(t, pattern) is not None for t in texts):
            return pattern
    return None


# targets, field names, keys


def _assign_targets(attributes: list[_Attribute]) -> None:
    """Each standard target goes to one attribute (nearest the top, most exact name, first
    seen); every other attribute becomes ``_profile.Attributes.<name>``."""
    taken: set[str] = set()
    for attribute in sorted(attributes, key=lambda a: (a.depth, a.rank, a.order)):
        for target in attribute.wants:
            if target not in taken:
                taken.add(target)
                attribute.target = target
                break
    names: set[str] = set()
    for attribute in attributes:
        if attribute.target is None:
            name = _unique(_ATTRIBUTE_CHAR.sub("_", "_".join(attribute.path)), names)
            attribute.target = f"_profile.Attributes.{name}"


def _unique(name: str, taken: set[str], forbidden: Iterable[str] = ()) -> str:
    candidate, n = name, 1
    while candidate.lower() in taken or candidate.lower() in forbidden:
        n += 1
        candidate = f"{name}_{n}"
    taken.add(candidate.lower())
    return candidate


def _letters_first(name: str, fallback: str) -> str:
    name = name.lstrip("0123456789_-.")
    return name if name else fallback


def _name_fields(attributes: list[_Attribute]) -> None:
    taken: set[str] = set()
    for attribute in attributes:
        parts = [_FIELD_CHAR.sub("_", s) for s in attribute.path]
        name = _letters_first(".".join(parts), "field")
        attribute.field_name = _unique(name, taken, forbidden=("tags",))


def _is_id(attribute: _Attribute) -> int | None:
    """The rank of an id-like attribute (0 best), None if it is not one."""
    words, compact = attribute.words, attribute.compact
    if compact in ("id", "uuid", "guid"):
        return 0
    if compact in _ID_SELF:
        return 1
    if words and words[-1] in ("id", "uuid", "guid"):
        return 2
    return None


_PHONE_ORDER = ("_profile.PhoneNumber", "_profile.MobilePhoneNumber", "_profile.HomePhoneNumber",
                "_profile.BusinessPhoneNumber")  # fmt: skip


def _phone_order(attribute: _Attribute) -> tuple[int, int, int]:
    """The phone the ``_phone`` key uses: the main number, then mobile, home, business."""
    target = attribute.target or ""
    rank = _PHONE_ORDER.index(target) if target in _PHONE_ORDER else len(_PHONE_ORDER)
    return rank, attribute.depth, attribute.order


def _keys(attributes: list[_Attribute]) -> dict[str, list[dict[str, Any]]]:
    ids = [
        (a, rank)
        for a in attributes
        if (rank := _is_id(a)) is not None and a.present_values and a.scalar and a.kind == ""
    ]
    ids.sort(key=lambda pair: (-pair[0].seen_in, pair[0].depth, pair[1], pair[0].order))
    emails = [a for a in attributes if a.kind == "email" and a.target == "_profile.EmailAddress"]
    phones = sorted((a for a in attributes if a.kind == "phone"), key=_phone_order)
    keys: dict[str, list[dict[str, Any]]] = {}
    both = ["PROFILE", "UNIQUE"]
    if ids:
        unique = ids[0][0]
        name = _letters_first(re.sub(r"[^A-Za-z0-9_\-]", "_", unique.field_name), "objectId")
        keys[name] = [{"StandardIdentifiers": both, "FieldNames": [unique.field_name]}]
    elif not emails:
        raise BadRequestException(NO_UNIQUE_KEY)
    if emails:
        identifiers = ["PROFILE"] if ids else both
        email = emails[0].field_name
        keys["_email"] = [{"StandardIdentifiers": identifiers, "FieldNames": [email]}]
    if phones:
        phone = phones[0].field_name
        keys["_phone"] = [{"StandardIdentifiers": ["PROFILE"], "FieldNames": [phone]}]
    return keys
