"""A segment's SegmentGroups compiled into one SQL predicate over a profile row (REFERENCE 4.2-4.3).

Compiling is also the check of a definition: every rule it breaks is a `SegmentError` naming the
part (``SegmentGroups.Groups[0].Dimensions[1].ProfileAttributes.Attributes.tier.Values[0]``), so a
definition that was stored compiles. The same predicate serves estimates and membership checks.

How the parts combine (the console's documented behaviour, mapped to the API):

- a Group's profiles are those of its SourceSegments combined by ``SourceType`` (ANY: in one of
  them, the default; ALL: in every one; NONE: in none), all profiles when it has none, that also
  satisfy its Dimensions combined by ``Type`` (ALL, the default: every one; ANY: at least one;
  NONE: not one);
- the Groups combine by ``Include``: ALL (the default) intersects them, ANY unites them, NONE is
  the console's EXCLUDE: the first group minus the profiles of any later group (a single group
  under NONE: every profile not in it);
- the members set in one ``ProfileAttributes`` (and the parts of one address, and the names of one
  ``Attributes`` map, and the names of one ``CalculatedAttributes`` map) must all hold; several
  Values of one dimension are alternatives;
- a source segment is its own predicate evaluated on the same row, so nesting adds no subquery;
  a segment that reaches itself through its sources is refused.

Values compare case-sensitively as text (the documented behaviour). A profile without the
attribute satisfies no operator but the negative ones (EXCLUSIVE, NOT_BETWEEN). Numbers are
decimal text (``"12"``, ``" 1.5e3 "``), compared as doubles; text that is not a number matches no
numeric operator. Dates are compared by calendar day as ISO strings: a dimension's Values (ISO
8601 dates or instants, or epoch seconds or milliseconds) become their UTC day ``YYYY-MM-DD``,
and a stored value counts by its first ten characters when they are such a day (anything else
counts as missing). BETWEEN bounds are inclusive. On ``Attributes``, BETWEEN and NOT_BETWEEN
compare numbers when both Values are numbers, dates otherwise. A profile without ProfileType is
a ``PROFILE``.

Calculated attributes (``CalculatedAttributes``: a definition's name -> DimensionType, Values,
ConditionOverrides) are compared by their value for the profile at the time of evaluation, the
Value GetCalculatedAttributeForProfile gives, computed in the query by a correlated subquery over
the profile's observations (engine.calculated.sql): a Range window ends at the evaluation's
``now``, so membership moves with the clock, and ConditionOverrides.Range replaces the
definition's Range for this dimension (the rules of a Range: Start at least End, within 366
days). The operators follow the value's kind: a numeric statistic (COUNT, SUM, AVERAGE,
MINIMUM, MAXIMUM) is a number, compared as a double by the number operators (EQUAL,
GREATER_THAN, ..., BETWEEN and NOT_BETWEEN of numbers); with a Threshold the value is the text
``true`` or ``false``, compared by the text operators; FIRST_OCCURRENCE, LAST_OCCURRENCE and
MAX_OCCURRENCE give the value an object had, which takes every operator as a custom attribute
does (numbers, days or text by the operator). A profile without a value (no object in the
window, no number among them) satisfies only EXCLUSIVE and NOT_BETWEEN. A name that is not a
definition of the domain is refused naming the part
(``...Dimensions[1].CalculatedAttributes.<name>``).

Every term is strictly true or false (COALESCE makes a NULL match false), so that NONE and the
negative operators can negate it. The terms that no NOT covers lose the COALESCE again
(``_relaxed``): the query is a WHERE clause, which keeps only the rows that are true, and through
AND and OR alone an unknown match decides that as a false one would. SQLite evaluates the terms
of an AND or an OR in order and stops at the first that decides it, so the terms that run a
subquery (calculated attributes) come last at every level: they run only for the profiles the
cheap terms leave in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    Float,
    Text,
    and_,
    cast,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql import ColumnElement, Select, functions, operators, visitors
from sqlalchemy.sql.elements import AsBoolean, BooleanClauseList, False_, Grouping
from sqlalchemy.sql.selectable import ScalarSelect

from openprofiles.engine.calculated import sql as calculated_sql
from openprofiles.engine.calculated.definitions import MAX_RANGE_DAYS, Definition
from openprofiles.engine.calculated.scalars import parse_instant, parse_number
from openprofiles.store.schema import profiles

PROFILE_STRINGS = (
    "AccountNumber", "AdditionalInformation", "FirstName", "LastName", "MiddleName", "GenderString",
    "PartyTypeString", "PhoneNumber", "BusinessName", "BusinessPhoneNumber", "HomePhoneNumber",
    "MobilePhoneNumber", "EmailAddress", "PersonalEmailAddress", "BusinessEmailAddress",
)  # fmt: skip
ADDRESSES = ("Address", "ShippingAddress", "MailingAddress", "BillingAddress")
STRING_OPERATORS = ("INCLUSIVE", "EXCLUSIVE", "CONTAINS", "BEGINS_WITH", "ENDS_WITH")
DATE_OPERATORS = ("BEFORE", "AFTER", "BETWEEN", "NOT_BETWEEN", "ON")
NUMBER_OPERATORS = ("EQUAL", "GREATER_THAN", "GREATER_THAN_OR_EQUAL", "LESS_THAN", "LESS_THAN_OR_EQUAL")
_ONE_VALUE = ("BEFORE", "AFTER", "GREATER_THAN", "GREATER_THAN_OR_EQUAL", "LESS_THAN", "LESS_THAN_OR_EQUAL")
_TWO_VALUES = ("BETWEEN", "NOT_BETWEEN")
_DAY = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"

Predicate = ColumnElement[bool]
#: a segment definition's name -> its stored members (SegmentGroups, ...), None when absent
Loader = Callable[[str], "dict[str, Any] | None"]
#: a calculated attribute definition's name -> the Definition, None when absent
CalculatedLoader = Callable[[str], "Definition | None"]


@dataclass(frozen=True)
class Lookups:
    """What the parts of a segment name: the domain's segment definitions (sources) and
    calculated attribute definitions, and the time the calculated attributes are evaluated at
    (their Range windows end there)."""

    segments: Loader
    calculated: CalculatedLoader
    now: datetime


class SegmentError(Exception):
    """A definition breaks a rule: ``path`` names the part, ``problem`` says how."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def segment_query(
    domain_id: int, groups: dict[str, Any], path: str, dialect: str, lookups: Lookups,
    own_name: str | None = None,
) -> Select[Any]:
    """The ids (``profiles.id``, ``profile_id``) of the domain's profiles in the segment.
    ``own_name``: the name the definition is (being) stored under, so that a source segment
    leading back to it is refused as a cycle."""
    stack = () if own_name is None else (own_name,)
    predicate = _relaxed(_Compiler(dialect, lookups).segment(groups, path, stack))
    return select(profiles.c.id, profiles.c.profile_id).where(profiles.c.domain_id == domain_id, predicate)


