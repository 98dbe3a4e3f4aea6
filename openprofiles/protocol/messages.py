"""The plain request and response values that both front doors (ASGI and the mock) exchange."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs


@dataclass(slots=True)
class HttpRequest:
    method: str
    raw_path: str  # percent-encoded, as sent on the wire
    query_string: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # keys lower-case
    body: bytes = b""

    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.query_string, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(slots=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes = b""
