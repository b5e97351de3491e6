"""Pipeline deliveries: routing rows to their category's layers, drawing segments from their points,
and checking topology (segment ends meet their points; no orphan points).

Survey results (管线探测成果) come as a point table and a segment table. Segments name
their 起始点号/终止点号; when a segment table carries no geometry, its line is drawn
between those points, as survey software does.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from shapely.geometry import LineString

from ingest.checks import Found, drop_rows
from ingest.mapping import Mapped
from ingest.profiles import load_profile
from ingest.sources import Batch
from ingest.targets import PLATFORM_KEYS, Route, category_from_name, layer_id, parse_category_option, route
from layers.errors import FieldError
from layers.model import Layer
from layers.sql import quote_ident
from spatial.crs import STORAGE_SRID

if TYPE_CHECKING:
    from ingest.load import Delivery, Input

CAD_LAYER_FIELDS = ("Layer", "layer", "图层")


class PointIndex:
    """Where the delivered points are (EPSG:4490 lon/lat), by points layer and point number."""

    def __init__(self) -> None:
        self._xy: dict[tuple[str, str], tuple[float, float]] = {}

    def add_staged(self, layer: str, clean: dict[str, list[Any]], mapped: Mapped, errors: dict[int, Any]) -> None:
        numbers = clean.get("point_no", [])
        for i, number in enumerate(numbers):
            geom = mapped.geoms[i]
            if i not in errors and number is not None and geom is not None:
                self._xy[(layer, str(number))] = (geom.x, geom.y)

    def get(self, layer: str, number: str) -> tuple[float, float] | None:
        return self._xy.get((layer, number))


def _fallback(delivery: Delivery, item: Input) -> Callable[[int, Batch], tuple[str | None, str | None]]:
    req = delivery.request
    profile_map = dict(item.profile.layer_map) if item.profile and item.profile.layer_map else \
        dict(load_profile(f"cjj61_{item.part}").layer_map)
    layer_map = {**req.layer_map, **profile_map}
    if req.category:
        fixed = parse_category_option(req.category)
        return lambda i, b: fixed
    name = f"{item.source.path.stem} {item.source.layer or ''}"
    by_name = category_from_name(name, layer_map)
    cad = next((f for f in CAD_LAYER_FIELDS if f in item.source.fields), None)
    if cad is None:
        return lambda i, b: by_name

    @cache
    def of_cad(layer_name: str) -> tuple[str | None, str | None]:
        found = category_from_name(layer_name, layer_map)
        return found if found[0] else by_name

    return lambda i, b: of_cad(str(b.columns[cad][i] or ""))


def route_batch(delivery: Delivery, item: Input, batch: Batch) -> tuple[dict[str, list[int]], dict[int, Route]]:
    """Split a batch by target layer; rows that fit no platform category are rejected here."""
    template = delivery.registry.get(layer_id("water", item.part))  # type: ignore[arg-type]
    resolved = delivery.resolved_for(item, template)
    fallback = _fallback(delivery, item)
    n = len(batch)
    cat_col = batch.columns.get(resolved.columns.get("category", ""), [None] * n)
    sub_col = batch.columns.get(resolved.columns.get("subcategory", ""), [None] * n)
    cat_set = delivery.request.constants.get("category")
    sub_set = delivery.request.constants.get("subcategory")
    groups: dict[str, list[int]] = {}
    routes: dict[int, Route] = {}
    for i in range(n):
        r = route(cat_set or cat_col[i], sub_set or sub_col[i], fallback=fallback(i, batch))
        if r.key is None:
            delivery.reject_unrouted(item, batch, i, r.problem or "no pipeline category")
            continue
        groups.setdefault(layer_id(r.key, item.part), []).append(i)  # type: ignore[arg-type]
        routes[i] = r
    return groups, routes


async def complete(delivery: Delivery, item: Input, layer: Layer, mapped: Mapped, routes: dict[int, Route]) -> None:
    """Put the routed codes in place, and draw geometry-less segments between their points."""
    n = len(mapped)
    subs = mapped.values.get("subcategory", [None] * n)
    mapped.values["category"] = [routes[i].category for i in range(n)]
    mapped.values["subcategory"] = [routes[i].subcategory or subs[i] for i in range(n)]
    if item.part != "segments":
        return
    missing = [i for i in range(n) if mapped.geoms[i] is None and i not in mapped.geom_errors]
    if not missing:
        return
    points_layer = layer.id.replace("_segments", "_points")
    starts, ends = mapped.values.get("start_point", [None] * n), mapped.values.get("end_point", [None] * n)
    wanted = {str(v) for i in missing for v in (starts[i], ends[i]) if v is not None}
    known = {p: delivery.points.get(points_layer, p) for p in wanted}
    stored = await _stored_points(delivery, points_layer, [p for p, xy in known.items() if xy is None])
    known.update(stored)
    for i in missing:
        a = known.get(str(starts[i])) if starts[i] is not None else None
        b = known.get(str(ends[i])) if ends[i] is not None else None
        if a is None or b is None:
            which = "start" if a is None else "end"
            number = starts[i] if a is None else ends[i]
            mapped.geom_errors[i] = FieldError(
                "geometry", "no-geometry",
                f"the segment has no geometry and its {which} point {number!r} is neither in the delivery "
                f"nor in {points_layer}, so it cannot be drawn",
            )
            continue
        mapped.geoms[i] = LineString([a, b])


async def _stored_points(delivery: Delivery, points_layer: str, numbers: list[str]) -> dict[str, tuple[float, float]]:
    if not numbers or points_layer not in delivery.registry:
        return {}
    layer = delivery.registry.get(points_layer)
    rows = await delivery.conn.fetch(
        f"SELECT point_no, ST_X(geom) AS x, ST_Y(geom) AS y FROM {layer.table} "  # noqa: S608
        "WHERE valid_to IS NULL AND point_no = ANY($1::text[])",
        numbers,
    )
    return {r["point_no"]: (r["x"], r["y"]) for r in rows}


def _rejected_keys(delivery: Delivery, layer: str) -> set[str]:
    return {r.key for r in delivery.report.rejections if r.target == layer and r.key is not None}


def _points_union(delivery: Delivery, key: str) -> str:
    """SQL for every point a segment of ``key`` may end on: delivered ones, else stored current ones."""
    points_layer = delivery.registry.get(layer_id(key, "points"))
    stored = f"SELECT point_no, geom FROM {points_layer.table} t WHERE t.valid_to IS NULL"  # noqa: S608
    pts = delivery.stages.get(points_layer.id)
    if pts is None:
        return stored
    stage = quote_ident(pts.staging.name)
    return (
        f"SELECT point_no, ST_GeomFromWKB(geom_wkb, {STORAGE_SRID}) AS geom FROM {stage} UNION ALL "  # noqa: S608
        f"{stored} AND NOT EXISTS (SELECT 1 FROM {stage} p WHERE p.point_no = t.point_no)"
    )


async def _segment_ends(delivery: Delivery, key: str) -> Found:
    seg = delivery.stages.get(layer_id(key, "segments"))
    if seg is None:
        return []
    points_layer = layer_id(key, "points")
    rows = await delivery.conn.fetch(
        f"""
        WITH pts AS ({_points_union(delivery, key)}),
        s AS (SELECT row_no, segment_no, start_point, end_point, ST_GeomFromWKB(geom_wkb, {STORAGE_SRID}) AS g
              FROM {quote_ident(seg.staging.name)}),
        d AS (SELECT s.row_no, s.segment_no, s.start_point, s.end_point,
                     a.point_no IS NOT NULL AS has_start, b.point_no IS NOT NULL AS has_end,
                     ST_Distance(ST_StartPoint(s.g)::geography, a.geom::geography) AS d_start,
                     ST_Distance(ST_EndPoint(s.g)::geography, b.geom::geography) AS d_end
              FROM s LEFT JOIN pts a ON a.point_no = s.start_point LEFT JOIN pts b ON b.point_no = s.end_point)
        SELECT * FROM d WHERE NOT has_start OR NOT has_end OR d_start > $1 OR d_end > $1 ORDER BY row_no
        """,  # noqa: S608
        delivery.request.snap_tolerance_m,
    )
    rejected_points = _rejected_keys(delivery, points_layer) | {
        r[2] for r in delivery.found.get(points_layer, []) if r[2] is not None
    }
    tol = delivery.request.snap_tolerance_m
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


async def _orphans(delivery: Delivery, key: str) -> Found:
    pts = delivery.stages.get(layer_id(key, "points"))
    if pts is None:
        return []
    seg_layer = delivery.registry.get(layer_id(key, "segments"))
    ends = [f"SELECT start_point AS p FROM {seg_layer.table} WHERE valid_to IS NULL",  # noqa: S608
            f"SELECT end_point FROM {seg_layer.table} WHERE valid_to IS NULL"]  # noqa: S608
    seg = delivery.stages.get(seg_layer.id)
    if seg is not None:
        stage = quote_ident(seg.staging.name)
        ends += [f"SELECT start_point FROM {stage}", f"SELECT end_point FROM {stage}"]  # noqa: S608
    rows = await delivery.conn.fetch(
        f"WITH used AS ({' UNION '.join(ends)}) "  # noqa: S608
        f"SELECT row_no, point_no FROM {quote_ident(pts.staging.name)} "
        "WHERE point_no NOT IN (SELECT p FROM used WHERE p IS NOT NULL) ORDER BY row_no"
    )
    return [(r["row_no"], [FieldError("point_no", "orphan",
                                      f"point {r['point_no']!r} is not the start or end of any segment "
                                      f"(delivered or in {seg_layer.id})")], r["point_no"]) for r in rows]


async def topology(delivery: Delivery) -> dict[str, Found]:
    """Segment ends against their points, then orphan points, repeated until nothing more falls out.

    Rejected rows leave staging here (so the next round sees what remains).
    """
    found: dict[str, Found] = delivery.found
    keys = sorted({k for k in PLATFORM_KEYS if layer_id(k, "segments") in delivery.stages
                   or layer_id(k, "points") in delivery.stages})
    for key in keys:
        for _ in range(5):
            bad_segments = await _segment_ends(delivery, key)
            await _drop(delivery, layer_id(key, "segments"), bad_segments, found)
            bad_points = await _orphans(delivery, key)
            await _drop(delivery, layer_id(key, "points"), bad_points, found)
            if not bad_segments and not bad_points:
                break
    return found


async def _drop(delivery: Delivery, layer: str, rows: Found, found: dict[str, Found]) -> None:
    if rows:
        await drop_rows(delivery.conn, delivery.stages[layer].staging, [r[0] for r in rows])
        delivery.stages[layer].rows -= len(rows)
        found.setdefault(layer, []).extend(rows)
