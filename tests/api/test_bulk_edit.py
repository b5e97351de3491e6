"""Bulk edit: a CQL2 filter and/or drawn polygon picks features; preview counts them, apply sets one
attribute change on each in one changeset; bad input changes nothing."""

from __future__ import annotations

from typing import Any

import httpx

from layers.db import connect
from tests.api.conftest import Seed

URL = "/collections/test_parcels/bulk-edit"
# The seeded parcels lie on a 10 × 6 grid from 112.93, 28.17 in steps of 0.001°.
AREA = {"type": "Polygon", "coordinates": [[[112.9325, 28.1695], [112.9365, 28.1695], [112.9365, 28.1735],
                                            [112.9325, 28.1735], [112.9325, 28.1695]]]}
AREA_WKT = "POLYGON((112.9325 28.1695,112.9365 28.1695,112.9365 28.1735,112.9325 28.1735,112.9325 28.1695))"


async def fetch(seed: Seed, sql: str, *args: Any) -> Any:
    conn = await connect(seed.url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def raw_count(seed: Seed) -> int:
    """The selection counted straight from the rows: current, in the area, n at least 12."""
    n: int = await fetch(
        seed,
        "SELECT count(*) FROM data.test_parcels WHERE valid_to IS NULL "
        "AND ST_Intersects(geom, ST_GeomFromText($1, 4490)) AND n >= 12",
        AREA_WKT,
    )
    return n


async def test_preview_and_apply_agree_with_raw_rows(client: httpx.AsyncClient, seed: Seed) -> None:
    expected = await raw_count(seed)
    assert expected > 1
    body = {"filter": "n >= 12", "intersects": AREA, "set": {"area": 99.5}, "comment": "面积批量更正",
            "preview": True}
    preview = await client.post(URL, json=body, headers=seed.auth("editor"))
    assert preview.status_code == 200, preview.text
    doc = preview.json()
    assert doc["count"] == expected and doc["set"] == {"area": 99.5}
    assert doc["sample"]["type"] == "FeatureCollection" and 0 < len(doc["sample"]["features"]) <= 10
    assert all(f["properties"]["n"] >= 12 for f in doc["sample"]["features"])
    assert await fetch(seed, "SELECT count(*) FROM data.test_parcels WHERE area = 99.5") == 0  # nothing written

    applied = await client.post(URL, json={**body, "preview": False}, headers=seed.auth("editor"))
    assert applied.status_code == 201, applied.text
    cs = applied.json()["changeset"]
    assert applied.json()["count"] == expected and applied.headers["onemap-changeset"] == str(cs)
    current = "SELECT count(*) FROM data.test_parcels WHERE valid_to IS NULL AND area = 99.5"
    assert await fetch(seed, current) == expected
    assert await fetch(seed, "SELECT count(*) FROM onemap.changes WHERE changeset_id = $1 AND op = 'update'",
                       cs) == expected
    got = (await client.get(f"/changesets/{cs}", headers=seed.auth("viewer"))).json()
    assert got["comment"] == "面积批量更正" and len(got["edits"]) == expected
    # The edit is one changeset an admin can undo.
    undo = await client.post(f"/changesets/{cs}/undo", headers=seed.auth("admin"))
    assert undo.status_code == 201, undo.text
    assert await fetch(seed, current) == 0


async def test_filter_only_and_polygon_only(client: httpx.AsyncClient, seed: Seed) -> None:
    by_filter = await client.post(URL, json={"filter": {"op": "=", "args": [{"property": "kind"}, "b"]},
                                             "filter-lang": "cql2-json", "set": {"ok": True}, "preview": True},
                                  headers=seed.auth("editor"))
    assert by_filter.status_code == 200, by_filter.text
    expected = await fetch(seed, "SELECT count(*) FROM data.test_parcels WHERE valid_to IS NULL AND kind = 'b'")
    assert by_filter.json()["count"] == expected
    by_area = await client.post(URL, json={"intersects": AREA, "set": {"ok": True}, "preview": True},
                                headers=seed.auth("editor"))
    in_area = await fetch(seed, "SELECT count(*) FROM data.test_parcels WHERE valid_to IS NULL "
                          "AND ST_Intersects(geom, ST_GeomFromText($1, 4490))", AREA_WKT)
    assert by_area.json()["count"] == in_area


async def test_bad_input_changes_nothing(client: httpx.AsyncClient, seed: Seed) -> None:
    before = await fetch(seed, "SELECT max(id) FROM onemap.changesets")
    auth = seed.auth("editor")
    bad_filter = await client.post(URL, json={"filter": "code LIKE", "set": {"n": 1}}, headers=auth)
    assert bad_filter.status_code == 400 and bad_filter.json()["type"].endswith("/invalid-filter")
    unknown = await client.post(URL, json={"filter": "nope = 1", "set": {"n": 1}}, headers=auth)
    assert unknown.status_code == 400
    out_of_range = await client.post(URL, json={"filter": "code LIKE 'P0%'", "set": {"n": -5, "kind": "q"}},
                                     headers=auth)
    assert out_of_range.status_code == 422
    assert {e["field"] for e in out_of_range.json()["errors"]} == {"n", "kind"}
    no_field = await client.post(URL, json={"filter": "code LIKE 'P0%'", "set": {"owner": "x"}}, headers=auth)
    assert no_field.status_code == 422 and no_field.json()["errors"][0]["code"] == "unknown-property"
    no_selection = await client.post(URL, json={"set": {"n": 1}}, headers=auth)
    assert no_selection.status_code == 400
    line = await client.post(URL, json={"intersects": {"type": "LineString", "coordinates": [[112, 28], [113, 28]]},
                                        "set": {"n": 1}}, headers=auth)
    assert line.status_code == 400
    assert await fetch(seed, "SELECT max(id) FROM onemap.changesets") == before
    none = await client.post(URL, json={"filter": "code = 'no such code'", "set": {"n": 1}}, headers=auth)
    assert none.status_code == 200 and none.json() == {"count": 0}
    assert await fetch(seed, "SELECT max(id) FROM onemap.changesets") == before


async def test_bulk_edit_access(client: httpx.AsyncClient, seed: Seed) -> None:
    body = {"filter": "code LIKE 'P0%'", "set": {"n": 1}, "preview": True}
    assert (await client.post(URL, json=body, headers=seed.auth("viewer"))).status_code == 403
    assert (await client.post(URL, json=body)).status_code == 401
    pipes = "/collections/pipeline_water_segments/bulk-edit"
    assert (await client.post(pipes, json=body, headers=seed.auth("editor"))).status_code == 404
