"""Case photos: JPEG, PNG and HEIC, checked, their EXIF GPS read, stored without EXIF.

A photo is decoded completely before anything is stored, so a corrupt or disguised file is refused
(4xx) and the request that carried it leaves nothing behind. What is stored, and so what is
served, is the image re-encoded without its metadata (EXIF, including GPS, and XMP): JPEG stays
JPEG, PNG stays PNG, HEIC becomes JPEG (browsers do not show HEIC). Its SHA-256 is stored with it.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import Any

import asyncpg
from PIL import Image, ImageOps, UnidentifiedImageError

from cases.errors import AttachmentTooLarge, CaseError, InvalidAttachment
from cases.statements import bound

try:  # HEIC needs libheif through pillow-heif; without it HEIC photos are refused with a clear 415.
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIC = True
except ImportError:  # pragma: no cover - depends on the platform's wheels
    HEIC = False

_GPS_IFD = 0x8825
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")


class CorruptAttachment(CaseError):
    """The file says it is an image of a type we take, but does not decode."""

    status = 400
    type_slug = "corrupt-attachment"
    title = "The photo is damaged"


@dataclass(frozen=True, slots=True)
class Photo:
    """A checked photo: the bytes to store (metadata stripped), their type and checksum, and where
    the camera says it was taken (EPSG:4326 ≈ 4490 lon/lat degrees, from EXIF GPS; None if absent)."""

    data: bytes
    media_type: str
    sha256: bytes
    width: int
    height: int
    lon: float | None
    lat: float | None
    filename: str | None = None


def sniff(head: bytes) -> str | None:
    """The media type the first bytes announce: image/jpeg, image/png or image/heic (None: other)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "image/heic"
    return None


def _degrees(value: Any, ref: Any, negative: str) -> float | None:
    try:
        d, m, s = (float(v) for v in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    deg = d + m / 60 + s / 3600
    return -deg if str(ref).upper().startswith(negative) else deg


def exif_point(image: Image.Image) -> tuple[float, float] | None:
    """(lon, lat) degrees from the image's EXIF GPS IFD, or None when it has none or it is unusable."""
    gps = image.getexif().get_ifd(_GPS_IFD)
    if not gps or 2 not in gps or 4 not in gps:
        return None
    lat = _degrees(gps[2], gps.get(1, "N"), "S")
    lon = _degrees(gps[4], gps.get(3, "E"), "W")
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return lon, lat


def check_photo(data: bytes, *, max_bytes: int, max_pixels: int, filename: str | None = None) -> Photo:
    """Check one uploaded file and prepare what is stored.

    Raises:
        AttachmentTooLarge: over ``max_bytes`` or ``max_pixels``.
        InvalidAttachment: not JPEG, PNG or HEIC (by content, whatever its name or declared type).
        CorruptAttachment: it does not decode.
    """
    name = filename or "photo"
    if len(data) > max_bytes:
        raise AttachmentTooLarge(f"{name} is {len(data)} bytes; the limit is {max_bytes} bytes")
    kind = sniff(data[:16])
    if kind is None or (kind == "image/heic" and not HEIC):
        raise InvalidAttachment(f"{name} is not a JPEG, PNG or HEIC image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > max_pixels:
                raise AttachmentTooLarge(f"{name} is {image.width}×{image.height} pixels; the limit is {max_pixels}")
            point = exif_point(image)
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise CorruptAttachment(f"{name} cannot be decoded as {kind}: {exc.__class__.__name__}") from None
    upright = ImageOps.exif_transpose(image) or image
    out = io.BytesIO()
    if kind == "image/png":
        upright.save(out, format="PNG", optimize=False)
        stored = "image/png"
    else:
        upright.convert("RGB").save(out, format="JPEG", quality=90)
        stored = "image/jpeg"
    body = out.getvalue()
    return Photo(body, stored, hashlib.sha256(body).digest(), upright.width, upright.height,
                 point[0] if point else None, point[1] if point else None, filename)


async def store_photo(conn: asyncpg.Connection, *, fid: int, photo: Photo, actor: str) -> int:
    """Store a checked photo for case ``fid``; returns its id."""
    sql, args = bound("attachment_insert", {
        "fid": fid, "sha256": photo.sha256, "media_type": photo.media_type, "bytes": photo.data,
        "size": len(photo.data), "width": photo.width, "height": photo.height, "lon": photo.lon,
        "lat": photo.lat, "actor": actor})
    aid: int = await conn.fetchval(sql, *args)
    return aid


async def read_photo(conn: asyncpg.Connection, *, fid: int, aid: int) -> tuple[bytes, str, str] | None:
    """(bytes, media type, sha256 hex) of photo ``aid`` of case ``fid``, or None."""
    sql, args = bound("attachment_read", {"fid": fid, "aid": aid})
    row = await conn.fetchrow(sql, *args)
    return (bytes(row["bytes"]), row["media_type"], bytes(row["sha256"]).hex()) if row else None


async def owned_by(conn: asyncpg.Connection, *, fid: int, ids: list[int]) -> list[int]:
    """Those of ``ids`` that are photos of case ``fid``."""
    sql, args = bound("attachment_owned", {"fid": fid, "ids": ids})
    return [int(r["id"]) for r in await conn.fetch(sql, *args)]
