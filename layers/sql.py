"""Building SQL text safely: one identifier-quoting helper and the bound-parameter helpers.

User input reaches SQL only as ``$n`` parameters; identifiers only through
:func:`quote_ident`, and only after the registry has vouched for them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

_IDENT_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# ``:name`` but not the second colon of a ``::cast`` (nor the first: a name must follow).
_NAMED_RE = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")
_COMMENT_RE = re.compile(r"--[^\n]*")


def quote_ident(name: str) -> str:
    """Double-quote a PostgreSQL identifier, refusing anything but lower-case snake names.

    The registry only admits such names, so anything else here is a programming error.
    """
    if not _IDENT_RE.match(name):
        raise ValueError(f"refusing unsafe SQL identifier {name!r}")
    return f'"{name}"'


def qualified(schema: str, name: str) -> str:
    """``"schema"."name"``, both parts quoted through :func:`quote_ident`."""
    return f"{quote_ident(schema)}.{quote_ident(name)}"


@lru_cache(maxsize=512)
def _compile_named(sql: str) -> tuple[str, tuple[str, ...]]:
    # Cached: the write path binds the same few statements thousands of times.
    order: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        return f"${order.setdefault(match.group(1), len(order) + 1)}"

    return _NAMED_RE.sub(number, _COMMENT_RE.sub("", sql)), tuple(order)


def bind_named(sql: str, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """Turn ``:name`` parameters into asyncpg's ``$n``, returning the text and the values in order.

    A name used twice binds once. ``--`` comments are dropped first, so prose in a ``.sql``
    file never looks like a parameter (the statements hold no ``--`` inside string literals).

    Raises:
        KeyError: a parameter the statement names has no value.
        ValueError: a value was given that the statement never uses (a typo in a caller).
    """
    text, names = _compile_named(sql)
    missing = [name for name in names if name not in values]
    if missing:
        raise KeyError(f"SQL parameters without a value: {missing}")
    unused = set(values).difference(names)
    if unused:
        raise ValueError(f"values for parameters the statement does not use: {sorted(unused)}")
    return text, [values[name] for name in names]


class Params:
    """Collects bound values and hands out ``$n`` placeholders in order."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any, cast: str | None = None) -> str:
        """Bind ``value`` and return its placeholder, with ``::cast`` appended when given."""
        self.values.append(value)
        placeholder = f"${len(self.values)}"
        return f"{placeholder}::{cast}" if cast else placeholder
