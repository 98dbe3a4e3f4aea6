"""Field Sources of object types: where a field's value comes from in an ingested object.

The ingested JSON object is bound to ``_source``; nothing else can be referenced [REFERENCE 1.2].
A Source is compiled once, when its object type is defined (errors are `SourceError`s then), and
evaluated for every ingested record.

**Plain accessor** (no ``{{``): ``_source.email``, ``_source.address.city``,
``_source.items[0].id`` (``_source.items.0.id`` also indexes a list). Keys may hold any character
but ``.``, ``[`` and ``]`` (in a template, no whitespace either); whitespace around the Source is
ignored. It compiles to a direct lookup (the ingestion hot path). ``[]`` takes every element, as
the Shopify templates do (``_source.line_items[].title`` -> ``_order.OrderItems[].Title``): a JSON
list of each element's value, null where one lacks it (sibling fields align by index), absent if
none has it.

**Handlebars template** (anything with ``{{``), this subset only:

- ``{{path}}``. Nothing is HTML-escaped (these are data values, not markup): the triple-stash
  ``{{{path}}}`` and ``{{&path}}`` are accepted and identical to ``{{path}}``.
- ``#if``, ``#unless``, ``#each`` (lists and objects), ``#with``: one argument each, an optional
  ``{{else}}`` (chains too: ``{{else if p}}``), closed by ``{{/name}}``. Handlebars truthiness:
  missing, null, false, ``""``, ``0`` and empty lists and objects are false; ``#with`` renders its
  ``{{else}}`` for those, ``#each`` for an empty list or object or anything else.
- ``{{#removeExtraSpace}}...{{/removeExtraSpace}}`` (no argument, no else): renders its body,
  collapses every run of whitespace to one space and trims.
- Comments ``{{! ... }}``, ``{{!-- ... --}}`` (a constant: ``{{!constant}}US``).
- Paths: ``_source...`` is the record everywhere, inside blocks too. Inside ``#each``/``#with``:
  ``this``, ``this.x``, ``.`` and names relative to the block (``{{City}}`` = ``{{this.City}}``);
  inside ``#each``: ``@index``, ``@key``, ``@first``, ``@last``.
- Rejected: other helpers, partials, ``{{^...}}``, ``../``, ``@root``, literal and hash
  arguments, block parameters, whitespace control ``~``.

**Values.** Missing or null renders as ``""``; strings as they are; numbers and booleans as JSON
text (``1``, ``1.5``, ``true``); objects and lists, at a plain accessor as in a template, as
compact JSON (``json.dumps(value, separators=(",", ":"), ensure_ascii=False)``).
`Source.evaluate` returns None when the result is empty or only whitespace (INFERENCE: a template
whose parts are all missing leaves only its separators; the field is then absent, and an absent
field never blanks a standard-object value [REFERENCE 1.2]).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = ["Source", "SourceError", "compile_source", "get_path"]

Step = str | int | None  # key, list index, or None for [] (every element)
#: (context, data variables) of the innermost #each / #with; None at the top level.
Frame = tuple[Any, dict[str, Any]] | None

_KEY = re.compile(r"[^.\[\]]+")
_NEXT = re.compile(r"\.([^.\[\]]+)|\[(\d*)\]")
_HELPERS = {"if": 1, "unless": 1, "each": 1, "with": 1, "removeExtraSpace": 0}
_DATA = ("@index", "@key", "@first", "@last")
_CLOSERS = {"{{!--": "--}}", "{{{": "}}}", "{{": "}}"}  # longest opener first


class SourceError(ValueError):
    """A Source that cannot be compiled; the message says what is wrong and where."""


@lru_cache(maxsize=4096)
def _steps(path: str) -> tuple[Step, ...]:
    found = _KEY.match(path)
    if found is None:
        raise SourceError(f"invalid path {path!r}")
    steps: list[Step] = [found.group()]
    while found.end() < len(path):
        at = found.end()
        found = _NEXT.match(path, at)
        if found is None:
            raise SourceError(f"invalid path {path!r} at character {at}")
        steps.append(found[1] if found[1] is not None else int(found[2]) if found[2] else None)
    return tuple(steps)


def _walk(value: Any, steps: tuple[Step, ...]) -> Any:
    for at, step in enumerate(steps):
        if step is None:  # []: every element
            if not isinstance(value, list):
                return None
            found = [_walk(item, steps[at + 1 :]) for item in value]
            return found if any(item is not None for item in found) else None
        if isinstance(value, dict):
            value = value.get(step) if isinstance(step, str) else None
        elif isinstance(value, list):
            index = step if isinstance(step, int) else int(step) if step.isdecimal() else -1
            value = value[index] if 0 <= index < len(value) else None
        else:
            return None
    return value


def get_path(record: dict[str, Any], path: str) -> object | None:
    """The value at ``path`` (``"a.b[0].c"``, relative to ``record``), None if a step is missing;
    ``[]`` (``"a[].b"``) gives the list of every element's value."""
    return _walk(record, _steps(path))


