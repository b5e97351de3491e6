"""Rows of one 3D cell → meshes, colours and a property table (:class:`tiles.gltf_writer.TileContent`).

Heights are relative to the local ground (see :mod:`tiles.threed_kinds`): every vertex is placed at
its longitude, latitude and height above the ellipsoid in the tile's ENU frame, so walls and wells
follow the local vertical and long pipes the Earth's curvature.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import shapely

from layers.model import Layer
from spatial.terrain import terrain_elevation
from styles.threed import feature_rgba
from tiles.gltf_writer import TileContent
from tiles.threed_frame import EnuFrame
from tiles.threed_kinds import (
    DEFAULT_BUILDING_HEIGHT_M,
    DEPTH_RULES,
    MARKER_SIZE_M,
    STOREY_M,
    WELL_RADIUS_M,
    Kind,
    axis_depth,
    pipe_size,
)
from tiles.threed_mesh import (
    EMPTY,
    F64,
    TUBE_SIDES,
    Mesh,
    box,
    extrusion,
    marker,
    merge,
    orient_rings,
    tube,
    vertical_cylinder,
)

Row = Mapping[str, Any]
COARSE_TUBE_SIDES = 4  # a trunk main seen from kilometres away needs no round cross-section


def build_content(layer: Layer, kind: Kind, rows: Sequence[Row], frame: EnuFrame, *,
                  coarse: bool = False) -> TileContent:
    """The tile content of ``rows`` (one cell of ``layer``) in ``frame``; simplified shapes when ``coarse``."""
    builder: Callable[[Kind, Row, EnuFrame], tuple[Mesh, dict[str, Any]]] = _BUILDERS[kind.name]
    meshes, table = [], []
    for row in rows:
        mesh, props = builder(kind, _coarse(kind, row) if coarse else row, frame)
        if mesh.vertex_count == 0:
            continue
        props = {"id": int(row["fid"]), "layer": layer.id, **props}
        meshes.append(mesh)
        table.append(props)
    counts = np.array([m.vertex_count for m in meshes], dtype=np.int64)
    feature_index = np.repeat(np.arange(len(meshes), dtype=np.uint32), counts)
    colours = np.repeat(np.array([feature_rgba(layer, p) for p in table], dtype=np.uint8).reshape(-1, 4), counts,
                        axis=0)
    return TileContent(merge(meshes), feature_index, colours, kind.class_id, layer.title_en, kind.props, table)


def _coarse(kind: Kind, row: Row) -> Row:
    """A city-scale version of ``row``: a line simplified to 5 m, a footprint to its oriented box."""
    geom = shapely.from_wkb(row["wkb"])
    if kind.name == "segments":
        # ≈ 5 m in degrees at Changsha: a trunk main seen from kilometres away loses nothing visible.
        geom = shapely.simplify(geom, 0.00005)
    elif kind.name == "buildings":
        geom = shapely.oriented_envelope(geom)
    return {**row, "wkb": shapely.to_wkb(geom), "_sides": COARSE_TUBE_SIDES}


def _attrs(kind: Kind, row: Row) -> dict[str, Any]:
    return {name: _plain(row.get(name)) for name in kind.columns}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (int, float, str)):
        return value
    return str(value)


def segment_mesh(kind: Kind, row: Row, frame: EnuFrame) -> tuple[Mesh, dict[str, Any]]:
    """A pipe: tube (管径) or box (断面), its axis at the depth the category's rule gives, end to end."""
    assert kind.category is not None
    rule = DEPTH_RULES[kind.category]
    shape, width, height = pipe_size(row.get("diameter_mm"), row.get("section"))
    d0, d1 = float(row["start_depth_m"]), float(row["end_depth_m"])
    lonlat = shapely.get_coordinates(shapely.from_wkb(row["wkb"]))
    flat = frame.local(lonlat[:, 0], lonlat[:, 1], np.zeros(len(lonlat)))
    steps = np.linalg.norm(np.diff(flat[:, :2], axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    share = along / along[-1] if along[-1] > 0 else np.zeros_like(along)
    # 埋深 is given at both ends only: the axis runs straight between them along the line.
    depth = axis_depth(rule, d0, height) + (axis_depth(rule, d1, height) - axis_depth(rule, d0, height)) * share
    axis = frame.local(lonlat[:, 0], lonlat[:, 1], -depth)
    pieces = [
        tube(axis[k], axis[k + 1], width / 2, int(row.get("_sides") or TUBE_SIDES), caps=False) if shape == "tube"
        else box(axis[k], axis[k + 1], width, height)
        for k in range(len(axis) - 1)
    ]
    (g0, s0), (g1, s1) = _ground(row, lonlat[0], lonlat[-1])
    props = _attrs(kind, row)
    props.update(
        depth_ref=rule.reference,
        ground_start_m=g0,
        ground_end_m=g1,
        elev_start_m=None if g0 is None else round(g0 - d0, 3),
        elev_end_m=None if g1 is None else round(g1 - d1, 3),
        elevation_source=s0 if s0 == s1 else f"start: {s0}, end: {s1}",
        size_source="section" if shape == "box" else ("diameter" if row.get("diameter_mm") else "default"),
    )
    return merge(pieces), props


def _ground(row: Row, start: F64, end: F64) -> tuple[tuple[float | None, str], tuple[float | None, str]]:
    """Ground elevation (m, 1985 datum) at each end and its source (:data:`ELEVATION_SOURCES`).

    Delivered: the 地面高程 of the end's own point, else of a point within 50 m; otherwise the
    sample terrain at the end; otherwise none ("default": the pipe is placed by depth alone).
    """
    ends: list[tuple[float | None, str]] = []
    for (own, near), at in ((("ground_start", "ground_start_near"), start), (("ground_end", "ground_end_near"), end)):
        if row.get(own) is not None:
            ends.append((float(row[own]), "delivered"))
        elif row.get(near) is not None:
            ends.append((float(row[near]), "delivered nearby"))
        else:
            ends.append(_terrain(float(at[0]), float(at[1])))
    return ends[0], ends[1]


def _terrain(lon: float, lat: float) -> tuple[float | None, str]:
    height = float(terrain_elevation([lon], [lat])[0])
    return (None, "default") if math.isnan(height) else (round(height, 2), "terrain")


def point_mesh(kind: Kind, row: Row, frame: EnuFrame) -> tuple[Mesh, dict[str, Any]]:
    """A well shaft from the ground down to 井深, or a small marker on the ground for other points."""
    lon, lat = shapely.get_coordinates(shapely.from_wkb(row["wkb"]))[0]
    well = row.get("well_depth_m")
    top = frame.local([lon], [lat], [0.0])[0]
    if well is not None and float(well) > 0:
        bottom = frame.local([lon], [lat], [-float(well)])[0]
        mesh = vertical_cylinder(top, float(bottom[2]), WELL_RADIUS_M)
    else:
        mesh = marker(top, MARKER_SIZE_M)
    delivered = row.get("ground_elev_m")
    ground, source = (float(delivered), "delivered") if delivered is not None else _terrain(float(lon), float(lat))
    props = _attrs(kind, row)
    props["ground_m"] = ground
    props["well_bottom_elev_m"] = None if ground is None or well is None else round(ground - float(well), 3)
    props["elevation_source"] = source
    return mesh, props


def building_mesh(kind: Kind, row: Row, frame: EnuFrame) -> tuple[Mesh, dict[str, Any]]:
    """The footprint extruded from the ground to its height (floors × 3 m, else 10 m, when missing)."""
    height = row.get("height_m")
    if height is None:
        floors = row.get("floors")
        height = floors * STOREY_M if floors else DEFAULT_BUILDING_HEIGHT_M
    parts = []
    for polygon in shapely.get_parts(shapely.from_wkb(row["wkb"])):
        rings = [np.asarray(r.coords)[:-1, :2] for r in (polygon.exterior, *polygon.interiors)]
        # Longitude/latitude keep the orientation east/north have, so orienting them orients the walls.
        rings = orient_rings(rings)
        base = [frame.local(r[:, 0], r[:, 1], np.zeros(len(r))) for r in rings]
        top = [frame.local(r[:, 0], r[:, 1], np.full(len(r), float(height))) for r in rings]
        parts.append(extrusion(base, top))
    props = _attrs(kind, row)
    props["elevation_source"] = "ground"
    return (merge(parts) if parts else EMPTY), props


_BUILDERS: dict[str, Callable[[Kind, Row, EnuFrame], tuple[Mesh, dict[str, Any]]]] = {
    "segments": segment_mesh,
    "points": point_mesh,
    "buildings": building_mesh,
}
