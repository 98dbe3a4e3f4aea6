"""ML-based matching (``Matching``): a probabilistic model of a domain's own profiles.

``find_ml_matches(profiles, settings)`` takes ``(profile_id, profile document)`` pairs (the API's
Profile shape) and returns the match groups of one Identity Resolution Job in an ``MlResult``:
``MlMatch(match_id, profile_ids, confidence)`` for groups of two or more profiles, the number of
profiles reviewed, and ``skipped``, why no model was trained, if none was. It is
``match_prepared(prepare(profiles, phone_region), settings)``: ``prepare`` reads the profiles once
into columns (a job calls it while reading its store), ``match_prepared`` trains and matches.
Neither touches the store: they work on their arguments alone and return values. This is the
only module that imports splink, and it does so when called, not at import.

**Engine.** A Fellegi-Sunter model in Splink over an in-memory DuckDB database, one Linker per
call (never shared between threads), trained without labels on the profiles being matched: the
model learns from the domain itself what agreement on each attribute is worth.

**Columns.** Values go through the same normalization as rule-based matching (``engine.normalize``
through the extraction helpers of ``rules``), so both engines agree on when two values are equal:
first and last name (case, accents, spaces folded) and their concatenation (for term
frequencies); middle name without dots (``J.`` = ``J``); every email of EmailAddress,
PersonalEmailAddress and BusinessEmailAddress (lower case); every phone of PhoneNumber,
MobilePhoneNumber, HomePhoneNumber and BusinessPhoneNumber (E.164, national numbers read in
``phone_region``); BirthDate as a date (any format ``normalize_date`` reads); for every address
type (Address, ShippingAddress, MailingAddress, BillingAddress, BusinessAddress) the ZIP or postal
code, and the street line joined with it (``12 n main st|98101``: abbreviations and units folded);
AccountNumber.

**Comparisons** (each with a level for a missing value, which counts neither way):

- names: Splink's ``ForenameSurnameComparison``: both equal (weighted by how common the full name
  is), first and last swapped, both Jaro-Winkler >= 0.92, both >= 0.88, last name only, first
  name only, else;
- middle name: equal, one is the initial of the other, else;
- emails: an email in common, else;
- contact (phones and addresses together): a phone and a street address in common, a phone in
  common, a street address in common, each only while the first names agree (Jaro-Winkler >=
  0.88, or one's first name is the other's last name); else a postal code in common; else.
  Households share a home phone and an address but not a first name, and one household's phone
  and address are not independent evidence: counted apart, they outweigh any name and birth date
  that disagree. A household's shared contact thus counts as a shared postal code;
- birth date: Splink's ``DateOfBirthComparison``: equal, one character apart
  (``1985-03-07`` / ``1985-03-01``), one day apart, else;
- account number: equal, else.

**Blocking** (which pairs are scored at all): a shared email, phone or street address (array
columns exploded), equal first and last name, first and last name swapped, last name and birth
date, first name and birth date, postal code and birth date. Pairs with equal names grow with the
square of a name's frequency; the others stay about linear in the number of profiles.

**Training**, without labels:

- the probability that two random profiles match (the prior) from deterministic rules: pairs
  sharing an email, a phone and first name, or a full name and birth date are counted and taken
  to be 80% of the matching pairs (``DETERMINISTIC_RECALL``);
- ``u`` (how often random pairs agree) from ``u_max_pairs`` random pairs, drawn by a hash seeded
  with ``seed``;
- ``m`` (how often matching pairs agree) by expectation maximisation in three passes: over pairs
  with equal names (it learns everything but the names and the contact), pairs sharing an email
  (everything but the emails) and pairs sharing a birth date (everything but the birth dates; it
  covers domains without emails), each capped at ``em_max_pairs`` pairs by Splink's hash
  sampling. A pass whose blocking finds no pair is left out; a level no pass observes keeps
  Splink's default.

**Groups and confidence.** Pairs scoring a match probability of at least ``threshold`` are
linked, and linked profiles form a group (connected components, so a group may hold two profiles
that were never compared directly). A group's ConfidenceScore is its weakest necessary link: the
highest threshold at which all its profiles would still form one group (the bottleneck of the
group's maximum spanning tree over the scored links), so it lies in ``[threshold, 1]``. A group
held together by near-certain links scores close to 1; one that a slightly higher threshold would
split scores close to the threshold. Rounded to 6 decimals. A group's MatchId is a hash of its
sorted profile ids, so an unchanged group keeps its id from job to job.

**Thresholds** were chosen by measurement on the labelled test bed of
``benchmarks/ml_matching_quality.py`` (seeds 42 and 7, 10,000 and 100,000 profiles): pairwise F1
stays within 0.968-0.974 for any threshold from 0.7 to 0.95; 0.8 has the best mean (0.970) with a
pairwise precision of 0.98. Splink's direct example on the same data reaches 0.71 and 0.07.
The Jaro-Winkler thresholds are Splink's defaults.

**Determinism.** The same profiles in the same order give the same groups and scores: random
pairs and EM samples are chosen by hashes of the row number, and scores are rounded.

**Degenerate domains** return no matches, with ``skipped`` saying why, rather than a model
trained on nothing:

- fewer than two profiles;
- no pair caught by the deterministic rules: no example of a match to learn from;
- a prior above ``MAX_PRIOR`` (a quarter of all pairs): random pairs no longer stand for
  non-matches, so ``u`` cannot be estimated (two or three profiles that are duplicates, say).

Any other domain is matched, however small; the scores of a small domain rest on few pairs.

**Resources.** ``prepare`` builds Arrow record batches of ``BATCH`` profiles, so Python holds one
batch of values at a time; the predictions kept are those at or above the threshold. DuckDB
spills to a temporary directory of its own when memory runs short. Splink's log messages are
silenced (``_quiet_splink``). One million profiles of the test bed take about 3 minutes on two
cores (more than half of it in ``prepare``, mostly parsing phone numbers) and 2.5 GB above the
profiles themselves; pairwise F1 is then 0.94 (recall 0.89: more namesakes share each name).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson

from openprofiles.engine.matching.rules import (
    DEFAULT_SELECTOR,
    TYPE_FIELDS,
    address_part,
    plain_value,
    root,
    text_of,
)
from openprofiles.engine.normalize import normalize_email, normalize_phone

if TYPE_CHECKING:
    import pyarrow as pa
    from splink import Linker, SettingsCreator

#: pairs at or above this match probability are linked (see "Thresholds" above)
THRESHOLD = 0.8
#: share of the matching pairs the deterministic rules are assumed to find
DETERMINISTIC_RECALL = 0.8
#: above this share of matching pairs, random pairs cannot stand for non-matches
MAX_PRIOR = 0.25
#: deterministic rules: pairs agreeing on all of one of these are taken as matches
DETERMINISTIC = (("email",), ("phone", "first_name"), ("first_name", "last_name", "birth_date"))
#: expectation-maximisation passes, by the columns of their blocking
EM_BLOCKS = (("first_name", "last_name"), ("email",), ("birth_date",))
BATCH = 50_000
RULES_TEXT = "an email address, a phone number and first name, or a full name and birth date"
NOTHING_TO_LEARN = f"no two profiles share {RULES_TEXT}: there is no match to learn from"
TOO_FEW = (
    "too few profiles to learn from: {found} of their {pairs} pairs share "
    + RULES_TEXT
    + ", and the model needs mostly unrelated pairs"
)

EMAIL_FIELDS = tuple(DEFAULT_SELECTOR["EmailAddress"])
PHONE_FIELDS = tuple(DEFAULT_SELECTOR["PhoneNumber"])
ADDRESS_FIELDS = tuple(dict.fromkeys(TYPE_FIELDS["Address"].values()))


@dataclass(frozen=True)
class MlSettings:
    #: pairs whose match probability is at least this are linked into groups
    threshold: float = THRESHOLD
    #: region in which national phone numbers are read (the domain's)
    phone_region: str | None = "US"
    #: random pairs drawn to estimate how often non-matching profiles agree
    u_max_pairs: float = 1e6
    #: at most this many pairs per expectation-maximisation pass
    em_max_pairs: float = 5e6
    seed: int = 42


@dataclass(frozen=True)
class MlMatch:
    match_id: str
    profile_ids: tuple[str, ...]
    #: ConfidenceScore in [threshold, 1]: the weakest link the group needs
    confidence: float


@dataclass(frozen=True)
class MlResult:
    matches: tuple[MlMatch, ...]
    #: profiles reviewed (JobStats.NumberOfProfilesReviewed)
    profiles: int
    #: why no model was trained (then ``matches`` is empty); None when it was
    skipped: str | None = None


@dataclass(frozen=True)
class Prepared:
    """The profiles as the model's columns (``prepare``); row ``i`` is profile ``ids[i]``."""

    ids: list[str]
    table: pa.Table


