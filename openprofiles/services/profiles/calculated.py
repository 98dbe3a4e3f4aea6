"""Calculated attribute definitions and their values for profiles (REFERENCE 3).

CreateCalculatedAttributeDefinition, GetCalculatedAttributeDefinition,
UpdateCalculatedAttributeDefinition, DeleteCalculatedAttributeDefinition,
ListCalculatedAttributeDefinitions, GetCalculatedAttributeForProfile,
BatchGetCalculatedAttributeForProfile, ListCalculatedAttributesForProfile.

Each object's contribution (its observation) is kept as objects are written, and a read
aggregates the profile's observations with the clock (engine.calculated.observations). A
definition without UseHistoricalData counts only objects ingested after its creation, as AWS
documents, and is COMPLETED at once; one with UseHistoricalData is backfilled from the stored
objects by a durable job (engine.calculated.backfill): Status PREPARING, then IN_PROGRESS with
Readiness.ProgressPercentage, then COMPLETED, and values read before then say IsDataPartial "true".
"""

from __future__ import annotations

from typing import Any

from openprofiles.engine.calculated import backfill
from openprofiles.engine.calculated import definitions as engine
from openprofiles.engine.calculated.observations import rebuild
from openprofiles.engine.calculated.values import CalculatedValue, profile_values
from openprofiles.engine.domains import get_domain
from openprofiles.engine.profiles import require_profile
from openprofiles.engine.segments.definitions import segments_using
from openprofiles.engine.tags import add_tags
from openprofiles.errors import BadRequestException
from openprofiles.services.context import RequestContext
from openprofiles.services.profiles import operation
from openprofiles.store import profiles as profile_store
from openprofiles.store import tags as tag_store
from openprofiles.store.pagination import cut_page, resume_after

_DEFAULT_PAGE = 100
_LIST_ITEM = (
    "CalculatedAttributeName", "DisplayName", "Description", "CreatedAt", "LastUpdatedAt",
    "UseHistoricalData", "Status", "Tags",
)  # fmt: skip


def _describe(
    ctx: RequestContext, conn: Any, domain: dict[str, Any], found: engine.Definition
) -> dict[str, Any]:
    arn = engine.definition_arn(ctx.tenant, domain["domain_name"], found.name)
    ready = backfill.readiness(conn, domain, found)
    if found.use_historical_data:
        counted = "every stored object" if ready.complete else "stored objects, still being read"
    else:
        counted = "objects ingested since creation"
    return {
        "CalculatedAttributeName": found.name,
        **found.members,
        "CreatedAt": found.created_at,
        "LastUpdatedAt": found.updated_at,
        "Status": ready.status,
        "Readiness": {"ProgressPercentage": ready.progress, "Message": ready.message or f"Values are kept from {counted}"},
        "Tags": tag_store.get(conn, ctx.tenant.account_id, ctx.tenant.region, arn) or None,
    }


def _value(found: engine.Definition, value: CalculatedValue, ready: backfill.Readiness) -> dict[str, Any]:
    return {
        "CalculatedAttributeName": found.name,
        "DisplayName": found.members.get("DisplayName"),
        "IsDataPartial": "true" if value.is_data_partial or not ready.complete else "false",
        "Value": value.value,
        "LastObjectTimestamp": value.last_object_timestamp,
    }


