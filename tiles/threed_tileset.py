"""The 3D Tiles 1.1 tileset of one layer: an explicit quadtree over its non-empty content cells.

Layout (documented in the tileset's ``asset.extras``):

* Content lives only in the leaves: the CGCS2000Quad cells that hold features, at the layer kind's
  level (16 for buildings, 15 for pipes: :mod:`tiles.threed_kinds`). A leaf's content is ``{z}/{x}/{y}.glb``
  (relative to the tileset, the query string — ``datetime`` — carried through), its ``transform``
  the east-north-up frame at the cell's centre, its region its features' extent plus the largest
  pipe radius, from the lowest mesh to the highest.
* Inner tiles are the cells' CGCS2000Quad ancestors (up to the level where at most four remain)
  under one root, with a geometric error that shrinks by half per level. Refinement is ``ADD``.
* City scale: the ancestors two levels above the leaves that hold coarse features
  (:data:`tiles.threed_kinds.LOD_LEVELS_UP`: trunk mains, high-rise buildings) carry that coarse
  content (same ``{z}/{x}/{y}.glb`` addresses, their own ENU ``transform``), and refine ``REPLACE``
  straight to their leaves (whose transforms are then relative to the coarse tile's) with the
  error the leaves' parents had, so a viewer shows trunk mains from kilometres away and swaps in a
  street's full pipes when it comes close.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from tiles.threed_frame import EnuFrame
from tiles.threed_kinds import CONTENT_ZOOM, REGION_PAD_M
from tiles.threed_query import Cell, cell_size_deg

Region = tuple[float, float, float, float, float, float]  # west, south, east, north (degrees), low, high (m)
METRES_PER_DEGREE = 111_320.0
MAX_ROOT_CHILDREN = 4
# Error of an inner tile: its width over this; at 16 px screen-space error a 60° view refines a
# ≈ 500 m tile from about 2 km away.
ERROR_DIVISOR = 16.0

HEIGHTS_NOTE = (
    "Heights are metres relative to the local ground: the ellipsoid stands for the ground surface "
    "(no terrain), pipes lie at their depth below it and buildings stand on it. Absolute elevations "
    "(1985 national height datum) are in each feature's metadata: from the surveyed 地面高程, else the sample "
    "terrain, as its elevation_source says."
)


def content_uri(z: int, x: int, y: int, query: str = "") -> str:
    """The relative URI of a content tile, with the tileset's query string."""
    return f"{z}/{x}/{y}.glb" + (f"?{query}" if query else "")


def _padded(cell: Cell) -> Region:
    west, south, east, north = cell.box
    lat = (south + north) / 2
    dlat = REGION_PAD_M / METRES_PER_DEGREE
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    return (west - dlon, south - dlat, east + dlon, north + dlat, cell.low, cell.high)


def _union(regions: list[Region]) -> Region:
    return (min(r[0] for r in regions), min(r[1] for r in regions), max(r[2] for r in regions),
            max(r[3] for r in regions), min(r[4] for r in regions), max(r[5] for r in regions))


def _volume(region: Region) -> dict[str, list[float]]:
    west, south, east, north, low, high = region
    return {"region": [math.radians(west), math.radians(south), math.radians(east), math.radians(north),
                       low, high]}


def error_at(z: int, lat: float) -> float:
    """Geometric error (m) of an inner tile of level ``z`` at latitude ``lat``."""
    return cell_size_deg(z) * METRES_PER_DEGREE * math.cos(math.radians(lat)) / ERROR_DIVISOR


def leaf_frame(z: int, x: int, y: int) -> EnuFrame:
    """The ENU frame a content tile's meshes are stored in: the cell's centre on the ellipsoid."""
    size = cell_size_deg(z)
    return EnuFrame(-180.0 + (x + 0.5) * size, 90.0 - (y + 0.5) * size, 0.0)


def _relative(parent: EnuFrame, child: EnuFrame) -> list[float]:
    """The ``transform`` of a tile under a tile with frame ``parent``: parent-frame → child-frame ECEF."""
    p = np.array(parent.to_ecef_matrix()).reshape(4, 4).T
    c = np.array(child.to_ecef_matrix()).reshape(4, 4).T
    return [float(v) for v in (np.linalg.inv(p) @ c).T.reshape(-1)]


