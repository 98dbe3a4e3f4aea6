"""A calculated attribute's value in SQL: `values.aggregate` written as one correlated subquery,
so that a segment compares the value of every profile within the one query it compiles to.

The subquery reads the profile's observations of one definition through the index
``(profile_pk, definition_id)`` of calculated_observations (the few rows of one profile, never a
scan of the domain), keeps the unexpired ones (no expires_at, or one after ``now``), then follows
`values.aggregate` step by step:

- the Range, or a RangeOverride given instead, keeps the rows with
  ``now - Start days <= observed_at <= now - End days``, ``now`` being the time of evaluation;
- ObjectCount keeps the N most recent rows by (observed_at, object_pk), with or without a value:
  a derived table, ordered and limited, under the statistic;
- FIRST_OCCURRENCE / LAST_OCCURRENCE take the first / last row with a value in that order;
  MAX_OCCURRENCE counts each value over the rows (a window count), and takes the value of the
  first row by (count, observed_at, object_pk) descending: the most frequent value, a tie going
  to the one seen most recently; COUNT counts the rows with a value (none: no value);
- SUM, AVERAGE, MINIMUM and MAXIMUM read the values that are numbers (below);
- a Threshold turns the result into ``'true'`` or ``'false'``: numbers against a number as
  numbers, anything else as text in code point order (``COLLATE "C"`` on PostgreSQL, whose
  default collation is linguistic); text is cut to its first 255 characters, as Value is.

`matches` does not return the value: it takes the comparison (a predicate over the value,
strictly true or false also when the value is NULL) and puts it inside the subquery, so each
profile's value is computed once however often the comparison names it, and the subquery
answers true or false. An aggregate without GROUP BY always gives one row, so the subquery is
never empty; the statistics that pick a row (FIRST_, LAST_, MAX_OCCURRENCE) take ``max()`` of the
none or one row they pick for the same reason. The value is a double for COUNT, SUM, AVERAGE,
MINIMUM and MAXIMUM without a Threshold (`NUMBER`), ``'true'``/``'false'`` with one
(`BOOLEAN`), and the text of the value otherwise (`TEXT`).

Numbers. A text is a number when `scalars.parse_number` says so; in SQL:

- SQLite: ``CAST(value AS REAL) = value``. The comparison gives the text numeric affinity, which
  converts exactly the well-formed numbers (sign, digits with at most one point, exponent,
  surrounding whitespace), so anything else (``12abc``, ``1e``, ``.``) stays text and compares
  unequal. It is native, where a REGEXP would call back into Python for every row. The
  separators ``\\x1c``-``\\x1f``, which Python counts as whitespace and SQLite does not, are
  trimmed in a second branch that only texts which are not plain numbers reach.
- PostgreSQL: the pattern of parse_number (``~``), then ``numeric``. Exponents have at most three
  digits there (PostgreSQL's numeric stops short of parse_number's range).

Digits and whitespace outside ASCII (``'٣'``, a no-break space), which parse_number accepts,
make no number in SQL.

Sums. The API's Value of a SUM or AVERAGE is exact decimal arithmetic (28 digits), and a
segment reads it as a double. PostgreSQL sums ``numeric`` (exactly; an AVERAGE is carried to 30
decimal places) and converts the result to a double once. SQLite has no decimal type: it sums
doubles, whose rounding errors would make ``0.1 + 0.2`` differ from ``0.3``. The exact sum of
decimals has no more decimal places than the most precise value (D, counted from each value's
text: the characters after the point, plus a negative exponent), so the double sum ``s`` is
snapped back to it: ``N = round(s * 10^D)`` is the exact sum in units of 10^-D when the error of
the sum, at most ``(count + 1) * sum(|x|) * 2^-53``, scaled by 10^D stays under an eighth
(``(count + 1) * sum(|x|) * 10^D < 2^50``); SUM is then ``N / 10^D`` and AVERAGE
``N / (count * 10^D)``, one division of two exact doubles each, hence the double nearest to the
exact result, as the API's Value read as a double is. Past that bound (about 15 significant
digits) the plain double sum is used, which may differ from the Value in its last bits.
MINIMUM and MAXIMUM of doubles are the doubles of the decimal minimum and maximum. What stays
apart: a Threshold compares numbers as doubles on SQLite (as exact decimals on PostgreSQL), so a
Threshold Value of more than 15 significant digits may compare otherwise than with the Value; a
numeric result compared by GREATER_THAN or LESS_THAN with a Threshold Value that is not a number
is written with at most 15 significant digits on SQLite; on PostgreSQL, results beyond the range
of a double become infinite, and those under 1e-300 zero.

Cost, for a segment over millions of profiles: the number test and the decimal places are a few
native calls per row, no GLOB, no callback; SUM and AVERAGE read each row's number once in a
derived table that ``OFFSET 0`` keeps apart (merged into the aggregate, it would be read once
per aggregate); the subquery runs only for the profiles that the cheaper terms of the segment's
predicate leave undecided (the compiler puts it last).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    Numeric,
    Text,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.sql import ColumnElement, FromClause

from openprofiles.engine.calculated.definitions import Definition
from openprofiles.engine.calculated.scalars import parse_number
from openprofiles.engine.calculated.values import range_window
from openprofiles.store.schema import calculated_observations

NUMBER, BOOLEAN, TEXT = "number", "boolean", "text"
NUMERIC_STATISTICS = ("COUNT", "SUM", "AVERAGE", "MINIMUM", "MAXIMUM")
DAY = 86400.0
#: the longest Value the API returns (string1To255)
MAX_VALUE = 255
#: what parse_number's ``\s`` strips in ASCII
WHITESPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_SEPARATORS = "*[\x1c-\x1f]*"
_WS = f"[{WHITESPACE}]*"
_PG_NUMBER = f"^{_WS}[-+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?0*[0-9]{{1,3}})?{_WS}$"
#: decimal places past which SQLite's double sum is not snapped (a double holds 15 digits)
_MAX_PLACES = 15
#: a numeric with 30 decimal places: dividing it carries the quotient that far (PostgreSQL)
_PG_SCALE = "1.000000000000000000000000000000"

#: a comparison of the value: strictly true or false, also for NULL (no value)
Test = Callable[[ColumnElement[Any]], ColumnElement[bool]]


def kind_of(definition: Definition) -> str:
    """What the value is for comparisons: `BOOLEAN` (a Threshold), `NUMBER` (a numeric
    statistic) or `TEXT` (FIRST_OCCURRENCE, LAST_OCCURRENCE, MAX_OCCURRENCE)."""
    if definition.conditions.get("Threshold") is not None:
        return BOOLEAN
    return NUMBER if definition.statistic in NUMERIC_STATISTICS else TEXT


def matches(
    definition: Definition,
    profile_pk: ColumnElement[Any],
    now: float,
    dialect: str,
    test: Test,
    range_override: dict[str, Any] | None = None,
) -> ColumnElement[bool]:
    """Whether the value of the profile ``profile_pk`` (a column of the enclosing query) at
    ``now`` (epoch seconds) passes ``test``: one correlated subquery."""
    value, source, where = _value(definition, profile_pk, now, dialect, range_override)
    query = select(test(value)).select_from(source).where(*where)
    return query.scalar_subquery()


def value_of(
    definition: Definition,
    profile_pk: ColumnElement[Any],
    now: float,
    dialect: str,
    range_override: dict[str, Any] | None = None,
) -> ColumnElement[Any]:
    """The value itself, as comparisons see it (see `kind_of`): one correlated subquery."""
    value, source, where = _value(definition, profile_pk, now, dialect, range_override)
    return select(value).select_from(source).where(*where).scalar_subquery()


def number_of(text: ColumnElement[Any], dialect: str) -> ColumnElement[float]:
    """The double a text writes as parse_number reads it, NULL when it is not a number."""
    if dialect == "postgresql":
        return _double(_decimal(text))
    return _sqlite_number(text)


# --- the rows and the statistic -------------------------------------------------------------


@dataclass(frozen=True)
class _Rows:
    """The observations that count, as columns of ``source`` filtered by ``where``."""

    value: ColumnElement[Any]
    observed_at: ColumnElement[Any]
    object_pk: ColumnElement[Any]
    source: FromClause
    where: list[ColumnElement[bool]]


def _rows(
    definition: Definition,
    profile_pk: ColumnElement[Any],
    now: float,
    range_override: dict[str, Any] | None,
) -> _Rows:
    rows = calculated_observations.alias()
    where: list[ColumnElement[bool]] = [
        rows.c.profile_pk == profile_pk,
        rows.c.definition_id == definition.id,
        or_(rows.c.expires_at.is_(None), rows.c.expires_at > now),
    ]
    conditions = definition.conditions
    found = range_window(range_override or conditions.get("Range"))
    if found is not None:
        where.append(rows.c.observed_at.between(now - found[0] * DAY, now - found[1] * DAY))
    if not conditions.get("ObjectCount"):
        return _Rows(rows.c.value, rows.c.observed_at, rows.c.object_pk, rows, where)
    kept = (
        select(rows.c.value, rows.c.observed_at, rows.c.object_pk)
        .where(*where)
        .order_by(rows.c.observed_at.desc(), rows.c.object_pk.desc())
        .limit(conditions["ObjectCount"])
        .correlate_except(rows)
        .subquery()
    )
    return _Rows(kept.c.value, kept.c.observed_at, kept.c.object_pk, kept, [])


def _value(
    definition: Definition,
    profile_pk: ColumnElement[Any],
    now: float,
    dialect: str,
    range_override: dict[str, Any] | None,
) -> tuple[ColumnElement[Any], FromClause, list[ColumnElement[bool]]]:
    """The value (an aggregate over ``source`` filtered by ``where``: one row, NULL without a
    value), as comparisons see it."""
    rows = _rows(definition, profile_pk, now, range_override)
    statistic = definition.statistic
    source, where = rows.source, rows.where
    if statistic in NUMERIC_STATISTICS:
        result, source, where = _numeric(statistic, rows, dialect)
    else:
        one = _one_value(statistic, rows)
        result, source, where = func.max(one.c.value), one, []
    threshold = definition.conditions.get("Threshold")
    if threshold is not None:
        return _threshold(result, statistic, threshold, dialect), source, where
    if statistic not in NUMERIC_STATISTICS:
        return func.substr(result, 1, MAX_VALUE, type_=Text), source, where
    if dialect == "postgresql":
        return _double(result), source, where
    return result, source, where


def _one_value(statistic: str, rows: _Rows) -> FromClause:
    """The row (none or one) whose value FIRST_, LAST_ or MAX_OCCURRENCE takes."""
    valued = [*rows.where, rows.value.is_not(None)]
    if statistic == "MAX_OCCURRENCE":
        counted = (
            select(
                rows.value.label("value"),
                rows.observed_at.label("observed_at"),
                rows.object_pk.label("object_pk"),
                func.count().over(partition_by=rows.value).label("seen"),
            )
            .select_from(rows.source)
            .where(*valued)
            .correlate_except(rows.source)
            .subquery()
        )
        order = [counted.c.seen.desc(), counted.c.observed_at.desc(), counted.c.object_pk.desc()]
        return select(counted.c.value).order_by(*order).limit(1).subquery()
    if statistic == "FIRST_OCCURRENCE":
        order = [rows.observed_at.asc(), rows.object_pk.asc()]
    else:
        order = [rows.observed_at.desc(), rows.object_pk.desc()]
    query = select(rows.value.label("value")).select_from(rows.source).where(*valued)
    return query.order_by(*order).limit(1).correlate_except(rows.source).subquery()


def _numeric(
    statistic: str, rows: _Rows, dialect: str
) -> tuple[ColumnElement[Any], FromClause, list[ColumnElement[bool]]]:
    """COUNT, SUM, AVERAGE, MINIMUM, MAXIMUM: an exact numeric on PostgreSQL, a double on
    SQLite; over ``rows``, or for SUM and AVERAGE over a derived table that reads each row's
    number once (the aggregates name it several times)."""
    if statistic == "COUNT":
        counted = func.nullif(func.count(rows.value), 0)
        return (
            (cast(counted, Numeric) if dialect == "postgresql" else counted),
            rows.source,
            rows.where,
        )
    reader = _decimal if dialect == "postgresql" else _sqlite_number
    if statistic in ("MINIMUM", "MAXIMUM"):
        number = reader(rows.value)
        found = func.min(number) if statistic == "MINIMUM" else func.max(number)
        return found, rows.source, rows.where
    # OFFSET 0 keeps the derived table apart: merged into the aggregate, it would be read
    # once per aggregate
    columns = [reader(rows.value).label("number")]
    if dialect != "postgresql":
        columns.append(_places(rows.value).label("places"))
    numbers = (
        select(*columns)
        .select_from(rows.source)
        .where(*rows.where)
        .offset(0)
        .correlate_except(rows.source)
    ).subquery()
    number, count, total = (
        numbers.c.number,
        func.count(numbers.c.number),
        func.sum(numbers.c.number),
    )
    if dialect == "postgresql":
        if statistic == "SUM":
            return total, numbers, []
        return total * literal_column(_PG_SCALE) / func.nullif(count, 0), numbers, []
    places = func.max(case((number.is_not(None), numbers.c.places)))
    scale = cast(literal("1e", Text).concat(places), Float)
    # the double sum's error is at most (count + 1) * sum(|x|) * 2^-53 (each value read, and
    # each addition, off by half a unit in the last place at most): scaled, under 1/8
    exact = and_(
        places <= _MAX_PLACES, (count + 1) * func.total(func.abs(number)) * scale < 2.0**50
    )
    whole = func.round(total * scale, type_=Float)
    if statistic == "SUM":
        return case((exact, whole / scale), else_=total), numbers, []
    return case((exact, whole / (count * scale)), else_=total / count), numbers, []


def _threshold(
    result: ColumnElement[Any], statistic: str, threshold: dict[str, str], dialect: str
) -> ColumnElement[Any]:
    """``'true'`` or ``'false'``: whether the result passes the Threshold (NULL without one)."""
    operator, bound_text = threshold["Operator"], threshold["Value"]
    bound = parse_number(bound_text)
    as_text: ColumnElement[Any]
    if statistic in NUMERIC_STATISTICS:
        if bound is not None:
            passes = _compare(result, operator, _bound(bound, dialect))
        elif operator in ("EQUAL_TO", "NOT_EQUAL_TO"):  # a number never equals a word
            passes = false() if operator == "EQUAL_TO" else true()
        else:
            passes = _compare(_number_text(result, dialect), operator, _text(bound_text, dialect))
    else:
        as_text = _compare(_collated(result, dialect), operator, _text(bound_text, dialect))
        if bound is None:
            passes = as_text
        else:
            number = _decimal(result) if dialect == "postgresql" else _sqlite_number(result)
            passes = case(
                (number.is_not(None), _compare(number, operator, _bound(bound, dialect))),
                else_=as_text,
            )
    return case(
        (result.is_(None), None), (passes, literal("true", Text)), else_=literal("false", Text)
    )


def _compare(
    left: ColumnElement[Any], operator: str, right: ColumnElement[Any]
) -> ColumnElement[bool]:
    if operator == "EQUAL_TO":
        return left == right
    if operator == "NOT_EQUAL_TO":
        return left != right
    return left > right if operator == "GREATER_THAN" else left < right


def _bound(bound: Decimal, dialect: str) -> ColumnElement[Any]:
    return literal(bound, Numeric) if dialect == "postgresql" else literal(float(bound), Float)


def _text(text: str, dialect: str) -> ColumnElement[Any]:
    return _collated(literal(text, Text), dialect)


def _collated(text: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """Text compared by code point, as Python compares it."""
    return text.collate("C") if dialect == "postgresql" else text


def _number_text(number: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """A numeric result written as format_number writes it, for a text comparison: no exponent,
    no trailing zeros (SQLite: 15 significant digits)."""
    if dialect == "postgresql":
        return _collated(cast(func.trim_scale(number), Text), dialect)
    scientific = func.printf("%.14e", number, type_=Text)
    exponent = cast(func.substr(scientific, func.instr(scientific, "e") + 1), Integer)
    fixed = func.printf("%.*f", func.max(0, 14 - exponent), number, type_=Text)
    trimmed = func.rtrim(func.rtrim(fixed, "0"), ".", type_=Text)
    return case((func.instr(fixed, ".") > 0, trimmed), else_=fixed)


# --- numbers --------------------------------------------------------------------------------


def _sqlite_number(text: ColumnElement[Any]) -> ColumnElement[Any]:
    real, (trimmed, separated) = cast(text, Float), _separated(text)
    return case((real == text, real), (separated, cast(trimmed, Float)))


def _separated(text: ColumnElement[Any]) -> tuple[ColumnElement[Any], ColumnElement[bool]]:
    """The text trimmed of parse_number's whitespace, and whether that is a number that has
    separators (\\x1c-\\x1f) around it, which SQLite does not take for whitespace."""
    trimmed = func.trim(text, WHITESPACE, type_=Text)
    return trimmed, and_(text.op("GLOB")(_SEPARATORS), cast(trimmed, Float) == trimmed)


def _places(text: ColumnElement[Any]) -> ColumnElement[Any]:
    """At least the decimal places of the number a text writes (SQLite): the characters after
    its point (a positive exponent and trailing blanks only add some); with a negative exponent
    (a minus sign past the first character), the digits between point and exponent plus the
    exponent's. Two searches and a length for most numbers: this runs for every row a SUM or
    an AVERAGE reads."""
    point = func.instr(text, ".")
    after_point = case((point > 0, func.length(text) - point), else_=0)
    exponent = func.instr(func.lower(text), "e")
    negative = case((point > 0, exponent - point - 1), else_=0) + cast(
        func.substr(text, exponent + 2), Integer
    )
    return case(
        (func.instr(text, "-") > 1, case((exponent > 0, negative), else_=after_point)),
        else_=after_point,
    )


def _decimal(text: ColumnElement[Any]) -> ColumnElement[Any]:
    """The numeric a text writes, NULL when it is not a number (PostgreSQL)."""
    return case((text.regexp_match(_PG_NUMBER), cast(func.btrim(text, WHITESPACE), Numeric)))


def _double(number: ColumnElement[Any]) -> ColumnElement[Any]:
    """A numeric as a double, never an error: infinite past its range, zero below 1e-300."""
    infinity = cast(literal_column("'Infinity'"), Float)
    return case(
        (number >= literal_column("1e308"), infinity),
        (number <= literal_column("-1e308"), -infinity),
        (func.abs(number) < literal_column("1e-300"), literal_column("0.0", Float)),
        else_=cast(number, Float),
    )
