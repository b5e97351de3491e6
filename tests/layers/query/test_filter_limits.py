"""The filter bounds of layers/query/limits.py, measured without ever handing a hostile filter to
cql2's native parser in this process (a miss there would kill the test runner; the live-server
tests in tests/api/fuzz/ send those)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.settings import ApiSettings
from layers.query.cql2 import parse
from layers.query.errors import FilterTooComplex, InvalidFilter
from layers.query.limits import FilterLimits, check_text, check_tree, unstorable

LIMITS = FilterLimits(max_chars=1_000, max_depth=8, max_terms=50)


def refused(text: str, lang: str = "cql2-text", limits: FilterLimits = LIMITS) -> str | None:
    """The setting named by the refusal, or None when the text is within the limits."""
    try:
        check_text(text, lang=lang, limits=limits)
    except FilterTooComplex as exc:
        return exc.limit
    return None


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("(" * 9 + "a = 1" + ")" * 9, "ONEMAP_FILTER_MAX_DEPTH"),
        ("(" * 8 + "a = 1" + ")" * 8, None),
        ("NOT " * 9 + "a = 1", "ONEMAP_FILTER_MAX_DEPTH"),
        ("a = " + "- " * 9 + "1", "ONEMAP_FILTER_MAX_DEPTH"),
        ("(NOT " * 5 + "a = 1" + ")" * 5, "ONEMAP_FILTER_MAX_DEPTH"),  # a bracket keeps the NOT run
        ("NOT a = 1 AND NOT b = 2 AND NOT c = 3 AND NOT d = 4", None),  # siblings, not a chain
        ("a = 1 - 1 - 1 - 1 - 1 - 1 - 1 - 1 - 1 - 1", None),  # binary minus resets the run
        ("name = '" + "(" * 50 + "'", None),  # brackets inside a literal are text
        ("name = 'it''s' AND " + "(" * 9 + "a = 1" + ")" * 9, "ONEMAP_FILTER_MAX_DEPTH"),
        ("(name = ')' OR " * 9 + "a = 1" + ")" * 9, "ONEMAP_FILTER_MAX_DEPTH"),  # ')' in literals cancels nothing
        ('"a(((((((((" = 1', None),  # a quoted property name
        ("name = 'x\\' OR " + "(" * 9 + "a = 1" + ")" * 9, "ONEMAP_FILTER_MAX_DEPTH"),  # backslash escapes nothing
        (" AND ".join(["a = 1"] * 13), "ONEMAP_FILTER_MAX_TERMS"),  # 13 × 3 + 12 = 51 terms
        (" AND ".join(["a = 1"] * 12), None),  # 48 terms
        ("name = '" + "x" * 1_000 + "'", "ONEMAP_FILTER_MAX_CHARS"),
    ],
)
def test_cql2_text_is_measured_before_parsing(text: str, limit: str | None) -> None:
    assert refused(text) == limit


@pytest.mark.parametrize(
    ("tree_text", "limit"),
    [
        ('{"op":"not","args":[' * 10 + '{"op":"=","args":[{"property":"a"},1]}' + "]}" * 10, "ONEMAP_FILTER_MAX_DEPTH"),
        ('{"op":"not","args":[' * 5 + '{"op":"=","args":[{"property":"a"},1]}' + "]}" * 5, None),
        ("[" * 22 + "]" * 22, "ONEMAP_FILTER_MAX_DEPTH"),  # 2 × 8 + 5 = 21 JSON levels allowed
        ('{"op":"in","args":[{"property":"a"},[' + ",".join(["1"] * 49) + "]]}", "ONEMAP_FILTER_MAX_TERMS"),
        ('{"op":"=","args":[{"property":"a"},"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"]}', None),  # brackets in strings
        ('{"op":"=","args":[{"property":"a"},"\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]}', None),  # escaped quote
    ],
)
def test_cql2_json_is_measured_before_parsing(tree_text: str, limit: str | None) -> None:
    assert refused(tree_text, lang="cql2-json") == limit


def test_json_keys_are_not_terms_so_a_comparison_counts_three_in_either_encoding() -> None:
    as_text, as_json = "name = 'a'", '{"op": "=", "args": [{"property": "name"}, "a"]}'
    three, two = FilterLimits(max_terms=3), FilterLimits(max_terms=2)
    assert refused(as_text, limits=three) is None and refused(as_json, "cql2-json", three) is None
    assert refused(as_text, limits=two) == refused(as_json, "cql2-json", two) == "ONEMAP_FILTER_MAX_TERMS"


def test_the_parsed_tree_is_measured_too() -> None:
    """``1+1+…`` has no brackets for the scanner to count, but the parser nests once per ``+``."""
    text = "a = " + "+".join(["1"] * 40)
    assert refused(text, limits=FilterLimits()) is None
    with pytest.raises(FilterTooComplex) as caught:
        parse("a = " + "+".join(["1"] * 70), lang="cql2-text", limits=FilterLimits())
    assert caught.value.limit == "EXPRESSION_MAX_DEPTH" and caught.value.maximum == 64
    assert parse(text, lang="cql2-text", limits=FilterLimits())


def test_characters_postgresql_cannot_store_are_refused() -> None:
    assert unstorable("五一广场 \u202e ok") is None
    assert unstorable("a\x00") == "U+0000"
    assert unstorable("\ud800") == "U+D800"
    with pytest.raises(InvalidFilter, match="U\\+0000"):
        check_text("name = 'a\x00'", lang="cql2-text", limits=LIMITS)
    with pytest.raises(InvalidFilter, match="U\\+0000"):  # a \u0000 escape is six harmless characters until parsed
        parse('{"op":"=","args":[{"property":"name"},"a\\u0000"]}', lang="cql2-json", limits=LIMITS)
    with pytest.raises(InvalidFilter, match="U\\+DC80"):
        check_tree({"op": "=", "args": [{"property": "name"}, "\udc80"]}, limits=LIMITS)


def test_an_unknown_filter_language_is_refused_before_measuring() -> None:
    with pytest.raises(InvalidFilter) as caught:
        parse("(" * 5000, lang="cql2-xml", limits=LIMITS)
    assert caught.value.parameter == "filter-lang"


def test_the_limits_are_settings_and_depth_is_capped() -> None:
    settings = ApiSettings(filter_max_chars=500, filter_max_depth=12, filter_max_terms=300)
    assert settings.filter_limits() == FilterLimits(500, 12, 300)
    assert ApiSettings().filter_limits() == FilterLimits()
    with pytest.raises(ValidationError):
        ApiSettings(filter_max_depth=20)  # cql2 backtracks exponentially in brackets
