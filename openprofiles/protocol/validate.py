"""Checks a parsed input against every constraint of its shape, before any handler runs.

botocore's client-side ParamValidator checks types, required members and ``min``; the service
also enforces ``max``, ``pattern``, ``enum``, numeric ranges, list and map sizes and union
structures, so we walk the shape and check them all. AWS patterns use ``\\p{L}`` and friends,
which only the ``regex`` package reads; the others are compiled with ``re``, which matches them
alike in half the time (a test holds the two to the same answers). Like Smithy patterns they are
not implicitly anchored. Every violation is reported with the member's path
(``Fields.email.Source``, ``Keys.k[0].FieldNames``) in the wording AWS services use.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
import regex
from botocore.model import Shape

_MAX_SHOWN = 64


@functools.lru_cache(maxsize=1024)
def _pattern(expression: str) -> re.Pattern[str] | regex.Pattern[str]:
    """The standard library's engine where it reads the pattern (it matches in about half the
    time; ``regex`` in its default version matches as ``re`` does), else ``regex``."""
    if "\\p" not in expression and "\\P" not in expression:
        try:
            return re.compile(expression)
        except re.error:
            pass
    return regex.compile(expression)


class _Spec:
    """What the validator checks of one shape, read from the model once, and ``check``: the
    function that checks a value of its kind (no dispatch on the kind per value)."""

    __slots__ = (
        "kind", "name", "low", "high", "enum", "enum_text", "pattern", "pattern_text", "json",
        "sensitive", "required", "union", "members", "item", "key", "value", "check",
    )

    def __init__(self, shape: Shape, json_strings: frozenset[str]) -> None:
        meta = shape.metadata
        self.kind = shape.type_name
        self.name = shape.name
        self.low, self.high = meta.get("min"), meta.get("max")
        enum = shape.enum if self.kind == "string" else None
        self.enum = frozenset(enum) if enum else None
        self.enum_text = ", ".join(enum) if enum else ""
        self.pattern_text = meta.get("pattern") if self.kind == "string" else None
        self.pattern = _pattern(self.pattern_text) if self.pattern_text is not None else None
        self.json = self.kind == "string" and shape.name in json_strings
        self.sensitive = bool(meta.get("sensitive"))
        self.required: list[str] = list(shape.required_members) if self.kind == "structure" else []
        self.union = bool(meta.get("union"))
        self.members: dict[str, _Spec] = {}
        self.item: _Spec | None = None
        self.key: _Spec | None = None
        self.value: _Spec | None = None
        self.check: _Check = _CHECKS.get(self.kind, _anything)


class Validator:
    """Validates inputs of one service; ``json_strings`` names string shapes holding JSON. What
    each shape requires is read from the model once (a ``_Spec``), then every input is checked
    against the specs."""

    def __init__(self, json_strings: frozenset[str] = frozenset()) -> None:
        self.json_strings = json_strings
        self._specs: dict[str, _Spec] = {}
        self._inputs: dict[Shape, _Spec] = {}  # by the input shape itself: no key to build

    def errors(self, shape: Shape | None, params: dict[str, Any]) -> list[str]:
        found: list[str] = []
        if shape is not None:
            spec = self._inputs.get(shape)
            if spec is None:
                spec = self._inputs[shape] = self._spec(shape)
            spec.check(spec, params, "", found)
        return found

    def _spec(self, shape: Shape) -> _Spec:
        key = f"{shape.type_name}:{shape.name}"
        spec = self._specs.get(key)
        if spec is None:
            spec = self._specs[key] = _Spec(shape, self.json_strings)  # before its children
            if spec.kind == "structure":
                spec.members = {name: self._spec(member) for name, member in shape.members.items()}
            elif spec.kind == "list":
                spec.item = self._spec(shape.member)
            elif spec.kind == "map":
                spec.key, spec.value = self._spec(shape.key), self._spec(shape.value)
        return spec


_Check = Callable[[_Spec, Any, str, list[str]], None]


def _fail(spec: _Spec, value: Any, path: str, rule: str, found: list[str]) -> None:
    if spec.sensitive or isinstance(value, dict | list):
        shown = "Value"
    else:
        text = str(value)
        shown = f"Value '{text[:_MAX_SHOWN]}{'...' if len(text) > _MAX_SHOWN else ''}'"
    found.append(f"{shown} at '{path}' failed to satisfy constraint: Member must {rule}")


def _size(spec: _Spec, size: float, value: Any, path: str, what: str, found: list[str]) -> None:
    low, high = spec.low, spec.high
    if low is not None and size < low:
        _fail(spec, value, path, f"have {what} greater than or equal to {low}", found)
    if high is not None and size > high:
        _fail(spec, value, path, f"have {what} less than or equal to {high}", found)


def _structure(spec: _Spec, value: Any, path: str, found: list[str]) -> None:
    if not isinstance(value, dict):
        _fail(spec, value, path, "be a structure", found)
        return
    for name in spec.required:
        if value.get(name) is None:
            found.append(
                f"Value null at '{_join(path, name)}' failed to satisfy constraint: "
                "Member must not be null"
            )
    if spec.union and sum(v is not None for v in value.values()) != 1:
        _fail(spec, value, path or spec.name, "have exactly one member set", found)
    members = spec.members
    for name, item in value.items():
        if item is not None:
            member = members.get(name)
            if member is not None:
                member.check(member, item, f"{path}.{name}" if path else name, found)


def _sized(spec: _Spec, value: Any, wanted: type, rule: str, path: str, found: list[str]) -> bool:
    """Whether a list or map is one (its length checked too), so that its items are checked."""
    if not isinstance(value, wanted):
        _fail(spec, value, path, rule, found)
        return False
    _size(spec, len(value), value, path, "length", found)
    return True


def _list(spec: _Spec, value: Any, path: str, found: list[str]) -> None:
    if not _sized(spec, value, list, "be a list", path, found):
        return
    item: _Spec = spec.item  # type: ignore[assignment]
    for index, element in enumerate(value):
        item.check(item, element, f"{path}[{index}]", found)


def _map(spec: _Spec, value: Any, path: str, found: list[str]) -> None:
    if not _sized(spec, value, dict, "be a map", path, found):
        return
    key: _Spec = spec.key  # type: ignore[assignment]
    item: _Spec = spec.value  # type: ignore[assignment]
    for name, element in value.items():
        key.check(key, name, f"{path} key", found)
        item.check(item, element, f"{path}.{name}", found)


def _string(spec: _Spec, value: Any, path: str, found: list[str]) -> None:
    if not isinstance(value, str):
        _fail(spec, value, path, "be a string", found)
        return
    low, high = spec.low, spec.high
    if (low is not None and len(value) < low) or (high is not None and len(value) > high):
        _size(spec, len(value), value, path, "length", found)
    if spec.enum is not None and value not in spec.enum:
        _fail(spec, value, path, f"satisfy enum value set: [{spec.enum_text}]", found)
    if spec.pattern is not None and spec.pattern.search(value) is None:
        _fail(spec, value, path, f"satisfy regular expression pattern: {spec.pattern_text}", found)
    if spec.json:
        try:
            orjson.loads(value)
        except orjson.JSONDecodeError:
            _fail(spec, value, path, "be a valid JSON document", found)


def _integer(spec: _Spec, value: Any, path: str, found: list[str]) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        _fail(spec, value, path, "be an integer", found)
    else:
        _size(spec, value, value, path, "value", found)


def _number(spec: _Spec, value: Any, path: str, found: list[str]) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        _fail(spec, value, path, "be a number", found)
    else:
        _size(spec, value, value, path, "value", found)


def _of_type(wanted: type, rule: str) -> _Check:
    def check(spec: _Spec, value: Any, path: str, found: list[str]) -> None:
        if not isinstance(value, wanted):
            _fail(spec, value, path, rule, found)

    return check


def _anything(spec: _Spec, value: Any, path: str, found: list[str]) -> None:
    """Shapes with no constraint of their own (documents)."""


_CHECKS: dict[str, _Check] = {
    "string": _string,
    "structure": _structure,
    "list": _list,
    "map": _map,
    "integer": _integer,
    "long": _integer,
    "double": _number,
    "float": _number,
    "boolean": _of_type(bool, "be a boolean"),
    "timestamp": _of_type(datetime, "be a timestamp (epoch seconds or ISO 8601)"),
    "blob": _of_type(bytes, "be base64-encoded binary data"),
}


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def summarize(errors: list[str]) -> str:
    """One message for all violations, as AWS services word it."""
    count = len(errors)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(errors)
