"""Routes a (method, path, query) to an operation of a service model.

Every ``http.requestUri`` of the model is compiled once into a regular expression over the raw
(still percent-encoded) path, so an ARN label such as ``/tags/arn%3Aaws%3A...%2Fdomains%2Fdemo``
stays one segment. When several routes match, the most specific wins: the one with more literal
characters, then the one whose required static query keys are all present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from botocore.model import OperationModel, ServiceModel

_LABEL = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True, slots=True)
class Route:
    operation: OperationModel
    method: str
    pattern: re.Pattern[str]
    literal_length: int
    static_query: tuple[tuple[str, str | None], ...]
    labels: tuple[str, ...]


def _compile(operation: OperationModel) -> Route:
    uri = operation.http["requestUri"]
    path, _, query = uri.partition("?")
    parts: list[str] = []
    labels: list[str] = []
    position = 0
    for match in _LABEL.finditer(path):
        parts.append(re.escape(path[position : match.start()]))
        name = match.group(1)
        greedy = name.endswith("+")
        name = name.rstrip("+")
        labels.append(name)
        group = f"g{len(labels)}"
        parts.append(f"(?P<{group}>.+)" if greedy else f"(?P<{group}>[^/]+)")
        position = match.end()
    parts.append(re.escape(path[position:]))
    body = "".join(parts).rstrip("/") or ""
    pattern = re.compile(f"^{body}/?$")
    static: list[tuple[str, str | None]] = []
    for item in filter(None, query.split("&")):
        key, sep, value = item.partition("=")
        static.append((key, value if sep else None))
    literal = len(_LABEL.sub("", path))
    return Route(operation, operation.http["method"], pattern, literal, tuple(static), tuple(labels))


def _head(route: Route) -> str | None:
    """The route's first path segment, or None when it starts with a label."""
    path = route.operation.http["requestUri"].partition("?")[0]
    first = path.split("/", 2)[1] if path.count("/") else ""
    return None if "{" in first else first


class Router:
    """All routes of one service model, grouped by HTTP method, most specific first."""

    def __init__(self, model: ServiceModel) -> None:
        self.model = model
        by_method: dict[str, list[Route]] = {}
        for name in model.operation_names:
            route = _compile(model.operation_model(name))
            by_method.setdefault(route.method, []).append(route)
        for routes in by_method.values():
            routes.sort(key=lambda r: (-len(r.static_query), -r.literal_length))
        self._routes = by_method
        # Routes by (method, first path segment): a request tries only the few that can fit.
        # A route whose first segment is a label fits any first segment, so it joins every list.
        self._by_head: dict[tuple[str, str], list[Route]] = {}
        for method, routes in by_method.items():
            heads = {_head(r) for r in routes} - {None}
            for head in heads:
                self._by_head[(method, head)] = [r for r in routes if _head(r) in (head, None)]  # type: ignore[index]
            self._by_head[(method, "")] = [r for r in routes if _head(r) is None]

    def match(
        self, method: str, raw_path: str, query: dict[str, list[str]]
    ) -> tuple[OperationModel, dict[str, str]] | None:
        """The operation and its decoded URI labels, or None when no route fits."""
        method = method.upper()
        head = raw_path.split("/", 2)[1] if raw_path.count("/") else ""
        routes = self._by_head.get((method, head))
        if routes is None:
            routes = self._by_head.get((method, ""), [])
        for route in routes:
            found = route.pattern.match(raw_path)
            if found is None:
                continue
            if any(
                key not in query or (value is not None and value not in query[key])
                for key, value in route.static_query
            ):
                continue
            labels = {
                name: unquote(found.group(f"g{i}")) for i, name in enumerate(route.labels, 1)
            }
            return route.operation, labels
        return None

    def matches_path(self, raw_path: str) -> bool:
        """Whether any route of this service, whatever its method, fits the path."""
        return any(r.pattern.match(raw_path) for rs in self._routes.values() for r in rs)
