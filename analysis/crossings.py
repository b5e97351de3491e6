"""Where pipes cross a section line, with depths and elevations at the crossing (EPSG:4547 metres)."""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from shapely.geometry import LineString, Point

from analysis.contract import JSON
from analysis.pipes import Pipe, finite
from spatial.codelists.cjj61 import MATERIAL


@dataclass(frozen=True, slots=True)
class Crossing:
    """One pipe where the section crosses it (metres; elevations on the 1985 datum)."""

    pipe: Pipe
    offset_m: float
    point_4547: Point
    top_depth_m: float
    bottom_depth_m: float
    ground_m: float | None

    def props(self) -> JSON:
        """The section's figures for this pipe."""
        g = self.ground_m
        p = self.pipe
        return {
            "offset_m": round(self.offset_m, 2), "pipe_category": p.cat.key, "pipe_category_zh": p.cat.category.zh,
            "material_zh": MATERIAL.labels_zh.get(p.row.get("material") or "", p.row.get("material")),
            "size": p.size, "width_m": p.width_m, "height_m": p.height_m,
            "top_depth_m": finite(self.top_depth_m), "bottom_depth_m": finite(self.bottom_depth_m),
            "ground_elev_m": finite(g), "top_elev_m": finite(None if g is None else g - self.top_depth_m),
            "bottom_elev_m": finite(None if g is None else g - self.bottom_depth_m),
        }


def crossings(section: LineString, pipes: list[Pipe]) -> list[Crossing]:
    """Where each pipe crosses the section (EPSG:4547), ordered by offset."""
    out: list[Crossing] = []
    for pipe in pipes:
        hit = pipe.line.intersection(section)
        if hit.is_empty:
            continue
        # A pipe along the section line is drawn once, at the middle of the shared stretch.
        pts = [Point(xy) for xy in shapely.get_coordinates(hit)] if hit.geom_type.endswith("Point") \
            else [hit.interpolate(0.5, normalized=True)]
        for pt in pts:
            frac = pipe.fraction(pt)
            out.append(Crossing(pipe, float(section.project(pt)), pt, pipe.top_depth_at(frac),
                                pipe.bottom_depth_at(frac), pipe.ground_at(frac)))
    return sorted(out, key=lambda c: (c.offset_m, c.pipe.fid))
