"""layers.sql.bind_named: ``:name`` parameters for the statements in ``.sql`` files."""

from __future__ import annotations

import pytest

from layers.sql import bind_named


def test_names_become_numbered_parameters_and_casts_stay() -> None:
    text, values = bind_named("SELECT :a, :b::int, :a::text -- not :c\nFROM t", {"a": "x", "b": 2})
    assert text.split() == ["SELECT", "$1,", "$2::int,", "$1::text", "FROM", "t"]
    assert values == ["x", 2]


def test_a_missing_or_unused_value_is_a_programming_error() -> None:
    with pytest.raises(KeyError, match="b"):
        bind_named("SELECT :a, :b", {"a": 1})
    with pytest.raises(ValueError, match="typo"):
        bind_named("SELECT :a", {"a": 1, "typo": 2})