def field_of(dialect: str, path: list[str]) -> ColumnElement[str]:
    """A member of the profile's document as text (NULL when absent)."""
    document = profiles.c.document
    if dialect == "postgresql":
        return cast(document, JSONB).op("#>>", return_type=Text)(literal(path, ARRAY(Text)))
    return func.json_extract(document, "$." + ".".join(f'"{p}"' for p in path), type_=Text)


def sort_order(sort: dict[str, Any] | None, dialect: str, lookups: Lookups) -> list[ColumnElement[Any]]:
    """The ORDER BY of a SegmentSort: each attribute in turn (a tie goes to the next), missing
    values last. A PROFILE attribute is a path in the profile (``LastName``, ``Address.City``,
    ``Attributes.tier``) read as its DataType says (STRING, the default: as text; NUMBER: as the
    number it writes; DATE: by calendar day); a CALCULATED one is the calculated attribute's
    value at ``lookups.now``, a number for numeric statistics."""
    compiler, order = _Compiler(dialect, lookups), []
    for index, attribute in enumerate((sort or {}).get("Attributes") or []):
        name, kind = attribute["Name"], attribute.get("DataType") or "STRING"
        if attribute.get("Type") == "CALCULATED":
            definition = lookups.calculated(name)
            if definition is None:
                raise SegmentError(f"SegmentSort.Attributes[{index}].Name", f"calculated attribute {name} does not exist")
            value: ColumnElement[Any] = calculated_sql.value_of(
                definition, profiles.c.id, lookups.now.timestamp(), dialect
            )
            if kind == "NUMBER" and calculated_sql.kind_of(definition) != calculated_sql.NUMBER:
                value = calculated_sql.number_of(value, dialect)
        else:
            value = compiler.field(name.split("."))
            if kind == "NUMBER":
                value = calculated_sql.number_of(value, dialect)
            elif kind == "DATE":
                value = func.substr(value, 1, 10, type_=Text)
        order.append((value.desc() if attribute["Order"] == "DESC" else value.asc()).nulls_last())
    return order


