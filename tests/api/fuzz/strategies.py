"""Hypothesis strategies for what an outsider can put in a URL: CQL2 text and JSON, and the query
parameters of /items, the tiles and /search.

Each strategy mixes well-formed values (so generation reaches the SQL, not only the parser) with
the hostile ones from the attack: deep nesting, NUL and control characters, huge literals,
unicode, every operator.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hypothesis import strategies as st

# Properties of buildings and test_parcels (tests/api/conftest.py), the system ones, and unknowns.
PROPERTIES = (
    "name", "height_m", "floors", "use", "address", "code", "kind", "n", "area", "ok", "surveyed",
    "valid_from", "valid_to", "version", "geometry", "nosuch", "名称", '"name"',
)
COMPARISONS = ("=", "<>", "<", "<=", ">", ">=", "!=", "==")
SPATIAL = ("S_INTERSECTS", "S_EQUALS", "S_DISJOINT", "S_TOUCHES", "S_WITHIN", "S_OVERLAPS", "S_CROSSES",
           "S_CONTAINS")
TEMPORAL = ("T_AFTER", "T_BEFORE", "T_CONTAINS", "T_DISJOINT", "T_DURING", "T_EQUALS", "T_FINISHEDBY",
            "T_FINISHES", "T_INTERSECTS", "T_MEETS", "T_METBY", "T_OVERLAPPEDBY", "T_OVERLAPS",
            "T_STARTEDBY", "T_STARTS")
ARRAY = ("A_EQUALS", "A_CONTAINS", "A_CONTAINEDBY", "A_OVERLAPS")

# Characters the attack used: NUL, controls, quotes, backslashes, wide and right-to-left text.
NASTY = "\x00\x01\x07\x08\x1b\x7f'\"\\%_()[]{},;:-+*/=<>!.\u202e\ufeff\u3000五一广场🏙"
nasty_text = st.text(alphabet=st.sampled_from(NASTY) | st.characters(codec="utf-8"), max_size=40)
huge_text = st.builds(lambda c, n: c * n, st.sampled_from("x五'(\\"), st.integers(100, 3000))
numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["1e308", "1e309", "-0", "0x10", "1.", ".5", "1e-400", "99999999999999999999"]),
)
instants = st.one_of(
    st.datetimes(timezones=st.just(dt.UTC)).map(lambda d: d.isoformat().replace("+00:00", "Z")),
    st.sampled_from(["2024-13-45", "0000-01-01T00:00:00Z", "99999-01-01", "..", "", "2024-01-01T25:00:00Z"]),
)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


text_literal = st.one_of(nasty_text, huge_text).map(_quote)
text_number = numbers.map(str)
wkt = st.one_of(
    st.tuples(st.floats(-200, 200), st.floats(-100, 100)).map(lambda p: f"POINT({p[0]} {p[1]})"),
    st.just("POLYGON((112.9 28.1, 113.1 28.1, 113.1 28.3, 112.9 28.1))"),
    st.just("BBOX(112.9, 28.1, 113.1, 28.3)"),
    st.just("LINESTRING(0 0)"),
    st.just("POLYGON EMPTY"),
)
prop = st.sampled_from(PROPERTIES)
scalar_text = st.one_of(prop, text_literal, text_number, st.sampled_from(["TRUE", "false", "NULL"]),
                        instants.map(lambda t: f"TIMESTAMP('{t}')"), instants.map(lambda t: f"DATE('{t[:10]}')"))


def _atoms() -> st.SearchStrategy[str]:
    comparison = st.builds(lambda a, op, b: f"{a} {op} {b}", scalar_text, st.sampled_from(COMPARISONS), scalar_text)
    like = st.builds(lambda a, p, neg: f"{a} {'NOT ' if neg else ''}LIKE {p}", prop, text_literal, st.booleans())
    between = st.builds(lambda a, lo, hi: f"{a} BETWEEN {lo} AND {hi}", prop, scalar_text, scalar_text)
    in_list = st.builds(lambda a, xs: f"{a} IN ({', '.join(xs)})", prop, st.lists(scalar_text, max_size=8))
    is_null = st.builds(lambda a, neg: f"{a} IS {'NOT ' if neg else ''}NULL", prop, st.booleans())
    spatial = st.builds(lambda f, g: f"{f}(geometry, {g})", st.sampled_from(SPATIAL), wkt)
    temporal = st.builds(lambda f, a, b: f"{f}(INTERVAL(valid_from, valid_to), INTERVAL('{a}', '{b}'))",
                         st.sampled_from(TEMPORAL), instants, instants)
    array = st.builds(lambda f: f"{f}(name, ('a', 'b'))", st.sampled_from(ARRAY))
    arith = st.builds(lambda a, op, b, c: f"{a} {op} {b} > {c}", prop, st.sampled_from("+-*/%"), text_number,
                      text_number)
    casei = st.builds(lambda a, b: f"CASEI({a}) = CASEI({b})", prop, text_literal)
    return st.one_of(comparison, like, between, in_list, is_null, spatial, temporal, array, arith, casei,
                     st.sampled_from(["TRUE", "FALSE", "ACCENTI(name) = 'a'"]))


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda a, b, op: f"{a} {op} {b}", children, children, st.sampled_from(["AND", "OR", "and"])),
        children.map(lambda a: f"NOT {a}"),
        children.map(lambda a: f"({a})"),
    )


def _deep(core: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Nesting from the attack: brackets, NOT chains, unary minus and function calls, to 3,000 deep."""
    wrappers = st.sampled_from([("(", ")"), ("NOT ", ""), ("(NOT ", ")"), ("CASEI(", ")"), ("- ", "")])
    return st.builds(lambda w, n, c: w[0] * n + c + w[1] * n, wrappers, st.integers(0, 3000), core)


