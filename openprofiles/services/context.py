"""What a handler knows about the call it serves."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from openprofiles.engine.tenancy import Tenant

if TYPE_CHECKING:
    from openprofiles.app import App


class RequestContext(NamedTuple):
    tenant: Tenant
    request_id: str
    service: str
    operation: str
    app: App
