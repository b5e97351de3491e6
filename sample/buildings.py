"""OSM buildings, dated by the GHSL built-up age raster so the time slider shows the city growing.

Year built: the building's GHSL age epoch at its centroid, with a year drawn in that
epoch by the fixed seed (``year_source='ghsl_age'``); outside the raster the year is
unknown and the building is valid from the OSM snapshot. Height: the OSM ``height``
tag (``measured``), else ``building:levels`` × 3 m (``floors``), else the GHSL
average building height of its cell (``ghsl``), else a default by use.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from sample import sources
from sample.context import Area, at, day_in_year, rng
from sample.writer import Plan, Version
from spatial.codelists.buildings import OSM_BUILDING_TO_USE

OSM_SNAPSHOT = at(2026, 3, 24)
STOREY_M = 3.0
# GHS-AGE epoch → years a building of that epoch may have been finished in. Class 1 is
# "before 1980": a cell already built up in 1975 gets 1950–74, otherwise 1975–79.
EPOCH_YEARS = {2: (1980, 1989), 3: (1990, 1999), 4: (2000, 2009), 5: (2010, 2020)}
AFTER_GHSL = (2021, 2025)  # built up after the 2020 epoch but in the 2026 OSM snapshot

AMENITY_USE = {
    "school": "education", "university": "education", "college": "education", "kindergarten": "education",
    "hospital": "health", "clinic": "health", "doctors": "health", "place_of_worship": "religious",
    "townhall": "public", "police": "public", "fire_station": "public", "library": "public",
    "community_centre": "public", "marketplace": "commercial", "restaurant": "commercial",
    "bank": "commercial", "parking": "transport", "bus_station": "transport",
}
DEFAULT_FLOORS = {"residential": 6, "commercial": 3, "office": 8, "industrial": 2, "education": 5,
                  "health": 6, "transport": 2, "religious": 1, "utility": 1, "agricultural": 1, "public": 4,
                  "other": 3}
LOW_RISE = {"house", "detached", "terrace", "farm", "farm_auxiliary", "greenhouse", "shed", "hut", "garage"}


def building_use(p: dict[str, Any]) -> str:
    """The One Map use class of an OSM building from ``building=*`` and its amenity/office/tourism tags."""
    use = OSM_BUILDING_TO_USE.get(str(p.get("building") or ""))
    if use is not None:
        return use
    if p.get("amenity") in AMENITY_USE:
        return AMENITY_USE[str(p["amenity"])]
    if p.get("office"):
        return "office"
    if p.get("tourism") in {"hotel", "hostel", "guest_house", "motel"}:
        return "commercial"
    if p.get("power") or p.get("man_made"):
        return "utility"
    if p.get("aeroway"):
        return "transport"
    return "other"


def parse_height(value: Any) -> float | None:
    """Metres from an OSM height tag ("8", "8M", "9米", "7.5 m"); None when it is not a number."""
    if isinstance(value, int | float):
        return float(value) if value > 0 else None
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(?:m|M|米)?\s*$", str(value or ""))
    return float(match.group(1)) if match and float(match.group(1)) > 0 else None


def _year(age: float, vol1975: float, source_id: str) -> tuple[int | None, str, dt.datetime]:
    rnd = rng("building-year", source_id)
    if age < 0:
        return None, "unknown", OSM_SNAPSHOT
    if age == 0:
        lo, hi = AFTER_GHSL
    elif age == 1:
        lo, hi = (1950, 1974) if vol1975 > 0 else (1975, 1979)
    else:
        lo, hi = EPOCH_YEARS[int(age)]
    year = rnd.randint(lo, hi)
    return year, "ghsl_age", day_in_year(year, rnd)


def _height(p: dict[str, Any], use: str, ghsl_h: float) -> tuple[float, str, int]:
    floors_tag = p.get("levels_num")
    floors = int(floors_tag) if isinstance(floors_tag, int | float) and floors_tag >= 1 else None
    measured = parse_height(p.get("height_m")) or parse_height(p.get("height"))
    if measured is not None:
        return measured, "measured", floors if floors is not None else max(1, round(measured / STOREY_M))
    if floors is not None:
        return floors * STOREY_M, "floors", floors
    if ghsl_h > 0:
        return round(float(ghsl_h), 1), "ghsl", max(1, round(ghsl_h / STOREY_M))
    default = 2 if str(p.get("building")) in LOW_RISE else DEFAULT_FLOORS[use]
    return default * STOREY_M, "default", default


def _address(p: dict[str, Any]) -> str | None:
    parts = [p.get("addr_city"), p.get("addr_district"), p.get("addr_street")]
    if not p.get("addr_street"):
        return None
    return "".join(str(x) for x in parts if x)


def _osm_buildings(data_dir: Path) -> list[tuple[str, sources.SourceFeature]]:
    out = [(f"osm:{f.properties['osm_type']}/{f.properties['osm_id']}", f)
           for f in sources.read_features(data_dir, sources.BUILDINGS)]
    # The Yuelu export adds the Hunan Normal University campus, which the partial file lacks.
    for f in sources.read_features(data_dir, sources.YUELU_POLYGONS):
        if f.properties.get("building"):
            kind = "relation" if f.properties.get("osm_id") else "way"
            out.append((f"osm:{kind}/{f.properties.get('osm_id') or f.properties.get('osm_way_id')}", f))
    seen: set[str] = set()
    unique = []
    for source_id, f in out:
        if source_id not in seen:
            seen.add(source_id)
            unique.append((source_id, f))
    return unique


def buildings(data_dir: Path, area: Area, ghsl: sources.Ghsl) -> list[Plan]:
    """Plans for the OSM buildings in ``area``, dated and sized from the GHSL rasters."""
    candidates = _osm_buildings(data_dir)
    keep = area.keep([f.geometry for _, f in candidates])
    candidates = [c for c, k in zip(candidates, keep, strict=True) if k]
    if not candidates:
        return []
    points = shapely.point_on_surface(np.asarray([f.geometry for _, f in candidates], dtype=object))
    lon, lat = shapely.get_x(points), shapely.get_y(points)
    age, v1975, height = ghsl.sample("age", lon, lat), ghsl.sample("v1975", lon, lat), ghsl.sample("height", lon, lat)
    plans = []
    for i, (source_id, f) in enumerate(candidates):
        p = f.properties
        use = building_use(p)
        year, year_source, valid_from = _year(float(age[i]), float(v1975[i]), source_id)
        height_m, height_source, floors = _height(p, use, float(height[i]))
        props = {
            "source_id": source_id, "name": p.get("name") or p.get("name_zh"), "address": _address(p),
            "use": use, "height_m": height_m, "height_source": height_source, "floors": floors,
            "year_built": year, "year_source": year_source,
        }
        plans.append(Plan([Version(valid_from, f.geometry, props)]))
    return plans
