"""Serializes a handler's result dict, or a ServiceError, into a REST-JSON HTTP response.

The output shape decides everything: which members go to headers or the status code, each
member's wire name, timestamps as epoch seconds (or ISO 8601 where the shape says so), blobs as
base64. A key that the output shape does not declare is a bug in the handler, and fails loudly
rather than reaching a client that would not expect it.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import orjson
from botocore.model import OperationModel, ServiceModel, Shape

from openprofiles.errors import ServiceError
from openprofiles.protocol.messages import HttpResponse

JSON = "application/json"


def serialize_result(
    operation: OperationModel, result: dict[str, Any], request_id: str
) -> HttpResponse:
    status = int(operation.http.get("responseCode", 200))
    headers = {"content-type": JSON, "x-amzn-requestid": request_id}
    body: dict[str, Any] = {}
    shape = operation.output_shape
    if shape is not None:
        members = shape.members
        for name, value in result.items():
            if value is None:
                continue
            member = members.get(name)
            if member is None:
                raise KeyError(f"{operation.name} output has no member {name!r}")
            location = member.serialization.get("location")
            if location == "statusCode":
                status = int(value)
            elif location == "header":
                headers[member.serialization["name"].lower()] = _header_text(member, value)
            else:
                body[member.serialization.get("name", name)] = _to_json(member, value)
    elif result:
        raise KeyError(f"{operation.name} has no output, got {sorted(result)}")
    return HttpResponse(status, headers, orjson.dumps(body))


def serialize_error(
    model: ServiceModel | None, error: ServiceError, request_id: str
) -> HttpResponse:
    status = error.status
    message_key = "Message"
    shape = _error_shape(model, error.code)
    if shape is not None:
        status = status or int(shape.metadata.get("error", {}).get("httpStatusCode", 400))
        message_key = next((m for m in shape.members if m.lower() == "message"), message_key)
    body: dict[str, Any] = {message_key: error.message}
    if shape is not None:
        for name, value in error.members.items():
            if name in shape.members and value is not None:
                body[name] = _to_json(shape.members[name], value)
    headers = {
        "content-type": JSON,
        "x-amzn-requestid": request_id,
        "x-amzn-errortype": error.code,
    }
    return HttpResponse(status or 400, headers, orjson.dumps(body))


def _error_shape(model: ServiceModel | None, code: str) -> Shape | None:
    if model is None:
        return None
    for shape in model.error_shapes:
        if shape.name == code:
            return shape
    return None


def _to_json(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        members = shape.members
        out: dict[str, Any] = {}
        for name, item in value.items():
            if item is None:
                continue
            member = members.get(name)
            if member is None:
                raise KeyError(f"{shape.name} has no member {name!r}")
            out[member.serialization.get("name", name)] = _to_json(member, item)
        return out
    if kind == "list":
        return [_to_json(shape.member, item) for item in value]
    if kind == "map":
        return {key: _to_json(shape.value, item) for key, item in value.items()}
    if kind == "timestamp":
        return _timestamp(shape, value)
    if kind == "blob":
        return base64.b64encode(value).decode("ascii")
    return value


def _timestamp(shape: Shape, value: datetime | float) -> float | int | str:
    if shape.serialization.get("timestampFormat") == "iso8601":
        moment = value if isinstance(value, datetime) else datetime.fromtimestamp(value, UTC)
        return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    seconds = value.timestamp() if isinstance(value, datetime) else value
    return int(seconds) if seconds == int(seconds) else round(seconds, 3)


def _header_text(shape: Shape, value: Any) -> str:
    if shape.type_name == "timestamp":
        moment = value if isinstance(value, datetime) else datetime.fromtimestamp(value, UTC)
        return format_datetime(moment.astimezone(UTC), usegmt=True)
    if shape.type_name == "boolean":
        return "true" if value else "false"
    return str(value)
