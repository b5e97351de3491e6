"""OGC API Tiles over HTTP: documents, z/y/x order, access levels, 204, parameters, errors."""

from __future__ import annotations

import httpx
import mapbox_vector_tile
import pytest

from spatial.tms import CGCS2000_QUAD, TMS_IDS, WEB_MERCATOR_QUAD, tile_range
from tests.citydata import AREA_4490, CENTRE
from tests.cityfixtures import City

MVT = "application/vnd.mapbox-vector-tile"


def _centre_tile(tms: str, z: int) -> tuple[int, int]:
    rng = tile_range(tms, (*CENTRE, *CENTRE), z)
    assert rng is not None
    return rng.x0, rng.y0


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_tile_matrix_sets(client: httpx.AsyncClient) -> None:
    listing = (await client.get("/tileMatrixSets")).json()
    assert [s["id"] for s in listing["tileMatrixSets"]] == list(TMS_IDS)
    cgcs = (await client.get("/tileMatrixSets/CGCS2000Quad")).json()
    assert cgcs["crs"].endswith("/EPSG/0/4490")
    assert cgcs["tileMatrices"][0]["pointOfOrigin"] == [90.0, -180.0]
    assert cgcs["tileMatrices"][17]["cellSize"] == pytest.approx(0.703125 / 2**17)
    assert "Tianditu level 18" in cgcs["tileMatrices"][17]["title"]
    r = await client.get("/tileMatrixSets/GoogleCRS84Quad")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


async def test_tilejson_says_z_y_x(client: httpx.AsyncClient) -> None:
    tj = (await client.get("/collections/buildings/tiles/WebMercatorQuad?f=tilejson")).json()
    assert tj["tilejson"] == "3.0.0"
    assert tj["tiles"] == ["http://testserver/collections/buildings/tiles/WebMercatorQuad/{z}/{y}/{x}"]
    assert "z/y/x" in tj["description"]
    assert tj["vector_layers"][0]["id"] == "buildings" and tj["minzoom"] == 12
    west, south, east, north = tj["bounds"]
    assert AREA_4490[0] - 0.01 < west < east < AREA_4490[2] + 0.01 and south < north
    # The template really is row-then-column: fill it as a client would and get the tile at the centre.
    x, y = _centre_tile(WEB_MERCATOR_QUAD, 16)
    url = tj["tiles"][0].replace("{z}", "16").replace("{y}", str(y)).replace("{x}", str(x))
    r = await client.get(url.replace("http://testserver", ""))
    assert r.status_code == 200 and "buildings" in mapbox_vector_tile.decode(r.content)
    swapped = await client.get(f"/collections/buildings/tiles/WebMercatorQuad/16/{x}/{y}")
    assert swapped.status_code in (204, 404)


@pytest.mark.parametrize("tms", TMS_IDS)
async def test_tileset_metadata_and_limits(client: httpx.AsyncClient, tms: str) -> None:
    doc = (await client.get(f"/collections/buildings/tiles/{tms}")).json()
    assert doc["dataType"] == "vector" and doc["layers"][0]["id"] == "buildings"
    item = next(link for link in doc["links"] if link["rel"] == "item")
    assert item["href"].endswith(f"/collections/buildings/tiles/{tms}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}")
    z16 = next(lim for lim in doc["tileMatrixSetLimits"] if lim["tileMatrix"] == "16")
    x, y = _centre_tile(tms, 16)
    assert z16["minTileCol"] <= x <= z16["maxTileCol"] and z16["minTileRow"] <= y <= z16["maxTileRow"]
    sets = (await client.get("/collections/buildings/tiles")).json()["tilesets"]
    assert {s["crs"].rsplit("/", 1)[-1] for s in sets} == {"3857", "CRS84", "4490"}


async def test_tiles_in_every_matrix_set(client: httpx.AsyncClient) -> None:
    for tms in TMS_IDS:
        x, y = _centre_tile(tms, 16)
        r = await client.get(f"/collections/buildings/tiles/{tms}/16/{y}/{x}")
        assert r.status_code == 200 and r.headers["content-type"] == MVT
        assert r.headers["etag"] and r.headers["cache-control"].startswith("public")
        again = await client.get(
            f"/collections/buildings/tiles/{tms}/16/{y}/{x}", headers={"If-None-Match": r.headers["etag"]}
        )
        assert again.status_code == 304 and again.headers["x-tile-source"] == "memory"


async def test_empty_tile_is_204_and_outside_the_matrix_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/collections/buildings/tiles/WebMercatorQuad/16/100/100")
    assert r.status_code == 204 and not r.content
    r = await client.get("/collections/buildings/tiles/CGCS2000Quad/0/1/0")
    assert r.status_code == 404 and r.json()["type"] == "/problems/tile-out-of-range"
    r = await client.get("/collections/buildings/tiles/WebMercatorQuad/16/-1/0")
    assert r.status_code in (400, 404)


