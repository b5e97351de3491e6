"""The sample terrain grid (spatial/terrain.py) is the sample's terrain model, readable without ``sample``."""

from __future__ import annotations

import numpy as np
from pyproj import Transformer

from sample.build import SampleCity
from sample.context import LOCAL_SRID, PIPE_AREA_4490
from sample.sources import find_data_dir
from spatial.terrain import GRID_FILE, sample_terrain, terrain_elevation


def test_the_grid_follows_the_sample_terrain_model_within_centimetres() -> None:
    data_dir = find_data_dir()
    assert data_dir is not None and GRID_FILE.is_file()
    rnd = np.random.default_rng(7)
    west, south, east, north = PIPE_AREA_4490
    lon, lat = rnd.uniform(west, east, 400), rnd.uniform(south, north, 400)
    x, y = Transformer.from_crs(4490, LOCAL_SRID, always_xy=True).transform(lon, lat)
    model = SampleCity(data_dir).terrain.ground_elevation(x, y)
    grid = terrain_elevation(lon, lat)
    assert np.all(np.isfinite(grid))
    # The model is rounded to 1 cm and has a kink where the river bank ends; elsewhere it is smooth.
    assert np.abs(grid - model).max() < 0.1 and np.abs(grid - model).mean() < 0.01
    assert 25 < grid.min() < grid.max() < 80  # central Changsha: about 30–60 m (1985 datum)


def test_outside_the_grid_there_is_no_terrain() -> None:
    grid = sample_terrain()
    assert grid is not None
    out = terrain_elevation([100.0, grid.west - 0.01, grid.west + 0.0005], [28.2, grid.north, grid.north - 0.0005])
    assert np.isnan(out[0]) and np.isnan(out[1]) and np.isfinite(out[2])
    # Exactly on a pixel centre the grid returns the stored value.
    assert terrain_elevation([grid.west], [grid.north])[0] == grid.heights[0, 0]
