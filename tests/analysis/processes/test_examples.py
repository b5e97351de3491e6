"""Every process's documented examples run on the sample city (示例数据) and find something."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from analysis.catalogue import PROCESSES
from layers.db import connect
from sample.loader import load_sample
from sample.sources import find_data_dir
from tests.analysis.networks import context

# 五一广场 and the Xiang's banks, as tests/sample loads them.
BBOX = (112.935, 28.175, 112.975, 28.200)
FOUND = {  # output → a count that must be positive for every example
    "pipe-trace": lambda o: o["summary"]["segments"],
    "valve-isolation": lambda o: o["summary"]["isolated_segments"],
    "excavation-impact": lambda o: o["summary"]["pipes"],
    "cross-section": lambda o: o["summary"]["pipes"] >= 3,
    "longitudinal-profile": lambda o: o["summary"]["segments"],
    "clearance-check": lambda o: o["summary"]["violations"],
    "building-statistics": lambda o: o["statistics"]["snapshots"][-1]["totals"]["buildings"],
}


@pytest.fixture(scope="module")
async def sample_city(module_db_url: str) -> AsyncIterator[str]:
    data = find_data_dir()
    assert data is not None
    await load_sample(module_db_url, data_dir=data, bbox=BBOX)
    yield module_db_url


@pytest.mark.slow
@pytest.mark.parametrize(("process", "n"), [(p, n) for p in PROCESSES for n in range(len(PROCESSES[p].examples))])
async def test_example_runs_on_the_sample_city(pool: asyncpg.Pool, sample_city: str, process: str, n: int) -> None:
    definition = PROCESSES[process]
    inputs = definition.examples[n]["inputs"]
    assert isinstance(definition.reads(inputs), list)
    out = await definition.run(context(pool), inputs)
    assert set(out) == set(definition.outputs)
    assert FOUND[process](out)


@pytest.mark.slow
async def test_the_sample_flags_water_and_gas_sources(sample_city: str) -> None:
    conn = await connect(sample_city)
    try:
        for key in ("water", "gas"):
            rows = await conn.fetch(f"SELECT feature_point FROM data.pipeline_{key}_points WHERE is_source")
            assert rows and {r["feature_point"] for r in rows} == {"CD"}
        assert await conn.fetchval("SELECT count(*) FROM data.pipeline_storm_points WHERE is_source") == 0
    finally:
        await conn.close()


def test_every_process_is_described_in_both_languages() -> None:
    for p in PROCESSES.values():
        assert p.title and p.title_zh and p.description and p.description_zh and p.examples
        for name, spec in {**p.inputs, **p.outputs}.items():
            assert spec.get("title") and "schema" in spec, (p.id, name)
