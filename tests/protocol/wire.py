"""Helpers of the protocol tests: model-driven sample inputs, and requests as botocore sends them.

``minimal_input`` builds, from an operation's input shape alone, the smallest input that satisfies
every constraint of the model (required members, lengths, patterns, enums, ranges, unions); string
patterns are satisfied by a small generator over the parsed expression, and every value it returns
has been checked with the ``regex`` package, as the server's validator checks it.

``to_http_request`` serializes params with botocore's own rest-json serializer and request
preparation (no client-side validation, so deliberately broken params go out as they are) and
turns the prepared request into the ``HttpRequest`` that the gateway receives from either door.
"""

from __future__ import annotations

import functools
import re
import re._constants as sre
import re._parser as sre_parse
from datetime import UTC, datetime
from typing import Any

import regex
from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.model import OperationModel, Shape
from botocore.serialize import create_serializer

from openprofiles.protocol.messages import HttpRequest
from openprofiles.protocol.specs import SERVICES, SIGNING_NAMES, json_string_shapes, service_model

ENDPOINT = "https://openprofiles.test"
SIGNING = {service: signing for signing, service in SIGNING_NAMES.items()}
SAMPLE_TIME = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def authorization(service: str) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/{SIGNING[service]}/"
        "aws4_request, SignedHeaders=host, Signature=0"
    )


def all_operations() -> list[tuple[str, OperationModel]]:
    return [
        (service, service_model(service).operation_model(name))
        for service in SERVICES
        for name in sorted(service_model(service).operation_names)
    ]


# --- requests as botocore sends them ---------------------------------------------------------

_SERIALIZER = create_serializer("rest-json", include_validation=False)


def to_http_request(
    operation: OperationModel,
    params: dict[str, Any],
    service: str | None = None,
    serializer: Any = None,
) -> HttpRequest:
    """The request botocore would send for ``params``, signed (in appearance) for ``service``."""
    serialized = (serializer or _SERIALIZER).serialize_to_request(params, operation)
    prepare_request_dict(serialized, ENDPOINT)
    prepared = create_request_object(serialized).prepare()
    rest = prepared.url.partition("://")[2]
    path, _, query = rest[rest.index("/") :].partition("?")
    headers = {k.lower(): _text(v) for k, v in prepared.headers.items()}
    headers["host"] = ENDPOINT.partition("://")[2]
    if service is not None:
        headers["authorization"] = authorization(service)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return HttpRequest(prepared.method, path, query, headers, body)


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


# --- sample values ---------------------------------------------------------------------------


def minimal_input(service: str, operation: OperationModel) -> dict[str, Any]:
    shape = operation.input_shape
    if shape is None:
        return {}
    return Sampler(json_string_shapes(service)).structure(shape)


class Sampler:
    """Valid values of shapes: one item per list or map, and required members only, or also the
    optional members of structures nested less than ``full_depth`` deep (those that can be valid).
    """

    def __init__(self, json_strings: frozenset[str] = frozenset(), full_depth: int = 0) -> None:
        self.json_strings = json_strings
        self.full_depth = full_depth

    def value(self, shape: Shape, depth: int = 0) -> Any:
        if depth > 30:
            raise RecursionError(f"{shape.name} nests too deep")
        kind = shape.type_name
        if kind == "structure":
            return self.structure(shape, depth)
        if kind == "list":
            count = _count(shape)
            return [self.value(shape.member, depth + 1) for _ in range(count)]
        if kind == "map":
            count = _count(shape)
            keys = distinct_strings(shape.key, count)
            return {key: self.value(shape.value, depth + 1) for key in keys}
        if kind == "string":
            return self.string(shape)
        if kind in ("integer", "long"):
            return number(shape)
        if kind in ("float", "double"):
            return fraction(shape)
        if kind == "boolean":
            return True
        if kind == "timestamp":
            return SAMPLE_TIME
        if kind == "blob":
            return b"openprofiles"
        raise TypeError(f"no sample for {kind} shape {shape.name}")

    def structure(self, shape: Shape, depth: int = 0) -> dict[str, Any]:
        members = shape.members
        if shape.metadata.get("union"):
            # the member whose sample is smallest, so unions stay cheap
            name = min(members, key=lambda n: (_weight(members[n]), n))
            return {name: self.value(members[name], depth + 1)}
        out = {name: self.value(members[name], depth + 1) for name in shape.required_members}
        if depth < self.full_depth:
            for name, member in members.items():
                if name in out:
                    continue
                try:
                    out[name] = self.value(member, depth + 1)
                except (ValueError, RecursionError):  # no valid value, or only a recursive one
                    continue
        return out

    def string(self, shape: Shape) -> str:
        if shape.enum:
            return str(shape.enum[0])
        if shape.name in self.json_strings:
            return "{}"
        meta = shape.metadata
        return sample_string(meta.get("pattern"), _min_len(shape), meta.get("max"))