def _costly(predicate: Predicate) -> bool:
    """Whether a predicate runs a subquery (a calculated attribute)."""
    return any(isinstance(element, ScalarSelect) for element in visitors.iterate(predicate))


def _cheap_first(predicates: list[Predicate]) -> list[Predicate]:
    """The same terms, those with a subquery last: AND and OR stop at the first term that
    decides them, so the subqueries run only for the rows the cheap terms leave undecided."""
    return sorted(predicates, key=_costly)


def _combine(kind: str, predicates: list[Predicate]) -> Predicate:
    predicates = _cheap_first(predicates)
    if kind == "ALL":
        return and_(*predicates)
    any_of = or_(*predicates)
    return any_of if kind == "ANY" else not_(any_of)


def _bad_count(operator: str, values: list[str], path: str) -> None:
    if operator in _ONE_VALUE and len(values) != 1:
        raise SegmentError(f"{path}.Values", f"{operator} takes exactly one value, got {len(values)}")
    if operator in _TWO_VALUES and len(values) != 2:
        raise SegmentError(f"{path}.Values", f"{operator} takes exactly two values (from, to), got {len(values)}")


def _day_of(value: str, path: str) -> str:
    seconds = parse_instant(value)
    if seconds is None:
        raise SegmentError(path, f"'{value}' is not a date (ISO 8601, or epoch seconds or milliseconds)")
    return datetime.fromtimestamp(seconds, UTC).date().isoformat()


def _number_of(value: str, path: str) -> float:
    number = parse_number(value)
    if number is None:
        raise SegmentError(path, f"'{value}' is not a number")
    return float(number)


def _check_range(override: dict[str, Any], path: str) -> None:
    """A RangeOverride: the rules of a Range (as BatchGetCalculatedAttributeForProfile's)."""
    start, end = override["Start"], override.get("End", 0)
    if start < end:
        raise SegmentError(path, "Start is at least End (positive numbers are in the past)")
    if max(abs(start), abs(end)) > MAX_RANGE_DAYS:
        raise SegmentError(path, f"a range reaches at most {MAX_RANGE_DAYS} days from now")


