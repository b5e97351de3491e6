"""The sample year of cases: every state, overdue ones, seasons, real components, loaded with a
history event per version and a legal move between consecutive versions."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from cases.codes import STATES
from layers.db import connect
from sample.build import sample_city
from sample.cases import case_plans
from sample.loader import SampleReport, load_sample
from sample.sources import find_data_dir
from sample.writer import Plan

BBOX = (112.940, 28.185, 112.960, 28.200)  # 岳麓: inside the pipeline area, so components too


@pytest.fixture(scope="module")
def data_dir() -> Path:
    found = find_data_dir()
    assert found is not None
    return found


@pytest.fixture(scope="module")
def year(data_dir: Path) -> list[Plan]:
    city = sample_city(data_dir)
    return case_plans(city.grid_plans, city.component_plans)


def test_a_year_in_every_state_with_overdue_cases(year: list[Plan]) -> None:
    last = [p.versions[-1].properties for p in year]
    assert 7000 < len(year) <= 8000
    assert set(Counter(p["state"] for p in last)) == set(STATES)
    end = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    open_late = [p for p in last if p["state"] == "dispatched" and p["deadline_at"] < end]
    done_late = [p for p in last if p.get("completed_at") and p["completed_at"] > p["deadline_at"]]
    assert open_late and len(done_late) > 300
    assert all(p["description"].startswith("示例数据") for p in last)
    first = [p.versions[0].properties for p in year]
    assert min(p["reported_at"] for p in first) >= dt.datetime(2025, 12, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def test_same_seed_same_cases(year: list[Plan], data_dir: Path) -> None:
    city = sample_city(data_dir)
    again = case_plans(city.grid_plans, city.component_plans)
    assert [p.versions[-1].properties for p in again[:50]] == [p.versions[-1].properties for p in year[:50]]


def test_seasons_and_components(year: list[Plan], data_dir: Path) -> None:
    first = [p.versions[0].properties for p in year]
    flooding = Counter(p["reported_at"].month for p in first if p["small_class"] == "0402")
    assert sum(flooding[m] for m in (5, 6, 7)) > 5 * sum(flooding[m] for m in (12, 1, 2))
    burning = Counter(p["reported_at"].month for p in first if p["small_class"] == "0106")
    assert sum(burning[m] for m in (12, 1)) > sum(burning[m] for m in (6, 7))
    real = {p.versions[0].properties["obj_code"] for p in sample_city(data_dir).component_plans}
    parts = [p for p in first if p["kind"] == "component"]
    assert len(parts) > 1500 and all(p["component_code"] in real for p in parts)
    assert all(p["component_code"][6:10] == p["small_class"] for p in parts)


@pytest.fixture(scope="module")
async def loaded(module_db_url: str, data_dir: Path) -> SampleReport:
    return await load_sample(module_db_url, data_dir=data_dir, bbox=BBOX)


@pytest.fixture
async def conn(module_db_url: str, loaded: SampleReport) -> AsyncIterator[asyncpg.Connection]:
    c = await connect(module_db_url)
    try:
        yield c
    finally:
        await c.close()


async def test_loaded_cases_have_an_event_per_version(conn: asyncpg.Connection, loaded: SampleReport) -> None:
    current, versions = loaded.counts["city_cases"]
    assert current > 50 and versions > 3 * current
    events = await conn.fetchval("SELECT count(*) FROM onemap.case_events")
    assert events == versions
    unnamed = await conn.fetchval("SELECT count(*) FROM onemap.case_events WHERE action IS NULL")
    assert unnamed == 0
    kinds = {r["action"] for r in await conn.fetch("SELECT DISTINCT action FROM onemap.case_events")}
    assert {"report", "accept", "dispatch", "complete", "verify", "close", "reject"} <= kinds


async def test_loaded_cases_sit_in_their_grid_cell(conn: asyncpg.Connection) -> None:
    wrong = await conn.fetchval(
        """SELECT count(*) FROM data.city_cases c WHERE c.valid_to IS NULL AND c.kind = 'event' AND NOT EXISTS (
             SELECT 1 FROM data.grid_cells g WHERE g.grid_code = c.grid_code
               AND ST_Intersects(g.geom, c.geom))""")
    assert wrong == 0
