"""Routing: every operation of both models is reachable, and the gateway picks the right service.

Each ``requestUri`` is rendered with sample labels, percent-encoded as botocore encodes them, and
``Router.match`` must return exactly that operation with the labels decoded. The gateway detects
the service from the SigV4 scope, else the host, else the ARN in the path (the ``/tags/{arn}``
routes exist in both models). It also checks the invariants the parser's docstring relies on: the
pinned models put no map in a query string or header, and no member is a payload.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from botocore.model import OperationModel
from botocore.utils import percent_encode

from openprofiles.app import build_app
from openprofiles.config import Settings
from openprofiles.gateway import Gateway
from openprofiles.protocol.messages import HttpRequest, HttpResponse
from openprofiles.protocol.router import Router
from openprofiles.protocol.specs import SERVICES, service_model
from tests.protocol.wire import all_operations, authorization

OPERATIONS = all_operations()
_IDS = [f"{service}.{operation.name}" for service, operation in OPERATIONS]
_LABEL = re.compile(r"\{([^}]+)\}")
PROFILE_ARN = "arn:aws:profile:us-east-1:123456789012:domains/demo"
CONNECT_ARN = "arn:aws:connect:us-east-1:123456789012:instance/8f6a4a3c-1b2d-4e5f-9a0b-1c2d3e4f5a6b"


@functools.cache
def router(service: str) -> Router:
    return Router(service_model(service))


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    app = build_app(Settings(db="memory"))
    yield app.gateway
    app.close()


def _label_value(operation: OperationModel, label: str, style: str) -> str:
    member = next(
        m for name, m in operation.input_shape.members.items()
        if m.serialization.get("location") == "uri" and m.serialization.get("name", name) == label
    )
    if member.type_name in ("integer", "long"):
        return "7"
    if style == "plain":
        return f"sample-{label.lower()}"
    # an ARN with every character botocore percent-encodes in a label
    return f"arn:aws:connect:us-east-1:123456789012:instance/x y+z%25é~{label}"


def render(operation: OperationModel, style: str) -> tuple[str, dict[str, str]]:
    """The request path botocore sends, and the label values it carries."""
    uri = operation.http["requestUri"]
    values: dict[str, str] = {}

    def encode(match: re.Match[str]) -> str:
        name = match.group(1)
        greedy = name.endswith("+")
        name = name.rstrip("+")
        values[name] = _label_value(operation, name, style)
        return percent_encode(values[name], safe="/~") if greedy else percent_encode(values[name])

    return _LABEL.sub(encode, uri.partition("?")[0]), values


@pytest.mark.parametrize("style", ["plain", "arn"])
@pytest.mark.parametrize(("service", "operation"), OPERATIONS, ids=_IDS)
def test_every_operation_is_routable(service: str, operation: OperationModel, style: str) -> None:
    path, labels = render(operation, style)
    found = router(service).match(operation.http["method"], path, {})
    assert found is not None, f"{operation.http['method']} {path} routes nowhere"
    routed, decoded = found
    assert routed.name == operation.name, f"{path} routed to {routed.name}"
    assert decoded == labels


@pytest.mark.parametrize(("service", "operation"), OPERATIONS, ids=_IDS)
def test_trailing_slash_and_method_case(service: str, operation: OperationModel) -> None:
    path, _ = render(operation, "plain")
    found = router(service).match(operation.http["method"].lower(), path.rstrip("/") + "/", {})
    assert found is not None and found[0].name == operation.name


def test_only_the_tags_routes_collide_between_the_services() -> None:
    """Why an unsigned request can be routed by its path: only ``/tags/{arn}`` is ambiguous."""
    collisions = set()
    for service, operation in OPERATIONS:
        other = next(s for s in SERVICES if s != service)
        for style in ("plain", "arn"):
            path, _ = render(operation, style)
            if router(other).match(operation.http["method"], path, {}) is not None:
                collisions.add((operation.http["requestUri"], operation.name))
    assert collisions == {
        ("/tags/{resourceArn}", "ListTagsForResource"),
        ("/tags/{resourceArn}", "TagResource"),
        ("/tags/{resourceArn}", "UntagResource"),
    }


def test_more_literal_route_wins() -> None:
    """``/domains/{DomainName}/profiles/search`` is SearchProfiles, not a label named search."""
    found = router("customer-profiles").match("POST", "/domains/demo/profiles/search", {})
    assert found is not None
    assert found[0].name == "SearchProfiles"


# --- the gateway ----------------------------------------------------------------------------


def send(
    gateway: Gateway,
    method: str,
    path: str,
    *,
    query: str = "",
    body: Any = None,
    signed: str | None = None,
    host: str = "localhost:4599",
) -> tuple[int, dict[str, Any], HttpResponse]:
    headers = {"host": host, "content-type": "application/json"}
    if signed is not None:
        headers["authorization"] = authorization(signed)
    raw = body if isinstance(body, bytes) else (b"" if body is None else orjson.dumps(body))
    response = gateway.handle(HttpRequest(method, path, query, headers, raw))
    return response.status, {
        "code": response.headers.get("x-amzn-errortype"),
        **(orjson.loads(response.body) if response.body else {}),
    }, response


def tags_path(arn: str) -> str:
    return "/tags/" + percent_encode(arn)


@pytest.mark.parametrize(
    ("arn", "validation_code"),
    [(PROFILE_ARN, "BadRequestException"), (CONNECT_ARN, "InvalidParameterException")],
    ids=["profile-arn", "connect-arn"],
)
def test_unsigned_tags_route_follows_the_arn(
    gateway: Gateway, arn: str, validation_code: str
) -> None:
    # UntagResource without its required tagKeys: the error code names the service that answered
    status, error, _ = send(gateway, "DELETE", tags_path(arn))
    assert status == 400
    assert error["code"] == validation_code
    assert "'tagKeys'" in error["Message"]
    # the same, with the ARN's colons left unencoded as some clients send them
    status, error, _ = send(gateway, "DELETE", "/tags/" + arn.replace("/", "%2F"))
    assert (status, error["code"]) == (400, validation_code)
    # the same, percent-encoded in lower case (RFC 3986 makes %3a and %3A the same octet)
    lower = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), tags_path(arn))
    status, error, _ = send(gateway, "DELETE", lower)
    assert (status, error["code"]) == (400, validation_code)
    # and a valid call answers, whatever the resource holds
    status, _, response = send(gateway, "GET", tags_path(arn))
    assert status < 500, response


def test_signing_name_wins_over_the_arn(gateway: Gateway) -> None:
    status, error, _ = send(gateway, "DELETE", tags_path(PROFILE_ARN), signed="connect")
    assert (status, error["code"]) == (400, "InvalidParameterException")
    status, error, _ = send(gateway, "DELETE", tags_path(CONNECT_ARN), signed="customer-profiles")
    assert (status, error["code"]) == (400, "BadRequestException")


def test_host_names_the_service_when_unsigned(gateway: Gateway) -> None:
    arn = "arn:aws:other:us-east-1:123456789012:thing/x"
    status, error, _ = send(
        gateway, "DELETE", tags_path(arn), host="connect.us-east-1.amazonaws.com"
    )
    assert (status, error["code"]) == (400, "InvalidParameterException")
    status, error, _ = send(
        gateway, "DELETE", tags_path(arn), host="profile.us-east-1.amazonaws.com"
    )
    assert (status, error["code"]) == (400, "BadRequestException")


@pytest.mark.parametrize("signed", [None, "customer-profiles", "connect"])
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/no/such/route"), ("GET", "/"), ("PATCH", "/domains"), ("PUT", "/domains")],
)
def test_unknown_route_is_404(gateway: Gateway, signed: str | None, method: str, path: str) -> None:
    status, error, response = send(gateway, method, path, signed=signed)
    assert status == 404
    assert error["code"] == "UnknownOperationException"
    assert path in error["Message"]
    assert response.headers["x-amzn-requestid"]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'"text"', b"null", b"\xff\xfe", b'{"DomainName": '],
    ids=["garbage", "array", "string", "null", "not-utf8", "truncated"],
)
@pytest.mark.parametrize(
    ("service", "method", "path"),
    [
        ("customer-profiles", "POST", "/domains/demo"),
        ("connect", "PUT", "/contact-flows/8f6a4a3c-1b2d-4e5f-9a0b-1c2d3e4f5a6b"),
    ],
    ids=["profiles", "connect"],
)
def test_body_that_is_not_a_json_object_is_400(
    gateway: Gateway, service: str, method: str, path: str, body: bytes
) -> None:
    status, error, _ = send(gateway, method, path, body=body, signed=service)
    assert status == 400
    assert error["code"] == "SerializationException"


def test_empty_body_is_an_empty_object(gateway: Gateway) -> None:
    status, error, _ = send(gateway, "POST", "/domains/demo", body=b"", signed="customer-profiles")
    assert (status, error["code"]) == (400, "BadRequestException")
    assert "'DefaultExpirationDays'" in error["Message"]


# --- the invariants the parser relies on ----------------------------------------------------

_INPUT_LOCATIONS = {None, "uri", "querystring", "header"}
_OUTPUT_LOCATIONS = {None, "header", "statusCode"}


@pytest.mark.parametrize("service", SERVICES)
def test_models_use_only_the_locations_the_parser_handles(service: str) -> None:
    model = service_model(service)
    problems: list[str] = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        for which, shape, allowed in (
            ("input", operation.input_shape, _INPUT_LOCATIONS),
            ("output", operation.output_shape, _OUTPUT_LOCATIONS),
        ):
            if shape is None:
                continue
            if shape.serialization.get("payload"):
                problems.append(f"{name} {which} has a payload member")
            for member_name, member in shape.members.items():
                location = member.serialization.get("location")
                where = f"{name} {which} {member_name}"
                if location not in allowed:
                    problems.append(f"{where} is in {location}")
                if location in ("querystring", "header") and member.type_name == "map":
                    problems.append(f"{where} is a map in {location}")
                if location == "header" and member.type_name == "list":
                    problems.append(f"{where} is a list in a header")
                if location == "querystring" and member.type_name == "list":
                    if member.member.type_name not in ("string", "integer", "long", "boolean"):
                        problems.append(f"{where} is a list of {member.member.type_name}")
                if member.type_name == "string" and (
                    member.metadata.get("jsonvalue") or member.serialization.get("jsonvalue")
                ):
                    problems.append(f"{where} is a JSON value")
                if member.serialization.get("eventstream") or member.metadata.get("streaming"):
                    problems.append(f"{where} streams")
        if operation.endpoint:
            problems.append(f"{name} has a host prefix")
    assert problems == []


# --- what a handler's failure looks like -----------------------------------------------------


@pytest.mark.parametrize(
    ("service", "operation", "path", "internal"),
    [
        ("customer-profiles", "ListDomains", "/domains", "InternalServerException"),
        ("connect", "ListQueues", "/queues-summary/instance-1", "InternalServiceException"),
    ],
)
def test_unexpected_handler_error_is_a_bare_500(
    gateway: Gateway,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    service: str,
    operation: str,
    path: str,
    internal: str,
) -> None:
    def boom(ctx: Any, req: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("secret detail /etc/passwd")

    monkeypatch.setitem(gateway.handlers, (service, operation), boom)
    status, error, response = send(gateway, "GET", path, signed=service)
    assert status == 500
    assert error["code"] == internal
    assert "secret" not in response.body.decode()
    assert response.headers["x-amzn-requestid"] in error["Message"]
    assert "secret detail" in caplog.text  # logged for the operator, not sent to the client


def test_undeclared_output_member_is_a_500_not_a_leak(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        gateway.handlers,
        ("customer-profiles", "ListDomains"),
        lambda ctx, req: {"Items": [], "InternalRowId": 42},
    )
    status, error, response = send(gateway, "GET", "/domains", signed="customer-profiles")
    assert (status, error["code"]) == (500, "InternalServerException")
    assert b"InternalRowId" not in response.body


def test_every_response_has_its_own_request_id(gateway: Gateway) -> None:
    ids = {
        send(gateway, "GET", path, signed="customer-profiles")[2].headers["x-amzn-requestid"]
        for path in ("/domains", "/domains", "/nowhere")
    }
    assert len(ids) == 3
