"""Pipeline topology, the pipelines job's check hook: segment ends meet their points; no orphan points.

A segment end may land on a point of the same delivery or on a current stored point of
the same category layer, within ``--snap-tolerance``; a point must end some segment
(delivered or stored). Runs on the staged rows, in SQL, category by category.
"""

from __future__ import annotations

from ingest.staged import CheckView, Found
from ingest.targets import PLATFORM_KEYS, layer_id
from layers.errors import FieldError
from layers.sql import quote_ident
from spatial.crs import STORAGE_SRID


def _points_union(view: CheckView, key: str) -> str:
    """SQL for every point a segment of ``key`` may end on: delivered ones, else stored current ones."""
    points_layer = view.registry.get(layer_id(key, "points"))
    stored = f"SELECT point_no, geom FROM {points_layer.table} t WHERE t.valid_to IS NULL"  # noqa: S608
    pts = view.stages.get(points_layer.id)
    if pts is None:
        return stored
    stage = quote_ident(pts.staging.name)
    return (
        f"SELECT point_no, ST_GeomFromWKB(geom_wkb, {STORAGE_SRID}) AS geom FROM {stage} UNION ALL "  # noqa: S608
        f"{stored} AND NOT EXISTS (SELECT 1 FROM {stage} p WHERE p.point_no = t.point_no)"
    )


async def _segment_ends(view: CheckView, key: str) -> Found:
    seg = view.stages.get(layer_id(key, "segments"))
    if seg is None:
        return []
    points_layer = layer_id(key, "points")
    rows = await view.conn.fetch(
        f"""
        WITH pts AS ({_points_union(view, key)}),
        s AS (SELECT row_no, segment_no, start_point, end_point, ST_GeomFromWKB(geom_wkb, {STORAGE_SRID}) AS g
              FROM {quote_ident(seg.staging.name)}),
        d AS (SELECT s.row_no, s.segment_no, s.start_point, s.end_point,
                     a.point_no IS NOT NULL AS has_start, b.point_no IS NOT NULL AS has_end,
                     ST_Distance(ST_StartPoint(s.g)::geography, a.geom::geography) AS d_start,
                     ST_Distance(ST_EndPoint(s.g)::geography, b.geom::geography) AS d_end
              FROM s LEFT JOIN pts a ON a.point_no = s.start_point LEFT JOIN pts b ON b.point_no = s.end_point)
        SELECT * FROM d WHERE NOT has_start OR NOT has_end OR d_start > $1 OR d_end > $1 ORDER BY row_no
        """,  # noqa: S608
        view.snap_tolerance_m,
    )
    rejected_points = view.rejected_before.get(points_layer, set()) | {
        r[2] for r in view.found.get(points_layer, []) if r[2] is not None
    }
    tol = view.snap_tolerance_m
    out: Found = []
    for r in rows:
        errors: list[FieldError] = []
        for end, field in (("start", "start_point"), ("end", "end_point")):
            number, dist = r[field], r[f"d_{end}"]
            if not r[f"has_{end}"]:
                why = ("was rejected (see its row)" if number in rejected_points
                       else f"is neither in the delivery nor in {points_layer}")
                errors.append(FieldError(field, "topology", f"{end} point {number!r} {why}"))
            elif dist is not None and dist > tol:
                errors.append(FieldError(field, "topology", f"the segment's {end} is {dist:.3f} m from its point "
                                                            f"{number!r} (tolerance {tol:g} m)"))
        out.append((r["row_no"], errors, r["segment_no"]))
    return out


async def _orphans(view: CheckView, key: str) -> Found:
    pts = view.stages.get(layer_id(key, "points"))
    if pts is None:
        return []
    seg_layer = view.registry.get(layer_id(key, "segments"))
    ends = [f"SELECT start_point AS p FROM {seg_layer.table} WHERE valid_to IS NULL",  # noqa: S608
            f"SELECT end_point FROM {seg_layer.table} WHERE valid_to IS NULL"]  # noqa: S608
    seg = view.stages.get(seg_layer.id)
    if seg is not None:
        stage = quote_ident(seg.staging.name)
        ends += [f"SELECT start_point FROM {stage}", f"SELECT end_point FROM {stage}"]  # noqa: S608
    rows = await view.conn.fetch(
        f"WITH used AS ({' UNION '.join(ends)}) "  # noqa: S608
        f"SELECT row_no, point_no FROM {quote_ident(pts.staging.name)} "
        "WHERE point_no NOT IN (SELECT p FROM used WHERE p IS NOT NULL) ORDER BY row_no"
    )
    return [(r["row_no"], [FieldError("point_no", "orphan",
                                      f"point {r['point_no']!r} is not the start or end of any segment "
                                      f"(delivered or in {seg_layer.id})")], r["point_no"]) for r in rows]


async def check_topology(view: CheckView) -> None:
    """Segment ends against their points, then orphan points, repeated until nothing more falls out.

    The pipelines job's check hook (see :mod:`ingest.hooks`). Rejected rows leave staging here,
    so the next round sees what remains.
    """
    keys = sorted({k for k in PLATFORM_KEYS if layer_id(k, "segments") in view.stages
                   or layer_id(k, "points") in view.stages})
    for key in keys:
        for _ in range(5):
            bad_segments = await _segment_ends(view, key)
            await view.drop(layer_id(key, "segments"), bad_segments)
            bad_points = await _orphans(view, key)
            await view.drop(layer_id(key, "points"), bad_points)
            if not bad_segments and not bad_points:
                break
