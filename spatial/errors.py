"""Errors raised by :mod:`spatial`; ``api`` maps them to problem+json in one place."""

from __future__ import annotations


class SpatialError(Exception):
    """Base class: a spatial input that cannot be used as given."""

    status: int = 400
    type_slug: str = "spatial-error"
    title: str = "Invalid spatial input"


class UnsupportedCrs(SpatialError):
    type_slug = "unsupported-crs"
    title = "Unsupported coordinate reference system"


class InvalidCoordinates(SpatialError):
    type_slug = "invalid-coordinates"
    title = "Coordinates are out of range for their CRS"


class InvalidCode(SpatialError):
    status = 422
    type_slug = "invalid-code"
    title = "Code is not in its code list"
