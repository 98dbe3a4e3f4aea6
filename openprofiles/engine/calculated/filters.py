"""The Filter of a calculated attribute: which objects feed it (REFERENCE 3.4, operators 4.3).

``Filter {Include, Groups[1..2]}``, ``FilterGroup {Type, Dimensions[1..10]}``,
``FilterDimension {Attributes: {name: {DimensionType, Values}}}``. AWS documents the pieces but
not how they combine; this is the reading consistent with AWS's own default attributes:

- within one dimension, every attribute must match (AND); an attribute matches when its value
  matches one of Values (OR), except for the comparisons below that take one or two values;
- a group's Type combines its dimensions: ALL = every one matches, ANY = at least one, NONE = none;
- Include combines the groups the same way (NONE excludes the objects the groups describe).

Operators: INCLUSIVE (equals one of the values), EXCLUSIVE (equals none), CONTAINS, BEGINS_WITH,
ENDS_WITH (text, case-sensitive); EQUAL, GREATER_THAN, GREATER_THAN_OR_EQUAL, LESS_THAN,
LESS_THAN_OR_EQUAL (numbers); BEFORE, AFTER, ON (instants; ON is the same UTC day); BETWEEN and
NOT_BETWEEN (two numbers, or two instants; bounds included). An object without the attribute
matches only EXCLUSIVE; a value that is not a number (or instant) never matches a numeric (or
date) comparison. The Values of a comparison are checked when the definition is created, and a
wrong one is a `FilterError` naming its path (``Groups[0].Dimensions[1].Attributes.Status.Values``).

An attribute name is a field of the object type, or else a path into the stored object: the
reader that resolves it is given by the caller (see `values`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from openprofiles.engine.calculated.scalars import parse_instant, parse_number

_TEXT = {"INCLUSIVE", "EXCLUSIVE", "CONTAINS", "BEGINS_WITH", "ENDS_WITH"}
_NUMERIC = {"EQUAL", "GREATER_THAN", "GREATER_THAN_OR_EQUAL", "LESS_THAN", "LESS_THAN_OR_EQUAL"}
_DATES = {"BEFORE", "AFTER", "ON"}
_RANGES = {"BETWEEN", "NOT_BETWEEN"}
#: operators that compare with exactly this many values
_ARITY = dict.fromkeys(_NUMERIC - {"EQUAL"} | _DATES, 1) | dict.fromkeys(_RANGES, 2)


class FilterError(ValueError):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(problem)
        self.path = path
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Condition:
    """One attribute of a dimension: its operator and the values it compares with."""

    attribute: str
    operator: str
    values: tuple[str, ...]
    #: the values as numbers (numeric comparisons) or epoch seconds (dates); empty for text
    bounds: tuple[Decimal | float, ...]

    def matches(self, value: str | None) -> bool:
        op = self.operator
        if value is None:
            return op == "EXCLUSIVE"
        if op in _TEXT:
            return _text_matches(op, value, self.values)
        found = self._comparable(value)
        if found is None:
            return False
        if op == "EQUAL":
            return found in self.bounds
        if op in _RANGES:
            inside = self.bounds[0] <= found <= self.bounds[1]  # type: ignore[operator]
            return inside if op == "BETWEEN" else not inside
        bound = self.bounds[0]
        if op == "ON":
            return _day(found) == _day(bound)
        if op in ("GREATER_THAN", "AFTER"):
            return found > bound  # type: ignore[operator]
        if op in ("LESS_THAN", "BEFORE"):
            return found < bound  # type: ignore[operator]
        if op == "GREATER_THAN_OR_EQUAL":
            return found >= bound  # type: ignore[operator]
        return found <= bound  # type: ignore[operator]

    def _comparable(self, value: str) -> Decimal | float | None:
        return parse_number(value) if isinstance(self.bounds[0], Decimal) else parse_instant(value)


def _text_matches(op: str, value: str, values: tuple[str, ...]) -> bool:
    if op == "INCLUSIVE":
        return value in values
    if op == "EXCLUSIVE":
        return value not in values
    if op == "CONTAINS":
        return any(v in value for v in values)
    if op == "BEGINS_WITH":
        return any(value.startswith(v) for v in values)
    return any(value.endswith(v) for v in values)


def _day(instant: Decimal | float) -> str:
    return datetime.fromtimestamp(float(instant), UTC).date().isoformat()


#: attribute name -> its value on the object being filtered
Lookup = Callable[[str], str | None]


@dataclass(frozen=True)
class Filter:
    include: str
    #: each group: (Type, its dimensions; each dimension: its conditions)
    groups: tuple[tuple[str, tuple[tuple[Condition, ...], ...]], ...]

    @property
    def attributes(self) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys(c.attribute for _, dims in self.groups for dim in dims for c in dim)
        )

    def matches(self, read: Lookup) -> bool:
        return _combine(
            self.include,
            (
                _combine(kind, (all(c.matches(read(c.attribute)) for c in dim) for dim in dims))
                for kind, dims in self.groups
            ),
        )


def _combine(kind: str, results: Iterable[bool]) -> bool:
    if kind == "ALL":
        return all(results)
    if kind == "ANY":
        return any(results)
    return not any(results)


def compile_filter(raw: dict[str, Any]) -> Filter:
    """The Filter member of a definition, checked; FilterError naming the bad member."""
    groups = []
    for g, group in enumerate(raw["Groups"]):
        dimensions = []
        for d, dimension in enumerate(group["Dimensions"]):
            conditions = []
            for name, spec in dimension["Attributes"].items():
                path = f"Groups[{g}].Dimensions[{d}].Attributes.{name}"
                conditions.append(_condition(path, name, spec["DimensionType"], tuple(spec["Values"])))
            if not conditions:
                where = f"Groups[{g}].Dimensions[{d}].Attributes"
                raise FilterError(where, "a dimension names at least one attribute")
            dimensions.append(tuple(conditions))
        groups.append((group["Type"], tuple(dimensions)))
    return Filter(raw["Include"], tuple(groups))


def _condition(path: str, name: str, op: str, values: tuple[str, ...]) -> Condition:
    arity = _ARITY.get(op)
    if arity is not None and len(values) != arity:
        problem = f"{op} compares with exactly {arity} value(s), got {len(values)}"
        raise FilterError(f"{path}.Values", problem)
    if op in _TEXT:
        return Condition(name, op, values, ())
    numbers = [parse_number(v) for v in values]
    instants = [parse_instant(v) for v in values]
    if op in _NUMERIC or (op in _RANGES and all(n is not None for n in numbers)):
        bad = [v for v, n in zip(values, numbers, strict=True) if n is None]
        if bad:
            raise FilterError(f"{path}.Values", f"{op} compares numbers; {bad[0]!r} is not one")
        bounds: tuple[Decimal | float, ...] = tuple(n for n in numbers if n is not None)
    else:
        bad = [v for v, t in zip(values, instants, strict=True) if t is None]
        if bad:
            kind = "two numbers or two instants" if op in _RANGES else "instants"
            raise FilterError(f"{path}.Values", f"{op} compares {kind}; {bad[0]!r} is not one")
        bounds = tuple(t for t in instants if t is not None)
    if op in _RANGES and bounds[0] > bounds[1]:  # type: ignore[operator]
        raise FilterError(f"{path}.Values", f"{op} needs the lower bound first")
    return Condition(name, op, values, bounds)
