"""Cases are an OGC API Features collection: filters on state, class, grid, department and dates,
its style, and the access rule (the command centre's roles read it; viewers do not see it)."""

from __future__ import annotations

import httpx
import pytest

from tests.api.cases.conftest import CaseSeed
from tests.api.cases.test_workflow import act, report


@pytest.fixture(scope="module")
async def two_cases(cases_client: httpx.AsyncClient, case_seed: CaseSeed) -> tuple[int, int]:
    first = (await report(cases_client, case_seed)).json()["id"]
    second = (await report(cases_client, case_seed, small_class="0502", description="店外经营")).json()["id"]
    accepted = await act(cases_client, case_seed, "operator", second, "accept")
    assert accepted.status_code == 200
    return first, second


@pytest.mark.parametrize("cql,expect", [
    ("state = 'reported'", "first"), ("state = 'accepted'", "second"), ("small_class = '0502'", "second"),
    ("grid_code = '43010400100103'", "both"), ("department = 'gs'", "second"),  # 店外经营 goes to 工商
    ("reported_at > TIMESTAMP('2020-01-01T00:00:00Z')", "both"), ("state = 'closed'", "none"),
])
async def test_cql2_filters(cases_client: httpx.AsyncClient, case_seed: CaseSeed, two_cases: tuple[int, int],
                            cql: str, expect: str) -> None:
    r = await cases_client.get("/collections/city_cases/items", headers=case_seed.auth("dispatcher"),
                               params={"filter": cql, "limit": 100})
    assert r.status_code == 200, r.text
    ids = {f["id"] for f in r.json()["features"]} & set(two_cases)
    first, second = two_cases
    assert ids == {"first": {first}, "second": {second}, "both": {first, second}, "none": set()}[expect]


async def test_access_follows_the_roles(cases_client: httpx.AsyncClient, case_seed: CaseSeed,
                                        two_cases: tuple[int, int]) -> None:
    for who in ("inspector", "operator", "supervisor", "dispatcher", "leader", "admin"):
        r = await cases_client.get("/collections/city_cases", headers=case_seed.auth(who))
        assert r.status_code == 200, who
    for who in ("viewer", "handler", "editor"):  # handlers use /cases/queue, filtered to their department
        r = await cases_client.get("/collections/city_cases/items", headers=case_seed.auth(who))
        assert r.status_code == 404, who
    assert (await cases_client.get("/collections/city_cases/items")).status_code == 404


async def test_style_and_queryables(cases_client: httpx.AsyncClient, case_seed: CaseSeed) -> None:
    style = await cases_client.get("/collections/city_cases/styles/city_cases", headers=case_seed.auth("leader"))
    if style.status_code == 404:  # the style route's shape differs between versions; the catalogue has it
        style = await cases_client.get("/styles/city_cases", headers=case_seed.auth("leader"))
    assert style.status_code == 200, style.text
    q = await cases_client.get("/collections/city_cases/queryables", headers=case_seed.auth("leader"))
    props = q.json()["properties"]
    assert {"state", "small_class", "grid_code", "department", "reported_at"} <= set(props)
    assert "closed" in props["state"]["enum"]


async def test_codes_and_departments(cases_client: httpx.AsyncClient) -> None:
    codes = (await cases_client.get("/cases/codes")).json()
    assert {s["code"] for s in codes["states"]} >= {"reported", "closed", "hung"}
    zh = {s["code"]: s["zh"] for s in codes["states"]}
    assert (zh["reported"], zh["accepted"], zh["rejected"], zh["hung"]) == ("上报", "立案", "不予立案", "挂账")
    occupied = next(c for c in codes["classes"] if c["kind"] == "event" and c["small_class"] == "0501")
    assert occupied["small_name"] == "占道经营" and occupied["gk"] is True
    assert occupied["time_limit"] == {"value": 2.0, "unit": "working_hours"}
    depts = (await cases_client.get("/cases/departments")).json()
    assert {"cg", "gh", "hb", "zj", "jt", "gs", "ga", "mz", "gd"} <= {d["code"] for d in depts}
