"""Field Sources: plain accessors, the Handlebars subset, and the errors raised when compiling."""

from __future__ import annotations

from typing import Any

import pytest

from openprofiles.engine.mapping import Source, SourceError, compile_source, get_path

RECORD: dict[str, Any] = {
    "email": "jane@example.com",
    "first": "John",
    "last": "Smith",
    "FirstName": "Jane",
    "LastName": "Doe",
    "address": {"city": "Seattle", "zip": "98101", "lines": ["1 Main St", "Apt 2"]},
    "items": [{"id": "i-1", "title": "Book", "tags": ["a", "b"]}, {"id": "i-2", "title": "Pen"}],
    "count": 1,
    "zero": 0,
    "price": 1.5,
    "yes": True,
    "no": False,
    "none": None,
    "blank": "",
    "spaces": "   ",
    "empty_list": [],
    "empty_obj": {},
    "obj": {"a": 1, "b": [True, None, "é"]},
    "text_zero": "0",
    "First Name": "Spaced",
    "a-b:c": "odd key",
    "<b>": "<b>&amp;'\"",
    "nested": [[10, 20], [30]],
    "rows": [{"v": 1}, {}, {"v": "x"}, "scalar"],
}

PLAIN = [
    ("_source.email", "jane@example.com"),
    ("  _source.email  ", "jane@example.com"),
    ("_source.address.city", "Seattle"),
    ("_source.address.lines[1]", "Apt 2"),
    ("_source.items[0].id", "i-1"),
    ("_source.items[1].title", "Pen"),
    ("_source.items.1.title", "Pen"),
    ("_source.items[0].tags[1]", "b"),
    ("_source.nested[0][1]", "20"),
    ("_source.First Name", "Spaced"),
    ("_source.a-b:c", "odd key"),
    ("_source.<b>", "<b>&amp;'\""),
    # [] takes every element, aligned by index; absent when no element has the value
    ("_source.items[].id", '["i-1","i-2"]'),
    ("_source.rows[].v", '[1,null,"x",null]'),
    ("_source.items[].tags", '[["a","b"],null]'),
    ("_source.items[].tags[]", '[["a","b"],null]'),
    ("_source.nested[][0]", "[10,30]"),
    ("_source.items[].missing", None),
    ("_source.empty_list[].x", None),
    ("_source.email[].x", None),
    ("_source.missing[]", None),
    # missing paths
    ("_source.missing", None),
    ("_source.missing.deeper", None),
    ("_source.email.deeper", None),
    ("_source.items[5].id", None),
    ("_source.items.x", None),
    ("_source.address[0]", None),
    ("_source.none", None),
    ("_source.none.x", None),
    # empty values are absent
    ("_source.blank", None),
    ("_source.spaces", None),
    # numbers and booleans as JSON text
    ("_source.count", "1"),
    ("_source.zero", "0"),
    ("_source.price", "1.5"),
    ("_source.yes", "true"),
    ("_source.no", "false"),
    # objects and lists as compact JSON
    ("_source.obj", '{"a":1,"b":[true,null,"é"]}'),
    ("_source.address.lines", '["1 Main St","Apt 2"]'),
    ("_source.empty_list", "[]"),
    ("_source.empty_obj", "{}"),
]


@pytest.mark.parametrize(("text", "expected"), PLAIN)
def test_plain_accessor(text: str, expected: str | None) -> None:
    assert compile_source(text).evaluate(RECORD) == expected


