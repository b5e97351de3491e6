"""Pipe, well and building meshes: sizes and elevations match the attributes (to 1 cm)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from layers.definitions import builtin_layers
from layers.model import Layer
from spatial.terrain import terrain_elevation
from tiles.threed_build import building_mesh, point_mesh, segment_mesh
from tiles.threed_frame import EnuFrame
from tiles.threed_kinds import DEPTH_RULES, axis_depth, kind_of, pipe_size
from tiles.threed_mesh import Mesh, box, tube

ORIGIN = (112.92, 28.28)
IN_TERRAIN = (112.96, 28.19)  # central Changsha, inside the sample terrain grid
CM = 0.01


@pytest.fixture(scope="module")
def layers() -> dict[str, Layer]:
    return {d.id: Layer.model_validate(d.model_dump()) for d in builtin_layers()}


def _frame() -> EnuFrame:
    return EnuFrame(*ORIGIN)


def _heights_at_origin(mesh: Mesh) -> list[float]:
    """Heights where the vertical line through the frame's origin meets the mesh's triangles."""
    out = []
    for tri in mesh.positions[mesh.indices.reshape(-1, 3)]:
        (ax, ay, az), (bx, by, bz), (cx, cy, cz) = tri
        det = (by - cy) * (ax - cx) + (cx - bx) * (ay - cy)
        if abs(det) < 1e-12:
            continue
        u = ((by - cy) * (0 - cx) + (cx - bx) * (0 - cy)) / det
        v = ((cy - ay) * (0 - cx) + (ax - cx) * (0 - cy)) / det
        if u >= 0 and v >= 0 and u + v <= 1:
            out.append(u * az + v * bz + (1 - u - v) * cz)
    return out


def _segment_mesh(layers: dict[str, Layer], key: str, coords: list[tuple[float, float]], **props: Any) -> Mesh:
    layer = layers[f"pipeline_{key}_segments"]
    row = {"fid": 1, "wkb": shapely.to_wkb(LineString(coords)), **props}
    mesh, _ = segment_mesh(kind_of(layer), row, _frame())
    return mesh


def _segment(layers: dict[str, Layer], key: str, coords: list[tuple[float, float]], **props: Any) -> np.ndarray:
    return _segment_mesh(layers, key, coords, **props).positions


def test_tube_length_radius_and_caps() -> None:
    mesh = tube((0, 0, -1), (30, 40, -2), 0.15)
    axis = np.array([30.0, 40.0, -1.0]) / math.sqrt(2501)
    rel = mesh.positions - np.array([0, 0, -1.0])
    along = rel @ axis
    radial = np.linalg.norm(rel - np.outer(along, axis), axis=1)
    assert along.min() == pytest.approx(0, abs=1e-9) and along.max() == pytest.approx(math.sqrt(2501), abs=1e-9)
    ring = radial > 1e-9
    assert np.allclose(radial[ring], 0.15)  # every non-centre vertex lies on the pipe wall
    assert mesh.indices.size % 3 == 0 and mesh.indices.max() < mesh.vertex_count
    # Normals point away from the axis on the walls.
    wall = (radial > 1e-9) & (np.abs(mesh.normals @ axis) < 1e-9)
    assert np.all(np.einsum("ij,ij->i", mesh.normals[wall], rel[wall] - np.outer(along[wall], axis)) > 0)


def test_box_section() -> None:
    mesh = box((0, 0, -2), (10, 0, -2), 0.8, 0.6)
    assert mesh.positions[:, 1].min() == pytest.approx(-0.4) and mesh.positions[:, 1].max() == pytest.approx(0.4)
    assert mesh.positions[:, 2].min() == pytest.approx(-2.3) and mesh.positions[:, 2].max() == pytest.approx(-1.7)


def test_water_pipe_ends_at_depth_to_top(layers: dict[str, Layer]) -> None:
    east = ORIGIN[0] + 50 / (111_320 * math.cos(math.radians(ORIGIN[1])))
    pos = _segment(layers, "water", [ORIGIN, (east, ORIGIN[1])], start_depth_m=1.2, end_depth_m=1.6,
                   diameter_mm=300)
    start, end = pos[np.abs(pos[:, 0]) < CM], pos[np.abs(pos[:, 0] - pos[:, 0].max()) < CM]
    # 管顶 (top of pipe) = ground − 埋深 at each end, so the top is 1.2 m and 1.6 m below the ground.
    assert start[:, 2].max() == pytest.approx(-1.2, abs=CM)
    assert end[:, 2].max() == pytest.approx(-1.6, abs=CM)
    assert start[:, 2].max() - start[:, 2].min() == pytest.approx(0.3, abs=CM)  # diameter
    length = Geod(ellps="WGS84").inv(ORIGIN[0], ORIGIN[1], east, ORIGIN[1])[2]
    assert pos[:, 0].max() - pos[:, 0].min() == pytest.approx(length, abs=CM)  # geodesic length


def test_sewer_depth_is_to_the_invert(layers: dict[str, Layer]) -> None:
    pos = _segment(layers, "sewage", [ORIGIN, (ORIGIN[0], ORIGIN[1] + 0.0003)], start_depth_m=2.5,
                   end_depth_m=2.5, diameter_mm=600)
    assert pos[:, 2].min() == pytest.approx(-2.5, abs=CM)  # 管内底 = ground − 埋深
    assert pos[:, 2].max() == pytest.approx(-1.9, abs=CM)


def test_deeper_pipe_lies_below_at_a_crossing(layers: dict[str, Layer]) -> None:
    lon, lat = ORIGIN
    d = 0.0004
    water = _segment_mesh(layers, "water", [(lon - d, lat), (lon + d, lat)], start_depth_m=1.2, end_depth_m=1.2,
                     diameter_mm=300)
    sewer = _segment_mesh(layers, "sewage", [(lon, lat - d), (lon, lat + d)], start_depth_m=2.5, end_depth_m=2.5,
                     diameter_mm=600)
    w, s = _heights_at_origin(water), _heights_at_origin(sewer)
    assert len(w) >= 2 and len(s) >= 2  # the vertical line through the crossing meets both pipes' walls
    assert max(s) < min(w)  # the sewer's crown is below the water main's bottom
    # Clearance: water bottom at 1.2 + 0.3 = 1.5 m, sewer crown at 2.5 − 0.6 = 1.9 m below the ground.
    assert min(w) - max(s) == pytest.approx(0.4, abs=CM)


def test_rectangular_duct_from_section(layers: dict[str, Layer]) -> None:
    assert pipe_size(None, "800×600") == ("box", 0.8, 0.6)
    assert pipe_size(300, None) == ("tube", 0.3, 0.3)
    pos = _segment(layers, "power", [ORIGIN, (ORIGIN[0] + 0.0002, ORIGIN[1])], start_depth_m=0.7, end_depth_m=0.7,
                   section="800×600")
    assert pos[:, 2].max() == pytest.approx(-0.7, abs=CM) and pos[:, 2].min() == pytest.approx(-1.3, abs=CM)
    assert pos[:, 1].max() - pos[:, 1].min() == pytest.approx(0.8, abs=CM)


def test_depth_rules_cover_every_category() -> None:
    from spatial.codelists.cjj61 import PLATFORM_CATEGORIES

    assert set(DEPTH_RULES) == set(PLATFORM_CATEGORIES)
    assert axis_depth(DEPTH_RULES["gas"], 1.0, 0.2) == pytest.approx(1.1)
    assert axis_depth(DEPTH_RULES["storm"], 1.0, 0.2) == pytest.approx(0.9)


def test_well_shaft_reaches_well_depth(layers: dict[str, Layer]) -> None:
    layer = layers["pipeline_sewage_points"]
    row = {"fid": 7, "wkb": shapely.to_wkb(Point(*ORIGIN)), "well_depth_m": 3.2, "ground_elev_m": 44.0}
    mesh, props = point_mesh(kind_of(layer), row, _frame())
    assert mesh.positions[:, 2].max() == pytest.approx(0.0, abs=CM)
    assert mesh.positions[:, 2].min() == pytest.approx(-3.2, abs=CM)
    assert props["well_bottom_elev_m"] == pytest.approx(40.8)


def test_building_extruded_to_height(layers: dict[str, Layer]) -> None:
    layer = layers["buildings"]
    lon, lat = ORIGIN
    outer = Polygon([(lon, lat), (lon + 0.0004, lat), (lon + 0.0004, lat + 0.0003), (lon, lat + 0.0003)],
                    [[(lon + 0.0001, lat + 0.0001), (lon + 0.0002, lat + 0.0001), (lon + 0.0002, lat + 0.0002),
                      (lon + 0.0001, lat + 0.0002)]])
    row = {"fid": 9, "wkb": shapely.to_wkb(MultiPolygon([outer])), "height_m": None, "floors": 6, "use": "office"}
    mesh, _ = building_mesh(kind_of(layer), row, _frame())
    assert mesh.positions[:, 2].max() == pytest.approx(18.0, abs=CM)  # 6 floors × 3 m
    assert mesh.positions[:, 2].min() == pytest.approx(0.0, abs=CM)
    # No roof triangle covers the courtyard.
    courtyard = _frame().local([lon + 0.00015], [lat + 0.00015], [18.0])[0]
    tris = mesh.positions[mesh.indices.reshape(-1, 3)]
    roof = tris[np.all(np.abs(tris[:, :, 2] - 18.0) < CM, axis=1)]
    assert len(roof) and not any(shapely.Polygon(t[:, :2]).contains(Point(courtyard[:2])) for t in roof)


def test_ground_elevation_sources_are_recorded(layers: dict[str, Layer]) -> None:
    layer = layers["pipeline_water_segments"]
    base = {"fid": 1, "wkb": shapely.to_wkb(LineString([ORIGIN, (ORIGIN[0] + 0.0003, ORIGIN[1])])),
            "start_depth_m": 1.0, "end_depth_m": 2.0, "diameter_mm": 200}
    _, own = segment_mesh(kind_of(layer), {**base, "ground_start": 40.0, "ground_end": 41.0}, _frame())
    assert own["elevation_source"] == "delivered"
    assert (own["elev_start_m"], own["elev_end_m"]) == (39.0, 39.0)
    _, near = segment_mesh(kind_of(layer), {**base, "ground_start": 40.0, "ground_end_near": 42.5}, _frame())
    assert near["elevation_source"] == "start: delivered, end: delivered nearby"
    assert near["elev_end_m"] == 40.5
    # ORIGIN lies outside the sample terrain: nothing to fall back on.
    _, none = segment_mesh(kind_of(layer), base, _frame())
    assert none["elevation_source"] == "default" and none["elev_start_m"] is None


def test_without_a_delivered_elevation_the_sample_terrain_is_used(layers: dict[str, Layer]) -> None:
    lon, lat = IN_TERRAIN
    frame = EnuFrame(lon, lat)
    segments = layers["pipeline_water_segments"]
    row = {"fid": 1, "wkb": shapely.to_wkb(LineString([(lon, lat), (lon + 0.003, lat)])),
           "start_depth_m": 1.0, "end_depth_m": 2.0, "diameter_mm": 200, "ground_start": 40.0}
    _, props = segment_mesh(kind_of(segments), row, frame)
    terrain_end = float(terrain_elevation([lon + 0.003], [lat])[0])
    assert props["elevation_source"] == "start: delivered, end: terrain"
    assert props["ground_start_m"] == 40.0 and props["ground_end_m"] == pytest.approx(terrain_end, abs=0.01)
    assert props["elev_end_m"] == pytest.approx(terrain_end - 2.0, abs=0.01)
    points = layers["pipeline_water_points"]
    well = {"fid": 2, "wkb": shapely.to_wkb(Point(lon, lat)), "well_depth_m": 2.5, "ground_elev_m": None}
    _, p = point_mesh(kind_of(points), well, frame)
    assert p["elevation_source"] == "terrain" and p["ground_elev_m"] is None
    assert p["ground_m"] == pytest.approx(float(terrain_elevation([lon], [lat])[0]), abs=0.01)
    assert p["well_bottom_elev_m"] == pytest.approx(p["ground_m"] - 2.5, abs=0.01)
    _, delivered = point_mesh(kind_of(points), {**well, "ground_elev_m": 44.0}, frame)
    assert delivered["elevation_source"] == "delivered" and delivered["well_bottom_elev_m"] == 41.5
