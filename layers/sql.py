"""Building SQL text safely: one identifier-quoting helper and a bound-parameter collector.

User input reaches SQL only as ``$n`` parameters; identifiers only through
:func:`quote_ident`, and only after the registry has vouched for them.
"""

from __future__ import annotations

import re
from typing import Any

_IDENT_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def quote_ident(name: str) -> str:
    """Double-quote a PostgreSQL identifier, refusing anything but lower-case snake names.

    The registry only admits such names, so anything else here is a programming error.
    """
    if not _IDENT_RE.match(name):
        raise ValueError(f"refusing unsafe SQL identifier {name!r}")
    return f'"{name}"'


def qualified(schema: str, name: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(name)}"


class Params:
    """Collects bound values and hands out ``$n`` placeholders in order."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any, cast: str | None = None) -> str:
        self.values.append(value)
        placeholder = f"${len(self.values)}"
        return f"{placeholder}::{cast}" if cast else placeholder