TEMPLATES = [
    # values and concatenation
    ("{{_source.email}}", "jane@example.com"),
    ("{{ _source.address.city }}", "Seattle"),
    ("{{_source.FirstName}} {{_source.LastName}}", "Jane Doe"),
    ("{{_source.first}}_{{_source.items[1].id}}", "John_i-2"),
    ("{{_source.FirstName}} {{_source.missing}}", "Jane "),
    ("{{_source.missing}} {{_source.none}}", None),
    ("{{_source.count}}/{{_source.price}}/{{_source.yes}}/{{_source.no}}", "1/1.5/true/false"),
    ("{{_source.obj}}", '{"a":1,"b":[true,null,"é"]}'),
    ("id-{{_source.items.0.id}}", "id-i-1"),
    ("{{_source.items[].title}}", '["Book","Pen"]'),
    ("{{#each _source.items[].title}}{{this}} {{/each}}", "Book Pen "),
    # no HTML escaping; triple-stash and & are the same
    ("{{_source.<b>}}", "<b>&amp;'\""),
    ("{{{_source.<b>}}}", "<b>&amp;'\""),
    ("{{& _source.<b>}}", "<b>&amp;'\""),
    # comments, constants
    ("{{! a constant }}US", "US"),
    ("A{{!-- has }} inside --}}B", "AB"),
    # if / else / else if
    ("{{#if _source.email}}yes{{/if}}", "yes"),
    ("{{#if _source.missing}}yes{{/if}}", None),
    ("{{#if _source.missing}}yes{{else}}no{{/if}}", "no"),
    ("{{#if _source.missing}}a{{else if _source.zero}}b{{else if _source.count}}c{{/if}}", "c"),
    ("{{#if _source.missing}}a{{else if _source.zero}}b{{else}}d{{/if}}", "d"),
    ("{{#if _source.missing}}a{{else unless _source.zero}}b{{/if}}", "b"),
    # unless
    ("{{#unless _source.missing}}none{{/unless}}", "none"),
    ("{{#unless _source.email}}none{{else}}{{_source.email}}{{/unless}}", "jane@example.com"),
    # each over a list: this, bare names, @index, @first, @last, nested each, _source inside
    ("{{#each _source.items}}{{this.title}};{{/each}}", "Book;Pen;"),
    ("{{#each _source.items}}{{title}}{{#unless @last}}, {{/unless}}{{/each}}", "Book, Pen"),
    ("{{#each _source.items}}{{@index}}={{id}} {{/each}}", "0=i-1 1=i-2 "),
    ("{{#each _source.items}}{{#if @first}}[{{/if}}{{id}}{{/each}}", "[i-1i-2"),
    ("{{#each _source.address.lines}}<{{this}}>{{/each}}", "<1 Main St><Apt 2>"),
    ("{{#each _source.address.lines}}<{{.}}>{{/each}}", "<1 Main St><Apt 2>"),
    ("{{#each _source.items}}{{#each tags}}{{../x}}{{/each}}{{/each}}", SourceError),
    ("{{#each _source.items}}{{id}}:{{#each tags}}{{this}}{{@index}}{{/each}};{{/each}}",
     "i-1:a0b1;i-2:;"),
    ("{{#each _source.items}}{{_source.first}}{{@index}}{{/each}}", "John0John1"),
    ("{{#each _source.nested}}{{this.[1]}}{{/each}}", SourceError),
    ("{{#each _source.nested}}{{this[1]}},{{/each}}", "20,,"),
    # each over an object: @key
    ("{{#each _source.address}}{{@key}}={{#if @last}}{{this}}{{else}}x {{/if}}{{/each}}",
     'city=x zip=x lines=["1 Main St","Apt 2"]'),
    # each else: empty, missing, not iterable
    ("{{#each _source.empty_list}}x{{else}}empty{{/each}}", "empty"),
    ("{{#each _source.missing}}x{{else}}empty{{/each}}", "empty"),
    ("{{#each _source.email}}x{{else}}scalar{{/each}}", "scalar"),
    ("{{#each _source.empty_obj}}x{{/each}}", None),
    # with
    ("{{#with _source.address}}{{city}} {{this.zip}}{{/with}}", "Seattle 98101"),
    ("{{#with _source.address}}{{lines[0]}}{{/with}}", "1 Main St"),
    ("{{#with _source.missing}}{{city}}{{else}}no address{{/with}}", "no address"),
    ("{{#with _source.missing}}{{city}}{{/with}}", None),
    ("{{#each _source.items}}{{#with this}}{{@index}}{{title}}{{/with}}{{/each}}", "0Book1Pen"),
    # nesting of blocks
    ("{{#with _source.address}}{{#each lines}}{{#if @last}}{{this}}{{/if}}{{/each}}{{/with}}",
     "Apt 2"),
    ("{{#if _source.items}}{{#each _source.items}}{{#unless @first}}+{{/unless}}{{id}}{{/each}}"
     "{{else}}none{{/if}}", "i-1+i-2"),
    # removeExtraSpace
    ("{{#removeExtraSpace}}{{_source.first}} {{_source.middle}} {{_source.last}}"
     "{{/removeExtraSpace}}", "John Smith"),
    ("{{#removeExtraSpace}}  {{_source.missing}}\t{{_source.last}} \n {{/removeExtraSpace}}",
     "Smith"),
    ("{{#removeExtraSpace}}{{_source.missing}} {{_source.none}}{{/removeExtraSpace}}", None),
    ("<{{#removeExtraSpace}} a  {{#if _source.missing}}x{{/if}} b {{/removeExtraSpace}}>", "<a b>"),
    ("{{#each _source.items}}{{#removeExtraSpace}} {{id}}  {{title}} {{/removeExtraSpace}}|{{/each}}",
     "i-1 Book|i-2 Pen|"),
]


@pytest.mark.parametrize(("text", "expected"), TEMPLATES)
def test_template(text: str, expected: str | None | type[Exception]) -> None:
    if isinstance(expected, type):
        with pytest.raises(expected):
            compile_source(text)
    else:
        assert compile_source(text).evaluate(RECORD) == expected


