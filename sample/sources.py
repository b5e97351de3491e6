"""Reading the real Changsha sources: GeoJSON files and the GHSL rasters.

Every path is relative to the sample data folder: ``sample/data`` in this repository (its
``changsha/SOURCES.md`` says where each file comes from and under which licence), or the folder
named by ``ONEMAP_DATA_DIR``, which overrides it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from layers.errors import LayerError

BOUNDARIES = "changsha/boundaries/changsha_admin_cnmaps_wgs84.geojson"
OSM_BOUNDARIES = "changsha/boundaries/osm_admin_boundaries_wgs84.geojson"
AOI = "changsha/boundaries/aoi_changsha_urban_core.geojson"
BUILDINGS = "changsha/buildings/osm_buildings_changsha_partial.geojson"
STATIONS = "changsha/transport/osm_railway_stations_changsha.geojson"
POWER = "changsha/power/osm_power_polygons_changsha.geojson"
XIANG = "changsha/water/ne10m_xiang_river_centerline_changsha.geojson"
YUELU_LINES = "changsha/osm_sample_yuelu/yuelu_csu_2021_lines.geojson"
YUELU_POLYGONS = "changsha/osm_sample_yuelu/yuelu_csu_2021_multipolygons.geojson"
GHSL = {
    "age": "changsha/raster/ghs_age_changsha_epsg4326.tif",
    "height": "changsha/raster/ghs_built_h_changsha_epsg4326.tif",
    **{f"v{y}": f"changsha/raster/ghs_built_v_changsha_{y}_epsg4326.tif" for y in (1975, 1990, 2000, 2010, 2020)},
}
VECTOR_SOURCES = (BOUNDARIES, OSM_BOUNDARIES, AOI, BUILDINGS, STATIONS, POWER, XIANG, YUELU_LINES, YUELU_POLYGONS)


class SampleDataMissing(LayerError):
    status = 500
    type_slug = "sample-data-missing"
    title = "The sample city's source data is missing"


BUNDLED_DATA = Path(__file__).resolve().parent / "data"


def find_data_dir() -> Path | None:
    """The sample data folder the repository carries (``sample/data``), or ``None`` if it was removed."""
    return BUNDLED_DATA if (BUNDLED_DATA / "changsha").is_dir() else None


def check_sources(data_dir: Path) -> None:
    """Raise :class:`SampleDataMissing`, naming every missing file, unless all sources are there."""
    missing = [p for p in (*VECTOR_SOURCES, *GHSL.values()) if not (data_dir / p).is_file()]
    if missing:
        raise SampleDataMissing(
            f"the sample city needs {len(missing)} file(s) missing under {data_dir}: "
            + ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            + ". The repository carries them under sample/data; ONEMAP_DATA_DIR, when set,"
            + " must name a folder laid out the same way."
        )


@dataclass(frozen=True, slots=True)
class SourceFeature:
    """One GeoJSON feature: geometry in the file's lon/lat (WGS84 ≈ CGCS2000) and its properties."""

    geometry: BaseGeometry
    properties: dict[str, Any]


def read_features(data_dir: Path, relpath: str) -> list[SourceFeature]:
    """Every feature with a geometry in a GeoJSON file (lon/lat degrees, x = longitude)."""
    with (data_dir / relpath).open(encoding="utf-8") as fh:
        collection = json.load(fh)
    return [
        SourceFeature(shape(f["geometry"]), dict(f.get("properties") or {}))
        for f in collection["features"]
        if f.get("geometry")
    ]


class Ghsl:
    """The GHSL rasters of central Changsha (EPSG:4326 grid ≈ 80 m × 72 m cells), sampled at points.

    ``age`` classes: 0 none, 1 before 1980, 2 1980–89, 3 1990–99, 4 2000–09, 5 2010–20.
    ``height``: average net building height (m). ``v1975`` … ``v2020``: built-up volume (m³ per cell).
    Outside the rasters every value reads as -1.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        with rasterio.open(data_dir / GHSL["age"]) as src:
            if src.transform.b or src.transform.d:
                raise SampleDataMissing(f"{GHSL['age']} is rotated; the GHSL tiles are expected north-up")
            self.transform = src.transform
            self.shape = (src.height, src.width)
            self.bounds = tuple(src.bounds)

    @cached_property
    def _bands(self) -> dict[str, npt.NDArray[np.float64]]:
        bands: dict[str, npt.NDArray[np.float64]] = {}
        for name, rel in GHSL.items():
            with rasterio.open(self.data_dir / rel) as src:
                if src.transform != self.transform or (src.height, src.width) != self.shape:
                    raise SampleDataMissing(f"{rel} is not on the same grid as the age raster")
                band = src.read(1).astype(np.float64)
                nodata = src.nodata
                # Heights of 200 m+ and the nodata fill both mean "no value" in these tiles.
                invalid = (band == nodata) if nodata is not None else np.zeros(band.shape, dtype=bool)
                if name == "height":
                    invalid |= band >= 200
                band[invalid] = 0.0
                bands[name] = band
        return bands

    def cells(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64],
                                                                     npt.NDArray[np.bool_]]:
        """Row, column and inside-flag of the cells holding lon/lat points (EPSG:4326 degrees)."""
        t = self.transform  # north-up: no rotation terms
        r = np.floor((np.asarray(lat, dtype=float) - t.f) / t.e).astype(np.int64)
        c = np.floor((np.asarray(lon, dtype=float) - t.c) / t.a).astype(np.int64)
        inside = (r >= 0) & (c >= 0) & (r < self.shape[0]) & (c < self.shape[1])
        return np.clip(r, 0, self.shape[0] - 1), np.clip(c, 0, self.shape[1] - 1), inside

    def sample(self, name: str, lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Values of band ``name`` at lon/lat points (EPSG:4326 degrees); -1 outside the rasters."""
        r, c, inside = self.cells(lon, lat)
        values = self._bands[name][r, c]
        return np.where(inside, values, -1.0)

    def band(self, name: str) -> npt.NDArray[np.float64]:
        """A whole band (rows north → south), nodata read as 0."""
        return self._bands[name]
