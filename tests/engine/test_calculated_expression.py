"""The Expression of a calculated attribute: its tree, its evaluation on one object, and syntax
errors that name the bad part (engine.calculated.expression)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from openprofiles.engine.calculated.expression import (
    Binary,
    ExpressionError,
    Negate,
    Number,
    Term,
    parse_expression,
)


def values(**found: str) -> dict[str, str]:
    return found


def test_a_single_term_is_a_tree_of_one_term():
    expression = parse_expression("{orders.amount}")
    assert expression.root == Term("orders", "amount", 0)
    assert expression.terms == (Term("orders", "amount", 0),)
    assert expression.attributes == ("amount",)


def test_the_attribute_is_everything_after_the_first_dot():
    expression = parse_expression("{CTR.agent.customerHoldDurationMillis} + {CTR.queue.durationMillis}")
    assert [(t.object_type, t.attribute) for t in expression.terms] == [
        ("CTR", "agent.customerHoldDurationMillis"),
        ("CTR", "queue.durationMillis"),
    ]


def test_precedence_and_parentheses():
    assert parse_expression("{a.x} + {a.y} * 2").root == Binary(
        "+", Term("a", "x", 0), Binary("*", Term("a", "y", 8), Number(Decimal(2)))
    )
    assert parse_expression("({a.x} + {a.y}) * 2").root == Binary(
        "*", Binary("+", Term("a", "x", 1), Term("a", "y", 9)), Number(Decimal(2))
    )


def test_subtraction_and_division_are_left_associative():
    assert parse_expression("{a.x} - 1 - 2").evaluate(lambda _: "10") == "7"
    assert parse_expression("{a.x} / 2 / 5").evaluate(lambda _: "100") == "10"


def test_unary_minus():
    expression = parse_expression("-{a.x} * 2")
    assert expression.root == Binary("*", Negate(Term("a", "x", 1)), Number(Decimal(2)))
    assert expression.evaluate(lambda _: "3") == "-6"


def test_attributes_are_listed_once_in_order():
    assert parse_expression("{t.b} * {t.a} + {t.b}").attributes == ("b", "a")


def test_a_single_term_gives_its_text_as_it_is():
    assert parse_expression("{CTR.channel}").evaluate(values(channel="VOICE").get) == "VOICE"
    assert parse_expression("{CTR.channel}").evaluate(values().get) is None


def test_arithmetic_is_decimal():
    expression = parse_expression("{o.price} + {o.tax}")
    assert expression.evaluate(values(price="10.10", tax="20.20").get) == "30.3"
    assert expression.evaluate(values(price="1", tax="2.00").get) == "3"
    assert parse_expression("{o.price} / 3").evaluate(values(price="1").get) == "0.3333333333333333333333333333"


def test_arithmetic_without_a_number_has_no_value():
    expression = parse_expression("{o.price} * {o.quantity}")
    assert expression.evaluate(values(price="2").get) is None
    assert expression.evaluate(values(price="2", quantity="many").get) is None
    assert parse_expression("{o.price} / {o.quantity}").evaluate(values(price="2", quantity="0").get) is None


def test_instants_subtract_to_milliseconds():
    expression = parse_expression("{CTR.disconnectTimestamp} - {CTR.initiationTimestamp}")
    found = values(initiationTimestamp="2024-05-01T10:00:00Z", disconnectTimestamp="2024-05-01T10:02:30.5Z")
    assert expression.evaluate(found.get) == "150500"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (" ", "it is empty"),
        ("1 + 2", "it has no {ObjectTypeName.AttributeName} term"),
        ("{orders}", "{orders} at offset 0 is not {ObjectTypeName.AttributeName}"),
        ("{orders.}", "{orders.} at offset 0 is not {ObjectTypeName.AttributeName}"),
        ("{.amount}", "{.amount} at offset 0 is not {ObjectTypeName.AttributeName}"),
        ("{1orders.amount}", "{1orders.amount} at offset 0 is not {ObjectTypeName.AttributeName}"),
        ("{orders.am ount}", "{orders.am ount} at offset 0 is not {ObjectTypeName.AttributeName}"),
        ("{orders.amount", "the term starting at offset 0 is never closed with '}'"),
        ("{o.a} % 2", "unexpected '%' at offset 6"),
        ("{o.a} {o.b}", "unexpected '{o.b}' at offset 6"),
        ("{o.a} +", "it ends where a term, a number or '(' is expected (offset 7)"),
        ("({o.a} + 1", "'(' at offset 0 is never closed"),
        ("{o.a} + )", "unexpected ')' at offset 8: a term, a number or '(' is expected"),
        ("{o.a} * * 2", "unexpected '*' at offset 8: a term, a number or '(' is expected"),
        ("o.a", "unexpected 'o' at offset 0"),
    ],
)
def test_syntax_errors_name_the_bad_part(text, message):
    with pytest.raises(ExpressionError) as excinfo:
        parse_expression(text)
    assert str(excinfo.value) == message
