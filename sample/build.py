"""What one sample load works on: the data folder, the area, and the intermediate results steps share.

Generators work in local metres (EPSG:4547) over the whole sample city, so numbers
and codes never depend on the load's bbox; here their plans are moved to storage
coordinates (EPSG:4490) and cut down to the features touching the bbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from sample import buildings, real, sources
from sample.components import ComponentPlan, component_plans
from sample.context import PIPE_AREA_4490, Area, to_local, to_storage
from sample.grid import EVENT_RECODE, GRID_SINCE, UnitGrid
from sample.landuse import landuse_plans
from sample.pipe_specs import SPECS
from sample.pipelines import CategoryPlans, PipePoint, category_plans
from sample.streets import Street, generate_streets
from sample.terrain import Terrain
from sample.writer import Plan, Version

EVENT_EXTENDED = "示例数据：道路延伸"


def storage_plans(plans: list[Plan]) -> list[Plan]:
    """The same plans with every geometry moved from local metres to EPSG:4490 lon/lat, in one transform."""
    geoms = np.asarray([v.geometry for p in plans for v in p.versions], dtype=object)
    moved = iter(to_storage(geoms) if len(geoms) else [])
    return [Plan([Version(v.valid_from, next(moved), v.properties, v.event) for v in p.versions],
                 p.retired_at, p.retire_event) for p in plans]


class SampleCity:
    """Everything generated for the whole sample city, in storage coordinates, independent of any bbox.

    Generation takes seconds and its result depends only on the data folder, so one
    process keeps it (:func:`sample_city`): tests that load several small areas pay once.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    @cached_property
    def ghsl(self) -> sources.Ghsl:
        return sources.Ghsl(self.data_dir)

    @cached_property
    def terrain(self) -> Terrain:
        aoi = sources.read_features(self.data_dir, sources.AOI)[0].geometry
        xiang = sources.read_features(self.data_dir, sources.XIANG)[0].geometry
        return Terrain(self.ghsl, aoi, xiang)

    @cached_property
    def grid(self) -> UnitGrid:
        districts = {f.properties["adcode"]: to_local(f.geometry)
                     for f in sources.read_features(self.data_dir, sources.BOUNDARIES)
                     if f.properties["level"] != "city"}
        return UnitGrid(self.terrain, districts)

    @cached_property
    def streets(self) -> list[Street]:
        return generate_streets(self.terrain)

    @cached_property
    def pipe_area(self) -> BaseGeometry:
        """Central Changsha, where pipelines and components are generated (local metres)."""
        return to_local(box(*PIPE_AREA_4490)).intersection(self.terrain.core)

    @cached_property
    def pipelines(self) -> dict[str, CategoryPlans]:
        """Per category, in local metres (``ends`` and ``facilities`` refer to these plans' indices)."""
        return {key: category_plans(key, self.streets, self.terrain, self.pipe_area) for key in SPECS}

    @cached_property
    def components(self) -> list[ComponentPlan]:
        facilities: list[PipePoint] = [f for c in self.pipelines.values() for f in c.facilities]
        # Street furniture stays on land: none on the bridge decks.
        return component_plans(facilities, self.streets, self.grid,
                               self.pipe_area.difference(self.terrain.river_margin))

    @cached_property
    def street_plans(self) -> list[Plan]:
        plans = []
        for s in self.streets:
            props = {"street_no": s.street_no, "name": s.name, "road_class": s.road_class, "width_m": s.width_m}
            versions = [Version(s.built, s.first_line, props)]
            if s.extended is not None:
                versions.append(Version(s.extended, s.line, props, EVENT_EXTENDED))
            plans.append(Plan(versions))
        return storage_plans(plans)

    @cached_property
    def grid_plans(self) -> list[Plan]:
        plans = []
        for c in self.grid.cells:
            versions = [Version(GRID_SINCE, c.geometry, _cell_props(c.code, c.district, c.street, c.community,
                                                                    c.geometry.area))]
            if c.recoded is not None and c.code_at(c.recoded[0]) != c.code:
                when, community, _ = c.recoded
                versions.append(Version(when, c.geometry, _cell_props(c.code_at(when), c.district, c.street,
                                                                      community, c.geometry.area), EVENT_RECODE))
            plans.append(Plan(versions))
        return storage_plans(plans)

    @cached_property
    def landuse_plans(self) -> list[Plan]:
        return storage_plans(landuse_plans(self.terrain, self.streets, self.grid.regions))

    @cached_property
    def segment_plans(self) -> dict[str, list[Plan]]:
        return {key: storage_plans(cat.segments) for key, cat in self.pipelines.items()}

    @cached_property
    def point_plans(self) -> dict[str, list[Plan]]:
        return {key: storage_plans(cat.points) for key, cat in self.pipelines.items()}

    @cached_property
    def component_plans(self) -> list[Plan]:
        return storage_plans([c.plan for c in self.components])

    def generate(self) -> None:
        """Compute everything a load may need (the properties are kept for later loads)."""
        for name in ("street_plans", "grid_plans", "landuse_plans", "segment_plans", "point_plans",
                     "component_plans"):
            getattr(self, name)


