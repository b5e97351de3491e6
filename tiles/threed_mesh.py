"""Triangle meshes of pipes, wells, markers and buildings, built with numpy in a local metric frame.

Every builder works in one right-handed frame with z up (the tile's east-north-up frame, metres)
and returns a :class:`Mesh`: float64 positions, unit normals and uint32 triangle indices, counter-
clockwise seen from outside. Tubes and boxes follow a pipe's axis; wells are vertical cylinders;
buildings are walls between a base ring and a top ring plus a roof (shapely's constrained Delaunay
triangulation of the footprint, holes respected).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import Polygon

F64 = npt.NDArray[np.float64]
U32 = npt.NDArray[np.uint32]
TUBE_SIDES = 8
WELL_SIDES = 12


@dataclass(frozen=True, slots=True)
class Mesh:
    """Vertices (n × 3 positions and normals) and triangles (indices into them, 3 per triangle)."""

    positions: F64
    normals: F64
    indices: U32

    @property
    def vertex_count(self) -> int:
        """How many vertices the mesh has."""
        return int(self.positions.shape[0])


EMPTY = Mesh(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0, dtype=np.uint32))


def merge(meshes: Sequence[Mesh]) -> Mesh:
    """One mesh holding all of ``meshes`` (indices shifted)."""
    if not meshes:
        return EMPTY
    offsets = np.cumsum([0] + [m.vertex_count for m in meshes[:-1]])
    return Mesh(
        np.concatenate([m.positions for m in meshes]),
        np.concatenate([m.normals for m in meshes]),
        np.concatenate([m.indices + np.uint32(o) for m, o in zip(meshes, offsets, strict=True)]).astype(np.uint32),
    )


def _unit(v: F64) -> F64:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    out: F64 = v / np.where(norm == 0, 1.0, norm)
    return out


def _axis_frame(axis: F64) -> tuple[F64, F64]:
    """Two unit vectors perpendicular to ``axis`` and to each other: (sideways, upwards-ish)."""
    helper = np.array([0.0, 0.0, 1.0]) if abs(axis[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    side = _unit(np.cross(axis, helper))
    up = np.cross(side, axis)
    return side, up


def tube(start: Sequence[float], end: Sequence[float], radius: float, sides: int = TUBE_SIDES) -> Mesh:
    """An open cylinder of ``radius`` around the segment ``start`` → ``end`` (its axis), capped at both ends."""
    p0, p1 = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    axis = p1 - p0
    length = float(np.linalg.norm(axis))
    if length == 0 or radius <= 0:
        return EMPTY
    axis = axis / length
    side, up = _axis_frame(axis)
    angles = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
    ring = np.cos(angles)[:, None] * side + np.sin(angles)[:, None] * up  # unit radial directions
    positions = np.concatenate([p0 + radius * ring, p1 + radius * ring])
    normals = np.concatenate([ring, ring])
    i = np.arange(sides)
    j = (i + 1) % sides
    # Side quads (p0 ring i, i+1; p1 ring i, i+1), wound counter-clockwise seen from outside.
    walls = np.stack([i, i + sides, j, j, i + sides, j + sides], axis=1).reshape(-1)
    body = Mesh(positions, normals, walls.astype(np.uint32))
    return merge([body, _disc(p0, ring * radius, -axis), _disc(p1, ring * radius, axis)])


def _disc(centre: F64, offsets: F64, normal: F64) -> Mesh:
    """A flat polygon (fan) at ``centre`` + ``offsets`` facing ``normal``."""
    n = len(offsets)
    positions = np.concatenate([centre[None, :], centre + offsets])
    normals = np.repeat(normal[None, :], n + 1, axis=0)
    i = np.arange(n)
    fan = np.stack([np.zeros(n, dtype=int), 1 + i, 1 + (i + 1) % n], axis=1)
    # Wind so the face looks along ``normal``.
    first = np.cross(offsets[0], offsets[1 % n])
    if float(np.dot(first, normal)) < 0:
        fan = fan[:, [0, 2, 1]]
    return Mesh(positions, normals, fan.reshape(-1).astype(np.uint32))


def box(start: Sequence[float], end: Sequence[float], width: float, height: float) -> Mesh:
    """A rectangular duct (管块/方沟) of ``width`` × ``height`` centred on ``start`` → ``end``, closed."""
    p0, p1 = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    axis = p1 - p0
    length = float(np.linalg.norm(axis))
    if length == 0 or width <= 0 or height <= 0:
        return EMPTY
    axis = axis / length
    side, up = _axis_frame(axis)
    hw, hh = width / 2, height / 2
    faces = []
    # (face normal, direction across the face, distance of the face from the axis, half its width)
    for normal, u, d, extent_u in ((side, up, hw, hh), (-side, -up, hw, hh), (up, -side, hh, hw), (-up, side, hh, hw)):
        corners = [p0 + normal * d - u * extent_u, p0 + normal * d + u * extent_u,
                   p1 + normal * d + u * extent_u, p1 + normal * d - u * extent_u]
        faces.append(_quad(np.array(corners), normal))
    ends = [p0 + s * side * hw + t * up * hh for s, t in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    faces.append(_quad(np.array(ends), -axis))
    faces.append(_quad(np.array(ends) + axis * length, axis))
    return merge(faces)


def _quad(corners: F64, normal: F64) -> Mesh:
    """A flat quad of four corners in ring order, wound to face ``normal``."""
    tri = np.array([0, 1, 2, 0, 2, 3])
    if float(np.dot(np.cross(corners[1] - corners[0], corners[2] - corners[0]), normal)) < 0:
        tri = np.array([0, 2, 1, 0, 3, 2])
    return Mesh(corners.astype(float), np.repeat(_unit(normal)[None, :], 4, axis=0), tri.astype(np.uint32))


def vertical_cylinder(top: Sequence[float], bottom_z: float, radius: float, sides: int = WELL_SIDES) -> Mesh:
    """A closed cylinder from ``top`` (its top centre) straight down to ``bottom_z`` (a well shaft)."""
    t = np.asarray(top, dtype=float)
    if radius <= 0 or bottom_z >= t[2]:
        return EMPTY
    return tube(t, (t[0], t[1], bottom_z), radius, sides)


def marker(centre: Sequence[float], size: float) -> Mesh:
    """A small octahedron of ``size`` (tip to tip) at ``centre``: a feature point with no depth."""
    c, h = np.asarray(centre, dtype=float), size / 2
    tips = np.array([[h, 0, 0], [0, h, 0], [-h, 0, 0], [0, -h, 0], [0, 0, h], [0, 0, -h]], dtype=float)
    faces = []
    for k in range(4):
        a, b = tips[k], tips[(k + 1) % 4]
        for pole in (tips[4], tips[5]):
            tri = np.array([a, b, pole])
            normal = _unit(tri.sum(axis=0))
            faces.append(_triangle(c + tri, normal))
    return merge(faces)


def _triangle(corners: F64, normal: F64) -> Mesh:
    facing = float(np.dot(np.cross(corners[1] - corners[0], corners[2] - corners[0]), normal))
    order = [0, 1, 2] if facing >= 0 else [0, 2, 1]
    return Mesh(corners, np.repeat(normal[None, :], 3, axis=0), np.array(order, dtype=np.uint32))


def extrusion(rings_base: Sequence[F64], rings_top: Sequence[F64]) -> Mesh:
    """Walls between matching base and top rings (exterior first, then holes) and a flat roof.

    Rings are open (first vertex not repeated), n × 3 each; the roof is triangulated on the top
    rings' x/y, so a footprint with courtyards keeps them open.
    """
    parts = []
    for base, top in zip(rings_base, rings_top, strict=True):
        n = len(base)
        for k in range(n):
            a, b = base[k], base[(k + 1) % n]
            outward = np.array([b[1] - a[1], -(b[0] - a[0]), 0.0])  # right of the edge direction
            if not np.any(outward):
                continue
            quad = np.array([a, b, top[(k + 1) % n], top[k]])
            # Exterior rings are made counter-clockwise and holes clockwise (see below), so the right
            # of each edge is always outside the solid.
            parts.append(_quad(quad, outward))
    roof = _roof(rings_top)
    if roof is not None:
        parts.append(roof)
    return merge(parts)


def _roof(rings: Sequence[F64]) -> Mesh | None:
    polygon = Polygon(rings[0][:, :2], [r[:, :2] for r in rings[1:]])
    if not polygon.is_valid or polygon.area == 0:
        polygon = shapely.make_valid(polygon)
    triangles = shapely.constrained_delaunay_triangles(polygon)
    coords = [np.asarray(t.exterior.coords)[:3] for t in shapely.get_parts(triangles)]
    if not coords:
        return None
    flat = np.concatenate(coords)
    z = float(np.mean(np.concatenate([r[:, 2] for r in rings])))
    lookup = {(float(x), float(y)): float(zz) for r in rings for x, y, zz in r}
    heights = np.array([lookup.get((float(x), float(y)), z) for x, y in flat])
    positions = np.column_stack([flat, heights])
    tri = np.arange(len(positions)).reshape(-1, 3)
    normals_z = np.cross(positions[tri[:, 1]] - positions[tri[:, 0]], positions[tri[:, 2]] - positions[tri[:, 0]])[:, 2]
    tri[normals_z < 0] = tri[normals_z < 0][:, [0, 2, 1]]
    normals = np.repeat(np.array([[0.0, 0.0, 1.0]]), len(positions), axis=0)
    return Mesh(positions, normals, tri.reshape(-1).astype(np.uint32))


def orient_rings(rings: Sequence[F64]) -> list[F64]:
    """Exterior counter-clockwise, holes clockwise (seen from above), as :func:`extrusion` expects."""
    out = []
    for k, ring in enumerate(rings):
        x, y = ring[:, 0], ring[:, 1]
        area2 = float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
        ccw = area2 > 0
        out.append(ring if ccw == (k == 0) else ring[::-1].copy())
    return out
