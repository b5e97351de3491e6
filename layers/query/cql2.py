"""CQL2 (text or JSON) → a SQL boolean over a layer table, with bound parameters only.

Parsing is done by the kept ``cql2`` library (the Rust reference parser), which
gives the canonical CQL2-JSON tree for either encoding. This module walks that
tree: every property name is resolved against the registry schema
(:mod:`layers.query.properties`), every literal is type-checked against the
property it meets and bound as a ``$n`` parameter.

Supported: basic CQL2 (comparisons, AND/OR/NOT, IS NULL), LIKE/BETWEEN/IN,
CASEI, property-property comparisons, + − × ÷ arithmetic, every S_* spatial
function on any geometry literal (in ``filter-crs``), and every T_* temporal
function on date/date-time properties and intervals (valid time is
``INTERVAL(valid_from, valid_to)``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import cql2
import shapely
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from layers.model import Layer
from layers.query.errors import InvalidFilter, UnknownProperty
from layers.query.instants import parse_instant
from layers.query.limits import EXPRESSION_MAX_DEPTH, FilterLimits, check_text, check_tree
from layers.query.properties import SQL_CAST, Kind, Queryable, resolve
from layers.query.storage_crs import to_storage
from layers.sql import Params
from spatial.crs import CRS84, STORAGE_SRID, CrsRef

Node = Any
Bound = str | Callable[[], str]  # SQL, or a literal bound when first used (_Translator.lazy)
_COMPARISON = {"=": "=", "<>": "<>", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_SPATIAL = {
    "s_intersects": "ST_Intersects",
    "s_equals": "ST_Equals",
    "s_disjoint": "ST_Disjoint",
    "s_touches": "ST_Touches",
    "s_within": "ST_Within",
    "s_overlaps": "ST_Overlaps",
    "s_crosses": "ST_Crosses",
    "s_contains": "ST_Contains",
}
_ARITHMETIC = {"+": "+", "-": "-", "*": "*", "/": "/"}
_TEMPORAL = {
    "t_after": "{s1} > {e2}",
    "t_before": "{e1} < {s2}",
    "t_contains": "{s1} < {s2} AND {e1} > {e2}",
    "t_disjoint": "NOT ({s1} <= {e2} AND {e1} >= {s2})",
    "t_during": "{s1} > {s2} AND {e1} < {e2}",
    "t_equals": "{s1} = {s2} AND {e1} = {e2}",
    "t_finishedby": "{s1} < {s2} AND {e1} = {e2}",
    "t_finishes": "{s1} > {s2} AND {e1} = {e2}",
    "t_intersects": "{s1} <= {e2} AND {e1} >= {s2}",
    "t_meets": "{e1} = {s2}",
    "t_metby": "{s1} = {e2}",
    "t_overlappedby": "{s1} > {s2} AND {s1} < {e2} AND {e1} > {e2}",
    "t_overlaps": "{s1} < {s2} AND {e1} > {s2} AND {e1} < {e2}",
    "t_startedby": "{s1} = {s2} AND {e1} > {e2}",
    "t_starts": "{s1} = {s2} AND {e1} < {e2}",
}
_NUMERIC: set[Kind] = {"integer", "number"}
_TEMPORAL_KINDS: set[Kind] = {"date", "datetime"}
# A backstop for the recursive translator: parse() already refused deeper trees.
MAX_DEPTH = EXPRESSION_MAX_DEPTH + 1
_INT64 = 2**63
_LANGS = ("cql2-text", "cql2-json")


def parse(text: str, *, lang: str, limits: FilterLimits | None = None) -> dict[str, Any] | bool:
    """Parse ``filter`` in ``cql2-text`` or ``cql2-json`` into canonical CQL2-JSON.

    The text is measured against ``limits`` before the (native, recursive) parser sees it,
    and the tree after, so no filter can overflow a stack (:mod:`layers.query.limits`).

    Raises:
        FilterTooComplex: the filter exceeds a limit.
        InvalidFilter: with the parser's message.
    """
    if lang not in _LANGS:
        raise InvalidFilter(f"filter-lang must be cql2-text or cql2-json, not {lang!r}", parameter="filter-lang")
    limits = limits or FilterLimits()
    check_text(text, lang=lang, limits=limits)
    try:
        expr = cql2.parse_text(text) if lang == "cql2-text" else cql2.parse_json(text)
        tree = expr.to_json()
    except Exception as exc:  # cql2 raises ParseError/ValidationError/ValueError/Exception
        message = " ".join(str(exc).split())
        raise InvalidFilter(f"cannot read the {lang} filter: {message}", parameter="filter") from None
    check_tree(tree, limits=limits)
    return tree


class _Translator:
    def __init__(self, layer: Layer, params: Params, filter_crs: CrsRef) -> None:
        self.layer = layer
        self.params = params
        self.crs = filter_crs

    # -- helpers -------------------------------------------------------------------------------
    def fail(self, message: str) -> InvalidFilter:
        return InvalidFilter(message, parameter="filter")

    def prop(self, node: Node) -> Queryable:
        try:
            return resolve(self.layer, str(node["property"]))
        except UnknownProperty as exc:
            raise InvalidFilter(str(exc), parameter="filter") from None

    @staticmethod
    def is_literal(node: Node) -> bool:
        if isinstance(node, dict):
            return "property" not in node and "op" not in node
        return not isinstance(node, list)

    def bind(self, value: Any, kind: Kind, *, where: str) -> str:
        """Check a literal against ``kind`` and bind it with the matching SQL cast."""
        if kind == "text":
            if not isinstance(value, str):
                raise self.fail(f"{where} is text; {value!r} is not a quoted string")
            return self.params.add(value, "text")
        if kind in _NUMERIC:
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise self.fail(f"{where} is a number; {value!r} is not")
            # cql2 reads every number as a float; one beyond int64 stays a float8 (asyncpg
            # cannot send it as a bigint, and the comparison is just as true).
            if kind == "integer" and float(value).is_integer() and abs(value) < _INT64:
                return self.params.add(int(value), "bigint")
            return self.params.add(float(value), "float8")
        if kind == "boolean":
            if not isinstance(value, bool):
                raise self.fail(f"{where} is true/false; {value!r} is not")
            return self.params.add(value, "boolean")
        if kind in _TEMPORAL_KINDS:
            instant = self.instant(value, where=where)
            if kind == "date" and isinstance(value, dict) and "date" in value:
                return self.params.add(instant.date(), "date")
            return self.params.add(instant, "timestamptz")
        raise self.fail(f"{where} cannot be compared with {value!r}")

    def instant(self, value: Any, *, where: str) -> dt.datetime:
        text = value.get("timestamp") or value.get("date") if isinstance(value, dict) else value
        if not isinstance(text, str):
            raise self.fail(f"{where} needs a DATE('…') or TIMESTAMP('…'), not {value!r}")
        try:
            return parse_instant(text, parameter="filter")
        except Exception:
            raise self.fail(f"{text!r} is not an RFC 3339 date or timestamp") from None

    def literal_kind(self, value: Any) -> Kind:
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, int | float):
            return "number"
        if isinstance(value, str):
            return "text"
        if isinstance(value, dict) and "timestamp" in value:
            return "datetime"
        if isinstance(value, dict) and "date" in value:
            return "date"
        raise self.fail(f"{value!r} cannot be used here")

    # -- scalar expressions -------------------------------------------------------------------
    def scalar(
        self, node: Node, expect: Kind | None, depth: int, *, where: str = "value"
    ) -> tuple[str, Kind]:
        if depth > MAX_DEPTH:
            raise self.fail("the filter is nested too deeply")
        if isinstance(node, dict) and "property" in node:
            q = self.prop(node)
            if q.kind == "geometry":
                raise self.fail("geometry can only be used in S_* spatial functions")
            return q.column, q.kind
        if isinstance(node, dict) and "op" in node:
            op = str(node["op"]).lower()
            args = list(node.get("args", []))
            if op in ("casei", "lower", "upper") and len(args) == 1:
                inner, kind = self.scalar(args[0], "text", depth + 1, where=where)
                if kind != "text":
                    raise self.fail("CASEI applies to text")
                return f"lower({inner})", "text"
            if op == "accenti":
                raise self.fail("ACCENTI is not supported by this server")
            if op in _ARITHMETIC and len(args) == 2:
                lhs, lk = self.scalar(args[0], "number", depth + 1, where="arithmetic operand")
                rhs, rk = self.scalar(args[1], "number", depth + 1, where="arithmetic operand")
                if lk not in _NUMERIC or rk not in _NUMERIC:
                    raise self.fail(f"{op} needs numbers on both sides")
                return f"({lhs} {_ARITHMETIC[op]} {rhs})", "number"
            raise self.fail(f"unknown function or operator {op!r} in a value position")
        if isinstance(node, list):
            raise self.fail("a list can only follow IN")
        kind = expect or self.literal_kind(node)
        return self.bind(node, kind, where=where), kind

    def pair(self, a: Node, b: Node, depth: int, op: str) -> tuple[str, str, Kind]:
        """Translate two operands so literals take the type of the other side."""
        if self.is_literal(a) and not self.is_literal(b):
            rhs, kind = self.scalar(b, None, depth + 1)
            lhs, _ = self.scalar(a, kind, depth + 1, where=self.describe(b))
            return lhs, rhs, kind
        lhs, kind = self.scalar(a, None, depth + 1)
        rhs, rkind = self.scalar(b, kind, depth + 1, where=self.describe(a))
        if not self.compatible(kind, rkind):
            raise self.fail(f"{op}: cannot compare {kind} with {rkind}")
        return lhs, rhs, kind

    @staticmethod
    def describe(node: Node) -> str:
        if isinstance(node, dict) and "property" in node:
            return f"property {node['property']!r}"
        return "the other operand"

    @staticmethod
    def compatible(a: Kind, b: Kind) -> bool:
        return a == b or ({a, b} <= _NUMERIC) or ({a, b} <= _TEMPORAL_KINDS)

    # -- predicates ------------------------------------------------------------------------------
    def predicate(self, node: Node, depth: int = 0) -> str:
        if depth > MAX_DEPTH:
            raise self.fail("the filter is nested too deeply")
        if isinstance(node, bool):
            return "TRUE" if node else "FALSE"
        if not isinstance(node, dict) or "op" not in node:
            raise self.fail(f"expected a condition, found {node!r}")
        op = str(node["op"]).lower()
        args = list(node.get("args", []))
        handler = self._handlers().get(op)
        if handler is not None:
            return handler(args, depth)
        if op in _COMPARISON:
            self.arity(op, args, 2)
            lhs, rhs, _ = self.pair(args[0], args[1], depth, op)
            return f"({lhs} {_COMPARISON[op]} {rhs})"
        if op in _SPATIAL:
            self.arity(op, args, 2)
            return f"{_SPATIAL[op]}({self.geometry(args[0])}, {self.geometry(args[1])})"
        if op.startswith("t_"):
            self.arity(op, args, 2)
            return self.temporal(op, args[0], args[1])
        if op.startswith("a_"):
            raise self.fail(f"array functions ({op.upper()}) are not supported: no layer has arrays")
        raise self.fail(f"unknown operator {op!r}")

    def _handlers(self) -> dict[str, Callable[[list[Node], int], str]]:
        return {
            "and": lambda a, d: self.combine("AND", a, d),
            "or": lambda a, d: self.combine("OR", a, d),
            "not": lambda a, d: f"(NOT {self.predicate(self.arity('not', a, 1)[0], d + 1)})",
            "isnull": self.is_null,
            "like": self.like,
            "between": self.between,
            "in": self.in_list,
        }

    def combine(self, word: str, args: list[Node], depth: int) -> str:
        return "(" + f" {word} ".join(self.predicate(x, depth + 1) for x in self.at_least(args, 2)) + ")"

    def arity(self, op: str, args: list[Node], n: int) -> list[Node]:
        if len(args) != n:
            raise self.fail(f"{op.upper()} takes {n} argument(s), got {len(args)}")
        return args

    def at_least(self, args: list[Node], n: int) -> list[Node]:
        if len(args) < n:
            raise self.fail(f"AND/OR need at least {n} arguments")
        return args

    def is_null(self, args: list[Node], depth: int) -> str:
        (arg,) = self.arity("isNull", args, 1)
        if isinstance(arg, dict) and "property" in arg:
            return f"({self.prop(arg).column} IS NULL)"
        sql, _ = self.scalar(arg, None, depth + 1)
        return f"({sql} IS NULL)"

    def like(self, args: list[Node], depth: int) -> str:
        self.arity("like", args, 2)
        lhs, kind = self.scalar(args[0], "text", depth + 1)
        if kind != "text":
            raise self.fail("LIKE applies to text properties")
        pattern = args[1]
        # Backslash escapes the next character (CQL2 and PostgreSQL agree); a lone one at the
        # end escapes nothing and PostgreSQL refuses the pattern at run time.
        if isinstance(pattern, str) and (len(pattern) - len(pattern.rstrip("\\"))) % 2:
            raise self.fail("the LIKE pattern ends with a lone backslash; write \\\\ for a backslash")
        rhs = self.typed(pattern, "text", depth + 1, where="the LIKE pattern")
        return f"({lhs} LIKE {rhs})"

    def between(self, args: list[Node], depth: int) -> str:
        self.arity("between", args, 3)
        value, kind = self.scalar(args[0], None, depth + 1)
        if kind not in _NUMERIC and kind not in _TEMPORAL_KINDS:
            raise self.fail("BETWEEN applies to numbers, dates and timestamps")
        lo = self.typed(args[1], kind, depth + 1, where=self.describe(args[0]))
        hi = self.typed(args[2], kind, depth + 1, where=self.describe(args[0]))
        return f"({value} BETWEEN {lo} AND {hi})"

    def in_list(self, args: list[Node], depth: int) -> str:
        self.arity("in", args, 2)
        value, kind = self.scalar(args[0], None, depth + 1)
        items = args[1]
        if not isinstance(items, list) or not items:
            raise self.fail("IN needs a non-empty list")
        if kind == "boolean":
            raise self.fail("IN does not apply to true/false properties")
        if all(self.is_literal(i) for i in items):
            checked = [self._coerce_for_array(i, kind) for i in items]
            cast = SQL_CAST[kind] if kind != "integer" else "float8"
            return f"({value} = ANY({self.params.add(checked, cast + '[]')}))"
        parts = [self.typed(i, kind, depth + 1, where=self.describe(args[0])) for i in items]
        return f"({value} IN ({', '.join(parts)}))"

    def typed(self, node: Node, kind: Kind, depth: int, *, where: str) -> str:
        """``node`` as SQL of ``kind``: a literal is checked as it is bound, and a property or
        expression must be of a comparable kind (``code IN (n)`` would make PostgreSQL refuse
        text = bigint at run time, a 500)."""
        sql, got = self.scalar(node, kind, depth, where=where)
        if not self.compatible(kind, got):
            raise self.fail(f"{where} is {kind}, but {self.describe(node)} is {got}")
        return sql

    def _coerce_for_array(self, item: Any, kind: Kind) -> Any:
        where = "an IN list item"
        if kind == "text":
            if not isinstance(item, str):
                raise self.fail(f"{where} must be text, got {item!r}")
            return item
        if kind in _NUMERIC:
            if isinstance(item, bool) or not isinstance(item, int | float):
                raise self.fail(f"{where} must be a number, got {item!r}")
            return float(item)
        instant = self.instant(item, where=where)
        return instant.date() if kind == "date" else instant

    # -- spatial ---------------------------------------------------------------------------------
    def geometry(self, node: Node) -> str:
        if isinstance(node, dict) and "property" in node:
            q = self.prop(node)
            if q.kind != "geometry":
                raise self.fail(f"{q.name!r} is not a geometry")
            return q.column
        geom = self.literal_geometry(node)
        return f"ST_GeomFromWKB({self.params.add(shapely.to_wkb(geom))}, {STORAGE_SRID})"

    def literal_geometry(self, node: Node) -> BaseGeometry:
        try:
            if isinstance(node, dict) and "bbox" in node:
                b = [float(v) for v in node["bbox"]]
                if len(b) == 6:
                    b = [b[0], b[1], b[3], b[4]]
                geom: BaseGeometry = box(*b[:4]) if len(b) == 4 else shape({})
            elif isinstance(node, dict) and "type" in node:
                geom = shape(node)
            else:
                raise self.fail(f"expected a geometry, found {node!r}")
        except InvalidFilter:
            raise
        except Exception as exc:
            raise self.fail(f"the geometry in the filter is not valid GeoJSON/WKT: {exc}") from None
        if geom.is_empty:
            raise self.fail("the geometry in the filter is empty")
        return to_storage(geom, self.crs, fail=self.fail)

    # -- temporal --------------------------------------------------------------------------------
    # A literal end is bound only if the relation uses it: PostgreSQL refuses a statement with a
    # parameter it never sees ("could not determine data type"), and T_AFTER reads one end only.
    def bounds(self, node: Node) -> tuple[Bound, Bound]:
        """(start, end) timestamptz SQL for an instant property, a literal or an interval."""
        if isinstance(node, dict) and "interval" in node:
            ends = list(node["interval"])
            if len(ends) != 2:
                raise self.fail("INTERVAL takes a start and an end")
            return self.end(ends[0], "-infinity"), self.end(ends[1], "infinity")
        if isinstance(node, dict) and "property" in node:
            q = self.prop(node)
            if q.kind not in _TEMPORAL_KINDS:
                raise self.fail(f"{q.name!r} is not a date or timestamp; T_* functions need one")
            # Dates are UTC days, as DATE('…') literals are (instants.parse_instant).
            col = f"({q.column}::timestamp AT TIME ZONE 'UTC')" if q.kind == "date" else q.column
            if q.name == "valid_to":
                col = f"coalesce({q.column}, 'infinity'::timestamptz)"
            return col, col
        literal = self.lazy(self.instant(node, where="a temporal operand"))
        return literal, literal

    def end(self, node: Node, open_value: str) -> Bound:
        if node == ".." or node is None:
            return f"'{open_value}'::timestamptz"
        if isinstance(node, dict) and "property" in node:
            q = self.prop(node)
            if q.kind not in _TEMPORAL_KINDS:
                raise self.fail(f"{q.name!r} is not a date or timestamp")
            col = f"({q.column}::timestamp AT TIME ZONE 'UTC')" if q.kind == "date" else q.column
            if q.nullable:
                return f"coalesce({col}, '{open_value}'::timestamptz)"
            return col
        return self.lazy(self.instant(node, where="an interval end"))

    def lazy(self, instant: dt.datetime) -> Callable[[], str]:
        """A timestamptz literal bound on first use (once, however often the relation names it)."""
        bound: list[str] = []

        def placeholder() -> str:
            if not bound:
                bound.append(self.params.add(instant, "timestamptz"))
            return bound[0]

        return placeholder

    def temporal(self, op: str, a: Node, b: Node) -> str:
        template = _TEMPORAL.get(op)
        if template is None:
            raise self.fail(f"unknown temporal function {op.upper()}")
        (s1, e1), (s2, e2) = self.bounds(a), self.bounds(b)
        ends = {"s1": s1, "e1": e1, "s2": s2, "e2": e2}
        used = {k: v if isinstance(v, str) else v() for k, v in ends.items() if "{" + k + "}" in template}
        return "(" + template.format(**used) + ")"


def translate(
    tree: dict[str, Any] | bool, *, layer: Layer, params: Params, filter_crs: CrsRef = CRS84
) -> str:
    """SQL boolean for a parsed CQL2 tree over ``layer``'s table (unaliased columns)."""
    return _Translator(layer, params, filter_crs).predicate(tree)
