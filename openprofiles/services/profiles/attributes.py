"""ListProfileAttributeValues and ListObjectTypeAttributes: what a domain's data holds."""

from __future__ import annotations

from typing import Any

from openprofiles.engine import object_types
from openprofiles.engine.domains import get_domain
from openprofiles.engine.profiles import ADDRESSES, FIELDS
from openprofiles.errors import BadRequestException
from openprofiles.services.context import RequestContext
from openprofiles.services.profiles import operation
from openprofiles.store import profiles as profile_store
from openprofiles.store.pagination import decode_token, encode_token

#: the most values ListProfileAttributeValues answers, the most frequent first
MAX_VALUES = 1000
_DEFAULT_PAGE = 100
_ADDRESS_MEMBERS = (
    "Address1", "Address2", "Address3", "Address4", "City", "County", "State", "Province",
    "Country", "PostalCode",
)  # fmt: skip


def _attribute_path(name: str) -> list[str]:
    """``FirstName``, ``Address.City`` or ``Attributes.<name>`` as a document path."""
    head, _, rest = name.partition(".")
    if head == "Attributes" and rest:
        return [head, rest]
    if head in ADDRESSES and rest in _ADDRESS_MEMBERS:
        return [head, rest]
    if not rest and head in FIELDS and head not in ("Attributes", "EngagementPreferences", *ADDRESSES):
        return [head]
    raise BadRequestException(
        f"AttributeName {name} is not a profile attribute: use a standard field such as "
        "FirstName, an address member such as Address.City, or Attributes.<name>"
    )


@operation("ListProfileAttributeValues")
def list_profile_attribute_values(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    path = _attribute_path(req["AttributeName"])
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        values = profile_store.attribute_values(conn, domain["id"], path, MAX_VALUES)
    return {
        "DomainName": req["DomainName"],
        "AttributeName": req["AttributeName"],
        "Items": [{"Value": v} for v in values],
        "StatusCode": 200,
    }


@operation("ListObjectTypeAttributes")
def list_object_type_attributes(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    """The fields of an object type, by name, with the time the type last changed."""
    limit = req.get("MaxResults", _DEFAULT_PAGE)
    after = decode_token("attributes", req["NextToken"], 1)[0] if req.get("NextToken") else None
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        found = object_types.get_object_type(conn, domain, req["ObjectTypeName"])
    names = sorted(n for n in found.fields if after is None or n > after)
    items = [{"AttributeName": n, "LastUpdatedAt": found.updated_at} for n in names[:limit]]
    token = encode_token("attributes", [names[limit - 1]]) if len(names) > limit else None
    return {"Items": items, "NextToken": token}
