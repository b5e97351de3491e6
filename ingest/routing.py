"""Pipeline rows to their category's layers, and segments without geometry drawn between their points.

Survey results (管线探测成果) come as a point table and a segment table. Each row goes to
the layer of its platform category (:mod:`ingest.targets`), told by its columns or, when
the delivery leaves it out, inferred (:mod:`ingest.inference`) and counted in the report.
Segments name their 起始点号/终止点号; when a segment table carries no geometry, its line
is drawn between those points, as survey software does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import Any, Protocol

import asyncpg
from shapely.geometry import LineString

from ingest.convert import text_of
from ingest.inference import Decision, Hints, decide_point, decide_segment
from ingest.inputs import Input
from ingest.mapping import Mapped
from ingest.profiles import Resolved, load_profile
from ingest.readers.base import Batch
from ingest.report import Report
from ingest.request import Request
from ingest.targets import Route, category_from_name, codes_of, layer_id, parse_category_option, route
from layers.errors import FieldError
from layers.model import Layer
from layers.registry import Registry

CAD_LAYER_FIELDS = ("Layer", "layer", "图层")
Pair = tuple[str, str | None]


class PointIndex:
    """Where the delivered points are (EPSG:4490 lon/lat), by points layer and point number."""

    def __init__(self) -> None:
        self._xy: dict[tuple[str, str], tuple[float, float]] = {}

    def add_staged(self, layer: str, clean: dict[str, list[Any]], mapped: Mapped, errors: dict[int, Any]) -> None:
        """Remember the staged points of a batch (rows with errors are not staged)."""
        numbers = clean.get("point_no", [])
        for i, number in enumerate(numbers):
            geom = mapped.geoms[i]
            if i not in errors and number is not None and geom is not None:
                self._xy[(layer, str(number))] = (geom.x, geom.y)

    def get(self, layer: str, number: str) -> tuple[float, float] | None:
        """Lon/lat (EPSG:4490, degrees) of a delivered point, or None."""
        return self._xy.get((layer, number))


class RoutingRun(Protocol):
    """What routing reads from the import run (:class:`ingest.delivery.Delivery` is one)."""

    request: Request
    registry: Registry
    conn: asyncpg.Connection
    report: Report
    points: PointIndex
    hints: Hints

    def resolved_for(self, item: Input, layer: Layer) -> Resolved:
        """The item's profile applied to ``layer`` (with a mapper ready)."""
        ...

    def peek_columns(self, item: Input) -> Resolved:
        """The item's profile applied to its part's template layer, without preparing a mapper."""
        ...

    def reject_unrouted(self, item: Input, batch: Batch, i: int, message: str, code: str = "category") -> None:
        """Report row ``i`` of ``batch`` as rejected before it reached any layer."""
        ...


def _name_fallback(run: RoutingRun, item: Input) -> Callable[[int, Batch], Pair | None]:
    """The category the file name, or the row's CAD layer, stands for (through the layer map)."""
    profile_map = dict(item.profile.layer_map) if item.profile and item.profile.layer_map else \
        dict(load_profile(f"cjj61_{item.part}").layer_map)
    layer_map = {**run.request.layer_map, **profile_map}
    by_name = _known(category_from_name(f"{item.source.path.stem} {item.source.layer or ''}", layer_map))
    cad = next((f for f in CAD_LAYER_FIELDS if f in item.source.fields), None)
    if cad is None:
        return lambda i, b: by_name

    @cache
    def of_cad(layer_name: str) -> Pair | None:
        return _known(category_from_name(layer_name, layer_map)) or by_name

    return lambda i, b: of_cad(str(b.columns[cad][i] or ""))


def _known(pair: tuple[str | None, str | None]) -> Pair | None:
    return (pair[0], pair[1]) if pair[0] is not None else None


def _column(batch: Batch, resolved: Resolved, name: str) -> list[Any]:
    column = resolved.columns.get(name)
    return batch.columns[column] if column is not None and column in batch.columns else [None] * len(batch)


def _explicit(category: Any, subcategory: Any, fixed: tuple[str, str | None] | None) -> tuple[
        tuple[str | None, str | None], str | None]:
    """(codes the row and ``--category`` state, why a stated value is not a code)."""
    cat, sub = codes_of(category, subcategory)
    if category is not None and str(category).strip() and cat is None:
        return (None, None), f"pipeline category {category!r} is not a CJJ 61 category (给水 JS, 排水 PS, …)"
    if subcategory is not None and str(subcategory).strip() and sub is None:
        return (None, None), f"pipeline subcategory {subcategory!r} is not a CJJ 61 subcategory (配水 JP, 雨水 YS, …)"
    if fixed is not None:
        if cat is None:
            cat = fixed[0]
        if sub is None and fixed[0] == cat:
            sub = fixed[1]
    return (cat, sub), None


