"""Locating a report: grid cell (and what its code says), nearest component, department."""

from __future__ import annotations

import asyncpg
import pytest

from cases.errors import InvalidReport, OutsideGrid
from cases.location import locate
from tests.cases.city import GAS_COVER, WATER_COVER, WATER_COVER_AT, cell_code


async def test_point_inside_a_cell_gives_grid_and_its_parts(city: asyncpg.Connection) -> None:
    where = await locate(city, lon=112.9525, lat=28.2015, kind="event", small_class="0501")
    assert where.grid_code == cell_code(3)
    assert (where.district, where.street, where.community) == ("430104", "430104001", "430104001001")
    assert where.component_code is None
    assert where.department == "cg-430104"  # 占道经营 in 岳麓区: the district's 城管, not the city's


async def test_point_exactly_on_a_shared_edge_picks_the_smaller_code(city: asyncpg.Connection) -> None:
    # lon 112.951 is the edge between cells 01 and 02; the corner 112.951, 28.201 touches 01, 02, 04, 05.
    for lat in (28.2015, 28.201):
        first = await locate(city, lon=112.951, lat=lat, kind="event", small_class="0101")
        again = await locate(city, lon=112.951, lat=lat, kind="event", small_class="0101")
        assert first.grid_code == again.grid_code == cell_code(1)


@pytest.mark.parametrize(("lon", "lat"), [(113.5, 28.5), (0.0, 0.0), (112.949, 28.2015)])
async def test_point_outside_every_cell_is_refused(city: asyncpg.Connection, lon: float, lat: float) -> None:
    with pytest.raises(OutsideGrid) as caught:
        await locate(city, lon=lon, lat=lat, kind="event", small_class="0101")
    assert caught.value.status == 400


async def test_component_within_20_m_of_its_class_gives_code_and_owner(city: asyncpg.Connection) -> None:
    lon, lat = WATER_COVER_AT
    near = await locate(city, lon=lon + 0.0001, lat=lat, kind="component", small_class="0101")  # ≈ 9.8 m east
    assert near.component_code == WATER_COVER
    assert near.department == "sw"  # the cover's owner, 长沙水业集团
    assert near.component_distance_m is not None and 9 < near.component_distance_m < 11


async def test_component_beyond_20_m_or_of_another_class_is_not_taken(city: asyncpg.Connection) -> None:
    lon, lat = WATER_COVER_AT
    far = await locate(city, lon=lon + 0.0003, lat=lat, kind="component", small_class="0101")  # ≈ 29 m
    assert far.component_code is None
    other = await locate(city, lon=lon, lat=lat, kind="component", small_class="0111")
    assert other.component_code == GAS_COVER or other.component_code is None
    assert other.component_code != WATER_COVER


async def test_named_component_of_another_class_is_refused(city: asyncpg.Connection) -> None:
    lon, lat = WATER_COVER_AT
    with pytest.raises(InvalidReport):
        await locate(city, lon=lon, lat=lat, kind="component", small_class="0111", component_code=WATER_COVER)
