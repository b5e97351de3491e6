"""GCJ-02 ("Mars coordinates") and BD-09, to and from WGS84/CGCS2000.

All functions take and return **longitude, latitude in degrees** (x, y order), as
numpy arrays or floats. The GCJ-02 formula is the public reverse-engineered one
(Krasovsky constants); CGCS2000 and WGS84 differ by centimetres, far below the
GCJ-02 shift (about 660 m in Changsha), so CGCS2000 degrees are accepted as WGS84.

Inverses are iterative so that a round trip is better than 1e-8° (≈1 mm), which
the survey-grade import needs; the common one-step inverse is only metre-level.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import numpy.typing as npt

_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

FloatArray = npt.NDArray[np.float64]
ArrayOrFloat = TypeVar("ArrayOrFloat", FloatArray, float)


def _as_arrays(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def in_china(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where (lon, lat) in degrees lies in the rough box where GCJ-02 applies.

    The offset is only defined for mainland China; outside it GCJ-02 equals WGS84.
    """
    x, y = _as_arrays(lon, lat)
    return np.asarray((x > 72.004) & (x < 137.8347) & (y > 0.8293) & (y < 55.8271))


def _delta(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x = lon - 105.0
    y = lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS84 (or CGCS2000) lon/lat degrees → GCJ-02 lon/lat degrees."""
    x, y = _as_arrays(lon, lat)
    dx, dy = _delta(x, y)
    return x + dx, y + dy


def gcj02_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tolerance_deg: float = 1e-10, max_iter: int = 30
) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 lon/lat degrees → WGS84 lon/lat degrees by fixed-point iteration.

    Converges to ``tolerance_deg`` (default ≈ 0.01 mm) in a handful of steps
    because the offset field is smooth at city scale.
    """
    gx, gy = _as_arrays(lon, lat)
    wx, wy = gx.copy(), gy.copy()
    for _ in range(max_iter):
        fx, fy = wgs84_to_gcj02(wx, wy)
        ex, ey = fx - gx, fy - gy
        wx, wy = wx - ex, wy - ey
        if float(np.max(np.abs(ex), initial=0.0)) < tolerance_deg and float(
            np.max(np.abs(ey), initial=0.0)
        ) < tolerance_deg:
            break
    return wx, wy


def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 lon/lat degrees → BD-09 lon/lat degrees (Baidu)."""
    x, y = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tolerance_deg: float = 1e-10, max_iter: int = 30
) -> tuple[FloatArray, FloatArray]:
    """BD-09 lon/lat degrees → GCJ-02 lon/lat degrees, iterated to ``tolerance_deg``."""
    bx, by = _as_arrays(lon, lat)
    x, y = bx - 0.0065, by - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    gx, gy = z * np.cos(theta), z * np.sin(theta)
    for _ in range(max_iter):
        fx, fy = gcj02_to_bd09(gx, gy)
        ex, ey = fx - bx, fy - by
        gx, gy = gx - ex, gy - ey
        if float(np.max(np.abs(ex), initial=0.0)) < tolerance_deg and float(
            np.max(np.abs(ey), initial=0.0)
        ) < tolerance_deg:
            break
    return gx, gy


def wgs84_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS84 lon/lat degrees → BD-09 lon/lat degrees."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """BD-09 lon/lat degrees → WGS84 lon/lat degrees (both steps iterative)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))
