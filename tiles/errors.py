"""Errors raised by :mod:`tiles`. Each carries an HTTP status, a type slug and a safe title."""

from __future__ import annotations

from layers.errors import LayerError


class TileError(LayerError):
    """Base class for tile problems; ``str(exc)`` is safe to show to the caller."""

    status = 400
    type_slug = "tile-error"
    title = "Tile error"


class InvalidTileParameter(TileError):
    """400: a tile query parameter (properties, filter) does not fit the layers."""

    type_slug = "invalid-tile-parameter"
    title = "Invalid tile query parameter"


class NotATileLayer(TileError):
    """404: the collection has no tiles of the kind asked for."""

    status = 404
    type_slug = "no-tiles"
    title = "This collection has no tiles of that kind"


class RasterUnavailable(TileError):
    """503: the raster file a layer's epoch names is missing on this server."""

    status = 503
    type_slug = "raster-unavailable"
    title = "The raster file for this layer is missing"