def _text(value: Any) -> str:
    if value is None or isinstance(value, str):
        return value or ""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _format(steps: tuple[Step, ...]) -> str:
    return "".join(f".{s}" if isinstance(s, str) else f"[{'' if s is None else s}]" for s in steps)


@dataclass(frozen=True, slots=True)
class _Ref:
    root: str  # "_source", "this" or a data variable ("@index", ...)
    steps: tuple[Step, ...] = ()

    def resolve(self, record: Any, frame: Frame) -> Any:
        if self.root == "_source":
            return _walk(record, self.steps)
        assert frame is not None  # compile_source allows other roots only inside a block
        return _walk(frame[0], self.steps) if self.root == "this" else frame[1].get(self.root)


@dataclass(slots=True)
class _Block:
    helper: str
    arg: _Ref | None
    offset: int
    scope: str | None  # static path of the context inside the body (for Source.paths)
    chained: bool = False  # opened by {{else helper ...}}: closed with the block it continues
    in_inverse: bool = False
    body: list[Node] = field(default_factory=list)
    inverse: list[Node] = field(default_factory=list)

    def render(self, record: Any, frame: Frame, out: list[str]) -> None:
        if self.arg is None:  # removeExtraSpace
            inner: list[str] = []
            _render(self.body, record, frame, inner)
            out.append(" ".join("".join(inner).split()))
            return
        value = self.arg.resolve(record, frame)
        data = frame[1] if frame else {}
        if self.helper == "each":
            items: list[tuple[Any, Any]] = []
            if isinstance(value, (list, dict)):
                items = list(value.items() if isinstance(value, dict) else enumerate(value))
            for index, (key, item) in enumerate(items):
                extra = {"@index": index, "@key": key, "@first": index == 0}
                extra["@last"] = index == len(items) - 1
                _render(self.body, record, (item, data | extra), out)
            if not items:
                _render(self.inverse, record, frame, out)
        elif bool(value) == (self.helper == "unless"):
            _render(self.inverse, record, frame, out)
        else:
            _render(self.body, record, (value, data) if self.helper == "with" else frame, out)


Node = str | _Ref | _Block


def _render(nodes: list[Node], record: Any, frame: Frame, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, _Ref):
            out.append(_text(node.resolve(record, frame)))
        else:
            node.render(record, frame, out)


@dataclass(frozen=True, slots=True, eq=False)
class Source:
    """A compiled Source: ``evaluate(record)`` gives the field's value (str) or None when empty;
    ``paths`` are the ``_source`` paths it reads (``_source.items[].title`` inside an #each)."""

    text: str
    paths: frozenset[str]
    _path: tuple[Step, ...] = field(repr=False)
    _nodes: list[Node] | None = field(repr=False)

    def evaluate(self, record: dict[str, Any]) -> str | None:
        if self._nodes is None:
            result = _text(_walk(record, self._path))
        else:
            out: list[str] = []
            _render(self._nodes, record, None, out)
            result = "".join(out)
        return None if not result or result.isspace() else result


