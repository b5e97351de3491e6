"""The sample terrain (示例数据): a ground-height grid over central Changsha for 3D placement.

There is no surveyed DEM in the sample; ``sample/terrain.py`` models the ground (a gentle rise away
from the Xiang plus a few metres of undulation) and ``python -m sample.terrain_grid`` writes that
model, sampled every 0.001° (≈ 100 m), to ``spatial/data/sample_terrain_4490.tif``. This module
reads that file so packages that may not import ``sample`` (the 3D tiles) use the same ground.

CRS: EPSG:4490, longitude/latitude degrees, x = longitude; heights in metres, 1985 national height
datum. Bilinear interpolation; NaN outside the grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio

F64 = npt.NDArray[np.float64]
GRID_FILE = Path(__file__).resolve().parent / "data" / "sample_terrain_4490.tif"
SOURCE = "示例数据: sample terrain model (spatial/data/sample_terrain_4490.tif), not a survey"


@dataclass(frozen=True)
class TerrainGrid:
    """Heights on a regular lon/lat grid: ``heights[row, col]`` at pixel centres."""

    west: float  # longitude of the first column's centre (degrees)
    north: float  # latitude of the first row's centre (degrees)
    step: float  # pixel size (degrees, the same both ways)
    heights: F64

    def elevation(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> F64:
        """Ground heights (m, 1985 datum) at lon/lat (EPSG:4490 degrees), bilinear; NaN outside the grid."""
        col = (np.asarray(lon, dtype=float) - self.west) / self.step
        row = (self.north - np.asarray(lat, dtype=float)) / self.step
        rows, cols = self.heights.shape
        inside = (col >= 0) & (col <= cols - 1) & (row >= 0) & (row <= rows - 1)
        c0 = np.clip(np.floor(col), 0, cols - 2).astype(int)
        r0 = np.clip(np.floor(row), 0, rows - 2).astype(int)
        fc, fr = np.clip(col - c0, 0, 1), np.clip(row - r0, 0, 1)
        h = self.heights
        top = h[r0, c0] * (1 - fc) + h[r0, c0 + 1] * fc
        bottom = h[r0 + 1, c0] * (1 - fc) + h[r0 + 1, c0 + 1] * fc
        out: F64 = np.where(inside, top * (1 - fr) + bottom * fr, np.nan)
        return out


@cache
def sample_terrain(path: Path = GRID_FILE) -> TerrainGrid | None:
    """The sample terrain grid (None when the file is missing: callers then have no terrain)."""
    if not path.is_file():
        return None
    with rasterio.open(path) as ds:
        t = ds.transform
        heights = ds.read(1).astype(np.float64)
    return TerrainGrid(t.c + t.a / 2, t.f + t.e / 2, t.a, heights)


def terrain_elevation(lon: npt.ArrayLike, lat: npt.ArrayLike) -> F64:
    """Sample-terrain heights at lon/lat (EPSG:4490 degrees); NaN outside it or without the file."""
    grid = sample_terrain()
    if grid is None:
        return np.full(np.shape(np.asarray(lon, dtype=float)), np.nan)
    return grid.elevation(lon, lat)
