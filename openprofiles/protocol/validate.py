"""Checks a parsed input against every constraint of its shape, before any handler runs.

botocore's client-side ParamValidator checks types, required members and ``min``; the service
also enforces ``max``, ``pattern``, ``enum``, numeric ranges, list and map sizes and union
structures, so we walk the shape and check them all. AWS patterns use ``\\p{L}`` and friends, so
they are compiled with the ``regex`` package; like Smithy patterns they are not implicitly
anchored. Every violation is reported with the member's path (``Fields.email.Source``,
``Keys.k[0].FieldNames``) in the wording AWS services use.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import orjson
import regex
from botocore.model import Shape

_MAX_SHOWN = 64


@functools.lru_cache(maxsize=1024)
def _pattern(expression: str) -> regex.Pattern[str]:
    return regex.compile(expression)


class Validator:
    """Validates inputs of one service; ``json_strings`` names string shapes holding JSON."""

    def __init__(self, json_strings: frozenset[str] = frozenset()) -> None:
        self.json_strings = json_strings

    def errors(self, shape: Shape | None, params: dict[str, Any]) -> list[str]:
        found: list[str] = []
        if shape is not None:
            self._structure(shape, params, "", found)
        return found

    def _check(self, shape: Shape, value: Any, path: str, found: list[str]) -> None:
        kind = shape.type_name
        check = getattr(self, f"_{kind}", None)
        if check is None:
            return
        check(shape, value, path, found)

    def _fail(self, shape: Shape, value: Any, path: str, rule: str, found: list[str]) -> None:
        if shape.metadata.get("sensitive") or isinstance(value, dict | list):
            shown = "Value"
        else:
            text = str(value)
            shown = f"Value '{text[:_MAX_SHOWN]}{'...' if len(text) > _MAX_SHOWN else ''}'"
        found.append(f"{shown} at '{path}' failed to satisfy constraint: Member must {rule}")

    def _structure(self, shape: Shape, value: Any, path: str, found: list[str]) -> None:
        if not isinstance(value, dict):
            self._fail(shape, value, path, "be a structure", found)
            return
        members = shape.members
        for name in shape.required_members:
            if value.get(name) is None:
                found.append(
                    f"Value null at '{_join(path, name)}' failed to satisfy constraint: "
                    "Member must not be null"
                )
        if shape.metadata.get("union") and sum(v is not None for v in value.values()) != 1:
            self._fail(shape, value, path or shape.name, "have exactly one member set", found)
        for name, item in value.items():
            if item is not None and name in members:
                self._check(members[name], item, _join(path, name), found)

    def _list(self, shape: Shape, value: Any, path: str, found: list[str]) -> None:
        if not isinstance(value, list):
            self._fail(shape, value, path, "be a list", found)
            return
        self._size(shape, len(value), value, path, "length", found)
        for index, item in enumerate(value):
            self._check(shape.member, item, f"{path}[{index}]", found)

    def _map(self, shape: Shape, value: Any, path: str, found: list[str]) -> None:
        if not isinstance(value, dict):
            self._fail(shape, value, path, "be a map", found)
            return
        self._size(shape, len(value), value, path, "length", found)
        for key, item in value.items():
            self._check(shape.key, key, f"{path} key", found)
            self._check(shape.value, item, f"{path}.{key}", found)

    def _string(self, shape: Shape, value: Any, path: str, found: list[str]) -> None:
        if not isinstance(value, str):
            self._fail(shape, value, path, "be a string", found)
            return
        meta = shape.metadata
        self._size(shape, len(value), value, path, "length", found)
        enum = shape.enum
        if enum and value not in enum:
            self._fail(shape, value, path, f"satisfy enum value set: [{', '.join(enum)}]", found)
        pattern = meta.get("pattern")
        if pattern is not None and _pattern(pattern).search(value) is None:
            self._fail(shape, value, path, f"satisfy regular expression pattern: {pattern}", found)
        if shape.name in self.json_strings:
            try:
                orjson.loads(value)
            except orjson.JSONDecodeError:
                self._fail(shape, value, path, "be a valid JSON document", found)

    def _integer(self, shape: Shape, value: Any, path: str, found: list[str]) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            self._fail(shape, value, path, "be an integer", found)
            return
        self._size(shape, value, value, path, "value", found)

    _long = _integer

    def _double(self, shape: Shape, value: Any, path: str, found: list[str]) -> None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            self._fail(shape, value, path, "be a number", found)
            return
        self._size(shape, value, value, path, "value", found)

    _float = _double

    def _boolean(self, shape: Shape, value: Any, path: str, found: list[str]) -> None:
        if not isinstance(value, bool):
            self._fail(shape, value, path, "be a boolean", found)

    def _timestamp(self, shape: Shape, value: Any, path: str, found: list[str]) -> None:
        if not isinstance(value, datetime):
            self._fail(shape, value, path, "be a timestamp (epoch seconds or ISO 8601)", found)

    def _blob(self, shape: Shape, value: Any, path: str, found: list[str]) -> None:
        if not isinstance(value, bytes):
            self._fail(shape, value, path, "be base64-encoded binary data", found)

    def _size(
        self, shape: Shape, size: float, value: Any, path: str, what: str, found: list[str]
    ) -> None:
        meta = shape.metadata
        low, high = meta.get("min"), meta.get("max")
        if low is not None and size < low:
            self._fail(shape, value, path, f"have {what} greater than or equal to {low}", found)
        if high is not None and size > high:
            self._fail(shape, value, path, f"have {what} less than or equal to {high}", found)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def summarize(errors: list[str]) -> str:
    """One message for all violations, as AWS services word it."""
    count = len(errors)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(errors)