def find_ml_matches(
    profiles: Iterable[tuple[str, dict[str, Any]]], settings: MlSettings | None = None
) -> MlResult:
    """The match groups of ``profiles`` under a model trained on them (module docstring)."""
    settings = settings or MlSettings()
    return match_prepared(prepare(profiles, settings.phone_region), settings)


def prepare(profiles: Iterable[tuple[str, dict[str, Any]]], phone_region: str | None) -> Prepared:
    """The normalized columns of ``(profile id, document)`` pairs, read once, in Arrow batches
    of BATCH profiles (so a job can read its profiles in a transaction and match after it)."""
    import pyarrow as pa

    ids: list[str] = []
    batches = list(_batches(profiles, ids, phone_region))
    return Prepared(ids, pa.Table.from_batches(batches, schema=_schema()))


def match_prepared(prepared: Prepared, settings: MlSettings | None = None) -> MlResult:
    """Train the model on the prepared profiles and return their match groups."""
    settings = settings or MlSettings()
    ids = prepared.ids
    if len(ids) < 2:
        return MlResult((), len(ids), "fewer than two profiles: nothing to compare")
    import duckdb

    _quiet_splink()
    with tempfile.TemporaryDirectory(prefix="openprofiles-ml-") as spill:
        con = duckdb.connect(config={"temp_directory": spill})
        try:
            return _match(con, prepared.table, ids, settings)
        finally:
            con.close()


