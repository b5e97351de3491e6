"""Which layers have 3D tiles, how each kind is drawn, and the rules that place pipes at depth.

Three kinds: pipeline segments (tubes and boxes), pipeline points (wells and markers) and
buildings (extruded footprints). Heights are metres relative to the local ground: the offline
viewer has no terrain, the ellipsoid stands for the ground, so a pipe 1.5 m deep is drawn 1.5 m
below it. The absolute elevations (1985 datum) of each pipe end are in the metadata: from the
points' delivered 地面高程, else the sample terrain (:mod:`spatial.terrain`), with their source
(``elevation_source``: delivered | delivered nearby | terrain | default).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from layers.model import Layer
from spatial.codelists.cjj61 import PLATFORM_CATEGORIES, parse_section
from tiles.errors import NotATileLayer
from tiles.gltf_writer import Prop

Box = tuple[float, float, float, float]
KindName = Literal["segments", "points", "buildings"]
Reference = Literal["top", "invert"]

# CGCS2000Quad level whose cells are one content tile: 16 (≈ 270 m × 305 m at Changsha's latitude) for
# buildings, 15 (≈ 540 m × 610 m) for pipes, whose cells at 16 hold ~8 segments on average, so that a
# tile's fixed glTF and metadata overhead outweighed its geometry.
CONTENT_ZOOM = 16
PIPE_ZOOM = 15
# City scale (LOD): the cells two levels up (≈ 1.1 km for buildings, ≈ 2.2 km for pipes) carry coarse
# content — trunk mains (管径 ≥ 400 mm or a 断面 duct) as 4-sided tubes, high-rise buildings (≥ 24 m,
# GB 50352's 高层 threshold) as their oriented bounding boxes — shown from afar until the viewer
# comes close enough for the full leaves, which then replace them (refine REPLACE).
LOD_LEVELS_UP = 2
TRUNK_MAIN_MM = 400
HIGH_RISE_M = 24.0
# Padding of a tile's region beyond its features' boxes: the largest tube radius (5 m pipe / 2).
REGION_PAD_M = 3.0


@dataclass(frozen=True, slots=True)
class DepthRule:
    """Where a category's 埋深 is measured to, and how sure we are (docs/domain.md tags)."""

    reference: Reference
    confidence: str
    note: str


_TOP = DepthRule("top", "GK", "压力管与电缆量至管顶 (domain.md §1.3, verify §5 of CJJ 61)")
_INVERT = DepthRule("invert", "GK", "重力排水量至管内底，沟道量至沟底 (domain.md §1.3, verify §5 of CJJ 61)")
# Which categories are measured to the invert is spatial.codelists.cjj61's one rule (the analyses read it too).
DEPTH_RULES: dict[str, DepthRule] = {
    key: _INVERT if cat.depth_to_invert else _TOP for key, cat in PLATFORM_CATEGORIES.items()
}

# Sizes used when a row does not give one [GK]: a 检查井 shaft is about Ø1 m inside; a pipe with
# neither 管径 nor 断面 is drawn as Ø100 mm; a building without height or floors as 10 m.
WELL_RADIUS_M = 0.5
MARKER_SIZE_M = 0.6
DEFAULT_PIPE_DIAMETER_MM = 100
DEFAULT_BUILDING_HEIGHT_M = 10.0
STOREY_M = 3.0

_S, _F, _I = "STRING", "FLOAT64", "INT32"
ELEVATION_SOURCES = ("Where the ground elevation (地面高程) comes from: delivered (the point's own survey), delivered "
                     "nearby (a surveyed point within 50 m), terrain (the sample terrain, 示例数据), default (none: "
                     "placed by depth below the local ground); a segment says it per end when they differ")
_IDENTITY = [Prop("id", _I, "Feature id: /collections/{layer}/items/{id}"), Prop("layer", _S, "Collection id")]
SEGMENT_PROPS = [*_IDENTITY, *(Prop(n, t) for n, t in [
    ("segment_no", _S), ("category", _S), ("subcategory", _S), ("material", _S), ("diameter_mm", _I),
    ("section", _S), ("burial", _S), ("start_point", _S), ("end_point", _S), ("start_depth_m", _F),
    ("end_depth_m", _F), ("owner", _S), ("status", _S), ("road_name", _S), ("build_year", _I),
]), Prop("depth_ref", _S, "What 埋深 is measured to: top (管顶) or invert (管内底/沟底)"),
    Prop("ground_start_m", _F, "地面高程 at the start point (1985 datum)"),
    Prop("ground_end_m", _F, "地面高程 at the end point (1985 datum)"),
    Prop("elev_start_m", _F, "管顶/管底高程 at the start = ground − depth"),
    Prop("elev_end_m", _F, "管顶/管底高程 at the end = ground − depth"),
    Prop("elevation_source", _S, ELEVATION_SOURCES),
    Prop("size_source", _S, "diameter, section or default")]
POINT_PROPS = [*_IDENTITY, *(Prop(n, t) for n, t in [
    ("point_no", _S), ("category", _S), ("subcategory", _S), ("feature_point", _S), ("appurtenance", _S),
    ("ground_elev_m", _F), ("well_depth_m", _F), ("owner", _S), ("status", _S), ("road_name", _S),
]), Prop("ground_m", _F, "Ground elevation used: ground_elev_m where delivered, else the sample terrain"),
    Prop("well_bottom_elev_m", _F, "井底高程 = ground − well depth"),
    Prop("elevation_source", _S, ELEVATION_SOURCES)]