class _Parser:
    def __init__(self) -> None:
        self.root: list[Node] = []
        self.stack: list[_Block] = []
        self.paths: set[str] = set()

    def target(self) -> list[Node]:
        top = self.stack[-1] if self.stack else None
        return self.root if top is None else top.inverse if top.in_inverse else top.body

    def ref(self, expr: str, at: str) -> tuple[_Ref, str | None]:
        """Compile one path of a tag; also returns its static ``_source`` path if known."""
        frames = [b for b in self.stack if b.helper in ("each", "with") and not b.in_inverse]
        if expr.startswith("@"):
            if expr not in _DATA:
                raise SourceError(f"unknown data variable {expr!r}{at}")
            if not any(b.helper == "each" for b in frames):
                raise SourceError(f"{expr} is only defined inside {{{{#each}}}}{at}")
            return _Ref(expr), None
        if expr.startswith("../") or expr.startswith("@root"):
            raise SourceError(f"parent paths are not supported, use _source...: {expr!r}{at}")
        try:
            steps = _steps("this" if expr == "." else expr)
        except SourceError as exc:
            raise SourceError(f"{exc}{at}") from None
        if steps[0] == "_source":
            if len(steps) == 1:
                raise SourceError(f"Source must name a field of _source, got '_source'{at}")
            ref, base = _Ref("_source", steps[1:]), "_source"
        elif not frames:
            if steps[0] == "this":
                raise SourceError(f"'this' outside of {{{{#each}}}} or {{{{#with}}}}{at}")
            raise SourceError(f"Source must refer to _source, got {expr!r}{at}")
        else:
            ref = _Ref("this", steps[1:] if steps[0] == "this" else steps)
            base = frames[-1].scope
        if base is None:
            return ref, None
        self.paths.add(path := base + _format(ref.steps))
        return ref, path

    def open(self, name: str, args: list[str], offset: int, chained: bool = False) -> None:
        at = f" at offset {offset}"
        if name not in _HELPERS:
            raise SourceError(f"unknown helper {name!r}{at}")
        if len(args) != _HELPERS[name]:
            wanted = "exactly one argument" if _HELPERS[name] else "no arguments"
            raise SourceError(f"{{{{#{name}}}}} takes {wanted}, got {len(args)}{at}")
        arg, path = self.ref(args[0], at) if args else (None, None)
        scope = {"each": f"{path}[]", "with": path}.get(name) if path else None
        block = _Block(name, arg, offset, scope, chained)
        self.target().append(block)
        self.stack.append(block)

    def else_(self, args: list[str], offset: int) -> None:
        if not self.stack:
            raise SourceError(f"{{{{else}}}} outside of a block at offset {offset}")
        block = self.stack[-1]
        if block.arg is None or block.in_inverse:
            problem = "a second {{else}}" if block.in_inverse else "{{else}}"
            raise SourceError(f"{problem} in {{{{#{block.helper}}}}} at offset {offset}")
        block.in_inverse = True
        if args:
            self.open(args[0], args[1:], offset, chained=True)

    def close(self, name: str, offset: int) -> None:
        if not self.stack:
            raise SourceError(f"unexpected {{{{/{name}}}}} at offset {offset}: no block is open")
        block = self.stack.pop()
        while block.chained:
            block = self.stack.pop()
        if block.helper != name:
            opened = f"{{{{#{block.helper}}}}} opened at offset {block.offset}"
            raise SourceError(f"{{{{/{name}}}}} at offset {offset} does not close {opened}")

    def tag(self, body: str, offset: int, triple: bool) -> None:
        at = f" at offset {offset}"
        if body.startswith("~") or body.endswith("~"):
            raise SourceError(f"whitespace control '~' is not supported{at}")
        if body.startswith("&") and not triple:
            body, triple = body[1:], True
        if not (words := body.split()):
            raise SourceError(f"empty {{{{}}}}{at}")
        head = "" if triple else body[0]
        if head == "#":
            name, *args = body[1:].split() or [""]
            if not name:
                raise SourceError(f"missing helper name after '{{{{#'{at}")
            return self.open(name, args, offset)
        if head == "/":
            return self.close(body[1:].strip(), offset)
        if head and words[0] == "else":
            return self.else_(words[1:], offset)
        if head and head in "^>*":
            raise SourceError(f"unsupported Handlebars syntax '{{{{{head}'{at}")
        if words[0] in _HELPERS:
            raise SourceError(f"{words[0]!r} is a block helper, use {{{{#{words[0]}}}}}{at}")
        if len(words) > 1:
            raise SourceError(f"unknown helper {words[0]!r}{at}")
        self.target().append(self.ref(words[0], at)[0])

    def parse(self, text: str) -> list[Node]:
        pos = 0
        while (start := text.find("{{", pos)) >= 0:
            if start > pos:
                self.target().append(text[pos:start])
            opener = next(o for o in _CLOSERS if text.startswith(o, start))
            closer = _CLOSERS[opener]
            end = text.find(closer, start + len(opener))
            if end < 0:
                raise SourceError(f"unclosed {opener!r} at offset {start}")
            body = text[start + len(opener) : end].strip()
            if opener != "{{!--" and not body.startswith("!"):
                self.tag(body, start, opener == "{{{")
            pos = end + len(closer)
        if pos < len(text):
            self.target().append(text[pos:])
        for block in reversed(self.stack):
            if not block.chained:
                where = f"opened at offset {block.offset}"
                raise SourceError(f"unclosed {{{{#{block.helper}}}}} block {where}")
        return self.root


def compile_source(text: str) -> Source:
    """Compile a field's Source (plain accessor or template); SourceError if it is invalid."""
    if not isinstance(text, str):
        raise SourceError(f"Source must be a string, got {type(text).__name__}")
    parser = _Parser()
    if "{{" in text:
        nodes = parser.parse(text)
        return Source(text, frozenset(parser.paths), (), nodes)
    if not (expr := text.strip()):
        raise SourceError("Source is empty")
    ref, _ = parser.ref(expr, "")  # a plain accessor is one template path outside any block
    return Source(text, frozenset(parser.paths), ref.steps, None)