def _count(shape: Shape) -> int:
    low = shape.metadata.get("min") or 0
    high = shape.metadata.get("max")
    count = max(low, 1)
    return count if high is None else min(count, high)


def _min_len(shape: Shape) -> int:
    return max(shape.metadata.get("min") or 0, 1)


def _weight(shape: Shape, depth: int = 0) -> int:
    kind = shape.type_name
    if depth > 5:
        return 100
    if kind == "structure":
        return 1 + sum(_weight(shape.members[n], depth + 1) for n in shape.required_members)
    if kind in ("list", "map"):
        return 2 + _weight(shape.member if kind == "list" else shape.value, depth + 1)
    return 1


def number(shape: Shape) -> int:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None:
        return int(low)
    if high is not None:
        return int(min(1, high))
    return 1


def fraction(shape: Shape) -> float:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    value = 1.5
    if low is not None and value < low:
        value = float(low)
    if high is not None and value > high:
        value = float(high)
    return value


def distinct_strings(shape: Shape, count: int) -> list[str]:
    if shape.enum:
        return [str(v) for v in shape.enum[:count]]
    found: list[str] = []
    while len(found) < count:
        pattern, high = shape.metadata.get("pattern"), shape.metadata.get("max")
        found.append(sample_string(pattern, _min_len(shape), high, avoid=found))
    return found


# --- strings that satisfy a pattern ----------------------------------------------------------

# Unicode properties that Python's re lacks, as ASCII stand-ins good enough to generate from.
_PROPERTIES = {
    ("p", "L"): "a-zA-Z",
    ("p", "N"): "0-9",
    ("p", "Z"): " ",
    ("P", "C"): "a-zA-Z0-9 ",
}
_PREFERENCES = ("aA0_- .", "0aA_-.", "Aa0-_.", "_a0A-.")


def sample_string(
    pattern: str | None, min_len: int, max_len: int | None, avoid: list[str] | None = None
) -> str:
    """A string of length in [min_len, max_len] that ``regex`` finds ``pattern`` in."""
    avoid = avoid or []
    if pattern is None:
        for letter in "abcdefghijklmnopqrstuvwxyz":
            text = letter * min_len
            if text not in avoid:
                return text
        raise ValueError("ran out of plain strings")
    for text in _candidates(pattern, min_len, max_len):
        if text not in avoid and fits(pattern, min_len, max_len, text):
            return text
    raise ValueError(f"cannot generate a string for {pattern!r} of length {min_len}..{max_len}")


def fits(pattern: str | None, min_len: int, max_len: int | None, text: str) -> bool:
    if len(text) < min_len or (max_len is not None and len(text) > max_len):
        return False
    return pattern is None or regex.search(pattern, text) is not None


