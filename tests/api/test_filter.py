"""Part 3 filtering: CQL2 text and JSON, each operator class, filter-crs, and bad filters."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.api.conftest import parcel_rows

PARCELS = [
    {
        "code": r[3],
        "kind": r[4],
        "n": r[5],
        "area": r[6],
        "ok": r[7],
        "surveyed": r[8],
        "lon": 112.93 + (i % 10) * 0.001,
        "lat": 28.17 + (i // 10) * 0.001,
    }
    for i, r in enumerate(parcel_rows())
]

Case = tuple[str, dict[str, Any], Callable[[dict[str, Any]], bool]]
CASES: list[Case] = [
    ("n = 7", {"op": "=", "args": [{"property": "n"}, 7]}, lambda p: p["n"] == 7),
    (
        "n <> 7 AND n < 10",
        {
            "op": "and",
            "args": [
                {"op": "<>", "args": [{"property": "n"}, 7]},
                {"op": "<", "args": [{"property": "n"}, 10]},
            ],
        },
        lambda p: p["n"] != 7 and p["n"] < 10,
    ),
    (
        "area >= 300 OR kind = 'c'",
        {
            "op": "or",
            "args": [
                {"op": ">=", "args": [{"property": "area"}, 300]},
                {"op": "=", "args": [{"property": "kind"}, "c"]},
            ],
        },
        lambda p: (p["area"] is not None and p["area"] >= 300) or p["kind"] == "c",
    ),
    (
        "NOT (n > 5)",
        {"op": "not", "args": [{"op": ">", "args": [{"property": "n"}, 5]}]},
        lambda p: not p["n"] > 5,
    ),
    ("ok = TRUE", {"op": "=", "args": [{"property": "ok"}, True]}, lambda p: p["ok"]),
    (
        "code LIKE 'P01%'",
        {"op": "like", "args": [{"property": "code"}, "P01%"]},
        lambda p: p["code"].startswith("P01"),
    ),
    (
        "n BETWEEN 10 AND 14",
        {"op": "between", "args": [{"property": "n"}, 10, 14]},
        lambda p: 10 <= p["n"] <= 14,
    ),
    (
        "kind IN ('a', 'b')",
        {"op": "in", "args": [{"property": "kind"}, ["a", "b"]]},
        lambda p: p["kind"] in "ab",
    ),
    ("n IN (1, 2, 3)", {"op": "in", "args": [{"property": "n"}, [1, 2, 3]]}, lambda p: p["n"] in (1, 2, 3)),
    ("area IS NULL", {"op": "isNull", "args": [{"property": "area"}]}, lambda p: p["area"] is None),
    (
        "area IS NOT NULL AND n < 8",
        {
            "op": "and",
            "args": [
                {"op": "not", "args": [{"op": "isNull", "args": [{"property": "area"}]}]},
                {"op": "<", "args": [{"property": "n"}, 8]},
            ],
        },
        lambda p: p["area"] is not None and p["n"] < 8,
    ),
    (
        "CASEI(code) = casei('p003')",
        {
            "op": "=",
            "args": [{"op": "casei", "args": [{"property": "code"}]}, {"op": "casei", "args": ["p003"]}],
        },
        lambda p: p["code"] == "P003",
    ),
    (
        "n * 10 > area",
        {"op": ">", "args": [{"op": "*", "args": [{"property": "n"}, 10]}, {"property": "area"}]},
        lambda p: p["area"] is not None and p["n"] * 10 > p["area"],
    ),
    (
        "S_INTERSECTS(geometry, BBOX(112.9345, 28.1705, 112.9365, 28.1725))",
        {
            "op": "s_intersects",
            "args": [{"property": "geometry"}, {"bbox": [112.9345, 28.1705, 112.9365, 28.1725]}],
        },
        lambda p: 112.9345 <= p["lon"] <= 112.9365 and 28.1705 <= p["lat"] <= 28.1725,
    ),
    (
        "S_WITHIN(geometry, POLYGON((112.929 28.169, 112.9335 28.169, 112.9335 28.1715, 112.929 28.1715, "
        "112.929 28.169)))",
        {
            "op": "s_within",
            "args": [
                {"property": "geometry"},
                {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [112.929, 28.169],
                            [112.9335, 28.169],
                            [112.9335, 28.1715],
                            [112.929, 28.1715],
                            [112.929, 28.169],
                        ]
                    ],
                },
            ],
        },
        lambda p: p["lon"] < 112.9335 and p["lat"] < 28.1715,
    ),
    (
        "S_DISJOINT(geometry, POINT(112.93 28.17))",
        {
            "op": "s_disjoint",
            "args": [{"property": "geometry"}, {"type": "Point", "coordinates": [112.93, 28.17]}],
        },
        lambda p: p["code"] != "P000",
    ),
    (
        "S_EQUALS(geometry, POINT(112.93 28.17))",
        {
            "op": "s_equals",
            "args": [{"property": "geometry"}, {"type": "Point", "coordinates": [112.93, 28.17]}],
        },
        lambda p: p["code"] == "P000",
    ),
    (
        "T_AFTER(surveyed, DATE('2021-01-01'))",
        {"op": "t_after", "args": [{"property": "surveyed"}, {"date": "2021-01-01"}]},
        lambda p: p["surveyed"] > dt.date(2021, 1, 1),
    ),
    (
        "T_BEFORE(surveyed, DATE('2020-03-01'))",
        {"op": "t_before", "args": [{"property": "surveyed"}, {"date": "2020-03-01"}]},
        lambda p: p["surveyed"] < dt.date(2020, 3, 1),
    ),
    (
        "T_DURING(surveyed, INTERVAL('2020-02-01', '2020-04-01'))",
        {"op": "t_during", "args": [{"property": "surveyed"}, {"interval": ["2020-02-01", "2020-04-01"]}]},
        lambda p: dt.date(2020, 2, 1) < p["surveyed"] < dt.date(2020, 4, 1),
    ),
    (
        "T_INTERSECTS(INTERVAL(valid_from, valid_to), INTERVAL('2023-06-01T00:00:00Z', '..'))",
        {
            "op": "t_intersects",
            "args": [
                {"interval": [{"property": "valid_from"}, {"property": "valid_to"}]},
                {"interval": ["2023-06-01T00:00:00Z", ".."]},
            ],
        },
        lambda p: True,
    ),
    (
        "T_AFTER(valid_from, TIMESTAMP('2025-01-01T00:00:00Z'))",
        {"op": "t_after", "args": [{"property": "valid_from"}, {"timestamp": "2025-01-01T00:00:00Z"}]},
        lambda p: False,
    ),
]


async def codes(client: httpx.AsyncClient, params: dict[str, str]) -> set[str]:
    r = await client.get("/collections/test_parcels/items", params={"limit": "1000", **params})
    assert r.status_code == 200, r.text
    return {f["properties"]["code"] for f in r.json()["features"]}


@pytest.mark.parametrize(("text", "as_json", "expect"), CASES, ids=[c[0][:40] for c in CASES])
async def test_cql2_text_and_json_agree_with_python(
    client: httpx.AsyncClient, text: str, as_json: dict[str, Any], expect: Callable[[dict[str, Any]], bool]
) -> None:
    wanted = {p["code"] for p in PARCELS if expect(p)}
    assert await codes(client, {"filter": text}) == wanted
    assert await codes(client, {"filter": json.dumps(as_json), "filter-lang": "cql2-json"}) == wanted


async def test_filter_crs_gauss_kruger(client: httpx.AsyncClient) -> None:
    from pyproj import Transformer

    t = Transformer.from_crs(4490, 4547, always_xy=True)
    (e1, n1), (e2, n2) = t.transform(112.9345, 28.1705), t.transform(112.9365, 28.1725)
    # EPSG:4547 is northing-first, so the BBOX is (n, e, n, e).
    text = f"S_INTERSECTS(geometry, BBOX({n1}, {e1}, {n2}, {e2}))"
    got = await codes(client, {"filter": text, "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/4547"})
    assert got == {
        p["code"] for p in PARCELS if 112.9345 <= p["lon"] <= 112.9365 and 28.1705 <= p["lat"] <= 28.1725
    }


async def test_filter_with_bbox_and_sort(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "/collections/test_parcels/items",
        params={"filter": "n < 30", "bbox": "112.929,28.169,112.9345,28.1735", "sortby": "-n"},
    )
    ns = [f["properties"]["n"] for f in r.json()["features"]]
    assert (
        ns
        == sorted(
            [p["n"] for p in PARCELS if p["n"] < 30 and p["lon"] <= 112.9345 and p["lat"] <= 28.1735],
            reverse=True,
        )[:10]
    )


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"filter": "n = "}, "cannot read"),
        ({"filter": "colour = 'red'"}, "colour"),
        ({"filter": "n = 'seven'"}, "is a number"),
        ({"filter": "code > 5"}, "is text"),
        ({"filter": "ok = 3"}, "true/false"),
        ({"filter": "code LIKE 5"}, "text"),
        ({"filter": "S_INTERSECTS(n, POINT(1 2))"}, "not a geometry"),
        ({"filter": "T_AFTER(code, DATE('2020-01-01'))"}, "date or timestamp"),
        ({"filter": "n = 1", "filter-lang": "cql3"}, "filter-lang"),
        ({"filter": "{not json", "filter-lang": "cql2-json"}, "cannot read"),
        ({"filter": "ACCENTI(code) = accenti('x')"}, "ACCENTI"),
        ({"filter": "S_INTERSECTS(geometry, POINT(28.17 112.93))"}, "degree range"),
        ({"filter-lang": "cql2-text"}, "need filter"),
    ],
)
async def test_bad_filters_are_400(client: httpx.AsyncClient, params: dict[str, str], needle: str) -> None:
    r = await client.get("/collections/test_parcels/items", params=params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert needle in r.json()["detail"], r.json()
    assert "SELECT" not in r.text and "Traceback" not in r.text