async def test_restricted_layers_are_404_for_tiles_too(client: httpx.AsyncClient, city: City) -> None:
    x, y = _centre_tile(WEB_MERCATOR_QUAD, 16)
    path = f"/collections/pipeline_water_segments/tiles/WebMercatorQuad/16/{y}/{x}"
    assert (await client.get(path)).status_code == 404
    assert (await client.get(path, headers=_auth(city.viewer_key))).status_code == 404
    granted = await client.get(path, headers=_auth(city.pipes_key))
    assert granted.status_code == 200 and granted.headers["cache-control"].startswith("private")
    assert (await client.get(path, headers=_auth(city.admin_key))).status_code == 200
    combined = f"/tiles/WebMercatorQuad/16/{y}/{x}?collections=buildings,pipeline_water_segments"
    assert (await client.get(combined)).status_code == 404
    assert (await client.get("/collections/grid_cells/tiles/WebMercatorQuad")).status_code == 404
    assert (
        await client.get("/collections/grid_cells/tiles/WebMercatorQuad", headers=_auth(city.viewer_key))
    ).status_code == 200


async def test_combined_tiles_hold_each_requested_layer(client: httpx.AsyncClient, city: City) -> None:
    x, y = _centre_tile(WEB_MERCATOR_QUAD, 16)
    r = await client.get(
        f"/tiles/WebMercatorQuad/16/{y}/{x}?collections=buildings,grid_cells,pipeline_water_segments",
        headers=_auth(city.admin_key),
    )
    assert r.status_code == 200
    decoded = mapbox_vector_tile.decode(r.content)
    assert set(decoded) == {"buildings", "grid_cells", "grid_cells_labels", "pipeline_water_segments"}
    # One label point per grid cell, in exactly one tile: the point lies inside this tile.
    labels = decoded["grid_cells_labels"]["features"]
    assert labels and all(0 <= f["geometry"]["coordinates"][0] <= 4096 for f in labels)
    assert {f["id"] for f in labels} <= {f["id"] for f in decoded["grid_cells"]["features"]}
    assert all(set(f["properties"]) == {"grid_code"} for f in labels)
    # Without collections= an anonymous caller gets every public vector layer, nothing more.
    r = await client.get(f"/tiles/WebMercatorQuad/16/{y}/{x}")
    assert set(mapbox_vector_tile.decode(r.content)) == {"buildings"}
    tj = (await client.get("/tiles/WebMercatorQuad?f=tilejson&collections=buildings,rail_stations")).json()
    assert tj["tiles"][0].endswith("/tiles/WebMercatorQuad/{z}/{y}/{x}?collections=buildings,rail_stations")
    assert [v["id"] for v in tj["vector_layers"]] == ["buildings", "rail_stations", "buildings_labels"]


async def test_datetime_properties_and_filter(client: httpx.AsyncClient) -> None:
    x, y = _centre_tile(CGCS2000_QUAD, 15)
    base = f"/collections/buildings/tiles/CGCS2000Quad/15/{y}/{x}"

    def ids(r: httpx.Response) -> set[int]:
        if r.status_code == 204:
            return set()
        return {f["id"] for f in mapbox_vector_tile.decode(r.content)["buildings"]["features"]}

    now = ids(await client.get(base))
    past = ids(await client.get(base, params={"datetime": "2000-06-30T00:00:00Z"}))
    interval = ids(await client.get(base, params={"datetime": "1990-01-01T00:00:00Z/2000-01-01T00:00:00Z"}))
    assert past and past < now and interval == past
    assert ids(await client.get(base, params={"datetime": "1980-01-01T00:00:00Z"})) == set()

    only_use = mapbox_vector_tile.decode((await client.get(base, params={"properties": "use"})).content)
    assert {k for f in only_use["buildings"]["features"] for k in f["properties"]} == {"use"}

    filtered = await client.get(base, params={"filter": "use = 'residential'", "properties": "use"})
    empty: dict = {"buildings": {"features": []}}
    decoded = mapbox_vector_tile.decode(filtered.content) if filtered.status_code == 200 else empty
    uses = {f["properties"]["use"] for f in decoded["buildings"]["features"]}
    assert uses <= {"residential"}
    everything = mapbox_vector_tile.decode((await client.get(base, params={"properties": "use"})).content)
    residential = {f["id"] for f in everything["buildings"]["features"] if f["properties"].get("use") == "residential"}
    assert {f["id"] for f in decoded["buildings"]["features"]} == residential

    json_filter = '{"op": "=", "args": [{"property": "use"}, "residential"]}'
    r = await client.get(base, params={"filter": json_filter, "filter-lang": "cql2-json", "properties": "use"})
    assert r.content == filtered.content


