"""Unit grid cells (万米单元网格, 示例数据) over the urban core, coded per CJ/T 213.

A 100 m lattice in EPSG:4547 is cut by the real district boundaries (cnmaps), so
no cell crosses a district. Within each district the sample 街道 are 2 km blocks
and the sample 社区 500 m blocks of the lattice; cells never cross either. Code:
6-digit district adcode + 3-digit 街道 + 3-digit 社区 + 2-digit cell, all numbered
west → east, north → south (rows from the north, then columns from the west), so a
社区 holds at most 25 cells. In one year some 社区 are split (the east part becomes
a new 社区) and their cells are re-coded: a new version of each cell, same fid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from sample.context import at, day_in_year, draw, rng
from sample.terrain import Terrain
from spatial.codelists.grid import compose_grid_code

CELL_M = 100.0
COMMUNITY_CELLS = 5  # a 社区 is 5 × 5 cells
STREET_COMMUNITIES = 4  # a 街道 is 4 × 4 社区
GRID_SINCE = at(2010, 7, 1)
SPLIT_SHARE = 0.06
MIN_SPLIT_CELLS = 16
EVENT_RECODE = "示例数据：社区调整，单元网格重新编码"
MIN_PIECE_M2 = 1.0


@dataclass(frozen=True)
class Cell:
    """One unit grid cell (local metres) and its code, before and (if re-coded) after."""

    district: str
    street: int
    community: int
    seq: int
    geometry: BaseGeometry
    recoded: tuple[dt.datetime, int, int] | None = None  # (when, new community, new seq)

    @property
    def code(self) -> str:
        return compose_grid_code(self.district, self.street, self.community, self.seq)

    def code_at(self, when: dt.datetime) -> str:
        if self.recoded is not None and when >= self.recoded[0]:
            return compose_grid_code(self.district, self.street, self.recoded[1], self.recoded[2])
        return self.code


def _reading_order(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Indices sorting lattice positions north → south, then west → east."""
    return np.lexsort((cols, -rows))


class UnitGrid:
    """The grid of one data folder, built per district and queried by local-metre position."""

    def __init__(self, terrain: Terrain, districts: dict[str, BaseGeometry]) -> None:
        self.terrain = terrain
        # District polygons (local metres) within the core: the ground the grid covers.
        self.regions = {code: geom.intersection(terrain.core) for code, geom in districts.items()}
        self.regions = {c: g for c, g in self.regions.items() if g.area > MIN_PIECE_M2}
        for geom in self.regions.values():
            shapely.prepare(geom)

    @cached_property
    def cells(self) -> list[Cell]:
        """Every cell, district by district, in code order."""
        out: list[Cell] = []
        for district in sorted(self.regions):
            out += self._district_cells(district)
        return out

    def _district_cells(self, district: str) -> list[Cell]:
        region = self.regions[district]
        x0, y0, x1, y1 = region.bounds
        i0, j0 = int(np.floor(x0 / CELL_M)), int(np.floor(y0 / CELL_M))
        i1, j1 = int(np.ceil(x1 / CELL_M)), int(np.ceil(y1 / CELL_M))
        mesh_i, mesh_j = np.meshgrid(np.arange(i0, i1), np.arange(j0, j1))
        ii, jj = mesh_i.ravel(), mesh_j.ravel()
        squares = shapely.box(ii * CELL_M, jj * CELL_M, (ii + 1) * CELL_M, (jj + 1) * CELL_M)
        hit = shapely.intersects(region, squares)
        ii, jj, squares = ii[hit], jj[hit], squares[hit]
        inside = shapely.contains_properly(region, squares)
        geoms = squares.copy()
        geoms[~inside] = shapely.intersection(squares[~inside], region)
        areas = shapely.area(geoms)
        keep = areas >= MIN_PIECE_M2
        ii, jj, geoms = ii[keep], jj[keep], geoms[keep]

        comm_i, comm_j = ii // COMMUNITY_CELLS, jj // COMMUNITY_CELLS
        street_i, street_j = comm_i // STREET_COMMUNITIES, comm_j // STREET_COMMUNITIES
        street_keys = sorted({(int(a), int(b)) for a, b in zip(street_i, street_j, strict=True)},
                             key=lambda k: (-k[1], k[0]))
        street_no = {k: n + 1 for n, k in enumerate(street_keys)}
        cells: list[Cell] = []
        for skey in street_keys:
            in_street = (street_i == skey[0]) & (street_j == skey[1])
            comm_keys = sorted({(int(a), int(b)) for a, b in zip(comm_i[in_street], comm_j[in_street], strict=True)},
                               key=lambda k: (-k[1], k[0]))
            recodes = self._splits(district, street_no[skey], len(comm_keys))
            for cn, ckey in enumerate(comm_keys, start=1):
                members = np.flatnonzero(in_street & (comm_i == ckey[0]) & (comm_j == ckey[1]))
                order = members[_reading_order(jj[members], ii[members])]
                split = recodes.get(cn) if len(order) >= MIN_SPLIT_CELLS else None
                new_codes = self._split_codes(order, ii, cn, split)
                for seq, m in enumerate(order, start=1):
                    cells.append(Cell(district, street_no[skey], cn, seq, geoms[m], new_codes.get(int(m))))
        return cells

    def _splits(self, district: str, street: int, communities: int) -> dict[int, tuple[dt.datetime, int]]:
        """社区 of one 街道 that are split, with the split date and the new 社区's number."""
        out: dict[int, tuple[dt.datetime, int]] = {}
        next_no = communities + 1
        for cn in range(1, communities + 1):
            if draw(0, 1, "split", district, street, cn) < SPLIT_SHARE:
                rnd = rng("split-date", district, street)
                out[cn] = (day_in_year(rnd.randint(2017, 2021), rnd), next_no)
                next_no += 1
        return out

    @staticmethod
    def _split_codes(order: np.ndarray, ii: np.ndarray, community: int,
                     split: tuple[dt.datetime, int] | None) -> dict[int, tuple[dt.datetime, int, int]]:
        """Cell → (when, 社区, cell number) after a split: the west three columns keep the 社区."""
        if split is None:
            return {}
        when, new_community = split
        local_col = ii[order] % COMMUNITY_CELLS
        west = [int(m) for m, c in zip(order, local_col, strict=True) if c < 3]
        east = [int(m) for m, c in zip(order, local_col, strict=True) if c >= 3]
        if not west or not east:
            return {}
        codes: dict[int, tuple[dt.datetime, int, int]] = {}
        for seq, m in enumerate(west, start=1):
            codes[m] = (when, community, seq)
        for seq, m in enumerate(east, start=1):
            codes[m] = (when, new_community, seq)
        return codes

    @cached_property
    def _tree(self) -> shapely.STRtree:
        return shapely.STRtree([c.geometry for c in self.cells])

    def cells_at(self, x: np.ndarray, y: np.ndarray) -> list[Cell | None]:
        """The cell holding each local-metre point (None outside the grid)."""
        pts = shapely.points(x, y)
        hits = self._tree.query(pts, predicate="intersects")
        found: list[Cell | None] = [None] * len(pts)
        for p, c in zip(hits[0], hits[1], strict=True):
            if found[p] is None:
                found[p] = self.cells[c]
        return found

