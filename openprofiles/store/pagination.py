"""Opaque keyset pagination tokens.

A token is the sort key of the last row of a page, as base64url JSON with a kind tag, so a list
resumes after that row however the table changed meanwhile. A token that does not decode, or that
belongs to another kind of list, is refused with BadRequestException: never a 500.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any, TypeVar

import orjson

from openprofiles.errors import BadRequestException, ServiceError

T = TypeVar("T")


def encode_token(kind: str, position: list[Any]) -> str:
    raw = orjson.dumps({"k": kind, "p": position})
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(
    kind: str, token: str, arity: int, error: type[ServiceError] = BadRequestException
) -> list[Any]:
    """The position in ``token``, or ``error`` naming NextToken when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        data = None
    if (
        not isinstance(data, dict)
        or data.get("k") != kind
        or not isinstance(data.get("p"), list)
        or len(data["p"]) != arity
        or not all(isinstance(v, str | int | float) for v in data["p"])
    ):
        raise error("Invalid NextToken: it was not returned by this list operation")
    return data["p"]


def resume_after(kind: str, token: str | None) -> Any:
    """The sort key a NextToken resumes after (None: the first page)."""
    return decode_token(kind, token, 1)[0] if token else None


def cut_page(kind: str, rows: list[T], limit: int, key: Callable[[T], Any]) -> tuple[list[T], str | None]:
    """A page of ``limit`` rows from ``limit + 1`` fetched, and the token of the next page
    (None when the extra row was not there)."""
    if len(rows) > limit:
        return rows[:limit], encode_token(kind, [key(rows[limit - 1])])
    return rows, None