def _match(con: Any, table: pa.Table, ids: list[str], settings: MlSettings) -> MlResult:
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI(con)
    registered = db_api.register(table, table_name="profiles")
    name = registered.physical_name
    pairs = len(ids) * (len(ids) - 1) // 2
    found = _deterministic_pairs(con, name)
    if not found:
        return MlResult((), len(ids), NOTHING_TO_LEARN)
    prior = found / DETERMINISTIC_RECALL / pairs
    if prior > MAX_PRIOR:
        return MlResult((), len(ids), TOO_FEW.format(found=found, pairs=pairs))
    linker = Linker(registered, _model(prior), log_level=None)
    _train(linker, con, name, settings)
    predictions = linker.inference.predict(threshold_match_probability=settings.threshold)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, settings.threshold
    )
    members = con.sql(
        f"select cluster_id, unique_id from {clusters.physical_name} qualify "
        "count(*) over (partition by cluster_id) > 1"
    ).fetchall()
    edges = con.sql(
        f"select unique_id_l, unique_id_r, match_probability from {predictions.physical_name}"
    ).fetchall()
    return MlResult(tuple(_groups(ids, members, edges)), len(ids))


# -- preparation ---------------------------------------------------------------------------------

COLUMNS: dict[str, str] = {
    "unique_id": "int64",
    "first_name": "string",
    "last_name": "string",
    "full_name": "string",
    "middle_name": "string",
    "emails": "strings",
    "email": "string",
    "phones": "strings",
    "phone": "string",
    "birth_date": "date",
    "postcodes": "strings",
    "postcode": "string",
    "streets": "strings",
    "account": "string",
}


@lru_cache(maxsize=1)
def _schema() -> pa.Schema:
    import pyarrow as pa

    types = {
        "int64": pa.int64(),
        "string": pa.string(),
        "strings": pa.list_(pa.string()),
        "date": pa.date32(),
    }
    return pa.schema([(name, types[kind]) for name, kind in COLUMNS.items()])


def _distinct(
    document: dict[str, Any], fields: tuple[str, ...], normalize: Callable[[str | None], str | None]
) -> list[str]:
    found: list[str] = []
    for field in fields:
        raw = document.get(field)
        if raw and (value := normalize(text_of(raw))) and value not in found:
            found.append(value)
    return found


