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


def tube(start: Sequence[float] | F64, end: Sequence[float] | F64, radius: float, sides: int = TUBE_SIDES, *,
         caps: bool = True) -> Mesh:
    """A cylinder of ``radius`` around the segment ``start`` → ``end`` (its axis), closed unless ``caps`` is False.

    Pipes go without caps: their ends sit in wells or meet the next pipe, and caps would double the
    vertices of a tube; the material is double-sided, so an open end still shows the pipe's inside.
    """
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
    if not caps:
        return body
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


def box(start: Sequence[float] | F64, end: Sequence[float] | F64, width: float, height: float) -> Mesh:
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


def vertical_cylinder(top: Sequence[float] | F64, bottom_z: float, radius: float, sides: int = WELL_SIDES) -> Mesh:
    """A closed cylinder from ``top`` (its top centre) straight down to ``bottom_z`` (a well shaft)."""
    t = np.asarray(top, dtype=float)
    if radius <= 0 or bottom_z >= t[2]:
        return EMPTY
    return tube(t, (t[0], t[1], bottom_z), radius, sides)


def marker(centre: Sequence[float] | F64, size: float) -> Mesh:
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

    Rings are open (first vertex not repeated), n × 3 each, oriented as :func:`orient_rings` makes
    them (exterior counter-clockwise, holes clockwise), so the right of every edge is outside the
    solid; the roof is triangulated on the top rings' x/y, so a footprint with courtyards keeps them.
    """
    parts = [_walls(base, top) for base, top in zip(rings_base, rings_top, strict=True)]
    roof = _roof(rings_top)
    if roof is not None:
        parts.append(roof)
    return merge(parts)


def _walls(base: F64, top: F64) -> Mesh:
    """One quad per ring edge (flat-shaded), all at once."""
    a, b = base, np.roll(base, -1, axis=0)
    ta, tb = top, np.roll(top, -1, axis=0)
    edge = b - a
    keep = np.hypot(edge[:, 0], edge[:, 1]) > 1e-6
    a, b, ta, tb, edge = a[keep], b[keep], ta[keep], tb[keep], edge[keep]
    n = len(a)
    if n == 0:
        return EMPTY
    outward = _unit(np.column_stack([edge[:, 1], -edge[:, 0], np.zeros(n)]))
    positions = np.stack([a, b, tb, ta], axis=1).reshape(-1, 3)
    normals = np.repeat(outward, 4, axis=0)
    # (a, b, top b, top a) turns counter-clockwise seen from the right of a → b, i.e. from outside.
    quads = (np.arange(n) * 4)[:, None] + np.array([0, 1, 2, 0, 2, 3])
    return Mesh(positions, normals, quads.reshape(-1).astype(np.uint32))


def _roof(rings: Sequence[F64]) -> Mesh | None:
    polygon = Polygon(rings[0][:, :2], [r[:, :2] for r in rings[1:]])
    if not polygon.is_valid:
        polygon = shapely.make_valid(polygon)
    if polygon.is_empty or polygon.area == 0:
        return None
    corners = shapely.get_coordinates(shapely.constrained_delaunay_triangles(polygon))
    if len(corners) == 0:
        return None
    tri = corners.reshape(-1, 4, 2)[:, :3]  # each triangle comes back as a closed ring of 4 points
    # Counter-clockwise from above, so the roof faces up.
    area2 = ((tri[:, 1, 0] - tri[:, 0, 0]) * (tri[:, 2, 1] - tri[:, 0, 1])
             - (tri[:, 2, 0] - tri[:, 0, 0]) * (tri[:, 1, 1] - tri[:, 0, 1]))
    tri[area2 < 0] = tri[area2 < 0][:, ::-1]
    # The roof is flat in its own right: the rings' mean height (they differ by Earth curvature, < 1 mm).
    z = float(np.mean(np.concatenate([r[:, 2] for r in rings])))
    positions = np.column_stack([tri.reshape(-1, 2), np.full(tri.shape[0] * 3, z)])
    normals = np.repeat(np.array([[0.0, 0.0, 1.0]]), len(positions), axis=0)
    return Mesh(positions, normals, np.arange(len(positions), dtype=np.uint32))


def orient_rings(rings: Sequence[F64]) -> list[F64]:
    """Exterior counter-clockwise, holes clockwise (seen from above), as :func:`extrusion` expects."""
    out = []
    for k, ring in enumerate(rings):
        x, y = ring[:, 0], ring[:, 1]
        area2 = float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
        ccw = area2 > 0
        out.append(ring if ccw == (k == 0) else ring[::-1].copy())
    return out