FALSY: list[Any] = [None, False, "", 0, 0.0, [], {}]
TRUTHY: list[Any] = ["0", "false", " ", 1, -1, 0.5, True, [0], [None], {"a": None}]


@pytest.mark.parametrize("value", FALSY + ["<missing>"], ids=repr)
def test_falsy_values(value: Any) -> None:
    record = {} if value == "<missing>" else {"v": value}
    for text, expected in [
        ("{{#if _source.v}}T{{else}}F{{/if}}", "F"),
        ("{{#unless _source.v}}T{{else}}F{{/unless}}", "T"),
        ("{{#with _source.v}}T{{else}}F{{/with}}", "F"),
        ("{{#each _source.v}}T{{else}}F{{/each}}", "F"),
    ]:
        assert compile_source(text).evaluate(record) == expected, text


@pytest.mark.parametrize("value", TRUTHY, ids=repr)
def test_truthy_values(value: Any) -> None:
    record = {"v": value}
    assert compile_source("{{#if _source.v}}T{{else}}F{{/if}}").evaluate(record) == "T"
    assert compile_source("{{#unless _source.v}}T{{else}}F{{/unless}}").evaluate(record) == "F"
    assert compile_source("{{#with _source.v}}T{{else}}F{{/with}}").evaluate(record) == "T"


PATHS = [
    ("_source.email", {"_source.email"}),
    ("_source.payload.line_items[].title", {"_source.payload.line_items[].title"}),
    ("{{#with _source.a[0]}}{{b[]}}{{/with}}", {"_source.a[0]", "_source.a[0].b[]"}),
    (" _source.items[0].id ", {"_source.items[0].id"}),
    ("{{_source.FirstName}} {{_source.LastName}}", {"_source.FirstName", "_source.LastName"}),
    ("{{! constant }}US", set()),
    ("{{#if _source.a}}{{_source.b}}{{else}}{{_source.c}}{{/if}}",
     {"_source.a", "_source.b", "_source.c"}),
    ("{{#each _source.items}}{{title}}{{this.id}}{{@index}}{{/each}}",
     {"_source.items", "_source.items[].title", "_source.items[].id"}),
    ("{{#each _source.items}}{{#each tags}}{{this}}{{/each}}{{/each}}",
     {"_source.items", "_source.items[].tags", "_source.items[].tags[]"}),
    ("{{#with _source.Address}}{{City}}{{else}}{{_source.City}}{{/with}}",
     {"_source.Address", "_source.Address.City", "_source.City"}),
]


@pytest.mark.parametrize(("text", "expected"), PATHS)
def test_paths(text: str, expected: set[str]) -> None:
    assert compile_source(text).paths == frozenset(expected)


GET_PATH = [
    ("email", "jane@example.com"),
    ("address.lines[0]", "1 Main St"),
    ("items[1].id", "i-2"),
    ("items.1.id", "i-2"),
    ("items[].id", ["i-1", "i-2"]),
    ("rows[].v", [1, None, "x", None]),
    ("items[].missing", None),
    ("nested[0][1]", 20),
    ("address", RECORD["address"]),
    ("zero", 0),
    ("no", False),
    ("blank", ""),
    ("First Name", "Spaced"),
    ("missing", None),
    ("items[9]", None),
    ("email[0]", None),
    ("obj.a.b", None),
]


@pytest.mark.parametrize(("path", "expected"), GET_PATH)
def test_get_path(path: str, expected: object) -> None:
    assert get_path(RECORD, path) == expected


@pytest.mark.parametrize("path", ["", ".a", "a.", "a..b", "a[", "a[x]", "a[-1]", "a]b", "[0]"])
def test_get_path_rejects_malformed_paths(path: str) -> None:
    with pytest.raises(SourceError, match="invalid path"):
        get_path(RECORD, path)


