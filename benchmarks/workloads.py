"""Workloads: what each target (One Map, tipg, the SQL floor) is asked, one registry for all.

Other benchmarks (tiles, history depth, imports) add entries with :func:`register`.
A workload gives, per target, a ``RequestSpec`` (an HTTP path template for wrk)
or a ``FloorSpec`` (a pgbench script). Path templates may use ``{bbox}`` (a random
~500 m box, lon/lat, inside the city), ``{fid}`` (a random current feature id),
``{z}``/``{x}``/``{y}`` (a random tile in ``ctx.tile_zoom`` over the city) and
``{deep_cursor}`` (the cursor of the page after 10,000 features). ``deep_page`` and
``deep_page_offset`` reach the same page by cursor and by ``offset=10000``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.settings import BENCH_LAYER, CITY_BBOX_4490, TIPG_SCHEMA, TIPG_VIEW

BOX_M = 500.0


@dataclass
class BenchContext:
    """Facts about the loaded data every workload may use."""

    layer: Any  # layers.model.Layer of the bench layer
    fid_min: int
    fid_max: int
    deep_fid: int  # fid of the 10,000th feature in id order
    deep_cursor: str = ""  # One Map's cursor for the page after it (filled by run.py)
    tile_zoom: int = 13
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def box_deg(self) -> tuple[float, float]:
        lat = (CITY_BBOX_4490[1] + CITY_BBOX_4490[3]) / 2
        return BOX_M / (111_320.0 * math.cos(math.radians(lat))), BOX_M / 110_574.0


@dataclass(frozen=True)
class RequestSpec:
    """An HTTP path template; ``tile_zoom`` overrides the context's zoom for ``{z}/{x}/{y}``,
    ``tile_bbox`` the lon/lat box they are drawn in (default: the city)."""

    path: str
    tile_zoom: int | None = None
    tile_bbox: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class FloorSpec:
    """A pgbench script: ``\\set`` lines then one SQL statement."""

    script: str


@dataclass(frozen=True)
class Workload:
    """``onemap_env`` runs One Map with extra settings for this workload (e.g. its tile cache off);
    ``warmup(base_url, ctx)`` runs against One Map before it is measured."""

    name: str
    description: str
    targets: dict[str, Callable[[BenchContext], RequestSpec | FloorSpec]]
    onemap_env: dict[str, str] = field(default_factory=dict)
    warmup: Callable[[str, BenchContext], None] | None = None


WORKLOADS: dict[str, Workload] = {}


def register(workload: Workload) -> Workload:
    """Add ``workload`` to the table ``benchmarks.run`` chooses from, by name."""
    WORKLOADS[workload.name] = workload
    return workload


# -- pgbench helpers --------------------------------------------------------------------------------


def _bbox_sets(ctx: BenchContext) -> str:
    xmin, ymin, xmax, ymax = CITY_BBOX_4490
    dx, dy = ctx.box_deg
    sx, sy = (xmax - xmin - dx) / 1e6, (ymax - ymin - dy) / 1e6
    return (
        "\\set rx random(0, 1000000)\n\\set ry random(0, 1000000)\n"
        f"\\set x1 {xmin} + :rx * {sx:.12f}\n\\set y1 {ymin} + :ry * {sy:.12f}\n"
        f"\\set x2 :x1 + {dx:.9f}\n\\set y2 :y1 + {dy:.9f}\n"
    )


def pgbench_script(sql: str, values: list[Any], variables: dict[int, str], sets: str = "") -> FloorSpec:
    """Turn One Map's statement into a pgbench script: ``$n`` → ``:var`` or an inline constant."""
    out = sql
    for n in range(len(values), 0, -1):
        if n in variables:
            rep = f":{variables[n]}"
        else:
            v = values[n - 1]
            rep = ("'" + v.replace("'", "''") + "'") if isinstance(v, str) else repr(v)
        out = out.replace(f"${n}", rep)
    out = re.sub(r"'(?:[^']|'')*'", _shield_colons, out)
    return FloorSpec(sets + " ".join(out.split()) + ";\n")


