"""ListProfileObjectTypeTemplates, GetProfileObjectTypeTemplate.

The templates are built in (``openprofiles.engine.templates``): the same for every account and
region, so these handlers never touch the store. The list is in TemplateId order; its NextToken is
the last TemplateId of the page, like every other list here.
"""

from __future__ import annotations

from typing import Any

from openprofiles.engine import templates as catalogue
from openprofiles.errors import BadRequestException, ResourceNotFoundException
from openprofiles.services.context import RequestContext
from openprofiles.services.profiles import operation
from openprofiles.store.pagination import decode_token, encode_token

_DEFAULT_PAGE = 100
_TOKEN_KIND = "templates"
_BAD_TOKEN = "Invalid NextToken: it was not returned by this list operation"


@operation("ListProfileObjectTypeTemplates")
def list_profile_object_type_templates(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    after = None
    if req.get("NextToken"):
        after = decode_token(_TOKEN_KIND, req["NextToken"], 1)[0]
        if not isinstance(after, str):  # ours always hold a TemplateId
            raise BadRequestException(_BAD_TOKEN)
    max_results = req.get("MaxResults", _DEFAULT_PAGE)
    remaining = [t for tid, t in catalogue.templates().items() if after is None or tid > after]
    page = remaining[:max_results]
    items = [{k: t[k] for k in ("TemplateId", "SourceName", "SourceObject")} for t in page]
    more = len(remaining) > max_results
    return {
        "Items": items,
        "NextToken": encode_token(_TOKEN_KIND, [page[-1]["TemplateId"]]) if more else None,
    }


@operation("GetProfileObjectTypeTemplate")
def get_profile_object_type_template(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    template = catalogue.get_template(req["TemplateId"])
    if template is None:
        raise ResourceNotFoundException(f"Template {req['TemplateId']} does not exist")
    return template