@dataclass(frozen=True)
class _Compiler:
    dialect: str
    lookups: Lookups

    # --- structure --------------------------------------------------------------------------

    def segment(self, groups: dict[str, Any], path: str, stack: tuple[str, ...]) -> Predicate:
        items = groups.get("Groups") or []
        if not items:
            raise SegmentError(f"{path}.Groups", "a segment needs at least one group")
        predicates = [self.group(g, f"{path}.Groups[{i}]", stack) for i, g in enumerate(items)]
        include = groups.get("Include") or "ALL"
        if include == "NONE" and len(predicates) > 1:
            return and_(*_cheap_first([predicates[0], not_(or_(*_cheap_first(predicates[1:])))]))
        return _combine(include, predicates)

    def group(self, group: dict[str, Any], path: str, stack: tuple[str, ...]) -> Predicate:
        parts = []
        sources = group.get("SourceSegments") or []
        if sources:
            found = [
                self.source(s["SegmentDefinitionName"], f"{path}.SourceSegments[{i}].SegmentDefinitionName", stack)
                for i, s in enumerate(sources)
            ]
            parts.append(_combine(group.get("SourceType") or "ANY", found))
        dimensions = group.get("Dimensions") or []
        if dimensions:
            found = [self.dimension(d, f"{path}.Dimensions[{i}]") for i, d in enumerate(dimensions)]
            parts.append(_combine(group.get("Type") or "ALL", found))
        return and_(*_cheap_first(parts)) if parts else true()

    def source(self, name: str, path: str, stack: tuple[str, ...]) -> Predicate:
        if name in stack:
            raise SegmentError(path, f"segments may not form a cycle: {' -> '.join((*stack, name))}")
        found = self.lookups.segments(name)
        if found is None:
            raise SegmentError(path, f"segment definition {name} does not exist")
        try:
            if "SegmentGroups" not in found:
                raise SegmentError(path, f"segment {name} is defined by SQL and cannot be a source segment")
            return self.segment(found["SegmentGroups"], "SegmentGroups", (*stack, name))
        except SegmentError as error:
            raise type(error)(path, f"in segment {name}: {error.problem}") from None

    def dimension(self, dimension: dict[str, Any], path: str) -> Predicate:
        named = dimension.get("CalculatedAttributes")
        if named is not None:
            here = f"{path}.CalculatedAttributes"
            if not named:
                raise SegmentError(here, "set at least one calculated attribute")
            return and_(*(self.calculated(n, spec, f"{here}.{n}") for n, spec in named.items()))
        attributes = dimension.get("ProfileAttributes")
        if not attributes:
            raise SegmentError(f"{path}.ProfileAttributes", "set at least one profile attribute")
        found = []
        for name, spec in attributes.items():
            here = f"{path}.ProfileAttributes.{name}"
            if name in ADDRESSES or name == "Attributes":
                if not spec:
                    raise SegmentError(here, "set at least one member")
                for member, inner in spec.items():
                    found.append(self.attribute(name, member, inner, f"{here}.{member}"))
            elif name in PROFILE_STRINGS:
                found.append(self.strings(self.field([name]), spec, here))
            elif name == "BirthDate":
                found.append(self.dates(self.field([name]), spec, here))
            elif name == "ProfileType":
                found.append(self.strings(func.coalesce(self.field([name]), "PROFILE"), spec, here))
            else:
                raise SegmentError(here, "not a profile attribute that segments can use")
        return and_(*found)

    def attribute(self, parent: str, member: str, spec: dict[str, Any], path: str) -> Predicate:
        """A part of an address (string operators) or a custom attribute (every operator)."""
        if parent != "Attributes":
            return self.strings(self.field([parent, member]), spec, path)
        if '"' in member:  # SQLite's JSON paths have no way to quote one
            raise SegmentError(path, "attribute names containing '\"' cannot be segmented on")
        return self.any_operator(self.field(["Attributes", member]), spec, path)

    def calculated(self, name: str, spec: dict[str, Any], path: str) -> Predicate:
        """A calculated attribute's value at the time of evaluation, by one subquery over the
        profile's observations (see engine.calculated.sql); its operators are those of the
        value's kind."""
        definition = self.lookups.calculated(name)
        if definition is None:
            raise SegmentError(path, f"calculated attribute {name} does not exist")
        override = (spec.get("ConditionOverrides") or {}).get("Range")
        if override is not None:
            _check_range(override, f"{path}.ConditionOverrides.Range")
        operator, kind = spec["DimensionType"], calculated_sql.kind_of(definition)
        if kind == calculated_sql.BOOLEAN and operator not in STRING_OPERATORS:
            problem = f"{operator} is not an operator for text: {name} is 'true' or 'false'"
            raise SegmentError(f"{path}.DimensionType", f"{problem} (its Threshold)")
        if kind == calculated_sql.NUMBER and operator not in (*NUMBER_OPERATORS, *_TWO_VALUES):
            problem = f"{operator} is not an operator for numbers: {name} is a"
            raise SegmentError(f"{path}.DimensionType", f"{problem} {definition.statistic}")

        def test(value: ColumnElement[Any]) -> Predicate:
            if kind == calculated_sql.BOOLEAN:
                return self.strings(value, spec, path)
            if kind == calculated_sql.NUMBER:
                return self.compare_numbers(value, spec, path)
            return self.any_operator(value, spec, path)

        now = self.lookups.now.timestamp()
        return calculated_sql.matches(definition, profiles.c.id, now, self.dialect, test, override)

    # --- values -----------------------------------------------------------------------------

    def field(self, path: list[str]) -> ColumnElement[str]:
        return field_of(self.dialect, path)

    def any_operator(self, value: ColumnElement[str], spec: dict[str, Any], path: str) -> Predicate:
        """Text that may hold a number or a date: number operators compare numbers, BETWEEN and
        NOT_BETWEEN too when both Values are numbers, date operators compare days, the others
        text."""
        operator, values = spec["DimensionType"], spec["Values"]
        if operator in NUMBER_OPERATORS:
            return self.numbers(value, spec, path)
        if operator in _TWO_VALUES and all(parse_number(v) is not None for v in values):
            return self.numbers(value, spec, path)
        if operator in DATE_OPERATORS:
            return self.dates(value, spec, path)
        return self.strings(value, spec, path)

    def strings(self, value: ColumnElement[str], spec: dict[str, Any], path: str) -> Predicate:
        operator, values = spec["DimensionType"], list(spec["Values"])
        if operator not in STRING_OPERATORS:
            raise SegmentError(f"{path}.DimensionType", f"{operator} is not an operator for text")
        if operator in ("INCLUSIVE", "EXCLUSIVE"):
            match: Predicate = value.in_(values)
        elif operator == "CONTAINS":
            position = "strpos" if self.dialect == "postgresql" else "instr"
            match = or_(*(getattr(func, position)(value, v) > 0 for v in values))
        elif operator == "BEGINS_WITH":
            match = or_(*(func.substr(value, 1, len(v)) == v for v in values))
        else:  # ENDS_WITH; a start before the first character yields a shorter text, never v
            match = or_(*(func.substr(value, func.length(value) - len(v) + 1) == v for v in values))
        positive = _strict(match)
        return not_(positive) if operator == "EXCLUSIVE" else positive

    def numbers(self, value: ColumnElement[str], spec: dict[str, Any], path: str) -> Predicate:
        """Text compared as the number it writes (none: not a number)."""
        return self.compare_numbers(calculated_sql.number_of(value, self.dialect), spec, path)

    def compare_numbers(
        self, number: ColumnElement[Any], spec: dict[str, Any], path: str
    ) -> Predicate:
        """A double (NULL: no number) against the dimension's numbers."""
        operator, values = spec["DimensionType"], spec["Values"]
        _bad_count(operator, values, path)
        bounds = _ordered(operator, [_number_of(v, f"{path}.Values[{i}]") for i, v in enumerate(values)], path)
        return _compare(number, operator, [literal(b, Float) for b in bounds])

    def dates(self, value: ColumnElement[str], spec: dict[str, Any], path: str) -> Predicate:
        operator, values = spec["DimensionType"], spec["Values"]
        if operator not in DATE_OPERATORS:
            raise SegmentError(f"{path}.DimensionType", f"{operator} is not an operator for dates")
        _bad_count(operator, values, path)
        bounds = _ordered(operator, [_day_of(v, f"{path}.Values[{i}]") for i, v in enumerate(values)], path)
        head = func.substr(value, 1, 10, type_=Text)
        if self.dialect == "postgresql":
            is_day = head.regexp_match(f"^{_DAY}$")
        else:  # GLOB is native; a REGEXP calls back into Python for every row
            is_day = head.op("GLOB")(_DAY)
        return _compare(head, operator, [literal(b, Text) for b in bounds], is_day)


