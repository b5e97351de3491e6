"""Coordinate reference systems One Map accepts, and transforms into storage CRS.

Storage is CGCS2000 geographic, EPSG:4490. Every function here works in
**traditional GIS order** (x = longitude or easting, y = latitude or northing),
whatever the EPSG axis order of the CRS says; axis order is applied only at the
edges (OGC API output for EPSG:4326/4490, survey tables with X = northing).

Pseudo-CRSs ``gcj02`` and ``bd09`` are the Chinese web-map offset datums; they are
not in the EPSG registry, so they are converted with :mod:`spatial.offsets`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer

from spatial import offsets
from spatial.errors import InvalidCoordinates, UnsupportedCrs

STORAGE_SRID = 4490
CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{code}"

GK3_PREFIXED_BASE = 4513  # EPSG:4513 = CGCS2000 3-degree GK zone 25, easting with zone prefix
GK3_PLAIN_BASE = 4534  # EPSG:4534 = CGCS2000 3-degree GK CM 75E, easting without prefix
GK3_FIRST_ZONE = 25
GK3_LAST_ZONE = 45
CHANGSHA_GK_ZONE = 38  # central meridian 114°E covers 112.5–115.5°E

GCJ02 = "gcj02"
BD09 = "bd09"


@dataclass(frozen=True, slots=True)
class CrsRef:
    """A CRS One Map understands: an EPSG code, CRS84, or a Chinese offset datum.

    Attributes:
        srid: EPSG code used for PostGIS (CRS84 → 4326; offsets → 4490 after conversion).
        uri: The OGC URI clients see.
        offset: ``"gcj02"``/``"bd09"`` for offset datums, else ``None``.
        lat_first: True when the CRS's authority axis order is latitude first
            (EPSG:4326, EPSG:4490); OGC API output must then be (lat, lon).
        north_first: True for Gauss-Krüger codes whose EPSG order is northing first.
    """

    srid: int
    uri: str
    offset: str | None = None
    lat_first: bool = False
    north_first: bool = False

    @property
    def is_geographic(self) -> bool:
        return self.offset is not None or _crs(self.srid).is_geographic


@lru_cache(maxsize=64)
def _crs(srid: int) -> CRS:
    return CRS.from_epsg(srid)


def gk3_srid(zone: int, *, prefixed: bool) -> int:
    """EPSG code of the CGCS2000 3-degree Gauss-Krüger zone (25–45).

    ``prefixed`` selects the variant whose easting carries the zone number
    (e.g. 38 500 000 m, EPSG:4526) instead of the bare 500 000 m false easting (EPSG:4547).
    """
    if not GK3_FIRST_ZONE <= zone <= GK3_LAST_ZONE:
        raise UnsupportedCrs(f"CGCS2000 3-degree zone {zone} does not exist (25–45)")
    return (GK3_PREFIXED_BASE if prefixed else GK3_PLAIN_BASE) + zone - GK3_FIRST_ZONE


def gk3_zone_of_srid(srid: int) -> tuple[int, bool] | None:
    """(zone, prefixed) for a CGCS2000 3-degree GK EPSG code, or None."""
    if GK3_PREFIXED_BASE <= srid <= GK3_PREFIXED_BASE + GK3_LAST_ZONE - GK3_FIRST_ZONE:
        return srid - GK3_PREFIXED_BASE + GK3_FIRST_ZONE, True
    if GK3_PLAIN_BASE <= srid <= GK3_PLAIN_BASE + GK3_LAST_ZONE - GK3_FIRST_ZONE:
        return srid - GK3_PLAIN_BASE + GK3_FIRST_ZONE, False
    return None


def gk3_zone_for_longitude(lon: float) -> int:
    """3-degree zone whose central meridian (3°·zone) is nearest ``lon`` (degrees east)."""
    return round(lon / 3.0)


# Explicitly allow-listed so a typo in a request never silently picks an exotic CRS.
_EXTRA_ALLOWED = {4490, 4326, 3857, 4479, 4480}
_URI_RE = re.compile(r"^https?://www\.opengis\.net/def/crs/(?P<auth>EPSG|OGC)/[^/]+/(?P<code>[A-Za-z0-9]+)$")
_CURIE_RE = re.compile(r"^\[?(?P<auth>EPSG|OGC):(?:[^:]*:)?(?P<code>[A-Za-z0-9]+)\]?$", re.IGNORECASE)


def is_supported_srid(srid: int) -> bool:
    """Whether One Map accepts coordinates in EPSG ``srid`` (4490, 4326, 3857, CGCS2000 GK zones …)."""
    return srid in _EXTRA_ALLOWED or gk3_zone_of_srid(srid) is not None


def crs_ref(srid: int) -> CrsRef:
    """The :class:`CrsRef` for an EPSG code One Map supports."""
    if not is_supported_srid(srid):
        raise UnsupportedCrs(
            f"EPSG:{srid} is not supported; use EPSG:4490, CRS84, EPSG:4326, EPSG:3857, "
            "or a CGCS2000 Gauss-Krüger zone (EPSG:4513–4554)"
        )
    crs = _crs(srid)
    first = crs.axis_info[0].direction.lower() if crs.axis_info else "east"
    return CrsRef(
        srid=srid,
        uri=EPSG_URI.format(code=srid),
        lat_first=crs.is_geographic and first == "north",
        north_first=not crs.is_geographic and first == "north",
    )


CRS84 = CrsRef(srid=4326, uri=CRS84_URI)
STORAGE = crs_ref(STORAGE_SRID)


def parse_crs(value: str | int) -> CrsRef:
    """Parse a CRS given as an OGC URI, a CURIE, ``EPSG:nnnn``, a bare code, or gcj02/bd09.

    Raises:
        UnsupportedCrs: for anything not on the supported list.
    """
    if isinstance(value, int):
        return crs_ref(value)
    text = value.strip()
    low = text.lower().replace("-", "").replace("_", "")
    if low in {"gcj02", "gcj", "mars"}:
        return CrsRef(srid=STORAGE_SRID, uri=GCJ02, offset=GCJ02)
    if low in {"bd09", "bd09ll", "baidu"}:
        return CrsRef(srid=STORAGE_SRID, uri=BD09, offset=BD09)
    if low in {"crs84", "ogc:crs84", "urn:ogc:def:crs:ogc:1.3:crs84", "urn:ogc:def:crs:ogc::crs84"}:
        return CRS84
    if text.isdigit():
        return crs_ref(int(text))
    match = _URI_RE.match(text) or _CURIE_RE.match(text)
    if match is None and text.lower().startswith("urn:ogc:def:crs:epsg:"):
        code = text.rsplit(":", 1)[-1]
        if code.isdigit():
            return crs_ref(int(code))
    if match is None:
        raise UnsupportedCrs(f"cannot read CRS {value!r}")
    auth, code = match.group("auth").upper(), match.group("code")
    if auth == "OGC":
        if code.upper() == "CRS84":
            return CRS84
        raise UnsupportedCrs(f"OGC CRS {code!r} is not supported")
    if not code.isdigit():
        raise UnsupportedCrs(f"EPSG code {code!r} is not a number")
    return crs_ref(int(code))


@lru_cache(maxsize=64)
def _transformer(src: int, dst: int) -> Transformer:
    return Transformer.from_crs(_crs(src), _crs(dst), always_xy=True)


def transform_xy(
    x: npt.ArrayLike, y: npt.ArrayLike, *, src: CrsRef, dst_srid: int = STORAGE_SRID
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Transform coordinates in x/y order (lon/lat or easting/northing) from ``src`` to ``dst_srid``.

    Offset datums are first removed (GCJ-02/BD-09 → WGS84 ≈ CGCS2000), then the
    result is projected if ``dst_srid`` is not geographic.
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if src.offset == GCJ02:
        xs, ys = offsets.gcj02_to_wgs84(xs, ys)
        src_srid = STORAGE_SRID
    elif src.offset == BD09:
        xs, ys = offsets.bd09_to_wgs84(xs, ys)
        src_srid = STORAGE_SRID
    else:
        src_srid = src.srid
    if src_srid == dst_srid:
        return xs, ys
    ox, oy = _transformer(src_srid, dst_srid).transform(xs, ys)
    ox, oy = np.asarray(ox, dtype=np.float64), np.asarray(oy, dtype=np.float64)
    if not (np.all(np.isfinite(ox)) and np.all(np.isfinite(oy))):
        raise InvalidCoordinates(f"coordinates fall outside the area of use of EPSG:{src_srid}")
    return ox, oy


@dataclass(frozen=True, slots=True)
class GkGuess:
    """Which Gauss-Krüger zone a set of projected coordinates was read as, and why."""

    srid: int
    zone: int
    prefixed: bool
    reason: str


def guess_gk3(
    easting: npt.ArrayLike, *, default_zone: int = CHANGSHA_GK_ZONE
) -> GkGuess:
    """Decide the CGCS2000 3-degree GK CRS of eastings in metres (x = easting).

    Eastings of 8 digits carry the zone number in front (38 xxx xxx → zone 38,
    EPSG:4526). Six-digit eastings (around the 500 000 m false easting) carry no
    zone, so ``default_zone`` is assumed, and the reason says so.

    Raises:
        InvalidCoordinates: when eastings mix the two forms or fit neither.
    """
    xs = np.asarray(easting, dtype=np.float64)
    if xs.size == 0:
        raise InvalidCoordinates("no coordinates to guess a zone from")
    zones = np.floor(xs / 1_000_000.0).astype(int)
    if np.all((zones >= GK3_FIRST_ZONE) & (zones <= GK3_LAST_ZONE)):
        unique = np.unique(zones)
        if unique.size != 1:
            raise InvalidCoordinates(f"eastings carry several zone prefixes: {sorted(unique.tolist())}")
        zone = int(unique[0])
        return GkGuess(gk3_srid(zone, prefixed=True), zone, True, f"easting prefix {zone} → zone {zone}")
    if np.all((xs > 100_000) & (xs < 900_000)):
        return GkGuess(
            gk3_srid(default_zone, prefixed=False),
            default_zone,
            False,
            f"eastings have no zone prefix; assumed zone {default_zone} (CM {default_zone * 3}°E)",
        )
    raise InvalidCoordinates(
        "eastings are neither 6-digit (no zone prefix) nor 8-digit with a zone prefix 25–45; "
        "are X and Y swapped? Chinese survey tables put northing in X"
    )
