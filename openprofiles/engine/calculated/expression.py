"""The Expression of a calculated attribute, parsed once into a tree (REFERENCE 3.1).

An Expression combines terms ``{ObjectTypeName.AttributeName}``, numbers, ``+ - * /`` and
parentheses, with the usual precedence (``*`` and ``/`` bind tighter; left to right otherwise)::

    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary)*
    unary   := "-" unary | atom
    atom    := NUMBER | "{" TYPE "." ATTRIBUTE "}" | "(" sum ")"

Inside a term, TYPE is what precedes the first dot (object type names hold none) and ATTRIBUTE
the rest, which may hold dots (``{CTR.agent.id}``). A syntax error is an `ExpressionError` whose
message names the offending part and its offset; `definitions` reports it as a
BadRequestException naming ``AttributeDetails.Expression``. Which object types and attributes
exist is checked there too, against the domain: this module knows only the syntax.

Evaluation, on one object: an Expression that is a single term gives that term's value as it is
(text: the channel of FIRST_OCCURRENCE, the id of COUNT). Arithmetic reads each term as a number,
or an ISO-8601 instant as epoch milliseconds, so that ``{CTR.disconnectTimestamp} -
{CTR.initiationTimestamp}`` is a duration in milliseconds; a missing or non-numeric term, or a
division by zero, gives None: the object then has no value and is left out of the statistic.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, localcontext

from openprofiles.engine.calculated.scalars import (
    ARITHMETIC_ERRORS,
    CONTEXT,
    format_number,
    parse_instant,
    parse_number,
)

__all__ = ["Expression", "ExpressionError", "Term", "parse_expression"]

_TOKEN = re.compile(r"(?P<number>\d+(?:\.\d+)?|\.\d+)|(?P<term>\{[^{}]*\})|(?P<op>[-+*/()])")
_TYPE_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z_0-9-]*$")
_ATTRIBUTE = re.compile(r"^[a-zA-Z0-9_.-]+$")


class ExpressionError(ValueError):
    """An Expression that does not parse; the message names the bad part and where it is."""


@dataclass(frozen=True, slots=True)
class Term:
    """``{object_type.attribute}``, as written at ``offset``."""

    object_type: str
    attribute: str
    offset: int

    def __str__(self) -> str:
        return f"{{{self.object_type}.{self.attribute}}}"


@dataclass(frozen=True, slots=True)
class Number:
    value: Decimal


@dataclass(frozen=True, slots=True)
class Negate:
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    operator: str
    left: Node
    right: Node


Node = Term | Number | Negate | Binary
#: attribute name -> its value on the object being evaluated (None: absent)
Lookup = Callable[[str], str | None]


@dataclass(frozen=True)
class Expression:
    text: str
    root: Node
    terms: tuple[Term, ...]

    @property
    def attributes(self) -> tuple[str, ...]:
        """The attribute names of the terms, each once, in order of appearance."""
        return tuple(dict.fromkeys(t.attribute for t in self.terms))

    def evaluate(self, lookup: Lookup) -> str | None:
        if isinstance(self.root, Term):
            return lookup(self.root.attribute)
        try:
            with localcontext(CONTEXT):
                result = _compute(self.root, lookup)
        except ARITHMETIC_ERRORS:
            return None
        return None if result is None else format_number(result)


def _compute(node: Node, lookup: Lookup) -> Decimal | None:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Term):
        return _as_number(lookup(node.attribute))
    if isinstance(node, Negate):
        value = _compute(node.operand, lookup)
        return None if value is None else -value
    left, right = _compute(node.left, lookup), _compute(node.right, lookup)
    if left is None or right is None:
        return None
    if node.operator == "+":
        return left + right
    if node.operator == "-":
        return left - right
    if node.operator == "*":
        return left * right
    return left / right


def _as_number(text: str | None) -> Decimal | None:
    if text is None:
        return None
    number = parse_number(text)
    if number is not None:
        return number
    instant = parse_instant(text, "ISO_8601")
    return None if instant is None else Decimal(round(instant * 1000))


def parse_expression(text: str) -> Expression:
    """The tree of ``text``; ExpressionError naming the bad part when it is not an Expression."""
    if not text.strip():
        raise ExpressionError("it is empty")
    parser = _Parser(text)
    root = parser.sum()
    if parser.peek() is not None:
        _, value, offset = parser.tokens[parser.at]
        raise ExpressionError(f"unexpected {value!r} at offset {offset}")
    terms = tuple(parser.terms)
    if not terms:
        raise ExpressionError("it has no {ObjectTypeName.AttributeName} term")
    return Expression(text, root, terms)


class _Parser:
    """Recursive descent over the tokens of one Expression."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.terms: list[Term] = []
        self.end = len(text)

    def peek(self) -> str | None:
        """The next token's operator (or ``"atom"``), None at the end."""
        if self.at >= len(self.tokens):
            return None
        kind, value, _ = self.tokens[self.at]
        return value if kind == "op" else "atom"

    def sum(self) -> Node:
        node = self.product()
        while self.peek() in ("+", "-"):
            operator = self.tokens[self.at][1]
            self.at += 1
            node = Binary(operator, node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.peek() in ("*", "/"):
            operator = self.tokens[self.at][1]
            self.at += 1
            node = Binary(operator, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.peek() == "-":
            self.at += 1
            return Negate(self.unary())
        return self.atom()

    def atom(self) -> Node:
        if self.at >= len(self.tokens):
            raise ExpressionError(f"it ends where a term, a number or '(' is expected (offset {self.end})")
        kind, value, offset = self.tokens[self.at]
        self.at += 1
        if kind == "number":
            return Number(Decimal(value))
        if kind == "term":
            term = _term(value, offset)
            self.terms.append(term)
            return term
        if value == "(":
            node = self.sum()
            if self.peek() != ")":
                raise ExpressionError(f"'(' at offset {offset} is never closed")
            self.at += 1
            return node
        expected = "a term, a number or '(' is expected"
        raise ExpressionError(f"unexpected {value!r} at offset {offset}: {expected}")


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, offset) of every token; ExpressionError at the first character that starts
    none."""
    found: list[tuple[str, str, int]] = []
    at = 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        match = _TOKEN.match(text, at)
        if match is None:
            if text[at] == "{":
                raise ExpressionError(f"the term starting at offset {at} is never closed with '}}'")
            raise ExpressionError(f"unexpected {text[at]!r} at offset {at}")
        kind = match.lastgroup
        assert kind is not None  # one of the three groups matched
        found.append((kind, match.group(), at))
        at = match.end()
    return found


def _term(text: str, offset: int) -> Term:
    object_type, dot, attribute = text[1:-1].strip().partition(".")
    if not dot or not _TYPE_NAME.match(object_type) or not _ATTRIBUTE.match(attribute):
        raise ExpressionError(f"{text} at offset {offset} is not {{ObjectTypeName.AttributeName}}")
    return Term(object_type, attribute, offset)
