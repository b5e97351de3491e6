"""Geodetic ↔ Earth-centred (ECEF) ↔ local east-north-up frames for 3D Tiles content.

A tile's meshes are stored in metres in the east-north-up (ENU) frame of the tile's centre and the
tile carries the 4 × 4 transform from that frame to ECEF, so float32 vertex positions keep
millimetre precision (an ECEF coordinate in float32 would be off by up to half a metre).

The ellipsoid is WGS84, which 3D Tiles and CesiumJS use; CGCS2000's differs from it by 0.1 mm in
the semi-minor axis, so EPSG:4490 degrees are used as they are.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
A = 6378137.0
F = 1 / 298.257223563
E2 = F * (2 - F)


def ecef(lon: npt.ArrayLike, lat: npt.ArrayLike, h: npt.ArrayLike) -> F64:
    """Geodetic (degrees, degrees, metres above the ellipsoid) → ECEF metres, n × 3."""
    lam, phi = np.radians(np.asarray(lon, dtype=float)), np.radians(np.asarray(lat, dtype=float))
    hh = np.asarray(h, dtype=float)
    n = A / np.sqrt(1 - E2 * np.sin(phi) ** 2)
    return np.column_stack([
        (n + hh) * np.cos(phi) * np.cos(lam),
        (n + hh) * np.cos(phi) * np.sin(lam),
        (n * (1 - E2) + hh) * np.sin(phi),
    ])


class EnuFrame:
    """The east-north-up frame at a geodetic origin (on the ellipsoid)."""

    def __init__(self, lon: float, lat: float, h: float = 0.0) -> None:
        """Set the origin (EPSG:4490 ≈ WGS84 degrees, metres)."""
        lam, phi = math.radians(lon), math.radians(lat)
        self.origin = ecef([lon], [lat], [h])[0]
        self.rotation = np.array([
            [-math.sin(lam), math.cos(lam), 0.0],
            [-math.sin(phi) * math.cos(lam), -math.sin(phi) * math.sin(lam), math.cos(phi)],
            [math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi)],
        ])

    def local(self, lon: npt.ArrayLike, lat: npt.ArrayLike, h: npt.ArrayLike) -> F64:
        """Geodetic points → ENU metres (n × 3: east, north, up) in this frame."""
        out: F64 = (ecef(lon, lat, h) - self.origin) @ self.rotation.T
        return out

    def to_ecef_matrix(self) -> list[float]:
        """The 3D Tiles tile ``transform``: ENU → ECEF, 16 numbers in column-major order."""
        e, n, u = self.rotation
        x, y, z = self.origin
        return [*map(float, e), 0.0, *map(float, n), 0.0, *map(float, u), 0.0, float(x), float(y), float(z), 1.0]


def enu_to_gltf(points: F64) -> F64:
    """ENU (z up) → glTF's y-up axes; 3D Tiles turns glTF content back to z-up when it loads it."""
    out: F64 = np.column_stack([points[:, 0], points[:, 2], -points[:, 1]])
    return out
