"""Parses a REST-JSON request into the operation's input dict, as botocore would have built it.

Each member is read from its model location (uri, querystring, header, or the JSON body) under its
wire name (the pinned models use no map-valued query or header members; a test keeps it so),
and converted to its type: integers and booleans from strings, timestamps (epoch seconds,
ISO 8601, or the RFC 7231 date that botocore sends in headers) to aware datetimes, blobs from
base64. A value that cannot be converted is left as it came, so that the validator reports it with
the member's path.
"""

from __future__ import annotations

import base64
import binascii
import functools
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import orjson
from botocore.model import OperationModel, Shape

from openprofiles.errors import SerializationException
from openprofiles.protocol.messages import HttpRequest
from openprofiles.protocol.shapes import Convert, PerShape


def parse_request(
    operation: OperationModel, request: HttpRequest, labels: dict[str, str]
) -> dict[str, Any]:
    plan = _plan(operation)
    params: dict[str, Any] = {}
    for name, wire, member in plan.uri:
        if wire in labels:
            params[name] = _from_text(member, labels[wire])
    if plan.query and request.query_string:
        query = request.query()
        for name, wire, member in plan.query:
            if wire in query:
                values = query[wire]
                if member.type_name == "list":
                    params[name] = [_from_text(member.member, v) for v in values]
                else:
                    params[name] = _from_text(member, values[0])
    for name, wire, member in plan.headers:
        value = request.header(wire)
        if value is not None:
            params[name] = _from_text(member, value)
    if plan.body and request.body.strip():
        document = _load_body(request.body)
        for wire, value in document.items():
            found = plan.body.get(wire)
            if found is not None and value is not None:
                name, decode = found
                params[name] = value if decode is None else decode(value)
    return params


class _Plan:
    """Where each input member of an operation is read from, and how its JSON value is turned
    into the member's type: worked out once per operation."""

    __slots__ = ("uri", "query", "headers", "body")

    def __init__(self, operation: OperationModel) -> None:
        self.uri: list[tuple[str, str, Shape]] = []
        self.query: list[tuple[str, str, Shape]] = []
        self.headers: list[tuple[str, str, Shape]] = []
        self.body: dict[str, tuple[str, Convert | None]] = {}
        shape = operation.input_shape
        decoders = _Decoders()
        for name, member in (shape.members if shape is not None else {}).items():
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "uri":
                self.uri.append((name, wire, member))
            elif location == "querystring":
                self.query.append((name, wire, member))
            elif location == "header":
                self.headers.append((name, wire, member))
            elif location is None:
                self.body[wire] = (name, decoders.of(member))


@functools.cache
def _plan(operation: OperationModel) -> _Plan:
    """Once per operation: the models live as long as the process."""
    return _Plan(operation)


class _Decoders(PerShape):
    """The function that turns a JSON value into a member's value; None where the value stays
    as it is (strings, numbers, booleans, and lists and maps of them). A value of the wrong JSON
    type is left as it came, for the validator to report with its path."""

    def build(self, shape: Shape) -> Convert | None:
        kind = shape.type_name
        if kind == "structure":
            members = {
                m.serialization.get("name", n): (n, self.of(m)) for n, m in shape.members.items()
            }
            return lambda value: _structure(members, value)
        if kind == "list":
            item = self.of(shape.member)
            if item is None:
                return None
            return lambda value: [item(i) for i in value] if isinstance(value, list) else value
        if kind == "map":
            item = self.of(shape.value)
            if item is None:
                return None
            return lambda value: {k: item(i) for k, i in value.items()} if isinstance(value, dict) else value
        if kind == "timestamp":
            return parse_timestamp
        if kind == "blob":
            return _blob
        return None


def _structure(members: dict[str, tuple[str, Convert | None]], value: Any) -> Any:
    """Only the members the shape declares, and none that is null."""
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for wire, item in value.items():
        found = members.get(wire)
        if found is not None and item is not None:
            name, decode = found
            out[name] = item if decode is None else decode(item)
    return out


def _blob(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value


def _load_body(body: bytes) -> dict[str, Any]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise SerializationException(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise SerializationException("The request body must be a JSON object")
    return document


def _from_text(shape: Shape, text: str) -> Any:
    kind = shape.type_name
    if kind in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            return text
    if kind in ("float", "double"):
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "boolean":
        return {"true": True, "false": False}.get(text.lower(), text)
    if kind == "timestamp":
        return parse_timestamp(text)
    return text


def parse_timestamp(value: Any) -> Any:
    """Epoch seconds, ISO 8601 or an RFC 7231 date to an aware datetime; else value unchanged."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return value
    if isinstance(value, str):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:  # "Fri, 02 Jan 2026 03:04:05 GMT": botocore's format for header timestamps
                parsed = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                return value
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return value
