"""Write the sample terrain model as a grid file the other packages read (``spatial/terrain.py``).

``python -m sample.terrain_grid`` samples :meth:`sample.terrain.Terrain.ground_elevation` (示例数据)
every 0.001° over the pipeline area plus a margin and writes a deflated float32 GeoTIFF in EPSG:4490.
The model varies over 600 m and more, so bilinear interpolation between 100 m samples stays within a
centimetre of it on average (a few cm where its slope changes at the river bank).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import rasterio
from pyproj import Transformer
from rasterio.transform import from_origin

from sample.build import SampleCity
from sample.context import LOCAL_SRID, PIPE_AREA_4490
from sample.sources import find_data_dir
from spatial.terrain import GRID_FILE

STEP_DEG = 0.001
MARGIN_DEG = 0.02


def write_grid(out: Path = GRID_FILE) -> Path:
    """Sample the terrain model over the pipe area (+ margin) and write it to ``out``."""
    data_dir = find_data_dir()
    if data_dir is None:
        raise SystemExit("sample/data is missing")
    terrain = SampleCity(data_dir).terrain
    west, south, east, north = PIPE_AREA_4490
    west, south, east, north = west - MARGIN_DEG, south - MARGIN_DEG, east + MARGIN_DEG, north + MARGIN_DEG
    cols, rows = round((east - west) / STEP_DEG) + 1, round((north - south) / STEP_DEG) + 1
    lon = west + np.arange(cols) * STEP_DEG
    lat = north - np.arange(rows) * STEP_DEG
    lons, lats = np.meshgrid(lon, lat)
    x, y = Transformer.from_crs(4490, LOCAL_SRID, always_xy=True).transform(lons.ravel(), lats.ravel())
    heights = terrain.ground_elevation(x, y).reshape(rows, cols).astype(np.float32)
    out.parent.mkdir(parents=True, exist_ok=True)
    profile = {"driver": "GTiff", "width": cols, "height": rows, "count": 1, "dtype": "float32", "crs": "EPSG:4490",
               "transform": from_origin(west - STEP_DEG / 2, north + STEP_DEG / 2, STEP_DEG, STEP_DEG),
               "compress": "deflate", "predictor": 3}
    with rasterio.open(out, "w", **profile) as ds:
        ds.write(heights, 1)
        ds.update_tags(source="示例数据 One Map sample terrain model (sample/terrain.py), not a survey",
                       vertical_datum="1985 national height datum", units="m")
    return out


if __name__ == "__main__":
    print(write_grid(Path(sys.argv[1]) if len(sys.argv) > 1 else GRID_FILE))
