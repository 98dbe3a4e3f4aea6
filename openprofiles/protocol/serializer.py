"""Serializes a handler's result dict, or a ServiceError, into a REST-JSON HTTP response.

The output shape decides everything: which members go to headers or the status code, each
member's wire name, timestamps as epoch seconds (or ISO 8601 where the shape says so), blobs as
base64. A key that the output shape does not declare is a bug in the handler, and fails loudly
rather than reaching a client that would not expect it.
"""

from __future__ import annotations

import base64
import functools
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import orjson
from botocore.model import OperationModel, ServiceModel, Shape

from openprofiles.errors import ServiceError
from openprofiles.protocol.messages import HttpResponse
from openprofiles.protocol.shapes import Convert, PerShape

JSON = "application/json"


def serialize_result(
    operation: OperationModel, result: dict[str, Any], request_id: str
) -> HttpResponse:
    plan = _result_plan(operation)
    status = plan.status
    headers = {"content-type": JSON, "x-amzn-requestid": request_id}
    body: dict[str, Any] = {}
    for name, value in result.items():
        if value is None:
            continue
        found = plan.body.get(name)
        if found is not None:
            wire, encode = found
            body[wire] = value if encode is None else encode(value)
        elif name == plan.status_member:
            status = int(value)
        elif name in plan.headers:
            wire, member = plan.headers[name]
            headers[wire] = _header_text(member, value)
        else:
            raise KeyError(f"{operation.name} output has no member {name!r}")
    return HttpResponse(status, headers, orjson.dumps(body))


class _ResultPlan:
    """How an operation's output dict goes on the wire, worked out once per operation."""

    __slots__ = ("status", "status_member", "headers", "body")

    def __init__(self, operation: OperationModel) -> None:
        self.status = int(operation.http.get("responseCode", 200))
        self.status_member: str | None = None
        self.headers: dict[str, tuple[str, Shape]] = {}
        self.body: dict[str, tuple[str, Convert | None]] = {}
        shape = operation.output_shape
        encoders = _Encoders()
        for name, member in (shape.members if shape is not None else {}).items():
            location = member.serialization.get("location")
            if location == "statusCode":
                self.status_member = name
            elif location == "header":
                self.headers[name] = (member.serialization["name"].lower(), member)
            else:
                self.body[name] = (member.serialization.get("name", name), encoders.of(member))


@functools.cache
def _result_plan(operation: OperationModel) -> _ResultPlan:
    """Once per operation: the models live as long as the process."""
    return _ResultPlan(operation)


class _Encoders(PerShape):
    """The function that turns a value of a shape into its JSON value; None where the value is
    its own JSON (strings, numbers, booleans, and containers of only those)."""

    def key(self, shape: Shape) -> str:
        return f"{super().key(shape)}:{shape.serialization.get('timestampFormat')}"

    def build(self, shape: Shape) -> Convert | None:
        kind = shape.type_name
        if kind == "timestamp":
            return _iso8601 if shape.serialization.get("timestampFormat") == "iso8601" else _epoch
        if kind == "blob":
            return lambda value: base64.b64encode(value).decode("ascii")
        if kind == "structure":
            members = {n: (m.serialization.get("name", n), self.of(m)) for n, m in shape.members.items()}
            return _structure_encoder(shape.name, members)
        if kind == "list":
            item = self.of(shape.member)
            return None if item is None else (lambda value: [item(i) for i in value])
        if kind == "map":
            item = self.of(shape.value)
            return None if item is None else (lambda value: {k: item(i) for k, i in value.items()})
        return None


def _structure_encoder(name: str, members: dict[str, tuple[str, Convert | None]]) -> Convert:
    def encode(value: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, item in value.items():
            if item is None:
                continue
            found = members.get(key)
            if found is None:
                raise KeyError(f"{name} has no member {key!r}")
            wire, inner = found
            out[wire] = item if inner is None else inner(item)
        return out

    return encode


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
    encode = _Encoders().of(shape)
    return value if encode is None else encode(value)


def _iso8601(value: datetime | float) -> str:
    moment = value if isinstance(value, datetime) else datetime.fromtimestamp(value, UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _epoch(value: datetime | float) -> float | int:
    """Epoch seconds to the nearest millisecond (whole seconds as an integer); rounded in
    milliseconds, which costs a third of ``round(seconds, 3)``."""
    seconds = value.timestamp() if isinstance(value, datetime) else value
    millis = round(seconds * 1000)
    return millis // 1000 if millis % 1000 == 0 else millis / 1000


def _header_text(shape: Shape, value: Any) -> str:
    if shape.type_name == "timestamp":
        moment = value if isinstance(value, datetime) else datetime.fromtimestamp(value, UTC)
        return format_datetime(moment.astimezone(UTC), usegmt=True)
    if shape.type_name == "boolean":
        return "true" if value else "false"
    return str(value)
