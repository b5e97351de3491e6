"""Which CRS and axis order a survey delivery's coordinates are in, and why.

Deliveries arrive with a ``.prj``, with a CRS named on the command line, or with
nothing at all. Chinese survey tables also put **X = northing, Y = easting**
(domain.md §1.3), and Gauss-Krüger eastings may or may not carry the zone prefix.
:func:`decide_crs` settles all of that from the declared CRS (if any) and the
coordinate extent, and always says why, so the import report can show it.

Coordinates here are the source's own numbers, in the source's units (metres or
degrees). "x"/"y" mean the first/second value of each source coordinate pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from pyproj import CRS
from pyproj.exceptions import CRSError

from spatial.crs import CRS84, STORAGE_SRID, CrsRef, crs_ref, guess_gk3, is_supported_srid, parse_crs
from spatial.errors import InvalidCoordinates, UnsupportedCrs

XyOrder = Literal["auto", "en", "ne"]

# Changsha prefecture with a generous margin, per coordinate kind (domain.md §3.1).
_LON = (108.0, 118.0)
_LAT = (24.0, 32.0)
_NORTHING = (2_600_000.0, 3_600_000.0)  # metres north of the equator for 24–32°N
_PLAIN_EASTING = (100_000.0, 900_000.0)
_PREFIXED_EASTING = (25_000_000.0, 46_000_000.0)

# Legacy datums need local (often confidential) parameters to reach CGCS2000, so they
# are refused with a hint instead of being transformed with a ballpark guess.
_LEGACY = {"Xian 1980": "Xian 1980 (西安80)", "Beijing 1954": "Beijing 1954 (北京54)", "New Beijing": "New Beijing"}


@dataclass(frozen=True, slots=True)
class CrsDecision:
    """How to read a delivery's coordinates.

    Attributes:
        crs: The CRS of the coordinates once ``swap_xy`` is applied (x = easting/longitude).
        swap_xy: True when the source's first value is the northing/latitude.
        reason: One sentence for the report: where the CRS came from, which zone was assumed.
    """

    crs: CrsRef
    swap_xy: bool
    reason: str


def _within(values: npt.NDArray[np.float64], bounds: tuple[float, float]) -> bool:
    return bool(values.size) and bool(np.all((values >= bounds[0]) & (values <= bounds[1])))


def srid_from_declared(declared: str) -> int:
    """EPSG code of a CRS given as ``EPSG:nnnn`` or WKT (ESRI ``.prj`` files included).

    Raises:
        UnsupportedCrs: when the CRS is unknown, legacy (Xian 80, Beijing 54) or not accepted.
    """
    try:
        crs = CRS.from_user_input(declared)
    except CRSError as exc:
        raise UnsupportedCrs(f"cannot read the declared CRS: {declared[:80]!r}") from exc
    for marker, label in _LEGACY.items():
        if marker.lower() in crs.name.lower() or (crs.geodetic_crs and marker.lower() in crs.geodetic_crs.name.lower()):
            raise UnsupportedCrs(
                f"{crs.name} is on the {label} datum; convert it to CGCS2000 with the city's own "
                "transformation parameters first (they are not public, so One Map does not guess them)"
            )
    srid = crs.to_epsg(min_confidence=70)
    if srid is None:
        raise UnsupportedCrs(f"the declared CRS {crs.name!r} has no EPSG code One Map recognises; use --crs")
    if not is_supported_srid(srid):
        raise UnsupportedCrs(
            f"EPSG:{srid} ({crs.name}) is not accepted; deliver in CGCS2000 (EPSG:4490 or a GK zone "
            "4513–4554), WGS84, or declare gcj02/bd09"
        )
    return srid


def _xy_columns(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], order: XyOrder) -> tuple[bool, str]:
    """Decide whether projected (x, y) must be swapped; returns (swap, why)."""
    if order == "ne":
        return True, "X is northing (--xy-order ne)"
    if order == "en":
        return False, "x is easting (--xy-order en)"
    if _within(x, _NORTHING) and not _within(y, _NORTHING):
        return True, "X values are northings (Chinese survey convention X = north), so X and Y were swapped"
    return False, ""


def decide_crs(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    given: str | None = None,
    declared: str | None = None,
    xy_order: XyOrder = "auto",
) -> CrsDecision:
    """Choose the CRS and axis order of source coordinates.

    Args:
        x: First coordinate of (a sample of) the source points, source units.
        y: Second coordinate, source units.
        given: ``--crs`` from the command line (EPSG code, URI, ``gcj02``, ``bd09``); wins.
        declared: CRS stored with the data (``.prj`` WKT, GeoPackage ``EPSG:nnnn``), if any.
        xy_order: ``"ne"`` when the first value is the northing, ``"en"`` when it is the
            easting, ``"auto"`` to tell from the numbers.

    Raises:
        UnsupportedCrs: for CRSs One Map does not accept.
        InvalidCoordinates: when the numbers fit no CRS One Map knows for Changsha.
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    finite = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[finite], ys[finite]
    if given:
        crs = parse_crs(given)
        return _with_order(crs, xs, ys, xy_order, f"CRS {given} from --crs")
    if declared:
        srid = srid_from_declared(declared)
        return _with_order(crs_ref(srid), xs, ys, xy_order, f"CRS EPSG:{srid} declared by the data")
    return guess_from_numbers(xs, ys, xy_order=xy_order)


