"""The case SQL files (``cases/sql/*.sql``), loaded once and bound by name (``:name``)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from layers.sql import bind_named


@cache
def statement(name: str) -> str:
    """The text of ``cases/sql/<name>.sql`` without its comment lines."""
    text = resources.files("cases").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def bound(name: str, values: Mapping[str, Any], **parts: str) -> tuple[str, list[Any]]:
    """(SQL with ``$n`` placeholders, arguments) for a case statement; ``parts`` fill ``{name}`` slots
    that hold SQL we build (never values)."""
    text = statement(name)
    if parts:
        text = text.format(**parts)
    sql, args = bind_named(text, dict(values))
    return sql, list(args)
