"""Reads who is calling and where from a request: access key, region and service of SigV4.

The credential scope (``Credential=AKID/20260101/us-east-1/profile/aws4_request``, in the
Authorization header or in a presigned URL's ``X-Amz-Credential``) names the access key, the region
and the signing name of the service. Signatures are not verified: like moto and LocalStack, this
server trusts the caller about who it is; it is meant for test rigs and private networks.
"""

from __future__ import annotations

import re

from openprofiles.protocol.messages import HttpRequest

_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_HOST = re.compile(r"^([a-z-]+)\.([a-z0-9-]+)\.amazonaws\.com")
_ACCOUNT_KEY = re.compile(r"^\d{12}$")


#: (access key, region, signing name) of a request, each None when absent; a plain tuple, as it
#: is unpacked at once
Caller = tuple[str | None, str | None, str | None]


def read_caller(request: HttpRequest) -> Caller:
    """The access key, region and signing name the request claims, each None when absent."""
    found = _SCOPE.search(request.headers.get("authorization") or "")
    if found is None and "X-Amz-Credential" in request.query_string:
        credential = request.query().get("X-Amz-Credential", [""])[0]
        found = _SCOPE.search(f"Credential={credential}")
    if found is not None:
        return found.groups()  # type: ignore[return-value]
    host = _HOST.match(request.header("host") or "")
    if host is not None:
        return None, host.group(2), host.group(1)
    return None, None, None


def account_for(access_key: str | None, accounts: dict[str, str], default: str) -> str:
    """The account of an access key: the configured map, a 12-digit key itself, else the default."""
    if access_key is None:
        return default
    if access_key in accounts:
        return accounts[access_key]
    if _ACCOUNT_KEY.match(access_key):
        return access_key
    return default