BUILDING_PROPS = [*_IDENTITY, *(Prop(n, t) for n, t in [
    ("name", _S), ("use", _S), ("height_m", _F), ("height_source", _S), ("floors", _I), ("year_built", _I),
]), Prop("elev_source", _S, "Base of the extrusion: the local ground")]


@dataclass(frozen=True, slots=True)
class Kind:
    """How one layer is turned into 3D tiles."""

    name: KindName
    class_id: str
    props: tuple[Prop, ...]
    low_sql: str  # lowest mesh height below the ground in a cell (metres, negative down), SQL aggregate
    high_sql: str
    category: str | None = None  # platform category key of a pipeline layer
    zoom: int = CONTENT_ZOOM  # the CGCS2000Quad level of the content tiles
    lod_sql: str | None = None  # which features the coarse (city-scale) tiles keep; None: no coarse tiles

    @property
    def lod_zoom(self) -> int | None:
        """The CGCS2000Quad level of the coarse content tiles (None: this kind has none)."""
        return self.zoom - LOD_LEVELS_UP if self.lod_sql else None

    @property
    def columns(self) -> tuple[str, ...]:
        """Attribute columns the content query reads (the rest of the props are computed)."""
        computed = {"id", "layer", "depth_ref", "ground_start_m", "ground_end_m", "elev_start_m", "elev_end_m",
                    "elevation_source", "size_source", "well_bottom_elev_m", "ground_m"}
        return tuple(p.name for p in self.props if p.name not in computed)


_PIPELINE = re.compile(r"^pipeline_([a-z]+)_(segments|points)$")


def kind_of(layer: Layer) -> Kind:
    """The 3D kind of ``layer``.

    Raises:
        NotATileLayer: the layer has no 3D tiles (only pipelines and buildings do).
    """
    m = _PIPELINE.match(layer.id)
    if m and m.group(1) in DEPTH_RULES:
        key = m.group(1)
        if m.group(2) == "segments":
            # A pipe measured to its invert rises above that depth by its height (5 m at most).
            high = "greatest(1.0, 5.5 - min(least(t.start_depth_m, t.end_depth_m)))" \
                if DEPTH_RULES[key].reference == "invert" else "1.0"
            return Kind("segments", "pipe_segment", tuple(SEGMENT_PROPS),
                        "-(max(greatest(t.start_depth_m, t.end_depth_m)) + 5.5)", high, key, PIPE_ZOOM,
                        f"(t.diameter_mm >= {TRUNK_MAIN_MM} OR t.section IS NOT NULL)")
        return Kind("points", "pipe_point", tuple(POINT_PROPS),
                    "-(coalesce(max(t.well_depth_m), 0) + 1.0)", "1.0", key, PIPE_ZOOM)
    if layer.is_vector and layer.geometry_type in ("Polygon", "MultiPolygon") and "height_m" in layer.attributes.names:
        height = f"coalesce(t.height_m, t.floors * {STOREY_M}, {DEFAULT_BUILDING_HEIGHT_M})"
        return Kind("buildings", "building", tuple(BUILDING_PROPS), "-1.0", f"max({height}) + 1.0",
                    lod_sql=f"{height} >= {HIGH_RISE_M}")
    raise NotATileLayer(f"{layer.id} has no 3D tiles; pipeline segments and points and buildings do")


# Segment tiles show their end points' 地面高程, so a points edit must drop them too. They are cached
# with this tag + the points layer id among their layers; a segment sits in the cell of its box's
# centre, at most half its extent from an end point, so a point's box grown by this reach (≈ 500 m:
# segments up to about 1 km) meets every cell a segment ending there can be in.
GROUND_TAG = "@ground."
GROUND_REACH_DEG = 0.005


def ground_dependents(layer_id: str, boxes: Sequence[Box] | None) -> list[tuple[str, Sequence[Box] | None]]:
    """The 3D tile sets to drop with an edit of ``layer_id`` in ``boxes`` beside its own tiles."""
    m = _PIPELINE.match(layer_id)
    if not m or m.group(2) != "points":
        return []
    tag = GROUND_TAG + layer_id
    if boxes is None:
        return [(tag, None)]
    r = GROUND_REACH_DEG
    return [(tag, [(w - r, s - r, e + r, n + r) for w, s, e, n in boxes])]


def points_layer_id(layer_id: str) -> str:
    """The points layer whose 地面高程 the segments layer ``layer_id`` reads."""
    return layer_id.removesuffix("_segments") + "_points"


def pipe_size(diameter_mm: int | None, section: str | None) -> tuple[str, float, float]:
    """(shape, width m, height m) of a pipe: "box" from a 断面 W×H, else "tube" from 管径 (or the default)."""
    if (wh := parse_section(section)) is not None:
        return "box", wh[0] / 1000, wh[1] / 1000
    d = (diameter_mm or DEFAULT_PIPE_DIAMETER_MM) / 1000
    return "tube", d, d


def axis_depth(rule: DepthRule, depth_m: float, height_m: float) -> float:
    """Depth of a pipe's axis below the ground from the 埋深 the rule measures (top or invert)."""
    return depth_m + height_m / 2 if rule.reference == "top" else depth_m - height_m / 2
