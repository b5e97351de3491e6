"""building-statistics through the Processes API: sync execute as JSON, CSV and XLSX, and access."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from api.app import create_app
from layers.db import connect
from tests.analysis import buildings as town
from tests.api.conftest import Seed, api_settings
from tests.api.processes.test_routes import assert_problem

EXECUTE = "/processes/building-statistics/execution"
COMMUNITY = {"community": "430104001001"}


@pytest.fixture(scope="module")
async def raw(seed: Seed) -> list[Any]:
    conn = await connect(seed.url)
    try:
        await town.write(conn)
        return await town.raw_rows(conn)
    finally:
        await conn.close()


def _body(area: dict[str, Any], output: str, **inputs: Any) -> dict[str, Any]:
    return {"inputs": {"area": area, **inputs}, "outputs": {output: {}}}


async def test_described_and_listed(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/processes/building-statistics")).json()
    assert doc["title"] == "建筑统计" and doc["inputs"]["datetime"]["maxOccurs"] == 2
    assert doc["outputs"]["xlsx"]["schema"]["contentEncoding"] == "base64"
    assert "building-statistics" in {p["id"] for p in (await client.get("/processes")).json()["processes"]}


async def test_sync_json_equals_raw_count(client: httpx.AsyncClient, seed: Seed, raw: list[Any]) -> None:
    r = await client.post(EXECUTE, json=_body(COMMUNITY, "statistics", datetime="2021-01-01T00:00:00Z"),
                          headers=seed.auth("viewer"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    snap = r.json()["snapshots"][0]
    want = town.expected(raw, town.cells_union(("430104", 1, 1, 1), ("430104", 1, 1, 2)),
                         town.T2019.replace(year=2021, month=1))
    assert snap["totals"]["buildings"] == want["totals"][0] > 0
    assert snap["totals"]["floor_area_m2"] == pytest.approx(want["totals"][2], abs=0.02)


async def test_csv_and_xlsx_downloads(client: httpx.AsyncClient, seed: Seed, raw: list[Any]) -> None:
    polygon = town.polygon_json(0, 0, 250, 200)
    got = await client.post(EXECUTE, json=_body(polygon, "csv"))
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    lines = got.content.decode("utf-8-sig").splitlines()
    total = next(line for line in lines if ",合计" in line)
    assert int(total.split(",")[5]) == town.expected(raw, town.local_box(0, 0, 250, 200), None)["totals"][0]
    x = await client.post(EXECUTE, json=_body(polygon, "xlsx"))
    assert x.status_code == 200 and x.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(x.content))
    rows = list(book["建筑统计"].iter_rows(values_only=True))
    assert rows[1][5] == int(total.split(",")[5])
    doc = await client.post(EXECUTE, json={**_body(polygon, "xlsx"), "response": "document"})
    assert doc.json()["xlsx"]["mediaType"].endswith("spreadsheetml.sheet")


async def test_access_follows_the_area_layer(client: httpx.AsyncClient, seed: Seed, raw: list[Any]) -> None:
    # grid_cells is internal: anonymous callers may not read it, so a grid-based area is 404 as the layer is.
    assert_problem(await client.post(EXECUTE, json=_body(COMMUNITY, "statistics")), 404)
    ok = await client.post(EXECUTE, json=_body({"district": "430104"}, "statistics"))
    assert ok.status_code == 200, ok.text


async def test_bad_input_is_400(client: httpx.AsyncClient, raw: list[Any]) -> None:
    body = assert_problem(await client.post(EXECUTE, json=_body({"district": "999999"}, "statistics")), 400)
    assert body["input"] == "area"
    too_many = _body({"district": "430104"}, "statistics", datetime=["2015-01-01T00:00:00Z"] * 3)
    assert_problem(await client.post(EXECUTE, json=too_many), 400)


@pytest.mark.slow
def test_owslib_executes_it(live: str, seed: Seed, raw: list[Any]) -> None:
    from owslib import ogcapi
    from owslib.ogcapi.processes import Processes
    from owslib.util import Authentication

    saved = dict(ogcapi.REQUEST_HEADERS)
    try:
        client = Processes(live, auth=Authentication("viewer", seed.keys["viewer"]))
        assert "building-statistics" in {p["id"] for p in client.processes()}
        document = client.execute("building-statistics", {"area": COMMUNITY})  # response=document
        want = town.expected(raw, town.cells_union(("430104", 1, 1, 1), ("430104", 1, 1, 2)), None)
        assert document["statistics"]["value"]["snapshots"][0]["totals"]["buildings"] == want["totals"][0]
    finally:
        ogcapi.REQUEST_HEADERS.clear()
        ogcapi.REQUEST_HEADERS.update(saved)


async def test_no_grant_on_buildings_is_404(seed: Seed, raw: list[Any], var_dir: Path) -> None:
    conn = await connect(seed.url)
    await conn.execute("UPDATE onemap.layers SET access = 'restricted' WHERE id = 'buildings'")
    try:
        app = create_app(api_settings(seed.url, var_dir))
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            body = _body({"district": "430104"}, "statistics")
            assert_problem(await c.post(EXECUTE, json=body, headers=seed.auth("pipes")), 404)  # grants: pipeline_*
            assert_problem(await c.post(EXECUTE, json=body), 404)
            assert (await c.post(EXECUTE, json=body, headers=seed.auth("admin"))).status_code == 200
    finally:
        await conn.execute("UPDATE onemap.layers SET access = 'public' WHERE id = 'buildings'")
        await conn.close()