def _row(document: dict[str, Any], phone_region: str | None) -> dict[str, Any]:
    first = plain_value(document, "FirstName")
    last = plain_value(document, "LastName")
    middle = (plain_value(document, "MiddleName") or "").replace(".", "").strip()
    birth = plain_value(document, "BirthDate")
    emails = _distinct(document, EMAIL_FIELDS, normalize_email)
    phones = _distinct(document, PHONE_FIELDS, lambda v: normalize_phone(v, phone_region))
    postcodes: list[str] = []
    streets: list[str] = []
    for field in ADDRESS_FIELDS:
        address = document.get(field)
        if not isinstance(address, dict):
            continue
        postcode = address_part(address, "PostalCode")
        street = address_part(address, "Address")
        if postcode and postcode not in postcodes:
            postcodes.append(postcode)
        if street and f"{street}|{postcode or ''}" not in streets:
            streets.append(f"{street}|{postcode or ''}")
    return {
        "first_name": first,
        "last_name": last,
        "full_name": f"{first} {last}" if first and last else None,
        "middle_name": middle or None,
        "emails": emails or None,
        "email": emails[0] if emails else None,
        "phones": phones or None,
        "phone": phones[0] if phones else None,
        "birth_date": date.fromisoformat(birth) if birth else None,
        "postcodes": postcodes or None,
        "postcode": postcodes[0] if postcodes else None,
        "streets": streets or None,
        "account": plain_value(document, "AccountNumber"),
    }


def _batches(
    profiles: Iterable[tuple[str, dict[str, Any]]], ids: list[str], phone_region: str | None
) -> Iterator[pa.RecordBatch]:
    """The prepared columns as Arrow batches; appends each profile id to ``ids`` (the row's
    ``unique_id`` is its index there)."""
    import pyarrow as pa

    schema = _schema()
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for profile_id, document in profiles:
        columns["unique_id"].append(len(ids))
        ids.append(profile_id)
        for name, value in _row(document, phone_region).items():
            columns[name].append(value)
        if len(columns["unique_id"]) == BATCH:
            yield pa.RecordBatch.from_pydict(columns, schema=schema)
            columns = {name: [] for name in COLUMNS}
    if columns["unique_id"]:
        yield pa.RecordBatch.from_pydict(columns, schema=schema)


# -- model ---------------------------------------------------------------------------------------


