"""The built-in object type templates and the standard objects they write to, as data.

Where the catalogue comes from
------------------------------
AWS publishes no dump of its templates: the live list exists only behind
``ListProfileObjectTypeTemplates``. Each ``<TemplateId>.json`` here is rebuilt from the Amazon
Connect admin guide's mapping pages (REFERENCE 1.6 and 1.7) and holds exactly the members of
``GetProfileObjectTypeTemplateResponse``. ``standard_objects.json`` (one level up) lists the
standard objects of REFERENCE 1.8, so that Targets can be checked.

Documented, and followed row by row:
- the template ids and the standard object each one feeds (1.6);
- every source -> target row of the vendor templates, and the key names with the source field each
  one indexes (1.7); Segment sources are under ``_source.detail.event.detail.`` and Shopify sources
  under ``_source.detail.event.detail.payload.`` (EventBridge envelope);
- the Shopify StatusCode rule (``ACTIVATED`` when ``order_status_url`` is present, else ``DRAFT``),
  written as ``{{#if ...}}ACTIVATED{{else}}DRAFT{{/if}}``;
- Shopify line items use the documented ``[]`` notation: Source ``..line_items[].title`` with Target
  ``_order.OrderItems[].Title`` maps each element of the array to one order item;
- the CTR family's behaviour: ``_ctrContactId`` first; ``CTR-NoInferred`` and
  ``CTR-AutoAssociateOnly`` then try ``_phone``; ``CTR-AutoAssociateOnly`` never creates a profile.

INFERENCE (not published; chosen to satisfy the validation rules of REFERENCE 1.3):
- SourceName is the vendor (``Connect``, ``Salesforce``, ``Zendesk``, ``Marketo``, ``ServiceNow``,
  ``Segment``, ``Shopify``) and SourceObject the vendor's object (``CTR``, ``Account``,
  ``users``...).
- AllowProfileCreation is true for ``CTR``, ``CTR-NoInferred`` and every template feeding
  ``_profile``; false for ``CTR-AutoAssociateOnly`` and every ``_asset``/``_case``/``_order``
  template (a ticket, task, incident, asset or order joins an existing customer or is rejected).
- The UNIQUE key is the vendor's own record id: ``_ctrContactId``, ``_salesforceAccountId``,
  ``_salesforceContactId``, ``_salesforceAssetId``, ``_zendeskUserId`` (users),
  ``_zendeskTicketId``, ``_marketoLeadId``, ``_serviceNowSystemId`` (sys_user),
  ``_serviceNowTaskId``, ``_serviceNowIncidentId``, ``_segmentUserId``, ``_shopifyCustomerId``
  (Customer), ``_shopifyOrderId``.
- Templates feeding ``_profile``: the record's own id key is PROFILE+UNIQUE. Ids that point at
  *another* record of the same person (``_salesforceAccountId`` on Salesforce-Contact;
  ``_salesforceContactId`` and ``_salesforceAccountId`` on Marketo-leads; ``_zendeskExternalId``)
  are PROFILE+SECONDARY, so the record's own id always wins and the cross-reference is only the
  fallback. Caveat: on a business (non-person) Salesforce account, contacts found through the
  account id join the account's profile, as the documented PROFILE key implies.
- Templates feeding ``_asset``/``_case``/``_order``: the record id key carries UNIQUE plus the
  object's identifier (ASSET, CASE, ORDER) and no PROFILE; the key tying the record to its customer
  is the PROFILE key: Salesforce-Asset ``_salesforceContactId`` (PROFILE) then
  ``_salesforceAccountId`` (PROFILE+SECONDARY); Zendesk-tickets ``_zendeskUserId`` (requester_id);
  ServiceNow-task ``_serviceNowSystemId`` (opened_by.link); ServiceNow-incident
  ``_serviceNowSystemId`` (caller_id.link); both Shopify order templates ``_shopifyCustomerId``
  (customer.id, undocumented as a key for orders, added because an order needs a PROFILE key and
  Shopify-Customer indexes the same id under that name).
- The CTR family follows the reconstruction of REFERENCE 1.7: ``_ctrContactId`` PROFILE+UNIQUE;
  ``ctrPhone`` (our name) PROFILE+NEW_ONLY holds the caller number on profiles the template creates;
  ``CTR-NoInferred`` and ``CTR-AutoAssociateOnly`` add ``_phone`` PROFILE+SECONDARY+LOOKUP_ONLY.
  Sources are PascalCase contact-record paths (``_source.ContactId``,
  ``_source.CustomerEndpoint.Address``...); field names are the lower-camel names AWS's default
  calculated attributes use.
- Field names are the vendor's source path relative to the record. Fields used in a key cannot hold
  a dot (botocore's FieldNames pattern), so nested key sources are named with ``_``
  (``opened_by_link``, ``caller_id_link``, ``customer_id``). A source mapped to two targets needs a
  second field: ``created_by`` (Zendesk requester_id -> CreatedBy; ServiceNow caller_id.link ->
  CreatedBy); the Shopify StatusCode rule is the field ``status_code``.
- Salesforce ``IsPersonAccount`` -> PartyType is ``{{#if}}INDIVIDUAL{{else}}BUSINESS{{/if}}``: the
  target is an enum, and an org without person accounts has no such field (all BUSINESS).
- Shopify-Order takes ``financial_status`` -> Status and ``order_status_url`` -> StatusUrl in place
  of the draft order's ``status`` and ``invoice_url`` (orders have neither; both would collide).
- Marketo keeps the documented source ``dataOfBirth`` (sic); ``gender`` sources go to Gender as
  documented (normalising vendor values to the enum is the ingestion engine's concern).
- ContentType: email fields EMAIL_ADDRESS, phone fields PHONE_NUMBER, person and business names
  NAME, everything else (ids included) STRING, so a key name shared by several templates always has
  the same ContentTypes.
- ``_serviceNowTaskId`` is documented for ServiceNow-task though absent from the predefined search
  keys of REFERENCE 1.9; it is kept under its documented name.
- TemplateId casing: the docs write ``Servicenow-*``; ours are ``ServiceNow-*`` and
  :func:`get_template` accepts ``Servicenow-*`` spellings in any case as aliases.

standard_objects.json
---------------------
``{name: {"id", "identifier", "fields", "exclusive", "forbidden"}}``. ``id`` is the system-managed
id (never a Target); ``identifier`` the StandardIdentifier whose key looks the record up (none for
``_profile``); ``fields`` the target paths after ``<name>.``, with ``"Attributes"`` standing for any
``Attributes.<name>``, address parts written out (``Address.City``), and ``OrderItems[].Title``
style entries for list items; ``null`` means the field list is unpublished (accept any field name).
``exclusive`` lists pairs that cannot both be targeted; ``forbidden`` lists read-only fields.
Documented in REFERENCE 1.8, except the field lists of the travel, loyalty, device, web-analytics
and communication-record objects (a gap).
"""