def route_batch(run: RoutingRun, item: Input, batch: Batch) -> tuple[dict[str, list[int]], dict[int, Route]]:
    """Split a batch by target layer; rows whose category cannot be told or fits no layer are rejected here."""
    assert item.part is not None
    resolved = run.resolved_for(item, run.registry.get(layer_id("water", item.part)))
    name_of = _name_fallback(run, item)
    req = run.request
    fixed = parse_category_option(req.category) if req.category else None
    cats, subs = _column(batch, resolved, "category"), _column(batch, resolved, "subcategory")
    cat_set, sub_set = req.constants.get("category"), req.constants.get("subcategory")
    if item.part == "points":
        numbers = [_text(v) for v in _column(batch, resolved, "point_no")]
    else:
        starts = [_text(v) for v in _column(batch, resolved, "start_point")]
        ends = [_text(v) for v in _column(batch, resolved, "end_point")]
    groups: dict[str, list[int]] = {}
    routes: dict[int, Route] = {}
    for i in range(len(batch)):
        explicit, wrong = _explicit(cat_set or cats[i], sub_set or subs[i], fixed)
        if wrong is not None:
            run.reject_unrouted(item, batch, i, wrong)
            continue
        if item.part == "points":
            decision = decide_point(explicit, numbers[i], run.hints, name_of(i, batch))
            example = numbers[i]
        else:
            decision = decide_segment(explicit, starts[i], ends[i], run.hints, name_of(i, batch))
            example = f"{starts[i]}-{ends[i]}"
        r = _route(decision)
        if r.key is None:
            run.reject_unrouted(item, batch, i, r.problem or "no pipeline category", decision.code)
            continue
        for note in decision.inferred:
            run.report.infer(source=item.source.label, field=note.field, how=note.how, value=note.value,
                             example=example)
        groups.setdefault(layer_id(r.key, item.part), []).append(i)
        routes[i] = r
    return groups, routes


def _route(decision: Decision) -> Route:
    if decision.problem is not None:
        return Route(None, None, None, decision.problem)
    return route(decision.category, decision.subcategory)


def _text(value: Any) -> str | None:
    out = text_of(value)
    return str(out) if out is not None else None


def needs_hints(run: RoutingRun, items: Iterable[Input]) -> bool:
    """Whether some pipeline table states no category (no column, no ``--set``, no ``--category``)."""
    if run.request.category or run.request.constants.get("category"):
        return False
    return any(item.part is not None and "category" not in run.peek_columns(item).columns for item in items)


def gather_hints(run: RoutingRun, items: list[Input]) -> Hints:
    """Read the pipeline tables once for what they say about categories: points' own, then segments'."""
    hints = Hints()
    for part in ("points", "segments"):
        for item in (i for i in items if i.part == part):
            resolved = run.peek_columns(item)
            for batch in item.source.batches():
                cats, subs = _column(batch, resolved, "category"), _column(batch, resolved, "subcategory")
                pairs = [_known(codes_of(c, s)) for c, s in zip(cats, subs, strict=True)]
                if part == "points":
                    for number, pair in zip(_column(batch, resolved, "point_no"), pairs, strict=True):
                        hints.add_point(_text(number), pair)
                    continue
                starts, ends = _column(batch, resolved, "start_point"), _column(batch, resolved, "end_point")
                for start, end, pair in zip(starts, ends, pairs, strict=True):
                    hints.add_segment(_text(start), _text(end), pair)
    return hints


async def complete(run: RoutingRun, item: Input, layer: Layer, mapped: Mapped, routes: dict[int, Route]) -> None:
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
    known = {p: run.points.get(points_layer, p) for p in wanted}
    stored = await _stored_points(run, points_layer, [p for p, xy in known.items() if xy is None])
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


async def _stored_points(run: RoutingRun, points_layer: str, numbers: list[str]) -> dict[str, tuple[float, float]]:
    if not numbers or points_layer not in run.registry:
        return {}
    layer = run.registry.get(points_layer)
    rows = await run.conn.fetch(
        f"SELECT point_no, ST_X(geom) AS x, ST_Y(geom) AS y FROM {layer.table} "  # noqa: S608
        "WHERE valid_to IS NULL AND point_no = ANY($1::text[])",
        numbers,
    )
    return {r["point_no"]: (r["x"], r["y"]) for r in rows}