def _shield_colons(literal: re.Match[str]) -> str:
    """pgbench reads ``:name`` as a variable even inside quotes (to_char's ``HH24:MI``);
    split such literals around the colon. PostgreSQL folds the concatenation at plan time."""
    return re.sub(r":(?=[A-Za-z_])", "' || ':' || '", literal.group(0))


def _items_floor(ctx: BenchContext, *, with_filter: bool) -> FloorSpec:
    from layers.query import cql2
    from layers.query.bbox import Bbox
    from layers.query.items import ItemsRequest, page_sql

    tree = cql2.parse("height_m > 20", lang="cql2-text") if with_filter else None
    req = ItemsRequest(layer=ctx.layer, bbox=Bbox((0.0, 0.0, 1.0, 1.0)), filter_tree=tree, limit=100)
    sql, values = page_sql(req)
    return pgbench_script(sql, values, {1: "x1", 2: "y1", 3: "x2", 4: "y2"}, _bbox_sets(ctx))


def _deep_floor(ctx: BenchContext) -> FloorSpec:
    from layers.query.items import ItemsRequest, page_sql
    from layers.query.paging import Cursor

    req = ItemsRequest(layer=ctx.layer, limit=100, cursor=Cursor([], ctx.deep_fid, 1, "next"))
    sql, values = page_sql(req)
    return pgbench_script(sql, values, {})


def _deep_offset_floor(ctx: BenchContext) -> FloorSpec:
    from layers.query.items import ItemsRequest, page_sql

    sql, values = page_sql(ItemsRequest(layer=ctx.layer, limit=100, offset=10_000))
    return pgbench_script(sql, values, {})


def _item_floor(ctx: BenchContext) -> FloorSpec:
    from layers.query.items import item_sql
    from spatial.crs import CRS84

    sql = item_sql(ctx.layer, crs=CRS84, at=False)
    return pgbench_script(sql, [0], {1: "fid"}, f"\\set fid random({ctx.fid_min}, {ctx.fid_max})\n")


TIPG = f"/collections/{TIPG_SCHEMA}.{TIPG_VIEW}"
OM = f"/collections/{BENCH_LAYER}"
FILTER_Q = "filter-lang=cql2-text&filter=height_m%3E20"

register(
    Workload(
        "items_bbox",
        "items, random ~500 m bbox, limit 100",
        {
            "onemap": lambda c: RequestSpec(f"{OM}/items?bbox={{bbox}}&limit=100"),
            "tipg": lambda c: RequestSpec(f"{TIPG}/items?bbox={{bbox}}&limit=100"),
            "floor": lambda c: _items_floor(c, with_filter=False),
        },
    )
)
register(
    Workload(
        "items_bbox_filter",
        "the same plus a property filter (height_m > 20)",
        {
            "onemap": lambda c: RequestSpec(f"{OM}/items?bbox={{bbox}}&limit=100&{FILTER_Q}"),
            "tipg": lambda c: RequestSpec(f"{TIPG}/items?bbox={{bbox}}&limit=100&{FILTER_Q}"),
            "floor": lambda c: _items_floor(c, with_filter=True),
        },
    )
)
register(
    Workload(
        "deep_page",
        "the page after 10,000 features, limit 100",
        {
            "onemap": lambda c: RequestSpec(f"{OM}/items?limit=100&cursor={c.deep_cursor}"),
            "tipg": lambda c: RequestSpec(f"{TIPG}/items?limit=100&offset=10000"),
            "floor": _deep_floor,
        },
    )
)
register(
    Workload(
        "deep_page_offset",
        "the same page reached with offset=10000 (how pygeoapi/tipg/GeoServer scripts page)",
        {
            "onemap": lambda c: RequestSpec(f"{OM}/items?limit=100&offset=10000"),
            "tipg": lambda c: RequestSpec(f"{TIPG}/items?limit=100&offset=10000"),
            "floor": _deep_offset_floor,
        },
    )
)
register(
    Workload(
        "item_by_id",
        "one feature by id (random current fid)",
        {
            "onemap": lambda c: RequestSpec(f"{OM}/items/{{fid}}"),
            "tipg": lambda c: RequestSpec(f"{TIPG}/items/{{fid}}"),
            "floor": _item_floor,
        },
    )
)