@pytest.mark.parametrize(
    ("params", "slug"),
    [
        ({"datetime": "yesterday"}, "invalid-parameter"),
        ({"datetime": "2020-01-01T00:00:00Z/2010-01-01T00:00:00Z"}, "invalid-parameter"),
        ({"properties": "use,colour"}, "invalid-tile-parameter"),
        ({"filter": "nonsense ==="}, None),
        ({"filter": "colour = 'red'"}, None),
        ({"filter": "use = 1", "filter-lang": "sql"}, "invalid-tile-parameter"),
    ],
)
async def test_bad_parameters_are_problem_json_400(client: httpx.AsyncClient, params: dict, slug: str | None) -> None:
    x, y = _centre_tile(WEB_MERCATOR_QUAD, 15)
    r = await client.get(f"/collections/buildings/tiles/WebMercatorQuad/15/{y}/{x}", params=params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 400 and "SELECT" not in body.get("detail", "")
    if slug:
        assert body["type"] == f"/problems/{slug}"


async def test_raster_tiles_pick_the_epoch(client: httpx.AsyncClient) -> None:
    rng = tile_range(WEB_MERCATOR_QUAD, (112.95, 28.20, 112.96, 28.21), 12)
    path = f"/collections/ghsl_built_volume/map/tiles/WebMercatorQuad/12/{rng.y0}/{rng.x0}"
    now = await client.get(path)
    assert now.status_code == 200 and now.headers["content-type"] == "image/png" and now.content[:4] == b"\x89PNG"
    old = await client.get(path, params={"datetime": "1980-06-01T00:00:00Z"})
    assert old.status_code == 200 and old.content != now.content
    before = await client.get(path, params={"datetime": "1960-01-01T00:00:00Z"})
    assert before.status_code == 204
    same_path = await client.get(path.replace("/map/tiles/", "/tiles/"))
    assert same_path.content == now.content
    outside = await client.get("/collections/ghsl_built_volume/map/tiles/WebMercatorQuad/12/100/100")
    assert outside.status_code == 204
    tj = (await client.get("/collections/ghsl_built_age/map/tiles/WebMercatorQuad?f=tilejson")).json()
    assert tj["tiles"][0].endswith("/collections/ghsl_built_age/map/tiles/WebMercatorQuad/{z}/{y}/{x}")
    assert (await client.get("/collections/buildings/map/tiles/WebMercatorQuad/12/0/0")).status_code == 400


async def test_the_fast_lane_answers_exactly_like_the_route(client: httpx.AsyncClient, city: City) -> None:
    x, y = _centre_tile(WEB_MERCATOR_QUAD, 17)
    path = f"/collections/buildings/tiles/WebMercatorQuad/17/{y}/{x}"
    first = await client.get(path)  # no query, no credentials, public, not cached yet: rendered by the lane
    fast = await client.get(path)  # the same, now from the cache
    routed = await client.get(path + "?datetime=")  # same tile, same cache entry, through FastAPI
    assert first.status_code == fast.status_code == routed.status_code == 200
    assert first.headers["x-tile-source"] == "database" and fast.headers["x-tile-source"] == "memory"
    assert fast.content == routed.content == first.content
    # A cold tile through the route is byte-identical to the lane's rendering of it.
    x2, y2 = x + 1, y
    lane = await client.get(f"/collections/buildings/tiles/WebMercatorQuad/17/{y2}/{x2}")
    client_routed = await client.get(f"/collections/buildings/tiles/WebMercatorQuad/17/{y2 + 1}/{x2}?datetime=")
    other_lane = await client.get(f"/collections/buildings/tiles/WebMercatorQuad/17/{y2 + 1}/{x2}")
    assert lane.headers["x-tile-source"] == "database" and client_routed.headers["x-tile-source"] == "database"
    assert other_lane.content == client_routed.content
    # Addresses that are not tiles get the route's problem+json, not a lane answer.
    bad = await client.get("/collections/buildings/tiles/WebMercatorQuad/17/999999999/1")
    assert bad.status_code in (400, 404) and bad.headers["content-type"] == "application/problem+json"
    drop = {"date", "server"}
    assert {k: v for k, v in fast.headers.items() if k not in drop} == {
        k: v for k, v in routed.headers.items() if k not in drop
    }
    again = await client.get(path, headers={"If-None-Match": fast.headers["etag"]})
    assert again.status_code == 304
    # Credentials and non-public layers always take the route (and its access checks).
    assert (await client.get(path, headers=_auth(city.viewer_key))).status_code == 200
    assert (await client.get(f"/collections/grid_cells/tiles/WebMercatorQuad/17/{y}/{x}")).status_code == 404
    empty = "/collections/buildings/tiles/WebMercatorQuad/17/100/100"
    assert (await client.get(empty)).status_code == 204
    assert (await client.get(empty)).status_code == 204
