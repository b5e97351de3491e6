"""The lie of the land the generated layers follow: urban core, Xiang channel, built-up, ground height.

All geometry here is in the local metric frame (EPSG:4547, x = easting m).
The Xiang channel is found in the data rather than drawn: GHSL cells without
built-up volume in 2020 that form one band along the Natural Earth centreline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import rasterio.features
import shapely
from shapely.geometry import Polygon, shape
from shapely.geometry.base import BaseGeometry

from sample import sources
from sample.context import lonlat, rng, to_local

# A cell with less built-up volume than this (m³ per ~80 m cell) counts as open land.
OPEN_VOLUME_M3 = 1500.0
CHANNEL_SEARCH_M = 1500.0
RIVER_LEVEL_M = 29.0  # 湘江 normal water level at Changsha, 1985 datum [GK]


@dataclass
class Terrain:
    """Urban core, Xiang channel and GHSL lookups for one data folder."""

    ghsl: sources.Ghsl
    core_4490: BaseGeometry
    xiang_4490: BaseGeometry

    @cached_property
    def core(self) -> Polygon:
        """The urban-core AOI (local metres) without its interior holes.

        The study-area polygon has seven rectangular holes from the way its source paper
        cut it; the city does not stop there, so the sample fills them.
        """
        geom = to_local(self.core_4490)
        polygons = list(getattr(geom, "geoms", [geom]))
        biggest = max(polygons, key=lambda p: p.area)
        return Polygon(biggest.exterior)

    @cached_property
    def xiang(self) -> BaseGeometry:
        return to_local(self.xiang_4490)

    @cached_property
    def channel(self) -> BaseGeometry:
        """The Xiang's channel (with 橘子洲, local metres): open GHSL land in one band along the centreline."""
        volume = self.ghsl.band("v2020")
        mask = (volume < OPEN_VOLUME_M3).astype(np.uint8)
        cells = [shape(geom) for geom, value in
                 rasterio.features.shapes(mask, mask=mask.astype(bool), transform=self.ghsl.transform) if value == 1]
        open_land = to_local(shapely.union_all(cells))
        near = open_land.intersection(self.xiang.buffer(CHANNEL_SEARCH_M))
        # Opening (erode, then dilate) drops riverside parks joined to the channel by a thin neck.
        opened = near.buffer(-80).buffer(80)
        parts = [p for p in getattr(opened, "geoms", [opened]) if p.intersects(self.xiang.buffer(150))]
        return shapely.union_all(parts).buffer(0)

    @cached_property
    def river_margin(self) -> BaseGeometry:
        """The channel plus 25 m of bank, kept free of streets (except bridges) and pipes."""
        margin: BaseGeometry = self.channel.buffer(25)
        shapely.prepare(margin)
        return margin

    def sample_local(self, band: str, x: npt.ArrayLike, y: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """GHSL ``band`` values at local-metre points (-1 outside the rasters)."""
        lon, lat = lonlat(x, y)
        return self.ghsl.sample(band, lon, lat)

    @cached_property
    def _built_share_band(self) -> npt.NDArray[np.float64]:
        built = (self.ghsl.band("v2020") >= OPEN_VOLUME_M3).astype(np.float64)
        padded = np.pad(built, 1, mode="edge")
        rows, cols = built.shape
        share = np.zeros(built.shape, dtype=np.float64)
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                share += padded[1 + dr:1 + dr + rows, 1 + dc:1 + dc + cols] / 9.0
        return share

    def built_share(self, x: npt.ArrayLike, y: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Share of built-up GHSL cells in the 3 × 3 cells (≈ 240 m) around local-metre points; 0 outside."""
        lon, lat = lonlat(x, y)
        r, c, inside = self.ghsl.cells(lon, lat)
        return np.where(inside, self._built_share_band[r, c], 0.0)

    @cached_property
    def _relief(self) -> list[tuple[float, float, float, float]]:
        rnd = rng("terrain-relief")
        return [(rnd.uniform(600, 1800), rnd.uniform(0, 2 * math.pi), rnd.uniform(0, 2 * math.pi),
                 rnd.uniform(0.6, 1.8)) for _ in range(4)]

    def ground_elevation(self, x: npt.ArrayLike, y: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """A plausible ground height (m, 1985 datum) at local-metre points: 示例数据, there is no DEM.

        Rises gently away from the river (≈ 3.5 m per km, up to ~20 m), with a few
        metres of smooth undulation — central Changsha lies between about 30 and 60 m.
        """
        xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        # Distance from the bank: the centreline less half the channel's ~800 m width.
        dist = np.maximum(shapely.distance(self.xiang, shapely.points(xs, ys)) - 400.0, 0.0)
        z = RIVER_LEVEL_M + 3.0 + np.minimum(dist, 6000.0) * 0.0035
        for wavelength, px, py, amp in self._relief:
            z += amp * np.sin(xs / wavelength + px) * np.cos(ys / wavelength + py)
        out: npt.NDArray[np.float64] = np.round(z, 2)
        return out