def _with_order(
    crs: CrsRef, xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64], order: XyOrder, source: str
) -> CrsDecision:
    if crs.is_geographic:
        swap = order == "ne" or (order == "auto" and _within(xs, _LAT) and _within(ys, _LON))
        why = "; the first value is latitude, so axes were swapped" if swap else ""
        return CrsDecision(crs, swap, source + why)
    swap, why = _xy_columns(xs, ys, order)
    return CrsDecision(crs, swap, source + (f"; {why}" if why else ""))


def guess_from_numbers(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], *, xy_order: XyOrder = "auto"
) -> CrsDecision:
    """The CRS of coordinates that came with none, from their magnitudes around Changsha.

    Degrees are read as CGCS2000 (EPSG:4490, equal to WGS84 within centimetres); metres as
    a CGCS2000 3-degree GK zone, with or without the zone prefix (:func:`spatial.crs.guess_gk3`).

    Raises:
        InvalidCoordinates: when the numbers fit neither.
    """
    if x.size == 0:
        raise InvalidCoordinates("the delivery has no coordinates to tell its CRS from; use --crs")
    if xy_order != "ne" and _within(x, _LON) and _within(y, _LAT):
        return CrsDecision(
            crs_ref(STORAGE_SRID), False,
            "no CRS given; the values are longitude/latitude degrees, read as CGCS2000 (EPSG:4490). "
            "Say --crs gcj02 or --crs bd09 if they were captured on a Chinese web map",
        )
    if xy_order != "en" and _within(x, _LAT) and _within(y, _LON):
        return CrsDecision(
            crs_ref(STORAGE_SRID), True,
            "no CRS given; the values are latitude/longitude degrees (latitude first), read as CGCS2000 "
            "(EPSG:4490) with the axes swapped",
        )
    swap, why = _xy_columns(x, y, xy_order)
    east, north = (y, x) if swap else (x, y)
    if not _within(north, _NORTHING) or not (_within(east, _PLAIN_EASTING) or _within(east, _PREFIXED_EASTING)):
        raise InvalidCoordinates(
            "the coordinates are neither Changsha longitude/latitude nor CGCS2000 Gauss-Krüger metres "
            f"(x {float(x.min()):.1f}…{float(x.max()):.1f}, y {float(y.min()):.1f}…{float(y.max()):.1f}); "
            "declare the CRS with --crs"
        )
    guess = guess_gk3(east)
    reason = f"no CRS given; metres read as CGCS2000 GK EPSG:{guess.srid}: {guess.reason}"
    return CrsDecision(crs_ref(guess.srid), swap, reason + (f"; {why}" if why else ""))


def describe(decision: CrsDecision) -> dict[str, object]:
    """The decision as JSON for reports."""
    crs = decision.crs
    name = crs.offset or ("CRS84" if crs == CRS84 else f"EPSG:{crs.srid}")
    return {"crs": name, "uri": crs.uri, "swap_xy": decision.swap_xy, "reason": decision.reason}
