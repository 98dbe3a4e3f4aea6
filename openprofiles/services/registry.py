"""Operation name -> handler, filled by the ``@operation`` decorators of the family modules.

The registry is also the source of the coverage table: every operation of the served models, with
whether a handler implements it. An operation without a handler answers NotImplementedException
(501) naming it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

from openprofiles.protocol.specs import SERVICES, service_model

Handler = Callable[..., dict[str, Any]]

_HANDLERS: dict[tuple[str, str], Handler] = {}


class Registrar:
    """``operation = Registrar("customer-profiles")``; then ``@operation("CreateDomain")``."""

    def __init__(self, service: str) -> None:
        self.service = service

    def __call__(self, name: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            key = (self.service, name)
            if key in _HANDLERS:
                raise RuntimeError(f"{self.service} {name} is registered twice")
            _HANDLERS[key] = handler
            return handler

        return register


def load() -> dict[tuple[str, str], Handler]:
    """Import every family module (which registers its handlers) and return the table."""
    for package in ("openprofiles.services.profiles", "openprofiles.services.connect"):
        module = importlib.import_module(package)
        for info in pkgutil.iter_modules(module.__path__):
            importlib.import_module(f"{package}.{info.name}")
    return dict(_HANDLERS)


def coverage() -> list[tuple[str, str, bool]]:
    """(service, operation, implemented) for every operation of the served models."""
    handlers = load()
    return [
        (service, name, (service, name) in handlers)
        for service in SERVICES
        for name in sorted(service_model(service).operation_names)
    ]