ERRORS = [
    # unbalanced blocks
    ("{{#if _source.x}}a", "unclosed {{#if}} block opened at offset 0"),
    ("ab{{#each _source.x}}{{#if _source.y}}{{/if}}", "unclosed {{#each}} block opened at offset 2"),
    ("{{#if _source.a}}x{{else if _source.b}}y", "unclosed {{#if}} block opened at offset 0"),
    ("{{#if _source.x}}{{/each}}", "{{/each}} at offset 17 does not close {{#if}} opened at offset 0"),
    ("{{#each _source.a}}{{else if _source.b}}{{/if}}", "{{/if}} at offset 40 does not close {{#each}}"),
    ("x{{/if}}", "unexpected {{/if}} at offset 1"),
    ("x{{else}}y", "{{else}} outside of a block at offset 1"),
    ("{{#if _source.x}}a{{else}}b{{else}}c{{/if}}", "a second {{else}} in {{#if}} at offset 27"),
    ("{{#removeExtraSpace}}a{{else}}b{{/removeExtraSpace}}", "{{else}} in {{#removeExtraSpace}}"),
    # unclosed tags
    ("{{_source.x", "unclosed '{{' at offset 0"),
    ("a {{{_source.x}}", "unclosed '{{{' at offset 2"),
    ("{{!-- comment }}", "unclosed '{{!--' at offset 0"),
    # unknown helpers and misuse of helpers
    ("{{#foo _source.x}}{{/foo}}", "unknown helper 'foo' at offset 0"),
    ("{{lookup _source.x 'a'}}", "unknown helper 'lookup' at offset 0"),
    ("{{#if _source.a}}{{#eq _source.a 1}}{{/eq}}{{/if}}", "unknown helper 'eq' at offset 17"),
    ("{{else foo _source.a}}", "outside of a block"),
    ("{{#if _source.a}}{{else foo _source.b}}{{/if}}", "unknown helper 'foo' at offset 17"),
    ("{{if _source.x}}", "'if' is a block helper, use {{#if}}"),
    ("{{#if}}{{/if}}", "{{#if}} takes exactly one argument, got 0 at offset 0"),
    ("{{#each _source.a _source.b}}{{/each}}", "{{#each}} takes exactly one argument, got 2"),
    ("{{#removeExtraSpace _source.a}}{{/removeExtraSpace}}", "takes no arguments, got 1"),
    ("{{#}}", "missing helper name after '{{#' at offset 0"),
    # roots other than _source / this / block-relative names
    ("source.x", "Source must refer to _source, got 'source.x'"),
    ("email", "Source must refer to _source, got 'email'"),
    ("$.email", "Source must refer to _source, got '$.email'"),
    ("{{source.x}}", "Source must refer to _source, got 'source.x' at offset 0"),
    ("{{FirstName}}", "Source must refer to _source, got 'FirstName' at offset 0"),
    ("a {{#if FirstName}}{{/if}}", "Source must refer to _source, got 'FirstName' at offset 2"),
    ("{{#each _source.a}}{{/each}}{{title}}", "got 'title' at offset 28"),
    ("{{#each _source.a}}{{else}}{{title}}{{/each}}", "got 'title' at offset 27"),
    ("{{this}}", "'this' outside of {{#each}} or {{#with}} at offset 0"),
    ("{{#if _source.a}}{{this.x}}{{/if}}", "'this' outside of {{#each}} or {{#with}}"),
    ("{{@index}}", "@index is only defined inside {{#each}} at offset 0"),
    ("{{#with _source.a}}{{@index}}{{/with}}", "@index is only defined inside {{#each}}"),
    ("{{#each _source.a}}{{@foo}}{{/each}}", "unknown data variable '@foo' at offset 19"),
    ("{{#each _source.a}}{{../x}}{{/each}}", "parent paths are not supported"),
    ("{{@root._source.x}}", "unknown data variable '@root._source.x'"),
    ("_source", "Source must name a field of _source"),
    ("{{_source}}", "Source must name a field of _source, got '_source' at offset 0"),
    # malformed paths
    ("_source..x", "invalid path '_source..x' at character 7"),
    ("_source.x[", "invalid path"),
    ("_source.x[-1]", "invalid path"),
    ("{{_source.}}", "invalid path '_source.' at character 7 at offset 0"),
    ("{{_source.a[b]}}", "invalid path"),
    # unsupported syntax, empty
    ("{{> partial}}", "unsupported Handlebars syntax '{{>' at offset 0"),
    ("{{^_source.x}}{{/_source.x}}", "unsupported Handlebars syntax '{{^'"),
    ("{{*decorator}}", "unsupported Handlebars syntax '{{*'"),
    ("{{~_source.x}}", "whitespace control '~' is not supported at offset 0"),
    ("{{_source.x~}}", "whitespace control '~' is not supported"),
    ("{{}}", "empty {{}} at offset 0"),
    ("{{&}}", "empty {{}} at offset 0"),
    ("", "Source is empty"),
    ("   ", "Source is empty"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_compile_errors(text: str, message: str) -> None:
    with pytest.raises(SourceError) as raised:
        compile_source(text)
    assert message in str(raised.value)


def test_source_error_is_a_value_error() -> None:
    assert issubclass(SourceError, ValueError)
    with pytest.raises(SourceError, match="must be a string"):
        compile_source(None)  # type: ignore[arg-type]


def test_compiled_source_is_reusable() -> None:
    source = compile_source("{{#each _source.items}}{{id}}{{/each}}")
    assert isinstance(source, Source)
    assert source.text == "{{#each _source.items}}{{id}}{{/each}}"
    assert source.evaluate({"items": [{"id": "a"}]}) == "a"
    assert source.evaluate({"items": [{"id": "b"}, {"id": "c"}]}) == "bc"
    assert source.evaluate({}) is None
    assert "_source.items" in repr(source)