from __future__ import annotations

import copy
import functools
import json
from importlib import resources
from typing import Any

_ALIAS_PREFIX = "servicenow-"


@functools.cache
def _catalogue() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for entry in resources.files(__package__).iterdir():
        if entry.name.endswith(".json"):
            template = json.loads(entry.read_text("utf-8"))
            found[template["TemplateId"]] = template
    return dict(sorted(found.items()))


@functools.cache
def _standard_objects() -> dict[str, Any]:
    data = resources.files("openprofiles.engine").joinpath("standard_objects.json")
    return json.loads(data.read_text("utf-8"))


def templates() -> dict[str, dict[str, Any]]:
    """Every built-in template, keyed by TemplateId in TemplateId order (a copy: safe to change)."""
    return copy.deepcopy(_catalogue())


def get_template(template_id: str) -> dict[str, Any] | None:
    """The template ``template_id`` names, or None; ``Servicenow-*`` in any case is an alias."""
    catalogue = _catalogue()
    found = catalogue.get(template_id)
    if found is None and template_id.lower().startswith(_ALIAS_PREFIX):
        wanted = template_id.lower()
        found = next((t for tid, t in catalogue.items() if tid.lower() == wanted), None)
    return copy.deepcopy(found) if found is not None else None


def standard_objects() -> dict[str, Any]:
    """The standard objects and their fields. Shared and read on every ingestion: not a copy,
    so callers must not change it."""
    return _standard_objects()