@operation("CreateCalculatedAttributeDefinition")
def create_calculated_attribute_definition(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.transaction() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        name, now = req["CalculatedAttributeName"], ctx.app.clock.now()
        found = engine.create_definition(conn, domain, name, req, now)
        if found.use_historical_data:
            ctx.app.jobs.submit(conn, domain["id"], backfill.KIND, name, backfill.request_of(found))
        else:
            rebuild(conn, domain, found)
        arn = engine.definition_arn(ctx.tenant, domain["domain_name"], found.name)
        add_tags(conn, ctx.tenant, arn, req.get("Tags", {}), BadRequestException)
        described = _describe(ctx, conn, domain, found)
    ctx.app.jobs.wake()
    return described


@operation("GetCalculatedAttributeDefinition")
def get_calculated_attribute_definition(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        found = engine.get_definition(conn, domain, req["CalculatedAttributeName"])
        return _describe(ctx, conn, domain, found)


@operation("UpdateCalculatedAttributeDefinition")
def update_calculated_attribute_definition(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.transaction() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        name, now = req["CalculatedAttributeName"], ctx.app.clock.now()
        found = engine.update_definition(conn, domain, name, req, now)
        described = _describe(ctx, conn, domain, found)
    described.pop("Filter", None)  # not a member of the update's response
    return described


@operation("DeleteCalculatedAttributeDefinition")
def delete_calculated_attribute_definition(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.transaction() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        users = segments_using(conn, domain, req["CalculatedAttributeName"])
        if users:
            raise BadRequestException(
                f"Calculated attribute {req['CalculatedAttributeName']} is used by segment "
                f"definitions {', '.join(users)}; delete them first"
            )
        engine.delete_definition(conn, domain, req["CalculatedAttributeName"])
        arn = engine.definition_arn(ctx.tenant, domain["domain_name"], req["CalculatedAttributeName"])
        tag_store.remove_under(conn, ctx.tenant.account_id, ctx.tenant.region, arn)
    return {}


@operation("ListCalculatedAttributeDefinitions")
def list_calculated_attribute_definitions(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    limit = req.get("MaxResults", _DEFAULT_PAGE)
    after = resume_after("calculated-attributes", req.get("NextToken"))
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        found, token = cut_page("calculated-attributes", engine.list_definitions(conn, domain, after, limit + 1), limit, lambda item: item.name)
        items = []
        for item in found:
            described = _describe(ctx, conn, domain, item)
            items.append({k: described.get(k) for k in _LIST_ITEM})
    return {"Items": items, "NextToken": token}


@operation("GetCalculatedAttributeForProfile")
def get_calculated_attribute_for_profile(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        found = engine.get_definition(conn, domain, req["CalculatedAttributeName"])
        profile = require_profile(conn, domain, req["ProfileId"])
        [value] = profile_values(conn, [found], profile["id"], ctx.app.clock.now())
        ready = backfill.readiness(conn, domain, found)
    return _value(found, value, ready)


@operation("BatchGetCalculatedAttributeForProfile")
def batch_get_calculated_attribute_for_profile(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    override = (req.get("ConditionOverrides") or {}).get("Range")
    if override is not None:
        engine.check_range_override(override)
    wanted = list(dict.fromkeys(req["ProfileIds"]))
    values, errors = [], []
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        found = engine.get_definition(conn, domain, req["CalculatedAttributeName"])
        rows = profile_store.get_many(conn, domain["id"], wanted)
        now, ready = ctx.app.clock.now(), backfill.readiness(conn, domain, found)
        for profile_id in wanted:
            if profile_id not in rows:
                message = f"Profile {profile_id} does not exist in domain {domain['domain_name']}"
                errors.append(
                    {"ProfileId": profile_id, "Code": "ResourceNotFoundException", "Message": message}
                )
                continue
            [value] = profile_values(conn, [found], rows[profile_id]["id"], now, override)
            values.append({**_value(found, value, ready), "ProfileId": profile_id})
    overrides = req.get("ConditionOverrides")
    return {"CalculatedAttributeValues": values, "Errors": errors, "ConditionOverrides": overrides}


@operation("ListCalculatedAttributesForProfile")
def list_calculated_attributes_for_profile(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    limit = req.get("MaxResults", _DEFAULT_PAGE)
    kind = "calculated-attributes-for-profile"
    after = resume_after(kind, req.get("NextToken"))
    with ctx.app.store.read() as conn:
        domain = get_domain(conn, ctx.tenant, req["DomainName"])
        profile = require_profile(conn, domain, req["ProfileId"])
        found = engine.list_definitions(conn, domain, after, limit + 1)
        page, token = cut_page(kind, found, limit, lambda item: item.name)
        values = profile_values(conn, page, profile["id"], ctx.app.clock.now())
        items = [_value(d, v, backfill.readiness(conn, domain, d)) for d, v in zip(page, values, strict=True)]
    return {"Items": items, "NextToken": token}
