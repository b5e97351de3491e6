"""Hostile input that used to answer 500 now answers 400 problem+json (security issue: the attack).

Each case is one the outsider sent. The ASGI client re-raises an unhandled error, so a case that
still reached asyncpg would fail here with the error, not a status.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends

from api.app import create_app
from api.context import AppContext, get_context
from tests.api.conftest import Seed, api_settings

ITEMS = "/collections/buildings/items"
TILE = "/collections/test_parcels/tiles/WebMercatorQuad/14/6865/13332"
NUL = "\x00"


def text(expr: str) -> dict[str, str]:
    return {"filter": expr}


def as_json(tree: Any) -> dict[str, str]:
    return {"filter": json.dumps(tree), "filter-lang": "cql2-json"}


def assert_problem(r: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["title"] and body["type"]
    return body


NUL_CASES = [
    ("literal", ITEMS, text(f"name = 'a{NUL}b'")),
    ("like", ITEMS, text(f"name LIKE 'a{NUL}%'")),
    ("in", ITEMS, text(f"name IN ('a{NUL}', 'b')")),
    ("cql2-json", ITEMS, as_json({"op": "=", "args": [{"property": "name"}, f"a{NUL}"]})),
    ("search", "/search", {"q": f"a{NUL}b"}),
    ("tile-filter", TILE, text(f"code = 'P{NUL}'")),
    ("sortby", ITEMS, {"sortby": f"name{NUL}"}),
    ("lang", ITEMS, {"lang": f"zh{NUL}"}),
]


@pytest.mark.parametrize(("path", "params"), [c[1:] for c in NUL_CASES], ids=[c[0] for c in NUL_CASES])
async def test_a_nul_in_any_parameter_is_a_400_naming_it(
    client: httpx.AsyncClient, path: str, params: dict[str, str]
) -> None:
    body = assert_problem(await client.get(path, params=params))
    assert "U+0000" in body["detail"]
    assert body["parameter"] in params


async def test_a_json_escaped_nul_in_cql2_json_is_refused_after_parsing(client: httpx.AsyncClient) -> None:
    """``\\u0000`` is six plain characters in the URL; only the parsed filter holds the NUL."""
    raw = '{"op":"=","args":[{"property":"name"},"a\\u0000"]}'
    body = assert_problem(await client.get(ITEMS, params={"filter": raw, "filter-lang": "cql2-json"}))
    assert body["type"] == "/problems/invalid-filter" and "U+0000" in body["detail"]


async def test_a_nul_in_the_path_or_a_form_body_is_a_400(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/collections/build%00ings/items"))
    body = assert_problem(await client.post("/auth/token", data={"username": f"zhang{NUL}san", "password": "x"}))
    assert body["parameter"] == "username"


async def test_a_form_without_nul_still_reaches_the_route(client: httpx.AsyncClient) -> None:
    """The guard replays the body it read: the sign-in form still works."""
    r = await client.post("/auth/token", data={"username": "zhang.san", "password": "correct horse"})
    assert r.status_code == 200, r.text
    assert r.json()["access_token"]


async def test_a_nul_in_a_json_body_is_a_400(client: httpx.AsyncClient, seed: Seed) -> None:
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [112.93, 28.17]},
        "properties": {"code": f"NUL{NUL}"},
    }
    r = await client.post("/collections/test_parcels/items", json=feature, headers=seed.auth("editor"))
    assert "U+0000" in assert_problem(r)["detail"]


@pytest.mark.parametrize(
    "params",
    [
        as_json({"op": "like", "args": [{"property": "name"}, "\\"]}),
        text("name LIKE 'abc\\'"),
        as_json({"op": "like", "args": [{"property": "name"}, "a\\\\\\"]}),
    ],
    ids=["json-lone-backslash", "text-trailing-backslash", "json-three-backslashes"],
)
async def test_a_like_pattern_ending_in_a_lone_backslash_is_a_400(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    body = assert_problem(await client.get(ITEMS, params=params))
    assert "backslash" in body["detail"]


async def test_an_escaped_backslash_at_the_end_of_a_like_pattern_is_fine(client: httpx.AsyncClient) -> None:
    r = await client.get(ITEMS, params=as_json({"op": "like", "args": [{"property": "name"}, "a\\\\"]}))
    assert r.status_code == 200, r.text


async def test_three_thousand_chained_nots_are_a_400_naming_the_depth_limit(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get(ITEMS, params=text("NOT " * 3000 + "name = 'a'")))
    assert body["type"] == "/problems/filter-too-complex"
    assert body["limit"] == "ONEMAP_FILTER_MAX_DEPTH" and body["maximum"] == 8


async def test_a_long_arithmetic_chain_is_refused_on_its_parsed_depth(client: httpx.AsyncClient) -> None:
    """``1+1+…`` has no brackets, but the parser nests it one level per ``+``."""
    body = assert_problem(await client.get("/collections/test_parcels/items", params=text("n = " + "+".join("1" * 80))))
    assert (body["limit"], body["maximum"]) == ("EXPRESSION_MAX_DEPTH", 64)
    assert "nests operations" in body["detail"]


@pytest.mark.parametrize(
    ("expr", "title_word"),
    [
        ("n / 0 = 1", "division by zero"),
        ("area * 1e308 * 1e308 > 1", "out of range"),
    ],
)
async def test_database_data_errors_from_user_values_are_400(
    client: httpx.AsyncClient, expr: str, title_word: str
) -> None:
    body = assert_problem(await client.get("/collections/test_parcels/items", params=text(expr)))
    assert body["type"] == "/problems/invalid-value"
    assert title_word in body["detail"]


async def test_an_integer_beyond_int64_compares_as_a_number(client: httpx.AsyncClient) -> None:
    """cql2 reads 1e20 as a float; it used to be bound as a bigint and fail to encode (500)."""
    r = await client.get("/collections/test_parcels/items", params=text("n < 99999999999999999999"))
    assert r.status_code == 200, r.text
    assert r.json()["numberMatched"] == 60


TIME_NAMED_LAYER = {
    "id": "survey_marks",
    "title_zh": "测量标志",
    "title_en": "Survey marks",
    "geometry_type": "Point",
    "access": "public",
    "schema": {
        "fields": [
            {"name": "src_valid_from", "type": "date", "title_zh": "源起始", "title_en": "Source valid from"},
            {"name": "valid_to_note", "type": "string", "title_zh": "止期说明", "title_en": "Valid-to note"},
        ]
    },
}


async def test_an_item_whose_fields_are_named_like_valid_time_reads_back(
    client: httpx.AsyncClient, seed: Seed
) -> None:
    """``GET /items/{fid}`` once edited its SQL with a text replace of ``valid_from``, which broke
    on a field such as ``src_valid_from`` (500). The item SQL is built whole now (layers/query/items.py)."""
    r = await client.post("/collections", json=TIME_NAMED_LAYER, headers=seed.auth("admin"))
    assert r.status_code == 201, r.text
    props = {"src_valid_from": "2019-05-01", "valid_to_note": "until the next survey"}
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [112.97, 28.2]}, "properties": props}
    created = await client.post("/collections/survey_marks/items", json=feature, headers=seed.auth("editor"))
    assert created.status_code == 201, created.text
    item_url = created.headers["location"]
    for params in ({}, {"datetime": "2100-01-01T00:00:00Z"}, {"crs": "http://www.opengis.net/def/crs/EPSG/0/4490"}):
        got = await client.get(item_url, params=params)
        assert got.status_code == 200, got.text
        assert {k: got.json()["properties"][k] for k in props} == props
    listed = await client.get("/collections/survey_marks/items", params=text("src_valid_from < DATE('2020-01-01')"))
    assert listed.json()["numberMatched"] == 1


TEMPORAL_OPS = ["T_AFTER", "T_BEFORE", "T_CONTAINS", "T_DISJOINT", "T_DURING", "T_EQUALS", "T_FINISHEDBY",
                "T_FINISHES", "T_INTERSECTS", "T_MEETS", "T_METBY", "T_OVERLAPPEDBY", "T_OVERLAPS",
                "T_STARTEDBY", "T_STARTS"]


@pytest.mark.parametrize("op", TEMPORAL_OPS)
async def test_every_temporal_function_takes_an_interval_literal(client: httpx.AsyncClient, op: str) -> None:
    """Found by the fuzz suite: a relation that reads one end of an interval literal left the other
    bound but unused, and PostgreSQL refused the statement (500)."""
    for interval in ("INTERVAL('2000-01-01T00:00:00Z', '..')", "INTERVAL('2000-01-01', '2030-01-01')"):
        r = await client.get(
            "/collections/test_parcels/items", params=text(f"{op}(INTERVAL(valid_from, valid_to), {interval})")
        )
        assert r.status_code == 200, r.text
    after = await client.get(
        "/collections/test_parcels/items",
        params=text("T_AFTER(INTERVAL(valid_from, valid_to), INTERVAL('2000-01-01T00:00:00Z', '..'))"),
    )
    assert after.json()["numberMatched"] == 0  # every parcel is still valid, so it does not end before ..


@pytest.mark.parametrize(
    "body",
    [
        '{"type":"Feature","geometry":{"type":"Point","coordinates":' + "[" * 900 + "]" * 900 + "}}",
        '{"type":"Feature","geometry":{"type":"Point","coordinates":[112.93,28.17]},"properties":{"code":"x"},"x":'
        + '{"a":' * 500 + "1" + "}" * 501,
        "[" * 2000 + "]" * 2000,
    ],
    ids=["deep-coordinates", "deep-extra-member", "past-orjson-limit"],
)
async def test_a_deeply_nested_json_body_is_a_400(client: httpx.AsyncClient, seed: Seed, body: str) -> None:
    """Deep coordinates drove shapely's GeoJSON reader into Python's recursion limit (its message
    came back in a 422); now any body nested past 32 levels is refused before it is read."""
    headers = {**seed.auth("editor"), "content-type": "application/geo+json"}
    r = await client.post("/collections/test_parcels/items", content=body, headers=headers)
    problem = assert_problem(r)
    assert problem["type"] == "/problems/invalid-body"
    assert "recursion" not in problem["detail"]


async def test_the_filter_limits_come_from_the_settings_for_items_and_tiles(seed: Seed, var_dir: Path) -> None:
    app = create_app(api_settings(seed.url, var_dir, filter_max_depth=5, filter_max_terms=40))
    nested = text("(" * 6 + "code = 'P001'" + ")" * 6)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            for path in ("/collections/test_parcels/items", TILE):
                body = assert_problem(await c.get(path, params=nested))
                assert (body["limit"], body["maximum"]) == ("ONEMAP_FILTER_MAX_DEPTH", 5)
            wide = text(" OR ".join(["code = 'P001'"] * 11))  # 11 × 3 + 10 = 43 terms
            assert assert_problem(await c.get(TILE, params=wide))["limit"] == "ONEMAP_FILTER_MAX_TERMS"
            within = await c.get("/collections/test_parcels/items", params=text("(" * 5 + "code = 'P001'" + ")" * 5))
            assert within.status_code == 200 and within.json()["numberMatched"] == 1


@pytest.mark.parametrize(
    "expr",
    ["code IN (n)", "code IN ('P001', n)", "n BETWEEN 1 AND code", "code LIKE n", "surveyed BETWEEN n AND 5"],
)
async def test_a_property_of_another_kind_in_in_between_or_like_is_a_400(client: httpx.AsyncClient, expr: str) -> None:
    """Found by the fuzz suite: ``code IN (n)`` reached PostgreSQL as text = bigint (500)."""
    body = assert_problem(await client.get("/collections/test_parcels/items", params=text(expr)))
    assert body["type"] == "/problems/invalid-filter"


async def test_a_property_of_a_comparable_kind_in_an_in_list_still_works(client: httpx.AsyncClient) -> None:
    r = await client.get("/collections/test_parcels/items", params=text("n IN (version, 3)"))
    assert r.status_code == 200, r.text
    assert r.json()["numberMatched"] == 2  # n = 1 (every parcel is at version 1) and n = 3


async def test_asyncpg_refusing_to_encode_an_argument_is_a_400_too(seed: Seed, var_dir: Path) -> None:
    """The client-side twin of SQLSTATE class 22 (``invalid input for query argument``), raised
    before the statement reaches PostgreSQL, is mapped in the same place (api/errors.py). The
    route that raises it is the test's own: no request we know of still reaches it."""
    app = create_app(api_settings(seed.url, var_dir))

    @app.get("/test-only/argument")
    async def argument(ctx: Annotated[AppContext, Depends(get_context)]) -> None:
        async with ctx.pool.acquire() as conn:
            await conn.fetchval("SELECT $1::bigint", 2**70)

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            body = assert_problem(await c.get("/test-only/argument"))
    assert body["type"] == "/problems/invalid-value" and "out of int64 range" in body["detail"]


async def test_a_bad_filter_inside_the_allowed_brackets_fails_fast(client: httpx.AsyncClient) -> None:
    """Found by the fuzz suite: cql2 backtracks exponentially in brackets on a filter that does not
    parse; 20 levels hung a worker for good. At the default limit (8) the worst case is bounded."""
    bad = "(" * 8 + " AND ".join(["height_m = 1"] * 480) + " AND height_m = " + ")" * 8
    started = time.monotonic()
    body = assert_problem(await client.get(ITEMS, params=text(bad)))
    assert body["type"] == "/problems/invalid-filter"
    assert time.monotonic() - started < 5
    assert assert_problem(await client.get(ITEMS, params=text("(" * 20 + "name = " + ")" * 20)))["maximum"] == 8