def _leaves(node: dict[str, Any]) -> list[dict[str, Any]]:
    if "children" not in node:
        return [node]
    return [leaf for child in node["children"] for leaf in _leaves(child)]


def _coarse_node(z: int, x: int, y: int, kids: list[dict[str, Any]], region: Region, error: float,
                 query: str) -> dict[str, Any]:
    """A city-scale tile: coarse content of cell z/x/y, replaced by its leaves (re-framed under it) up close."""
    frame = leaf_frame(z, x, y)
    leaves = [dict(leaf) for kid in kids for leaf in _leaves(kid)]
    for leaf in leaves:
        lz, lx, ly = (int(v) for v in leaf["content"]["uri"].split("?")[0].removesuffix(".glb").split("/"))
        leaf["transform"] = _relative(frame, leaf_frame(lz, lx, ly))
    return {"boundingVolume": _volume(region), "geometricError": error, "refine": "REPLACE",
            "transform": frame.to_ecef_matrix(), "content": {"uri": content_uri(z, x, y, query)},
            "children": leaves}


def build_tileset(cells: list[Cell], *, query: str = "", title: str = "", empty_region: Region | None = None,
                  zoom: int = CONTENT_ZOOM, coarse: Sequence[Cell] = (), coarse_zoom: int | None = None
                  ) -> dict[str, Any]:
    """The tileset JSON for a layer whose non-empty content cells of level ``zoom`` are ``cells``.

    ``coarse`` are the non-empty cells of level ``coarse_zoom`` of the layer's city-scale content: each
    becomes a tile with that content, refined (REPLACE) straight to its leaves from the distance at
    which the leaves' parents would have been refined.
    """
    asset = {"version": "1.1", "tilesetVersion": title,
             "extras": {"generator": "One Map 一张图", "heights": HEIGHTS_NOTE, "contentLevel": zoom,
                        "coarseLevel": coarse_zoom if coarse else None,
                        "tiling": "explicit quadtree of CGCS2000Quad cells; content at {z}/{x}/{y}.glb"}}
    if not cells:
        region = empty_region or (112.9, 28.1, 113.1, 28.3, -1.0, 1.0)
        return {"asset": asset, "geometricError": 0.0,
                "root": {"boundingVolume": _volume(region), "geometricError": 0.0, "refine": "ADD"}}
    with_coarse = {(c.x, c.y) for c in coarse}
    nodes: dict[tuple[int, int, int], dict[str, Any]] = {}
    regions: dict[tuple[int, int, int], Region] = {}
    for c in cells:
        region = _padded(c)
        regions[(zoom, c.x, c.y)] = region
        nodes[(zoom, c.x, c.y)] = {
            "boundingVolume": _volume(region), "geometricError": 0.0,
            "transform": leaf_frame(zoom, c.x, c.y).to_ecef_matrix(),
            "content": {"uri": content_uri(zoom, c.x, c.y, query)},
        }
    level = [(zoom, c.x, c.y) for c in cells]
    z = zoom
    lat = (min(r[1] for r in regions.values()) + max(r[3] for r in regions.values())) / 2
    while len(level) > MAX_ROOT_CHILDREN and z > 0:
        children: dict[tuple[int, int, int], list[tuple[int, int, int]]] = defaultdict(list)
        for key in level:
            children[(z - 1, key[1] // 2, key[2] // 2)].append(key)
        z -= 1
        for parent, kids in children.items():
            regions[parent] = _union([regions[k] for k in kids])
            kid_nodes = [nodes[k] for k in sorted(kids)]
            if z == coarse_zoom and parent[1:] in with_coarse:
                nodes[parent] = _coarse_node(*parent, kid_nodes, regions[parent], error_at(zoom - 1, lat), query)
            else:
                nodes[parent] = {"boundingVolume": _volume(regions[parent]), "geometricError": error_at(z, lat),
                                 "children": kid_nodes}
        level = sorted(children)
    root_region = _union([regions[k] for k in level])
    root_error = error_at(max(z - 1, 0), lat)
    root = {"boundingVolume": _volume(root_region), "geometricError": root_error, "refine": "ADD",
            "children": [nodes[k] for k in level]}
    return {"asset": asset, "geometricError": root_error * 2, "root": root}
