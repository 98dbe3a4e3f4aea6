"""SegmentSqlQuery (ENHANCED segments): a Spark SQL SELECT over the domain's profiles, translated
into the same kind of query a SegmentGroups definition compiles to.

AWS runs such queries with Spark SQL over its data store and documents neither the tables nor
the columns they see. openprofiles accepts one form, parsed with sqlglot's Spark dialect:

    SELECT ProfileId FROM profiles [[AS] p] [WHERE condition]

- Columns are the profile's text fields by their API names (``FirstName``, ``BirthDate``,
  ``EmailAddress``, ...), the parts of its addresses as ``Address.City``,
  ``ShippingAddress.PostalCode``, ..., its custom attributes as ``Attributes.<name>``, and
  ``ProfileId``; a missing value is NULL. Names may be qualified by the table or its alias.
- Conditions: ``= <> != < <= > >=``, ``AND OR NOT``, ``IN``, ``BETWEEN``, ``LIKE``, ``IS [NOT]
  NULL``, parentheses, ``+ - * /``, and the functions ``LOWER UPPER TRIM LENGTH COALESCE`` and
  ``CAST(... AS DOUBLE|FLOAT|INT|BIGINT|DECIMAL|STRING)``.
- Values are text. As in Spark, text compared with a number (or cast to one) is read as a
  number, and text that is not a number is NULL there (no error), so ``Attributes.score > 10``
  means what it says.

Anything else (other tables, joins, subqueries, GROUP BY, other functions, several statements)
is refused when the definition is created, with a message naming the construct. The query is
translated into SQLAlchemy expressions, never passed on as text, so it reads only the domain's
profiles. An ENHANCED segment is evaluated live, as a classic one is (AWS answers membership
from its last snapshot), and cannot be the source segment of another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlalchemy import Float, and_, func, literal, not_, null, or_, select
from sqlalchemy.sql import ColumnElement, Select
from sqlglot import exp

from openprofiles.engine.calculated import sql as calculated_sql
from openprofiles.engine.segments.compiler import ADDRESSES, PROFILE_STRINGS, SegmentError, field_of
from openprofiles.store.schema import profiles

PATH = "SegmentSqlQuery"
PLAIN = (*PROFILE_STRINGS, "BirthDate", "ProfileType", "Gender", "PartyType")
NESTED = (*ADDRESSES, "Attributes")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,255}$")
_NUMBER_TYPES = {"DOUBLE", "FLOAT", "INT", "BIGINT", "DECIMAL", "SMALLINT", "TINYINT"}
_TEXT_TYPES = {"TEXT", "VARCHAR", "CHAR", "STRING"}
_COMPARISONS = {
    exp.EQ: lambda a, b: a == b, exp.NEQ: lambda a, b: a != b, exp.GT: lambda a, b: a > b,
    exp.GTE: lambda a, b: a >= b, exp.LT: lambda a, b: a < b, exp.LTE: lambda a, b: a <= b,
}  # fmt: skip
_ARITHMETIC = {
    exp.Add: lambda a, b: a + b, exp.Sub: lambda a, b: a - b,
    exp.Mul: lambda a, b: a * b, exp.Div: lambda a, b: a / b,
}  # fmt: skip
_TEXT_FUNCTIONS = {exp.Lower: func.lower, exp.Upper: func.upper, exp.Trim: func.trim}


@dataclass(frozen=True)
class _Value:
    """A translated expression and what it holds: "text", "number" or "bool"."""

    sql: ColumnElement[Any]
    kind: str


def sql_segment_query(domain_id: int, sql: str, dialect: str) -> Select[Any]:
    """The ids (``profiles.id``, ``profile_id``) of the domain's profiles the query selects; a
    SegmentError naming what is not accepted."""
    try:
        statements = sqlglot.parse(sql, read="spark")
    except sqlglot.errors.ParseError as error:
        raise SegmentError(PATH, f"not valid SQL: {str(error).splitlines()[0]}") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Select):
        raise SegmentError(PATH, "give one SELECT statement: SELECT ProfileId FROM profiles WHERE ...")
    query = statements[0]
    names = _check_shape(query)
    where = query.args.get("where")
    predicate = _Translator(dialect, names).boolean(where.this) if where is not None else None
    ids = select(profiles.c.id, profiles.c.profile_id).where(profiles.c.domain_id == domain_id)
    return ids.where(predicate) if predicate is not None else ids


def _check_shape(query: exp.Select) -> set[str]:
    """The names the table goes by; refuses what the accepted form does not have."""
    for part in ("joins", "group", "having", "order", "limit", "offset", "qualify", "windows", "laterals", "with_"):
        if query.args.get(part):
            raise SegmentError(PATH, f"{part.rstrip('_s').upper()} is not accepted; select from profiles only")
    source = query.args.get("from_") or query.args.get("from")
    table = source.this if source is not None else None
    if not isinstance(table, exp.Table) or table.name.lower() != "profiles" or table.args.get("db"):
        raise SegmentError(PATH, "select FROM profiles, the only table a segment query reads")
    selected = query.expressions
    if len(selected) != 1 or not isinstance(selected[0], exp.Column) or selected[0].name != "ProfileId":
        raise SegmentError(PATH, "select ProfileId, the one column a segment query returns")
    return {"profiles", *([table.alias] if table.alias else [])}


@dataclass(frozen=True)
class _Translator:
    dialect: str
    names: set[str]

    def boolean(self, node: exp.Expression) -> ColumnElement[bool]:
        found = self.value(node)
        if found.kind != "bool":
            raise SegmentError(PATH, f"'{node.sql(dialect='spark')}' is not a condition")
        return found.sql

    def value(self, node: exp.Expression) -> _Value:
        """The translation of one expression node; one case per construct accepted."""
        if isinstance(node, exp.Paren):
            return self.value(node.this)
        if isinstance(node, exp.Column):
            return _Value(self.column(node), "text")
        if isinstance(node, exp.Literal):
            if node.is_string:
                return _Value(literal(node.this), "text")
            return _Value(literal(float(node.this), Float), "number")
        if isinstance(node, exp.Null):
            return _Value(null(), "text")
        if isinstance(node, exp.Boolean):
            return _Value(literal(bool(node.this)), "bool")
        if isinstance(node, exp.And | exp.Or):
            combine = and_ if isinstance(node, exp.And) else or_
            return _Value(combine(self.boolean(node.this), self.boolean(node.expression)), "bool")
        if isinstance(node, exp.Not):
            return _Value(not_(self.boolean(node.this)), "bool")
        if type(node) in _COMPARISONS:
            left, right = self.comparable(self.value(node.this), self.value(node.expression))
            return _Value(_COMPARISONS[type(node)](left, right), "bool")
        if type(node) in _ARITHMETIC:
            left, right = (self.number(self.value(n)) for n in (node.this, node.expression))
            return _Value(_ARITHMETIC[type(node)](left, right), "number")
        if isinstance(node, exp.Neg):
            return _Value(-self.number(self.value(node.this)), "number")
        if isinstance(node, exp.In):
            if node.args.get("query") or node.args.get("unnest"):
                raise SegmentError(PATH, "IN takes a list of values, not a subquery")
            subject = self.value(node.this)
            items = [self.value(item) for item in node.expressions]
            if subject.kind == "number" or any(item.kind == "number" for item in items):
                return _Value(self.number(subject).in_([self.number(i) for i in items]), "bool")
            return _Value(subject.sql.in_([i.sql for i in items]), "bool")
        if isinstance(node, exp.Between):
            subject, low, high = (self.value(node.args[k]) for k in ("this", "low", "high"))
            if "number" in (subject.kind, low.kind, high.kind):
                return _Value(self.number(subject).between(self.number(low), self.number(high)), "bool")
            return _Value(subject.sql.between(low.sql, high.sql), "bool")
        if isinstance(node, exp.Like):
            return _Value(self.text(self.value(node.this)).like(self.text(self.value(node.expression))), "bool")
        if isinstance(node, exp.Is):
            if not isinstance(node.expression, exp.Null):
                raise SegmentError(PATH, "IS takes NULL (IS NULL, IS NOT NULL)")
            return _Value(self.value(node.this).sql.is_(None), "bool")
        if type(node) in _TEXT_FUNCTIONS:
            return _Value(_TEXT_FUNCTIONS[type(node)](self.text(self.value(node.this))), "text")
        if isinstance(node, exp.Length):
            return _Value(func.length(self.text(self.value(node.this))), "number")
        if isinstance(node, exp.Coalesce):
            parts = [self.value(p) for p in (node.this, *node.expressions)]
            if len({p.kind for p in parts}) != 1:
                raise SegmentError(PATH, "COALESCE takes values of one kind")
            return _Value(func.coalesce(*(p.sql for p in parts)), parts[0].kind)
        if isinstance(node, exp.Cast | exp.TryCast):
            target = node.to.this.name if node.to is not None else ""
            if target in _NUMBER_TYPES:
                return _Value(self.number(self.value(node.this)), "number")
            if target in _TEXT_TYPES:
                return _Value(self.text(self.value(node.this)), "text")
            raise SegmentError(PATH, f"CAST to {target} is not accepted; cast to DOUBLE or STRING")
        raise SegmentError(PATH, f"'{node.sql(dialect='spark')}' is not accepted in a segment query")

    def column(self, node: exp.Column) -> ColumnElement[str]:
        parts = [p.name for p in node.parts]
        if len(parts) > 1 and parts[0] in self.names:
            parts = parts[1:]
        if not all(_NAME.match(p) for p in parts):
            raise SegmentError(PATH, f"column {'.'.join(parts)}: names are letters, digits, _ . and -")
        if parts == ["ProfileId"]:
            return profiles.c.profile_id
        if len(parts) == 1 and parts[0] in PLAIN:
            return field_of(self.dialect, parts)
        if len(parts) == 2 and parts[0] in NESTED:
            return field_of(self.dialect, parts)
        raise SegmentError(
            PATH, f"column {'.'.join(parts)} is not a profile field; use a field's name, Address.City "
            "(and the other addresses' parts) or Attributes.<name>",
        )

    def comparable(self, left: _Value, right: _Value) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
        if "bool" in (left.kind, right.kind):
            raise SegmentError(PATH, "conditions cannot be compared; combine them with AND, OR, NOT")
        if "number" in (left.kind, right.kind):
            return self.number(left), self.number(right)
        return left.sql, right.sql

    def number(self, value: _Value) -> ColumnElement[Any]:
        if value.kind == "bool":
            raise SegmentError(PATH, "a condition is not a number")
        return value.sql if value.kind == "number" else calculated_sql.number_of(value.sql, self.dialect)

    def text(self, value: _Value) -> ColumnElement[Any]:
        if value.kind != "text":
            raise SegmentError(PATH, "text functions and LIKE take text")
        return value.sql