cql2_text = st.one_of(
    st.recursive(_atoms(), _combine, max_leaves=12),
    _deep(_atoms()),
    st.builds(lambda n: " AND ".join(["name = 'a'"] * n), st.integers(1, 900)),
    nasty_text,
)


def _json_atom() -> st.SearchStrategy[Any]:
    value: st.SearchStrategy[Any] = st.one_of(
        nasty_text, huge_text, st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.booleans(), st.none(),
        st.builds(lambda t: {"timestamp": t}, instants), st.builds(lambda t: {"date": t}, instants),
        st.just({"type": "Point", "coordinates": [113.0, 28.2]}), st.just({"bbox": [112.9, 28.1, 113.1, 28.3]}),
        st.just({"interval": ["2020-01-01", ".."]}),
    )
    operand = st.one_of(st.builds(lambda p: {"property": p}, prop), value)
    ops = st.sampled_from([*COMPARISONS, "like", "between", "in", "isNull", "casei", "not", "and", "or",
                           *(s.lower() for s in SPATIAL + TEMPORAL + ARRAY), "+", "nosuch", ""])
    return st.builds(lambda op, args: {"op": op, "args": args}, ops, st.lists(operand | st.lists(value), max_size=4))


def _json_combine(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(lambda xs, op: {"op": op, "args": xs}, st.lists(children, min_size=1, max_size=4),
                  st.sampled_from(["and", "or"])),
        children.map(lambda a: {"op": "not", "args": [a]}),
    )


def _json_deep(n: int, core: str, kind: str) -> str:
    if kind == "not":
        return '{"op":"not","args":[' * n + core + "]}" * n
    if kind == "plus":
        return '{"op":"=","args":[{"property":"n"},' + '{"op":"+","args":[1,' * n + "1" + "]}" * n + "]}"
    return "[" * n + core + "]" * n


cql2_json = st.one_of(
    st.recursive(_json_atom(), _json_combine, max_leaves=10).map(json.dumps),
    st.builds(_json_deep, st.integers(0, 1200), st.just('{"op":"=","args":[{"property":"name"},"a"]}'),
              st.sampled_from(["not", "plus", "array"])),
    nasty_text,
    st.sampled_from(['{"op":"=","args":[{"property":"name"},"a\\u0000"]}', '"\\ud800"', "{", "[]", "null", "1"]),
)

# -- query parameters -----------------------------------------------------------------------------
CRS = ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", "http://www.opengis.net/def/crs/EPSG/0/4490",
       "http://www.opengis.net/def/crs/EPSG/0/4326", "http://www.opengis.net/def/crs/EPSG/0/3857",
       "http://www.opengis.net/def/crs/EPSG/0/4547", "EPSG:4326", "[EPSG:4490]", "urn:ogc:def:crs:EPSG::4326")
junk = st.one_of(nasty_text, huge_text, numbers.map(str), st.just(""))
bbox = st.one_of(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=7).map(
        lambda xs: ",".join(str(x) for x in xs)
    ),
    st.just("112.9,28.1,113.1,28.3"), junk,
)
datetime_param = st.one_of(instants, st.builds(lambda a, b: f"{a}/{b}", instants, instants), junk)
sortby = st.one_of(
    st.lists(st.builds(lambda s, p: s + p, st.sampled_from(["", "+", "-"]), prop), max_size=4).map(",".join), junk
)
properties_param = st.one_of(st.lists(prop, max_size=5).map(",".join), junk)
ints = st.one_of(st.integers(-(2**64), 2**64).map(str), junk)


def optional(values: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    """``values`` or the parameter left out."""
    return st.none() | values


items_params = st.fixed_dictionaries(
    {},
    optional={
        "bbox": bbox, "bbox-crs": st.sampled_from(CRS) | junk, "datetime": datetime_param, "limit": ints,
        "offset": ints, "sortby": sortby, "properties": properties_param, "crs": st.sampled_from(CRS) | junk,
        "filter-crs": st.sampled_from(CRS) | junk, "f": st.sampled_from(["json", "html", "geojson", "xml"]) | junk,
        "lang": st.sampled_from(["zh", "en"]) | junk, "filter": cql2_text, "filter-lang": st.sampled_from(
            ["cql2-text", "cql2-json", "CQL2-TEXT"]) | junk, "cursor": junk, "profile": junk, "nosuch": junk,
    },
)
tile_address = st.tuples(
    st.sampled_from(["WebMercatorQuad", "WorldCRS84Quad", "CGCS2000Quad", "nosuch"]),
    st.one_of(st.integers(-1, 32).map(str), junk),
    st.one_of(st.integers(-1, 2**33).map(str), junk),
    st.one_of(st.integers(-1, 2**33).map(str), junk),
)
tile_params = st.fixed_dictionaries(
    {},
    optional={"datetime": datetime_param, "filter": cql2_text | cql2_json, "filter-lang": st.sampled_from(
        ["cql2-text", "cql2-json"]) | junk, "properties": properties_param, "f": junk, "collections": junk},
)
search_params = st.fixed_dictionaries(
    {"q": st.one_of(nasty_text, huge_text, st.sampled_from(["五一", "P00", "%", "_", "\\", "'"]))},
    optional={"limit": ints, "collections": st.one_of(st.just("buildings,test_parcels"), junk)},
)