def _model(prior: float) -> SettingsCreator:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    agree = cll.CustomLevel(
        "jaro_winkler_similarity(first_name_l, first_name_r) >= 0.88 or first_name_l = last_name_r",
        label_for_charts="first names agree",
    )
    phone = cll.ArrayIntersectLevel("phones", 1)
    street = cll.ArrayIntersectLevel("streets", 1)
    contact = cl.CustomComparison(
        comparison_levels=[
            cll.And(cll.NullLevel("phones"), cll.NullLevel("postcodes"), cll.NullLevel("streets")),
            cll.And(phone, street, agree),
            cll.And(phone, agree),
            cll.And(street, agree),
            cll.ArrayIntersectLevel("postcodes", 1),
            cll.ElseLevel(),
        ],
        output_column_name="contact",
    )
    emails = cl.CustomComparison(
        comparison_levels=[
            cll.NullLevel("emails"),
            cll.ArrayIntersectLevel("emails", 1),
            cll.ElseLevel(),
        ],
        output_column_name="emails",
    )
    middle = cl.CustomComparison(
        comparison_levels=[
            cll.NullLevel("middle_name"),
            cll.ExactMatchLevel("middle_name"),
            cll.CustomLevel(
                "(length(middle_name_l) = 1 or length(middle_name_r) = 1) "
                "and substr(middle_name_l, 1, 1) = substr(middle_name_r, 1, 1)",
                label_for_charts="one is the other's initial",
            ),
            cll.ElseLevel(),
        ],
        output_column_name="middle_name",
    )
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=prior,
        comparisons=[
            cl.ForenameSurnameComparison(
                "first_name", "last_name", forename_surname_concat_col_name="full_name"
            ),
            middle,
            emails,
            contact,
            cl.DateOfBirthComparison(
                "birth_date",
                input_is_string=False,
                datetime_thresholds=[1],
                datetime_metrics=["day"],
            ),
            cl.ExactMatch("account"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("emails", arrays_to_explode=["emails"]),
            block_on("phones", arrays_to_explode=["phones"]),
            block_on("first_name", "last_name"),
            "l.first_name = r.last_name and l.last_name = r.first_name",
            block_on("last_name", "birth_date"),
            block_on("first_name", "birth_date"),
            block_on("postcode", "birth_date"),
            block_on("streets", arrays_to_explode=["streets"]),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def _deterministic_pairs(con: Any, table: str) -> int:
    """Pairs of profiles that agree on all the columns of one of the DETERMINISTIC rules."""
    joins = " union ".join(
        f"select l.unique_id, r.unique_id from {table} l join {table} r on "
        + " and ".join(f"l.{c} = r.{c}" for c in columns)
        + " and l.unique_id < r.unique_id"
        for columns in DETERMINISTIC
    )
    return int(con.sql(f"select count(*) from ({joins})").fetchall()[0][0])


def _pairs(con: Any, table: str, *columns: str) -> int:
    """How many pairs of rows share a non-null value of every column."""
    present = " and ".join(f"{c} is not null" for c in columns)
    found = con.sql(
        f"select coalesce(sum(n * (n - 1) // 2), 0) from (select count(*) as n from {table} "
        f"where {present} group by {', '.join(columns)})"
    ).fetchall()
    return int(found[0][0])


def _train(linker: Linker, con: Any, table: str, settings: MlSettings) -> None:
    """u from random pairs, then m by expectation maximisation over the pairs of each of
    EM_BLOCKS (a pass whose blocking finds no pair is left out)."""
    from splink import block_on

    linker.training.estimate_u_using_random_sampling(
        max_pairs=settings.u_max_pairs, seed=settings.seed
    )
    for columns in EM_BLOCKS:
        pairs = _pairs(con, table, *columns)
        if pairs:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*columns),
                estimate_without_term_frequencies=True,
                max_pairs=settings.em_max_pairs if pairs > settings.em_max_pairs else None,
            )


# -- groups --------------------------------------------------------------------------------------


def _groups(
    ids: list[str], members: list[tuple[Any, int]], edges: list[tuple[int, int, float]]
) -> list[MlMatch]:
    """The groups of two or more rows, each with its confidence, in profile id order."""
    grouped: dict[Any, list[int]] = {}
    for cluster_id, row in members:
        grouped.setdefault(cluster_id, []).append(row)
    cluster_of = {row: cluster_id for cluster_id, rows in grouped.items() for row in rows}
    links: dict[Any, list[tuple[float, int, int]]] = {}
    for left, right, probability in edges:
        if left in cluster_of and cluster_of[left] == cluster_of.get(right):
            links.setdefault(cluster_of[left], []).append((probability, left, right))
    found = []
    for cluster_id, rows in grouped.items():
        profile_ids = tuple(sorted(ids[row] for row in rows))
        digest = hashlib.blake2b(orjson.dumps(["ML", profile_ids]), digest_size=16).hexdigest()
        confidence = _weakest_link(rows, links.get(cluster_id, []))
        found.append(MlMatch(digest, profile_ids, round(min(max(confidence, 0.0), 1.0), 6)))
    return sorted(found, key=lambda m: m.profile_ids)


def _weakest_link(rows: list[int], links: list[tuple[float, int, int]]) -> float:
    """The lowest link of the maximum spanning tree: links are added strongest first (Kruskal)
    until every row is connected; the last one added is the answer."""
    parent: dict[int, int] = {}
    unjoined = len(rows) - 1
    for probability, left, right in sorted(links, reverse=True):
        a, b = root(parent, left), root(parent, right)
        if a != b:
            parent[a] = b
            unjoined -= 1
            if unjoined == 0:
                return probability
    return 0.0


def _quiet_splink() -> None:
    """Splink logs progress and warnings (defaults in use, levels not observed) at INFO and
    WARNING through the ``splink`` logger; a job reports through its own status instead. The
    logger is set to ERROR unless something configured its level already."""
    splink_logger = logging.getLogger("splink")
    if splink_logger.level == logging.NOTSET:
        splink_logger.setLevel(logging.ERROR)
