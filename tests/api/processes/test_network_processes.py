"""The real network processes (analysis/) through the Processes API, on the fixture city's water pipes.

Expected answers are computed here with networkx straight from the fixture's generated pipes
(``tests.citydata._water_pipes``), not from our tables: segments join where their start/end
point numbers meet, and a valve is a point whose 附属物 is 阀门 (FM).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import networkx as nx
import pytest

from api.app import create_app
from tests.api.processes.conftest import serve_in_thread
from tests.api.processes.test_clients import poll
from tests.citydata import _water_pipes
from tests.cityfixtures import City, app, app_settings, city, client  # noqa: F401 - fixtures

EXECUTE = "/processes/{}/execution"
BREAK = "JS-0-005"


def fixture_graph() -> tuple[nx.MultiGraph, set[str]]:
    segments, points = _water_pipes()
    graph = nx.MultiGraph()
    for _geom, props, _t in segments:
        graph.add_edge(props["start_point"], props["end_point"], key=props["segment_no"])
    valves = {props["point_no"] for _g, props, _t in points if props["appurtenance"] == "FM"}
    return graph, valves


def expected_trace(start: str) -> set[str]:
    graph, _ = fixture_graph()
    u = next(a for a, _b, k in graph.edges(keys=True) if k == start)
    component = nx.node_connected_component(graph, u)
    return {k for a, b, k in graph.edges(keys=True) if a in component}


def expected_isolation(start: str) -> tuple[set[str], set[str]]:
    """(valves to close, isolated segments): walk from the break, stopping at valves."""
    graph, valves = fixture_graph()
    u, v = next((a, b) for a, b, k in graph.edges(keys=True) if k == start)
    seen_nodes, closing, isolated = set(), set(), {start}
    stack = [n for n in (u, v)]
    while stack:
        node = stack.pop()
        if node in seen_nodes:
            continue
        seen_nodes.add(node)
        if node in valves:
            closing.add(node)
            continue
        for _a, other, key in graph.edges(node, keys=True):
            isolated.add(key)
            stack.append(other)
    return closing, isolated


def keys(fc: dict[str, Any], name: str) -> set[str]:
    return {f["properties"][name] for f in fc["features"]}


async def test_pipe_trace_matches_networkx(client: httpx.AsyncClient, city: City) -> None:  # noqa: F811
    body = {"inputs": {"category": "water", "start": BREAK}, "response": "document"}
    auth = {"Authorization": f"Bearer {city.pipes_key}"}
    r = await client.post(EXECUTE.format("pipe-trace"), json=body, headers=auth)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["segments"]["mediaType"] == "application/geo+json"
    assert keys(doc["segments"]["value"], "segment_no") == expected_trace(BREAK)
    assert doc["summary"]["value"]["segments"] == len(expected_trace(BREAK))
    hidden = await client.post(EXECUTE.format("pipe-trace"), json=body,
                               headers={"Authorization": f"Bearer {city.viewer_key}"})
    assert hidden.status_code == 404 and hidden.headers["content-type"].startswith("application/problem+json")


async def test_valve_isolation_as_a_job_matches_networkx(client: httpx.AsyncClient, city: City) -> None:  # noqa: F811
    auth = {"Authorization": f"Bearer {city.pipes_key}"}
    created = await client.post(EXECUTE.format("valve-isolation"), headers={**auth, "Prefer": "respond-async"},
                                json={"inputs": {"category": "给水", "break": BREAK}, "response": "document"})
    assert created.status_code == 201, created.text
    job = created.json()["jobID"]
    for _ in range(200):
        status = (await client.get(f"/jobs/{job}", headers=auth)).json()
        if status["status"] not in ("accepted", "running"):
            break
        await asyncio.sleep(0.1)
    assert status["status"] == "successful", status
    results = (await client.get(f"/jobs/{job}/results", headers=auth)).json()
    valves, isolated = expected_isolation(BREAK)
    assert keys(results["valves"]["value"], "point_no") == valves
    assert keys(results["isolated"]["value"], "segment_no") == isolated


async def test_bad_network_inputs_are_400(client: httpx.AsyncClient, city: City) -> None:  # noqa: F811
    auth = {"Authorization": f"Bearer {city.pipes_key}"}
    cases = [
        ("pipe-trace", {"category": "water", "start": "NO-SUCH-SEGMENT"}, "start"),
        ("pipe-trace", {"category": "water", "start": {"type": "Point", "coordinates": [113.2, 28.0]}}, "start"),
        ("pipe-trace", {"category": "lava", "start": BREAK}, "category"),
        ("pipe-trace", {"category": "water", "start": BREAK, "direction": "sideways"}, "direction"),
        ("valve-isolation", {"category": "water", "break": BREAK, "buffer_m": -5}, "buffer_m"),
    ]
    for process, inputs, name in cases:
        r = await client.post(EXECUTE.format(process), json={"inputs": inputs}, headers=auth)
        assert r.status_code == 400, (inputs, r.text)
        assert r.json()["input"] == name, r.json()


@pytest.fixture(scope="module")
def live_city(city: City, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # noqa: F811
    yield from serve_in_thread(create_app(app_settings(city.url, tmp_path_factory.mktemp("var"))))


@pytest.mark.slow
def test_owslib_runs_valve_isolation_sync_and_async(live_city: str, city: City) -> None:  # noqa: F811
    from owslib import ogcapi
    from owslib.ogcapi.processes import Processes
    from owslib.util import Authentication

    saved = dict(ogcapi.REQUEST_HEADERS)
    try:
        client = Processes(live_city, auth=Authentication("pipes", city.pipes_key))
        assert {"pipe-trace", "valve-isolation"} <= {p["id"] for p in client.processes()}
        assert "failed_valves" in client.process("valve-isolation")["inputs"]
        valves, isolated = expected_isolation(BREAK)
        inputs = {"category": "water", "break": BREAK}
        document = client.execute("valve-isolation", inputs)
        assert keys(document["valves"]["value"], "point_no") == valves
        created = client.execute("valve-isolation", inputs, async_=True)
        status = poll(client, created["jobID"])
        assert status["status"] == "successful"
        results = client._request(path=f"jobs/{created['jobID']}/results")
        assert keys(results["isolated"]["value"], "segment_no") == isolated
    finally:
        ogcapi.REQUEST_HEADERS.clear()
        ogcapi.REQUEST_HEADERS.update(saved)


async def test_every_other_analysis_answers_with_typed_outputs(client: httpx.AsyncClient, city: City) -> None:  # noqa: F811
    from tests.citydata import CENTRE

    cx, cy = CENTRE
    auth = {"Authorization": f"Bearer {city.pipes_key}"}
    area = {"type": "Polygon", "coordinates": [[[cx - 0.002, cy - 0.0005], [cx + 0.002, cy - 0.0005],
                                                [cx + 0.002, cy + 0.0005], [cx - 0.002, cy + 0.0005],
                                                [cx - 0.002, cy - 0.0005]]]}
    line = {"type": "LineString", "coordinates": [[cx + 0.0005, cy - 0.0004], [cx + 0.0005, cy + 0.0004]]}
    runs = {
        "cross-section": {"line": line},
        "excavation-impact": {"area": area, "depth_m": 2.5},
        "longitudinal-profile": {"category": "water", "from": "JS0003", "to": "JS0007"},
        "clearance-check": {"segment": BREAK, "category": "water"},
    }
    for process, inputs in runs.items():
        r = await client.post(EXECUTE.format(process), json={"inputs": inputs, "response": "document"}, headers=auth)
        assert r.status_code == 200, (process, r.text)
        doc = r.json()
        assert "summary" in doc, process
        for name, value in doc.items():
            assert set(value) == {"value", "mediaType"}, (process, name)
    section = (await client.post(EXECUTE.format("cross-section"), headers=auth,
                                 json={"inputs": runs["cross-section"], "response": "document"})).json()
    assert section["svg"]["mediaType"] == "image/svg+xml" and len(section["pipes"]["value"]["features"]) == 1
    raw_svg = await client.post(EXECUTE.format("cross-section"), headers=auth,
                                json={"inputs": runs["cross-section"], "outputs": {"svg": {}}})
    assert raw_svg.headers["content-type"].startswith("image/svg+xml") and "<svg" in raw_svg.text[:300]
    dig = (await client.post(EXECUTE.format("excavation-impact"), headers=auth,
                             json={"inputs": runs["excavation-impact"], "response": "document"})).json()
    assert dig["owners_csv"]["mediaType"] == "text/csv" and "长沙水业集团" in dig["owners_csv"]["value"]
