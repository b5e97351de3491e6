"""The real open data layers: boundaries, stations, power facilities, the Yuelu OSM roads and water, the Xiang.

Each builder returns one single-version :class:`Plan` per source feature. Valid
time comes from what is known about the fact: a district exists from the year its
GB/T 2260 code was created; natural water predates the model; OSM features we
cannot date are valid from their source snapshot.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from sample import sources
from sample.context import MODEL_START, Area, at
from sample.writer import Plan, Version

# Year each current code came into being (day unknown: 1 January). [GK]
# 1996: the urban districts were redrawn; 1993 浏阳撤县设市; 2011 望城撤县设区; 2017 宁乡撤县设市.
ADCODE_SINCE = {
    "430100": 1950, "430102": 1996, "430103": 1996, "430104": 1996, "430105": 1996, "430111": 1996,
    "430112": 2011, "430121": 1950, "430181": 1993, "430182": 2017,
}
LEVELS = {"city": "city", "district": "district", "county": "county", "county-level city": "county_city"}

WANGYUE_OSM_ID = 16456042
# OSM gives only "Wangyue"; the polygon lies north of 西湖 (咸嘉湖) in 岳麓区, which is 望岳街道
# (formerly 望岳公社), not 望月湖街道 further south.
WANGYUE_NAME = "望岳街道"
OSM_QUERY_DATE = at(2026, 3, 1)
STATIONS_SNAPSHOT = at(2025, 1, 1)
POWER_SNAPSHOT = at(2025, 2, 11)
YUELU_EXPORT = at(2021, 8, 25)

_TAG_RE = re.compile(r'"([^"]+)"=>"([^"]*)"')


def other_tags(value: str | None) -> dict[str, str]:
    """Parse the GDAL OSM driver's hstore-like ``other_tags`` text."""
    return dict(_TAG_RE.findall(value or ""))


def _kept(area: Area, features: list[sources.SourceFeature]) -> list[sources.SourceFeature]:
    mask = area.keep([f.geometry for f in features])
    return [f for f, keep in zip(features, mask, strict=True) if keep]


def _plan(valid_from: dt.datetime, feature: sources.SourceFeature, props: dict[str, Any]) -> Plan:
    return Plan([Version(valid_from, feature.geometry, props)])


def admin_districts(data_dir: Path, area: Area) -> list[Plan]:
    """Plans for Changsha and its districts from the cnmaps boundaries (converted to WGS84)."""
    plans = []
    for f in _kept(area, sources.read_features(data_dir, sources.BOUNDARIES)):
        p = f.properties
        props = {"adcode": p["adcode"], "name": p["name"], "name_en": p.get("name_en"),
                 "level": LEVELS[p["level"]], "parent_adcode": p.get("parent_adcode")}
        plans.append(_plan(at(ADCODE_SINCE[p["adcode"]]), f, props))
    return plans


def admin_subdistricts(data_dir: Path, area: Area) -> list[Plan]:
    """Plans for the one open 街道 polygon (望岳街道, OSM relation 16456042)."""
    features = [f for f in sources.read_features(data_dir, sources.OSM_BOUNDARIES)
                if f.properties.get("osm_id") == WANGYUE_OSM_ID]
    return [
        _plan(OSM_QUERY_DATE, f, {"name": WANGYUE_NAME, "district_adcode": "430104", "osm_id": WANGYUE_OSM_ID})
        for f in _kept(area, features)
    ]


def rail_stations(data_dir: Path, area: Area) -> list[Plan]:
    """Plans for the OSM railway, metro and maglev stations in ``area``."""
    return [
        _plan(STATIONS_SNAPSHOT, f, {"name": f.properties.get("name") or None, "station": f.properties["station"]})
        for f in _kept(area, sources.read_features(data_dir, sources.STATIONS))
    ]


def voltage_kv(value: Any) -> float | None:
    """Highest voltage of an OSM ``voltage`` tag ("500000;220000" → 500.0 kV)."""
    volts = [float(v) for v in re.findall(r"\d+(?:\.\d+)?", str(value or ""))]
    return max(volts) / 1000.0 if volts else None


def power_facilities(data_dir: Path, area: Area) -> list[Plan]:
    """Plans for the OSM substations and plants in ``area``, voltage parsed to kV."""
    plans = []
    for f in _kept(area, sources.read_features(data_dir, sources.POWER)):
        p = f.properties
        output = p.get("output")
        props = {"name": p.get("name"), "power": p["power"], "voltage_kv": voltage_kv(p.get("voltage")),
                 "plant_source": p.get("source"), "output": output if output and output != "yes" else None}
        plans.append(_plan(POWER_SNAPSHOT, f, props))
    return plans


def roads(data_dir: Path, area: Area) -> list[Plan]:
    """Plans for the roads of the Yuelu OSM export (2021-08-25)."""
    plans = []
    for f in _kept(area, sources.read_features(data_dir, sources.YUELU_LINES)):
        p = f.properties
        if not p.get("highway"):
            continue  # the export's Metro Line 4 way is a railway, not a road
        oneway = other_tags(p.get("other_tags")).get("oneway")
        props = {"osm_id": int(p["osm_id"]), "name": p.get("name"), "highway": p["highway"],
                 "oneway": {"yes": True, "no": False}.get(oneway or "")}
        plans.append(_plan(YUELU_EXPORT, f, props))
    return plans


def water_areas(data_dir: Path, area: Area) -> list[Plan]:
    """Plans for the lakes and ponds of the Yuelu OSM export."""
    plans = []
    for f in _kept(area, sources.read_features(data_dir, sources.YUELU_POLYGONS)):
        p = f.properties
        if p.get("natural") != "water":
            continue
        osm_id = p.get("osm_id") or p["osm_way_id"]
        # Lakes and the river predate the model; the export only says they were there in 2021.
        plans.append(_plan(MODEL_START, f, {"osm_id": int(osm_id), "name": p.get("name"), "natural": "water"}))
    return plans


def water_lines(data_dir: Path, area: Area) -> list[Plan]:
    """Plans for the Xiang river centre line (Natural Earth 1:10m)."""
    plans = [
        _plan(MODEL_START, f, {"name": "湘江", "waterway": "river",
                               "source": "Natural Earth 1:10m rivers_lake_centerlines v4.1.0"})
        for f in _kept(area, sources.read_features(data_dir, sources.XIANG))
    ]
    for f in _kept(area, sources.read_features(data_dir, sources.YUELU_LINES)):
        if f.properties.get("waterway"):
            plans.append(_plan(MODEL_START, f, {"name": f.properties.get("name"),
                                                "waterway": f.properties["waterway"],
                                                "source": "OpenStreetMap (Yuelu export 2021-08-25)"}))
    return plans
