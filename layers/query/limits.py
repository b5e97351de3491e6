"""Bounds on a CQL2 filter, checked before any parser sees it and again on the parsed tree.

The ``cql2`` parser is native code and recursive: about 1,500 nested brackets, 1,500
``(NOT`` pairs, 4,000 bare ``NOT``\\ s or 8,000 unary minus signs overflow its stack and kill
the whole process (measured with cql2 0.6 on an 8 MiB stack, main thread and worker threads
alike). A segfault cannot be caught, so the text is measured first by a one-pass scanner
that only counts: its length, its nesting (brackets plus runs of prefix operators) and its
number of terms (names, literals and operators). The parsed tree is then measured too,
because operator precedence nests without brackets (``1+1+1…`` is as deep as it is long) and
Python's own recursion (``repr``, the SQL translator) has a limit of its own.

The same walk refuses characters a PostgreSQL ``text`` value cannot hold (U+0000 and lone
surrogates, which cql2-json's ``\\u`` escapes can produce), so they never reach the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from layers.query.errors import FilterTooComplex, InvalidFilter

DEFAULT_MAX_CHARS = 20_000
# cql2's parser backtracks on a filter that fails to parse, doubling its work per bracket level:
# 600 comparisons inside 8 brackets then a syntax error cost 0.6 s of CPU, 12 brackets seconds, 20
# hang a worker for good (measured with cql2 0.6). Brackets are therefore bounded tightly; real
# filters (QGIS, GDAL, the web map) nest two to four.
DEFAULT_MAX_DEPTH = 8
DEFAULT_MAX_TERMS = 2_000
DEPTH_CEILING = 16
# The parsed expression nests without brackets too (``1+1+…``, precedence); that costs the parser
# nothing, only Python's recursion (repr, the SQL translator: about four frames a level).
EXPRESSION_MAX_DEPTH = 64
_PREFIX_WORDS = frozenset({"NOT"})
_PREFIX_SIGNS = frozenset("+-")
_WORD_EXTRA = frozenset("_.:")


@dataclass(frozen=True, slots=True)
class FilterLimits:
    """How large and how complex a filter may be.

    Attributes:
        max_chars: Characters in the filter text, either encoding.
        max_depth: Nesting: brackets plus runs of prefix operators (``NOT``, unary ``-``) in
            CQL2 text. cql2-json counts two JSON levels per operation (the object and its
            ``args`` array) plus five for a geometry's coordinates, so its JSON may nest
            ``2 * max_depth + 5`` deep. The parsed expression is bounded separately, at
            :data:`EXPRESSION_MAX_DEPTH` operations.
        max_terms: Names, literals and operators (CQL2 text), or scalar values other than
            object keys (cql2-json): ``name = 'a'`` is three terms in either encoding.

    The 400 names the setting behind a limit (:data:`SETTING`), so an operator knows what to raise.
    """

    max_chars: int = DEFAULT_MAX_CHARS
    max_depth: int = DEFAULT_MAX_DEPTH
    max_terms: int = DEFAULT_MAX_TERMS

    def json_depth(self) -> int:
        """The JSON nesting allowed to cql2-json (see the class docstring)."""
        return 2 * self.max_depth + 5


SETTING = {
    "max_chars": "ONEMAP_FILTER_MAX_CHARS",
    "max_depth": "ONEMAP_FILTER_MAX_DEPTH",
    "max_terms": "ONEMAP_FILTER_MAX_TERMS",
    "expression": "EXPRESSION_MAX_DEPTH",  # fixed, not a setting
}


def _too_complex(limit: str, maximum: int, what: str) -> FilterTooComplex:
    return FilterTooComplex(
        f"the filter {what}; the limit is {maximum} ({SETTING[limit]})", limit=SETTING[limit], maximum=maximum
    )


def unstorable(text: str) -> str | None:
    """The first character of ``text`` that PostgreSQL ``text`` cannot hold, as ``U+XXXX``; else None.

    That is U+0000 (NUL) and the UTF-16 surrogates U+D800–U+DFFF, which are not characters
    and cannot be encoded as UTF-8.
    """
    for ch in text:
        code = ord(ch)
        if code == 0 or 0xD800 <= code <= 0xDFFF:
            return f"U+{code:04X}"
    return None


def check_text(text: str, *, lang: str, limits: FilterLimits) -> None:
    """Measure a filter's text before it is parsed.

    Raises:
        FilterTooComplex: a limit is exceeded; the problem names the setting.
        InvalidFilter: the text holds a character PostgreSQL cannot store.
    """
    if len(text) > limits.max_chars:
        raise _too_complex("max_chars", limits.max_chars, f"is {len(text)} characters long")
    bad = unstorable(text)
    if bad is not None:
        raise InvalidFilter(f"the filter holds {bad}, which PostgreSQL text cannot store", parameter="filter")
    if lang == "cql2-json":
        depth, terms = _measure_json(text)
        depth_limit = limits.json_depth()
    else:
        depth, terms = _measure_text(text)
        depth_limit = limits.max_depth
    if depth > depth_limit:
        raise _too_complex("max_depth", depth_limit, "is nested too deeply")
    if terms > limits.max_terms:
        raise _too_complex("max_terms", limits.max_terms, f"has {terms} terms")


def _skip_quoted(text: str, start: int) -> int:
    """Index after the quoted token at ``start``; a doubled quote continues it (CQL2 ``''``).

    cql2 reads backslashes literally, so they are no escape here. An unterminated quote runs
    to the end: the parser then fails at the quote, before reading anything after it.
    """
    quote, i, n = text[start], start + 1, len(text)
    while i < n:
        if text[i] == quote:
            if i + 1 < n and text[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return n


def _measure_text(text: str) -> tuple[int, int]:
    """(nesting, terms) of CQL2 text, in one pass and without recursion."""
    depth = deepest = prefix = terms = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace() or ch == ",":
            i += 1
            continue
        if ch == "(":
            depth += 1  # a bracket keeps the prefix run: "NOT (NOT (…" nests twice per level
        elif ch == ")":
            depth, prefix = max(depth - 1, 0), 0
        elif ch in "'\"":
            i, prefix, terms = _skip_quoted(text, i), 0, terms + 1
            continue
        elif ch.isalnum() or ch in _WORD_EXTRA:
            j = i
            while j < n and (text[j].isalnum() or text[j] in _WORD_EXTRA):
                j += 1
            prefix = prefix + 1 if text[i:j].upper() in _PREFIX_WORDS else 0
            i, terms = j, terms + 1
            deepest = max(deepest, depth + prefix)
            continue
        else:  # operator symbols; a run of signs is a chain of unary operators
            prefix = prefix + 1 if ch in _PREFIX_SIGNS else 0
            terms += 1
        deepest = max(deepest, depth + prefix)
        i += 1
    return deepest, terms


def _measure_json(text: str) -> tuple[int, int]:
    """(nesting, scalar values other than keys) of JSON text, in one pass and without recursion."""
    depth = deepest = terms = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "{[":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "}]":
            depth = max(depth - 1, 0)
        elif ch == '"':
            i = _skip_json_string(text, i)
            j = i
            while j < n and text[j].isspace():
                j += 1
            terms += 0 if j < n and text[j] == ":" else 1
            continue
        elif not ch.isspace() and ch not in ",:":
            while i < n and not (text[i].isspace() or text[i] in ',:{}[]"'):
                i += 1
            terms += 1
            continue
        i += 1
    return deepest, terms


def _skip_json_string(text: str, start: int) -> int:
    i, n = start + 1, len(text)
    while i < n:
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i + 1
        i += 1
    return n


def check_tree(tree: Any, *, limits: FilterLimits) -> None:
    """Measure a parsed filter (canonical CQL2-JSON) without recursion.

    Raises:
        FilterTooComplex: operations nest deeper than :data:`EXPRESSION_MAX_DEPTH`.
        InvalidFilter: a string (from a cql2-json ``\\u`` escape) PostgreSQL cannot store.
    """
    stack: list[tuple[Any, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            bad = unstorable(node)
            if bad is not None:
                raise InvalidFilter(
                    f"the filter holds {bad}, which PostgreSQL text cannot store", parameter="filter"
                )
        elif isinstance(node, dict):
            level = depth + 1 if "op" in node else depth
            if level > EXPRESSION_MAX_DEPTH:
                raise _too_complex("expression", EXPRESSION_MAX_DEPTH, "nests operations too deeply")
            stack.extend((child, level) for pair in node.items() for child in pair)
        elif isinstance(node, list):
            stack.extend((child, depth) for child in node)
