"""City scale (LOD): coarse content in the tiles two levels above the leaves, refined REPLACE to them."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString

from layers.db import connect
from layers.temporal import Current
from layers.versioning import FeatureIn, insert_feature, open_changeset
from tests.citydata import CENTRE
from tests.cityfixtures import City
from tests.tiles.threed_checks import (
    coarse_tiles,
    glb_json,
    glb_property,
    leaf_address,
    leaves,
    schema_errors,
    validate_glbs,
)
from tiles.service import TileService
from tiles.threed_kinds import LOD_LEVELS_UP, PIPE_ZOOM
from tiles.threed_query import Cell, cell_size_deg, cells
from tiles.threed_service import ThreeDService
from tiles.threed_tileset import build_tileset, error_at, leaf_frame

COARSE = PIPE_ZOOM - LOD_LEVELS_UP


def _matrix(values: list[float]) -> np.ndarray:
    return np.array(values).reshape(4, 4).T  # 3D Tiles transforms are column-major


def _cells(n: int) -> list[Cell]:
    """An n × n block of leaf cells of level PIPE_ZOOM over central Changsha, aligned to a coarse cell."""
    size = cell_size_deg(PIPE_ZOOM)
    step = 2 ** LOD_LEVELS_UP
    x0 = math.floor((112.95 + 180) / size) // step * step
    y0 = math.floor((90 - 28.19) / size) // step * step
    out = []
    for dx in range(n):
        for dy in range(n):
            west, north = -180 + (x0 + dx) * size, 90 - (y0 + dy) * size
            out.append(Cell(x0 + dx, y0 + dy, 3, (west + size / 4, north - size * 3 / 4, west + size * 3 / 4,
                                                   north - size / 4), -4.0, 1.0))
    return out


def test_coarse_tiles_refine_to_their_leaves() -> None:
    cells = _cells(8)  # 64 leaves → 16 parents → 4 coarse cells: those are the root's children
    coarse = [Cell(c.x // 4, c.y // 4, 1, c.box, c.low, c.high) for c in cells[:1]]
    doc = build_tileset(cells, zoom=PIPE_ZOOM, coarse=coarse, coarse_zoom=COARSE, query="datetime=2020-01-01")
    assert schema_errors(doc, "tileset.schema.json") == []
    found = coarse_tiles(doc["root"])
    assert len(found) == 1
    tile = found[0]
    assert tile["refine"] == "REPLACE"
    assert leaf_address(tile) == (COARSE, coarse[0].x, coarse[0].y)
    assert tile["content"]["uri"].endswith("?datetime=2020-01-01")
    lat = 28.19
    # Refined from where the leaves' parents were refined; its leaves are its direct children.
    assert tile["geometricError"] == pytest.approx(error_at(PIPE_ZOOM - 1, lat), rel=0.01)
    assert len(tile["children"]) == 16 and all("children" not in c for c in tile["children"])
    # A leaf's transform under the coarse tile composes back to its own ENU frame.
    for leaf in tile["children"]:
        z, x, y = leaf_address(leaf)
        composed = _matrix(tile["transform"]) @ _matrix(leaf["transform"])
        assert np.allclose(composed, _matrix(leaf_frame(z, x, y).to_ecef_matrix()), atol=1e-6)
    # Every leaf is still there exactly once, and the other coarse cells stay plain (ADD) inner tiles.
    assert sorted(leaf_address(t) for t in leaves(doc["root"])) == sorted((PIPE_ZOOM, c.x, c.y) for c in cells)
    plain = [c for c in doc["root"]["children"] if "content" not in c]
    assert len(plain) == 3 and all("refine" not in c for c in plain)


def test_without_coarse_cells_the_tree_is_unchanged() -> None:
    cells = _cells(8)
    assert build_tileset(cells, zoom=PIPE_ZOOM) == build_tileset(cells, zoom=PIPE_ZOOM, coarse=[], coarse_zoom=COARSE)


async def test_coarse_pipe_tiles_hold_only_trunk_mains(service: TileService, city: City, tmp_path: Path) -> None:
    threed = ThreeDService(service)
    layer = service.registry.get("pipeline_water_segments")
    kind = threed.kind(layer)
    assert kind.lod_zoom == COARSE
    lon, lat = CENTRE[0] - 0.006, CENTRE[1] - 0.004
    conn = await connect(city.url)
    try:
        cs = await open_changeset(conn, actor="pytest", source="test")
        props = {"segment_no": "JS-MAIN-1", "category": "JS", "subcategory": "JP", "start_point": "M1",
                 "end_point": "M2", "start_depth_m": 1.5, "end_depth_m": 1.6, "material": "QM", "diameter_mm": 800,
                 "status": "0"}
        line = LineString([(lon, lat), (lon + 0.0004, lat + 0.00001), (lon + 0.0008, lat)])
        ref = await insert_feature(conn, layer=layer, feature=FeatureIn(line, props), changeset_id=cs)
    finally:
        await conn.close()
    async with service.pool.acquire() as pooled:
        coarse = await cells(pooled, layer, kind, COARSE, Current(), coarse=True)
        every = await cells(pooled, layer, kind, COARSE, Current())
    assert sum(c.count for c in coarse) == 1 < sum(c.count for c in every)  # the fixture's pipes are Ø300
    c = coarse[0]
    await threed.check_address(layer, COARSE, c.x, c.y)
    data = (await threed.content(layer, COARSE, c.x, c.y)).data
    assert glb_property(data, "id") == [ref.fid]
    assert glb_property(data, "diameter_mm") == [800]
    path = tmp_path / "coarse.glb"
    path.write_bytes(data)
    assert validate_glbs([path])[0]["errors"] == 0
    # Coarse: 4-sided, and the 3-vertex line simplified to one piece (2 rings of 4 vertices).
    positions = glb_json(data)["accessors"][0]
    assert positions["count"] == 8


def test_coarse_buildings_are_oriented_boxes() -> None:
    from shapely.geometry import Polygon

    from layers.definitions import builtin_layers
    from layers.model import Layer
    from tiles.threed_build import build_content
    from tiles.threed_frame import EnuFrame
    from tiles.threed_kinds import kind_of

    layer = next(Layer.model_validate(d.model_dump()) for d in builtin_layers() if d.id == "buildings")
    lon, lat = 112.95, 28.19
    d = 0.0002
    l_shape = Polygon([(lon, lat), (lon + 3 * d, lat), (lon + 3 * d, lat + d), (lon + d, lat + d),
                       (lon + d, lat + 3 * d), (lon, lat + 3 * d)])
    row = {"fid": 5, "wkb": shapely.to_wkb(l_shape), "height_m": 80.0, "floors": 26, "use": "residential"}
    frame = EnuFrame(lon, lat)
    full = build_content(layer, kind_of(layer), [row], frame)
    coarse = build_content(layer, kind_of(layer), [row], frame, coarse=True)
    roof = coarse.mesh.positions[np.abs(coarse.mesh.positions[:, 2] - coarse.mesh.positions[:, 2].max()) < 0.5]
    assert len(np.unique(np.round(roof[:, :2], 2), axis=0)) == 4  # a rectangle
    assert coarse.mesh.vertex_count < full.mesh.vertex_count
    assert coarse.rows[0]["id"] == 5 and coarse.rows[0]["height_m"] == 80.0