def _ordered(operator: str, bounds: list[Any], path: str) -> list[Any]:
    if operator in _TWO_VALUES and bounds[0] > bounds[1]:
        raise SegmentError(f"{path}.Values", f"{operator} needs the lower bound first")
    return bounds


def _relaxed(predicate: Predicate) -> Predicate:
    """The predicate with its strict terms (``_strict``) that no NOT covers made plain matches
    again (see the module's docstring): a COALESCE per term costs the row scan a few percent."""
    if isinstance(predicate, Grouping):
        return _relaxed(predicate.element)
    if isinstance(predicate, AsBoolean) and predicate.operator is operators.is_true:
        return _relaxed(predicate.element)  # "= 1" of a Boolean value ("= 0" is a NOT)
    if isinstance(predicate, BooleanClauseList) and predicate.operator in (operators.and_, operators.or_):
        parts = [_relaxed(part) for part in predicate.clauses]
        return and_(*parts) if predicate.operator is operators.and_ else or_(*parts)
    if isinstance(predicate, functions.coalesce):
        match, otherwise = predicate.clauses.clauses
        if isinstance(otherwise, False_):
            return _relaxed(match)
    return predicate


def _strict(match: Predicate) -> Predicate:
    """A match that is NULL for a missing value made false, so that NONE and the negative
    operators can negate it. COALESCE names the value once (an ``IS NOT NULL`` test before the
    match would extract it from the document twice)."""
    return func.coalesce(match, false(), type_=Boolean)


def _compare(
    value: ColumnElement[Any],
    operator: str,
    bounds: list[ColumnElement[Any]],
    valid: Predicate | None = None,
) -> Predicate:
    """``value`` against the dimension's bounds, strictly true or false; ``valid``: whether the
    value counts at all, tested after the comparison (only for the values it matches)."""
    match: Predicate
    if operator in ("EQUAL", "ON"):
        match = value.in_(bounds)
    elif operator in ("GREATER_THAN", "AFTER"):
        match = value > bounds[0]
    elif operator == "GREATER_THAN_OR_EQUAL":
        match = value >= bounds[0]
    elif operator in ("LESS_THAN", "BEFORE"):
        match = value < bounds[0]
    elif operator == "LESS_THAN_OR_EQUAL":
        match = value <= bounds[0]
    else:
        match = value.between(bounds[0], bounds[1])
    positive = _strict(match if valid is None else and_(match, valid))
    return not_(positive) if operator == "NOT_BETWEEN" else positive