def _cell_props(code: str, district: str, street: int, community: int, area_m2: float) -> dict[str, object]:
    return {"grid_code": code, "district_adcode": district, "street_no": f"{street:03d}",
            "community_no": f"{community:03d}", "area_m2": round(area_m2, 1)}


_CITIES: dict[Path, SampleCity] = {}


def sample_city(data_dir: Path) -> SampleCity:
    """The process's generated city for ``data_dir`` (generated on first use)."""
    key = data_dir.resolve()
    if key not in _CITIES:
        _CITIES[key] = SampleCity(key)
    return _CITIES[key]


@dataclass
class SampleBuild:
    """One load: the real layers read for its area, and the generated city cut down to it.

    ``fids`` holds the fids each written layer got, in plan order, and ``kept`` which
    generated plans (by index into the whole city's list) the load kept, so later
    steps can link to earlier features (components → pipeline wells).
    """

    data_dir: Path
    area: Area
    fids: dict[str, list[int]] = field(default_factory=dict)
    kept: dict[str, list[int]] = field(default_factory=dict)

    @cached_property
    def city(self) -> SampleCity:
        return sample_city(self.data_dir)

    def _touching(self, plans: list[Plan]) -> list[int]:
        """Indices of the (EPSG:4490) plans any version of which touches the load's bbox."""
        if self.area.bbox_4490 is None:
            return list(range(len(plans)))
        hits = np.zeros(len(plans), dtype=bool)
        for r in range(max((len(p.versions) for p in plans), default=0)):
            idx = np.asarray([i for i, p in enumerate(plans) if len(p.versions) > r and not hits[i]], dtype=int)
            if idx.size:
                hits[idx[self.area.keep([plans[i].versions[r].geometry for i in idx])]] = True
        return [int(i) for i in np.flatnonzero(hits)]

    def _select(self, layer_id: str, plans: list[Plan], indices: list[int]) -> list[Plan]:
        self.kept[layer_id] = indices
        return [plans[i] for i in indices]

    def real_layers(self) -> dict[str, list[Plan]]:
        d, a = self.data_dir, self.area
        return {
            "admin_districts": real.admin_districts(d, a),
            "admin_subdistricts": real.admin_subdistricts(d, a),
            "rail_stations": real.rail_stations(d, a),
            "power_facilities": real.power_facilities(d, a),
            "roads": real.roads(d, a),
            "water_areas": real.water_areas(d, a),
            "water_lines": real.water_lines(d, a),
        }

    def buildings(self) -> list[Plan]:
        return buildings.buildings(self.data_dir, self.area, self.city.ghsl)

    def street_plans(self) -> list[Plan]:
        plans = self.city.street_plans
        return self._select("streets_sample", plans, self._touching(plans))

    def grid_plans(self) -> list[Plan]:
        plans = self.city.grid_plans
        return self._select("grid_cells", plans, self._touching(plans))

    def landuse_plans(self) -> list[Plan]:
        plans = self.city.landuse_plans
        return self._select("landuse", plans, self._touching(plans))

    def pipeline_plans(self) -> dict[str, list[Plan]]:
        """Segments and points of every category; a point is kept when it touches the bbox, ends a kept
        segment, or carries a kept component."""
        city = self.city
        linked: dict[str, set[int]] = {key: set() for key in SPECS}
        for i in self._touching(city.component_plans):
            link = city.components[i].link
            if link is not None:
                linked[link[0]].add(link[1])
        out: dict[str, list[Plan]] = {}
        for key, cat in city.pipelines.items():
            segments, points = city.segment_plans[key], city.point_plans[key]
            seg_idx = self._touching(segments)
            needed = set(self._touching(points)) | linked[key]
            for i in seg_idx:
                needed.update(cat.ends[i])
            out[f"pipeline_{key}_segments"] = self._select(f"pipeline_{key}_segments", segments, seg_idx)
            out[f"pipeline_{key}_points"] = self._select(f"pipeline_{key}_points", points, sorted(needed))
        return out

    def component_plans(self) -> list[Plan]:
        """Components touching the bbox, each linked to its pipeline point's fid."""
        city = self.city
        point_fid: dict[tuple[str, int], int] = {}
        for key in SPECS:
            layer_id = f"pipeline_{key}_points"
            for i, fid in zip(self.kept.get(layer_id, []), self.fids.get(layer_id, []), strict=True):
                point_fid[(key, i)] = fid
        plans = []
        for i in self._touching(city.component_plans):
            plan, link = city.component_plans[i], city.components[i].link
            if link is not None:
                fid = point_fid[link]
                plan = Plan([Version(v.valid_from, v.geometry, {**v.properties, "pipe_point_fid": fid}, v.event)
                             for v in plan.versions], plan.retired_at, plan.retire_event)
            plans.append(plan)
        return plans
