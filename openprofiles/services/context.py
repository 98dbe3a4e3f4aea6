"""What a handler knows about the call it serves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from openprofiles.engine.tenancy import Tenant

if TYPE_CHECKING:
    from openprofiles.app import App


@dataclass(frozen=True, slots=True)
class RequestContext:
    tenant: Tenant
    request_id: str
    service: str
    operation: str
    app: App
