"""Raster layers as coloured PNG tiles (rio-tiler), with ``datetime`` choosing the epoch.

A raster layer's registry metadata lists its epochs (files relative to the data folder); the
style source (:mod:`styles.sources`) holds the colour map, so the legend and the tiles agree.
"""

from __future__ import annotations

import datetime as dt
import itertools
import warnings
from functools import cache
from pathlib import Path

import numpy as np
from rasterio.errors import NotGeoreferencedWarning
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader
from rio_tiler.models import ImageData

from layers.model import Layer, RasterEpoch
from layers.temporal import AsOf, AsRecorded, Current, During, Selection
from spatial.tms import get_tms
from styles.catalog import source_for
from styles.model import RasterRamp, Rgb
from tiles.errors import NotATileLayer, RasterUnavailable

Colormap = dict[int, tuple[int, int, int, int]]
TILE_SIZE = 256


def pick_epoch(layer: Layer, selection: Selection) -> RasterEpoch | None:
    """The epoch a request sees: the latest one that had started by the requested instant.

    ``Current`` sees the newest epoch; an interval sees the newest epoch before its end. Before
    the first epoch there is no data (None), so the time slider shows the city before it existed.
    """
    info = layer.metadata.raster
    if info is None:
        raise NotATileLayer(f"{layer.id} is not a raster layer")
    epochs = sorted(info.epochs, key=lambda e: e.datetime)
    if isinstance(selection, Current):
        return epochs[-1]
    at: dt.datetime | None
    if isinstance(selection, AsOf):
        at = selection.at
    elif isinstance(selection, During):
        at = selection.end
    else:
        assert isinstance(selection, AsRecorded)
        at = selection.at
    if at is None:
        return epochs[-1]
    started = [e for e in epochs if e.datetime <= at]
    return started[-1] if started else None


def _lerp(stops: tuple[tuple[float, Rgb], ...], value: float) -> Rgb:
    if value <= stops[0][0]:
        return stops[0][1]
    for (v0, c0), (v1, c1) in itertools.pairwise(stops):
        if value <= v1:
            t = (value - v0) / (v1 - v0) if v1 > v0 else 0.0
            return tuple(round(a + (b - a) * t) for a, b in zip(c0, c1, strict=True))  # type: ignore[return-value]
    return stops[-1][1]


@cache
def continuous_colormap(ramp: RasterRamp) -> tuple[float, float, Colormap]:
    """(vmin, vmax, 256-entry colour map) for a linear ramp; index i stands for vmin + i·(vmax−vmin)/255."""
    vmin, vmax = 0.0, ramp.stops[-1][0]
    cmap: Colormap = {}
    for i in range(256):
        value = vmin + i * (vmax - vmin) / 255
        if ramp.transparent_below is not None and value < ramp.transparent_below:
            cmap[i] = (0, 0, 0, 0)
        else:
            cmap[i] = (*_lerp(ramp.stops, value), 255)
    return vmin, vmax, cmap


def categorical_colormap(ramp: RasterRamp) -> Colormap:
    """A rio-tiler colour map for a categorical ramp: listed classes opaque, everything else transparent."""
    cmap: Colormap = {i: (0, 0, 0, 0) for i in range(256)}
    for value, rgb, _zh, _en in ramp.classes:
        cmap[value] = (*rgb, 255)
    return cmap


def render_png(layer: Layer, *, file: Path, tms_id: str, z: int, x: int, y: int) -> bytes | None:
    """A 256-px PNG of ``file`` for tile (z, x=col, y=row) of ``tms_id``; None outside the raster.

    Raises:
        RasterUnavailable: when the file is missing.
    """
    ramp = source_for(layer).raster
    if ramp is None:
        raise NotATileLayer(f"{layer.id} has no colour map")
    if not file.exists():
        raise RasterUnavailable(f"the raster file for {layer.id} is not installed on this server")
    nodata = layer.metadata.raster.nodata if layer.metadata.raster else None
    with warnings.catch_warnings():
        # rasterio warns that a bare PNG has no geotransform (a map tile needs none), and about
        # affine's operator deprecation inside its own code; neither is ours to act on.
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        with Reader(str(file), tms=get_tms(tms_id)) as src:
            if not src.tile_exists(x, y, z):
                return None
            try:
                img = src.tile(x, y, z, tilesize=TILE_SIZE, resampling_method="nearest", nodata=nodata)
            except TileOutsideBounds:
                return None
        return _colour(img, ramp)


def _colour(img: ImageData, ramp: RasterRamp) -> bytes | None:
    data = img.array
    if data.mask is not np.ma.nomask and bool(np.all(data.mask)):
        return None
    if ramp.categorical:
        img.array = np.ma.MaskedArray(data.data.astype("uint8"), mask=data.mask)
        png: bytes = img.render(img_format="PNG", colormap=categorical_colormap(ramp))
        return png
    vmin, vmax, cmap = continuous_colormap(ramp)
    scaled = np.clip((data.data.astype("float64") - vmin) / (vmax - vmin) * 255.0, 0, 255).round()
    img.array = np.ma.MaskedArray(scaled.astype("uint8"), mask=data.mask)
    out: bytes = img.render(img_format="PNG", colormap=cmap)
    return out


def epoch_file(data_dir: Path, epoch: RasterEpoch) -> Path:
    """Where an epoch's raster file lives under ``data_dir``."""
    return data_dir / epoch.file


def raster_bounds(file: Path) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a raster file in geographic degrees."""
    with Reader(str(file)) as src:
        b = src.get_geographic_bounds(src.tms.rasterio_geographic_crs)
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
