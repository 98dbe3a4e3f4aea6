"""A domain's definitions as ingestion reads them, kept between calls while they stay the same.

PutProfileObject needs the domain's row, the object type and the domain's calculated attribute
definitions, compiled: three reads and the parsing of their JSON, a tenth of a small put. They
change seldom, so each database connection keeps them (``conn.info``) by the domain's id and
catalog tag (``schema.domains``), and a call reads only the tag, in one indexed statement.

Every write of a domain's row, of its object types or of its calculated attribute definitions
draws a new random tag in its own transaction (store.domains), so a kept catalog is used only
while nothing in it has changed, whichever process or connection changed it. A transaction that
rolls back leaves its tag unused for good, so what a connection kept under it is never used by
another transaction; and an implicit object type made from a template on first use (which writes
a new tag) is not kept under the tag the call began with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from openprofiles.engine.calculated.observations import DomainDefinitions, domain_definitions
from openprofiles.engine.domains import get_domain
from openprofiles.engine.object_types import ObjectType, implicit_object_type, stored_object_type
from openprofiles.engine.tenancy import Tenant
from openprofiles.errors import ResourceNotFoundException
from openprofiles.store import domains as store

#: catalogs one connection keeps before it starts over
_KEPT = 256


@dataclass(slots=True)
class Catalog:
    """The domain's row (the same dict for every call that uses this catalog: read, never
    changed), its calculated attribute definitions, and the object types used so far."""

    domain: dict[str, Any]
    definitions: DomainDefinitions
    object_types: dict[str, ObjectType]

    def object_type(self, conn: Connection, name: str, now: datetime) -> ObjectType:
        """The named type, or the implicit type of the template with that name (made on first
        use); ResourceNotFoundException when it is neither."""
        found = self.object_types.get(name)
        if found is None:
            found = stored_object_type(conn, self.domain, name)
            if found is None:
                return implicit_object_type(conn, self.domain, name, now)
            self.object_types[name] = found
        return found


def ingestion_catalog(conn: Connection, tenant: Tenant, name: str) -> Catalog:
    """The catalog of the named domain, or ResourceNotFoundException."""
    tagged = store.catalog_tag(conn, tenant.account_id, tenant.region, name)
    if tagged is None:
        raise ResourceNotFoundException(f"Domain {name} does not exist")
    kept: dict[tuple[int, int], Catalog] = conn.info.setdefault("catalogs", {})
    found = kept.get(tagged)
    if found is None:
        if len(kept) >= _KEPT:
            kept.clear()
        domain = get_domain(conn, tenant, name)
        found = Catalog(domain, domain_definitions(conn, domain["id"]), {})
        # keyed by the tag the row was read with: on PostgreSQL a commit may come in between
        kept[(domain["id"], domain["catalog_tag"])] = found
    return found