def _candidates(pattern: str, min_len: int, max_len: int | None) -> Any:
    tree = _parse(pattern)
    limit = min_len + 8 if max_len is None else min(max_len, min_len + 8)
    for prefer in _PREFERENCES:
        for branch in range(3):
            for boost in range(0, limit + 1):
                text = _Generator(prefer, branch, boost).items(tree)
                if max_len is not None and len(text) > max_len:
                    break
                yield text
                if len(text) >= min_len:
                    break


@functools.cache
def _parse(pattern: str) -> Any:
    return sre_parse.parse(_pythonize(pattern))


def _pythonize(pattern: str) -> str:
    """Rewrites ``\\p{L}``-style properties, which Python's re does not know, as ASCII classes."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escape = pattern[i + 1]
            if escape in "pP" and pattern[i + 2 : i + 3] == "{":
                end = pattern.index("}", i)
                chars = _PROPERTIES.get((escape, pattern[i + 3 : end]), "a")
                out.append(chars if in_class else f"[{chars}]")
                i = end + 1
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


_CATEGORY_CHARS = {
    sre.CATEGORY_DIGIT: "0123456789",
    sre.CATEGORY_WORD: "aA0_",
    sre.CATEGORY_NOT_WORD: "-. ",
    sre.CATEGORY_SPACE: " ",
    sre.CATEGORY_NOT_SPACE: "aA0_-.",
    sre.CATEGORY_NOT_DIGIT: "aA_-. ",
}


class _Generator:
    def __init__(self, prefer: str, branch: int, boost: int) -> None:
        self.prefer = prefer
        self.branch = branch
        self.boost = boost

    def items(self, items: Any) -> str:
        return "".join(self.item(op, av) for op, av in items)

    def item(self, op: Any, av: Any) -> str:
        if op is sre.LITERAL:
            return chr(av)
        if op is sre.NOT_LITERAL:
            return next(c for c in self.prefer + "b" if c != chr(av))
        if op is sre.ANY:
            return self.prefer[0]
        if op is sre.IN:
            return self.one_of(av)
        if op is sre.CATEGORY:
            return self.pick(_CATEGORY_CHARS.get(av, "a"))
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, sub = av
            count = low + self.boost
            if high is not sre.MAXREPEAT:
                count = min(count, high)
            return "".join(self.items(sub) for _ in range(count))
        if op is sre.SUBPATTERN:
            return self.items(av[-1])
        if op is sre.ATOMIC_GROUP:
            return self.items(av)
        if op is sre.BRANCH:
            choices = av[1]
            return self.items(choices[self.branch % len(choices)])
        return ""  # anchors and lookarounds: the final check with regex judges them

    def pick(self, chars: str) -> str:
        return next((c for c in self.prefer if c in chars), chars[0])

    def one_of(self, av: Any) -> str:
        negate = bool(av) and av[0][0] is sre.NEGATE
        terms = av[1:] if negate else av

        def inside(char: str) -> bool:
            code = ord(char)
            for op, arg in terms:
                if op is sre.LITERAL and code == arg:
                    return True
                if op is sre.RANGE and arg[0] <= code <= arg[1]:
                    return True
                if op is sre.CATEGORY and re.fullmatch(_CATEGORY_RE[arg], char):
                    return True
            return False

        pool = self.prefer + "abcxyzABC0123456789_-.:/@+= \t"
        if negate:
            return next(c for c in pool if not inside(c))
        found = next((c for c in pool if inside(c)), None)
        if found is not None:
            return found
        op, arg = terms[0]
        if op is sre.LITERAL:
            return chr(arg)
        if op is sre.RANGE:
            return chr(arg[0])
        return self.pick(_CATEGORY_CHARS.get(arg, "a"))


_CATEGORY_RE = {
    sre.CATEGORY_DIGIT: r"\d",
    sre.CATEGORY_NOT_DIGIT: r"\D",
    sre.CATEGORY_WORD: r"\w",
    sre.CATEGORY_NOT_WORD: r"\W",
    sre.CATEGORY_SPACE: r"\s",
    sre.CATEGORY_NOT_SPACE: r"\S",
}
