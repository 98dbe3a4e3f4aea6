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
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import orjson
from botocore.model import OperationModel, Shape

from openprofiles.errors import SerializationException
from openprofiles.protocol.messages import HttpRequest


def parse_request(
    operation: OperationModel, request: HttpRequest, labels: dict[str, str]
) -> dict[str, Any]:
    shape = operation.input_shape
    if shape is None:
        return {}
    params: dict[str, Any] = {}
    query: dict[str, list[str]] | None = None
    body_members: list[tuple[str, Shape]] = []
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri":
            if wire in labels:
                params[name] = _from_text(member, labels[wire])
        elif location == "querystring":
            query = request.query() if query is None else query
            if wire in query:
                values = query[wire]
                if member.type_name == "list":
                    params[name] = [_from_text(member.member, v) for v in values]
                else:
                    params[name] = _from_text(member, values[0])
        elif location == "header":
            value = request.header(wire)
            if value is not None:
                params[name] = _from_text(member, value)
        elif location is None:
            body_members.append((name, member))
    if body_members and request.body.strip():
        document = _load_body(request.body)
        for name, member in body_members:
            wire = member.serialization.get("name", name)
            if wire in document and document[wire] is not None:
                params[name] = _from_json(member, document[wire])
    return params


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


def _from_json(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            if wire in value and value[wire] is not None:
                out[name] = _from_json(member, value[wire])
        return out
    if kind == "list" and isinstance(value, list):
        return [_from_json(shape.member, item) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _from_json(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        return parse_timestamp(value)
    if kind == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return value
    return value


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
