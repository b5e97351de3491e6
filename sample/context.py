"""Constants and helpers every sample module shares: seed, dates, local metric frame, bbox.

Generation works in CGCS2000 3° Gauss-Krüger zone 38 without prefix (EPSG:4547,
x = easting m, y = northing m), the frame Changsha surveys use; storage is
EPSG:4490 lon/lat degrees. The real WGS84 sources are taken as CGCS2000 as they
are (the two datums differ by centimetres; PROJ's 4326→4490 is a null transform).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

SEED = 20261123
SAMPLE_VERSION = "2026.11.1"
LOCAL_SRID = 4547
BEIJING = dt.timezone(dt.timedelta(hours=8), "CST")

# The generated model starts here: natural features and the oldest streets are "since 1950".
MODEL_START = dt.datetime(1950, 1, 1, tzinfo=BEIJING)

# Pipelines (and the components that sit on them) are generated for central Changsha
# only — both banks from 岳麓 to 芙蓉/天心 — to keep the full load fast (EPSG:4490 lon/lat).
PIPE_AREA_4490 = (112.925, 28.160, 113.005, 28.225)

Bbox = tuple[float, float, float, float]
G = TypeVar("G", bound=BaseGeometry)


def at(year: int, month: int = 1, day: int = 1) -> dt.datetime:
    """Midnight Beijing time on a date (valid times are 北京时间, GB/T 45668)."""
    return dt.datetime(year, month, day, tzinfo=BEIJING)


def day_in_year(year: int, rnd: random.Random, *, first_month: int = 1, last_month: int = 12) -> dt.datetime:
    """A plausible completion day in ``year`` (the 28th at most, so every month has it)."""
    return at(year, rnd.randint(first_month, last_month), rnd.randint(1, 28))


def rng(*keys: object) -> random.Random:
    """A random stream fixed by the seed and ``keys``: the same feature always draws the same values,
    whichever other features are generated alongside it (so bbox loads match the full load)."""
    digest = hashlib.blake2b(repr((SEED, *keys)).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def draw(lo: float, hi: float, *keys: object) -> float:
    """One uniform draw in [lo, hi) fixed by the seed and ``keys`` — :func:`rng` without the generator,
    for the many features that need a single number."""
    digest = hashlib.blake2b(repr((SEED, *keys)).encode(), digest_size=8).digest()
    return lo + (hi - lo) * (int.from_bytes(digest, "big") / 2.0**64)


@cache
def _to_local() -> Transformer:
    return Transformer.from_crs(4490, LOCAL_SRID, always_xy=True)


@cache
def _to_storage() -> Transformer:
    return Transformer.from_crs(LOCAL_SRID, 4490, always_xy=True)


def _apply(transformer: Transformer) -> Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]:
    def fn(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return fn


def to_local(geom: G) -> G:
    """EPSG:4490 lon/lat → EPSG:4547 metres (x = easting)."""
    out: G = shapely.transform(geom, _apply(_to_local()))
    return out


def to_storage(geom: G) -> G:
    """EPSG:4547 metres → EPSG:4490 lon/lat (x = longitude)."""
    out: G = shapely.transform(geom, _apply(_to_storage()))
    return out


def lonlat(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """EPSG:4547 easting/northing (m) → EPSG:4490 lon/lat (degrees), vectorised."""
    lon, lat = _to_storage().transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


@dataclass(frozen=True, slots=True)
class Area:
    """Where a load reaches: the whole sample city, or only features touching ``bbox_4490``."""

    bbox_4490: Bbox | None = None

    def keep(self, geoms_4490: list[BaseGeometry]) -> npt.NDArray[np.bool_]:
        """Which of ``geoms_4490`` (lon/lat) touch the load's bbox (all of them without one)."""
        if self.bbox_4490 is None:
            return np.ones(len(geoms_4490), dtype=bool)
        if not geoms_4490:
            return np.zeros(0, dtype=bool)
        window = box(*self.bbox_4490)
        shapely.prepare(window)
        return np.asarray(shapely.intersects(window, np.asarray(geoms_4490, dtype=object)), dtype=bool)
