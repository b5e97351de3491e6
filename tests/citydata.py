"""Small real fixtures for tile, style and map tests, written through the versioned write path.

* buildings: real OSM footprints from ``sample/data`` in a bbox of 开福区 (about 400);
* rail stations: the real OSM stations (205);
* water pipes, points and unit grid cells: a few generated features over the same buildings,
  valid against the registry schema (test data, not sample-city data).

Every feature goes through :mod:`layers.bulk` (COPY + merge) or :mod:`layers.versioning`, so the
tables look exactly as an import leaves them, history columns included.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import shapely
from shapely.geometry import LineString, Point, box, shape

from layers.bulk import copy_rows, create_staging, drop_staging, insert_all
from layers.model import Layer
from layers.registry import Registry
from layers.versioning import FeatureIn, open_changeset, prepare
from spatial.codelists.buildings import OSM_BUILDING_TO_USE
from spatial.codelists.grid import compose_grid_code
from tests.support import SAMPLE_DATA

DATA_DIR = SAMPLE_DATA

# 望城区 near 112.92E 28.28N: a dense cluster of OSM buildings, most of them named.
AREA_4490 = (112.905, 28.270, 112.935, 28.290)
CENTRE = (112.920, 28.280)
BUILT_EARLY = dt.datetime(1995, 1, 1, tzinfo=dt.UTC)
BUILT_LATE = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)


@dataclass
class CityFixture:
    """What was loaded: counts per layer and a few handy features."""

    counts: dict[str, int] = field(default_factory=dict)
    named_building: tuple[int, str] | None = None  # (fid, name)
    station: tuple[int, str] | None = None
    grid_code: str | None = None
    pipe_fid: int | None = None


async def _stage(
    conn: asyncpg.Connection,
    layer: Layer,
    features: list[tuple[Any, dict[str, Any], dt.datetime | None]],
    *,
    changeset_id: int,
) -> int:
    staging = await create_staging(conn, layer)
    rows = []
    for i, (geom, props, valid_from) in enumerate(features):
        wkb, clean = prepare(layer, FeatureIn(geom, props), make_valid=True)
        rows.append([i, wkb, valid_from, *[clean.get(f.name) for f in layer.attributes.fields]])
    await copy_rows(conn, staging, rows)
    counts = await insert_all(conn, staging, changeset_id=changeset_id)
    await drop_staging(conn, staging)
    return counts.inserted


def _buildings(limit: int) -> list[tuple[Any, dict[str, Any], dt.datetime | None]]:
    data = json.loads((DATA_DIR / "changsha/buildings/osm_buildings_changsha_partial.geojson").read_text())
    area = box(*AREA_4490)
    out = []
    for f in data["features"]:
        geom = shape(f["geometry"])
        if not area.contains(geom.centroid):
            continue
        p = f["properties"]
        height = p.get("height_m")
        floors = p.get("levels_num")
        props: dict[str, Any] = {
            "source_id": f"osm:{p['osm_type']}/{p['osm_id']}",
            "use": OSM_BUILDING_TO_USE.get(p.get("building") or "", "other"),
            "name": p.get("name_zh") or p.get("name"),
            "address": " ".join(filter(None, [p.get("addr_district"), p.get("addr_street")])) or None,
            "height_m": float(height) if height is not None else (float(floors) * 3.0 if floors else 12.0),
            "height_source": "measured" if height is not None else ("floors" if floors else "default"),
            "floors": int(floors) if floors else None,
        }
        # Half the city "appears" in 2015 so the time slider has something to show.
        valid_from = BUILT_LATE if len(out) % 2 else BUILT_EARLY
        props["year_built"] = valid_from.year
        props["year_source"] = "unknown"
        out.append(
            (
                shapely.geometry.MultiPolygon([geom]) if geom.geom_type == "Polygon" else geom,
                props,
                valid_from,
            )
        )
        if len(out) >= limit:
            break
    return out


def _stations() -> list[tuple[Any, dict[str, Any], dt.datetime | None]]:
    data = json.loads((DATA_DIR / "changsha/transport/osm_railway_stations_changsha.geojson").read_text())
    out = []
    for f in data["features"]:
        p = f["properties"]
        station = p.get("station") if p.get("station") in ("subway", "train", "monorail", "light_rail") else "train"
        out.append((shape(f["geometry"]), {"name": p.get("name"), "station": station}, BUILT_EARLY))
    return out


def _water_pipes() -> tuple[list[Any], list[Any]]:
    """Two pipe runs crossing the area (west–east and south–north), split every ~100 m."""
    x0, y0, x1, y1 = AREA_4490
    cx, cy = CENTRE
    runs = [
        LineString([(x0 + 0.001, cy), (x1 - 0.001, cy)]),
        LineString([(cx, y0 + 0.001), (cx, y1 - 0.001)]),
    ]
    segments, points = [], []
    n = 0
    for r, run in enumerate(runs):
        steps = max(2, int(run.length / 0.001))
        coords = [run.interpolate(i / steps, normalized=True) for i in range(steps + 1)]
        for i, pt in enumerate(coords):
            points.append(
                (
                    pt,
                    {
                        "point_no": f"JS{r}{i:03d}",
                        "category": "JS",
                        "subcategory": "JP",
                        "appurtenance": "FM" if i % 4 == 0 else None,
                        "feature_point": None if i % 4 == 0 else "ZXD",
                        "ground_elev_m": 45.0,
                        "status": "0",
                    },
                    BUILT_EARLY,
                )
            )
        for i in range(steps):
            n += 1
            segments.append(
                (
                    LineString([coords[i], coords[i + 1]]),
                    {
                        "segment_no": f"JS-{r}-{i:03d}",
                        "category": "JS",
                        "subcategory": "JP",
                        "feature_code": "51041000",
                        "start_point": f"JS{r}{i:03d}",
                        "end_point": f"JS{r}{i + 1:03d}",
                        "start_depth_m": 1.2,
                        "end_depth_m": 1.3,
                        "material": "QM",
                        "diameter_mm": 300,
                        "status": "0",
                        "owner": "长沙水业集团",
                        "build_year": 1995,
                        "road_name": "测试路",
                    },
                    BUILT_EARLY,
                )
            )
    return segments, points


def _grid_cells() -> list[tuple[Any, dict[str, Any], dt.datetime | None]]:
    x0, y0, x1, y1 = AREA_4490
    step = 0.005
    out = []
    seq = 0
    y = y1
    while y - step >= y0 - 1e-9:
        x = x0
        while x + step <= x1 + 1e-9:
            seq += 1
            cell = box(x, y - step, x + step, y)
            out.append(
                (
                    shapely.geometry.MultiPolygon([cell]),
                    {
                        "grid_code": compose_grid_code("430105", 1, 1, seq),
                        "district_adcode": "430105",
                        "street_no": "001",
                        "community_no": "001",
                        "area_m2": 240_000.0,
                    },
                    BUILT_EARLY,
                )
            )
            x += step
        y -= step
    return out


async def load_city(conn: asyncpg.Connection, *, buildings: int = 400) -> CityFixture:
    """Load the fixture city into the database behind ``conn`` (commit is the caller's business)."""
    registry = await Registry.load(conn)
    cs = await open_changeset(conn, actor="pytest", source="test", note="tile test fixture")
    fx = CityFixture()
    for layer_id, feats in [
        ("buildings", _buildings(buildings)),
        ("rail_stations", _stations()),
        ("grid_cells", _grid_cells()),
    ]:
        fx.counts[layer_id] = await _stage(conn, registry.get(layer_id), feats, changeset_id=cs)
    segments, points = _water_pipes()
    fx.counts["pipeline_water_segments"] = await _stage(
        conn, registry.get("pipeline_water_segments"), segments, changeset_id=cs
    )
    fx.counts["pipeline_water_points"] = await _stage(
        conn, registry.get("pipeline_water_points"), points, changeset_id=cs
    )
    row = await conn.fetchrow("SELECT fid, name FROM data.buildings WHERE name IS NOT NULL ORDER BY fid LIMIT 1")
    if row:
        fx.named_building = (row["fid"], row["name"])
    row = await conn.fetchrow(
        "SELECT fid, name FROM data.rail_stations WHERE name IS NOT NULL AND "
        "geom && ST_MakeEnvelope(112.9, 28.1, 113.1, 28.35, 4490) ORDER BY fid LIMIT 1"
    )
    if row:
        fx.station = (row["fid"], row["name"])
    fx.grid_code = await conn.fetchval("SELECT grid_code FROM data.grid_cells ORDER BY grid_code LIMIT 1")
    fx.pipe_fid = await conn.fetchval("SELECT fid FROM data.pipeline_water_segments ORDER BY fid LIMIT 1")
    return fx


def point_in_area() -> Point:
    return Point(*CENTRE)
