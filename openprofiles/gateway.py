"""handle(HttpRequest) -> HttpResponse: the one path every call takes, from either front door.

Detect the service (SigV4 scope, then host, then path and the ARN in it), route, parse, validate,
dispatch to the operation's handler and serialize. A ServiceError raised anywhere becomes the
error response its shape describes; any other exception is logged and answered with a generic 500,
never with its text or a traceback.
"""

from __future__ import annotations

import functools
import itertools
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

from botocore.model import OperationModel, ServiceModel

from openprofiles.engine.tenancy import Tenant
from openprofiles.errors import (
    BadRequestException,
    InternalServerException,
    InternalServiceException,
    InvalidParameterException,
    InvalidRequestException,
    NotImplementedException,
    ServiceError,
    UnknownOperationException,
)
from openprofiles.protocol.auth import account_for, read_caller
from openprofiles.protocol.messages import HttpRequest, HttpResponse
from openprofiles.protocol.parser import parse_request
from openprofiles.protocol.router import Router
from openprofiles.protocol.serializer import serialize_error, serialize_result
from openprofiles.protocol.specs import SERVICES, SIGNING_NAMES, json_string_shapes, service_model
from openprofiles.protocol.validate import Validator, summarize
from openprofiles.services import registry
from openprofiles.services.context import RequestContext

if TYPE_CHECKING:
    from openprofiles.app import App

log = logging.getLogger("openprofiles.gateway")

#: the error of each service for an input that breaks the model, in order of preference
_VALIDATION_ERRORS: tuple[type[ServiceError], ...] = (
    BadRequestException,
    InvalidParameterException,
    InvalidRequestException,
)
#: routes (and callers' tenants) remembered before the memo starts over
_ROUTES_REMEMBERED = 10_000
_INTERNAL_ERRORS = {"customer-profiles": InternalServerException, "connect": InternalServiceException}


@dataclass(frozen=True)
class _Service:
    name: str
    model: ServiceModel
    router: Router
    validator: Validator


@functools.cache
def _service(name: str) -> _Service:
    """A service's model with its compiled routes and validator: built once per process, as
    they derive from the model alone."""
    return _Service(name, service_model(name), Router(service_model(name)), Validator(json_string_shapes(name)))


class Gateway:
    def __init__(self, app: App) -> None:
        self.app = app
        self.handlers = registry.load()
        self.services = {name: _service(name) for name in SERVICES}
        self._request_ids = _RequestIds()
        self._routes: dict[tuple[str | None, str, str, str], tuple[_Service, tuple[OperationModel, dict[str, str]]]] = {}
        self._tenants: dict[tuple[str | None, str | None], Tenant] = {}

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = self._request_ids.next()
        service: _Service | None = None
        try:
            access_key, region, signing_name = read_caller(request)
            service, found = self._route(request, signing_name)
            operation, labels = found
            params = parse_request(operation, request, labels)
            errors = service.validator.errors(operation.input_shape, params)
            if errors:
                raise _validation_error(operation)(summarize(errors))
            handler = self.handlers.get((service.name, operation.name))
            if handler is None:
                raise NotImplementedException(
                    f"{operation.name} of {service.model.metadata['serviceFullName']} is not "
                    "implemented by openprofiles yet"
                )
            tenant = self._tenants.get((access_key, region)) or self._tenant(access_key, region)
            ctx = RequestContext(tenant, request_id, service.name, operation.name, self.app)
            result = handler(ctx, params)
            return serialize_result(operation, result, request_id)
        except ServiceError as error:
            return serialize_error(service.model if service else None, error, request_id)
        except Exception:
            log.exception("unexpected error in %s %s", request.method, request.raw_path)
            return _internal_error(service, request_id)

    def uncommitted(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """What a call answers instead of ``response`` when its commit failed after it ran (a
        commit group, see store.db): the internal error of its service, under the same id."""
        request_id = response.headers.get("x-amzn-requestid", "")
        try:
            service: _Service | None = self._route(request, read_caller(request)[2])[0]
        except Exception:  # noqa: BLE001 (routed before it ran: whatever fails now, it is answered)
            service = None
        return _internal_error(service, request_id)

    def _tenant(self, access_key: str | None, region: str | None) -> Tenant:
        """The account and region a caller acts in; remembered by (access key, region), as a
        client sends the same ones call after call."""
        settings = self.app.settings
        tenant = Tenant(
            account_for(access_key, settings.accounts, settings.default_account),
            region or settings.default_region,
        )
        if len(self._tenants) >= _ROUTES_REMEMBERED:
            self._tenants.clear()
        self._tenants[(access_key, region)] = tenant
        return tenant

    def _route(
        self, request: HttpRequest, signing_name: str | None
    ) -> tuple[_Service, tuple[OperationModel, dict[str, str]]]:
        """Which operation of which service a request calls. Clients call the same few paths
        over and over, so the answer is remembered by (signing name, method, path, query)."""
        key = (signing_name, request.method, request.raw_path, request.query_string)
        found = self._routes.get(key)
        if found is None:
            found = self._routes[key] = self._find_route(request, signing_name)
            if len(self._routes) > _ROUTES_REMEMBERED:
                self._routes.clear()
        return found

    def _find_route(
        self, request: HttpRequest, signing_name: str | None
    ) -> tuple[_Service, tuple[OperationModel, dict[str, str]]]:
        query = request.query()
        named = SIGNING_NAMES.get(signing_name or "")
        candidates = [named] if named else _guess_services(request.raw_path)
        for name in candidates:
            service = self.services[name]
            found = service.router.match(request.method, request.raw_path, query)
            if found is not None:
                return service, found
        raise UnknownOperationException(
            f"No operation of {' or '.join(candidates)} matches {request.method} {request.raw_path}"
        )


def _internal_error(service: _Service | None, request_id: str) -> HttpResponse:
    internal = _INTERNAL_ERRORS[service.name if service else "customer-profiles"]
    return serialize_error(
        service.model if service else None,
        internal(f"An internal error occurred (request {request_id})"),
        request_id,
    )


class _RequestIds:
    """Fresh ids in the UUID (version 4) form AWS uses: a random prefix per gateway and a counter
    in the last group, so they never repeat in a process and seldom across processes (an id
    names a request, it guards nothing), for a fraction of uuid4's cost."""

    def __init__(self) -> None:
        text = str(uuid.uuid4())
        self._prefix = text[:24]
        self._count = itertools.count(int(text[24:], 16))

    def next(self) -> str:
        return f"{self._prefix}{next(self._count) & 0xFFFFFFFFFFFF:012x}"


def _guess_services(raw_path: str) -> list[str]:
    """For an unsigned request: the service an ARN in the path names, else both in turn."""
    if ":connect:" in unquote(raw_path):  # %3A or %3a: percent-encoding is case-insensitive
        return ["connect", "customer-profiles"]
    return ["customer-profiles", "connect"]


def _validation_error(operation: OperationModel) -> type[ServiceError]:
    listed = {shape.name for shape in operation.error_shapes}
    for error in _VALIDATION_ERRORS:
        if error.code in listed:
            return error
    return BadRequestException

