"""The Processes API in-process: descriptions, sync execution (raw and document), access, bad input."""

from __future__ import annotations

import asyncio
from email import message_from_bytes
from typing import Any

import httpx
import orjson

from layers.db import connect
from tests.api.conftest import Seed
from tests.api.processes.conftest import SECRET_DETAIL

CITY = [112.8, 28.0, 113.2, 28.4]
EXECUTE = "/processes/{}/execution"


def count_body(collection: str, response: str = "document", **extra: Any) -> dict[str, Any]:
    return {"inputs": {"collection": collection, "bbox": CITY}, "response": response, **extra}


async def sql_count(seed: Seed, layer: str) -> int:
    conn = await connect(seed.url)
    try:
        n: int = await conn.fetchval(
            f'SELECT count(*) FROM data."{layer}" WHERE valid_to IS NULL '
            "AND geom && ST_MakeEnvelope($1, $2, $3, $4, 4490)", *CITY)
        return n
    finally:
        await conn.close()


def assert_problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["title"]
    return body


async def test_list_and_describe(client: httpx.AsyncClient) -> None:
    listed = (await client.get("/processes")).json()
    ids = {p["id"] for p in listed["processes"]}
    assert {"test-count", "test-sleep"} <= ids
    count = next(p for p in listed["processes"] if p["id"] == "test-count")
    assert count["title"] == "计数" and "async-execute" in count["jobControlOptions"]
    rels = {link["rel"] for link in count["links"]}
    assert "http://www.opengis.net/def/rel/ogc/1.0/execute" in rels
    described = (await client.get("/processes/test-count", params={"lang": "en"})).json()
    assert described["title"] == "Count features"
    assert described["inputs"]["bbox"]["minOccurs"] == 1 and described["inputs"]["bbox"]["schema"]["minItems"] == 4
    assert set(described["outputs"]) == {"count", "summary", "note"}
    assert described["examples"][0]["inputs"]["collection"] == "buildings"
    assert_problem(await client.get("/processes/no-such"), 404)
    assert_problem(await client.post(EXECUTE.format("no-such"), json={"inputs": {}}), 404)


async def test_landing_and_conformance_name_processes(client: httpx.AsyncClient) -> None:
    landing = (await client.get("/")).json()
    assert any(link["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/processes" for link in landing["links"])
    conforms = (await client.get("/conformance")).json()["conformsTo"]
    base = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"
    for name in ("core", "ogc-process-description", "json", "job-list", "dismiss", "oas30"):
        assert base + name in conforms


async def test_sync_document_counts_what_sql_counts(client: httpx.AsyncClient, seed: Seed) -> None:
    r = await client.post(EXECUTE.format("test-count"), json=count_body("buildings"))
    assert r.status_code == 200, r.text
    doc = r.json()
    expected = await sql_count(seed, "buildings")
    assert expected > 0
    assert doc["count"] == {"value": expected, "mediaType": "application/json"}
    assert doc["note"]["mediaType"] == "text/plain" and doc["summary"]["value"]["collection"] == "buildings"


async def test_raw_one_output_and_multipart(client: httpx.AsyncClient, seed: Seed) -> None:
    expected = await sql_count(seed, "buildings")
    one = await client.post(EXECUTE.format("test-count"), json=count_body("buildings", "raw", outputs={"count": {}}))
    assert one.status_code == 200 and one.headers["content-type"] == "application/json"
    assert one.json() == expected
    note = await client.post(EXECUTE.format("test-count"), json=count_body("buildings", "raw", outputs={"note": {}}))
    assert note.headers["content-type"].startswith("text/plain") and note.text == f"{expected} features"
    both = await client.post(EXECUTE.format("test-count"), json={"inputs": {"collection": "buildings", "bbox": CITY}})
    assert both.headers["content-type"].startswith("multipart/related")
    message = message_from_bytes(b"Content-Type: " + both.headers["content-type"].encode() + b"\r\n\r\n" + both.content)
    parts = {p["Content-ID"]: p.get_payload() for p in message.get_payload()}
    assert set(parts) == {"<count>", "<summary>", "<note>"}
    assert orjson.loads(parts["<count>"].strip()) == expected


async def test_a_restricted_layer_is_404_without_the_grant(client: httpx.AsyncClient, seed: Seed) -> None:
    url = EXECUTE.format("test-count")
    restricted = count_body("pipeline_water_segments")
    for who in (None, "viewer", "editor"):
        headers = seed.auth(who) if who else {}
        body = assert_problem(await client.post(url, json=restricted, headers=headers), 404)
        assert "pipeline_water_segments" in body["detail"]
        # The same answer as for a layer that does not exist at all.
        assert assert_problem(await client.post(url, json=count_body("no_such_layer"), headers=headers), 404)
    ok = await client.post(url, json=restricted, headers=seed.auth("pipes"))
    assert ok.status_code == 200 and ok.json()["count"]["value"] == 0
    internal = count_body("power_facilities")
    assert_problem(await client.post(url, json=internal), 404)
    viewer = await client.post(url, json=internal, headers=seed.auth("viewer"))
    assert viewer.json()["count"]["value"] == await sql_count(seed, "power_facilities")


async def test_execution_of_restricted_data_is_audited(client: httpx.AsyncClient, seed: Seed) -> None:
    r = await client.post(EXECUTE.format("test-count"), json=count_body("pipeline_gas_segments"),
                          headers=seed.auth("pipes"))
    assert r.status_code == 200
    conn = await connect(seed.url)
    try:
        for _ in range(50):  # the audit queue writes within about a second
            row = await conn.fetchrow(
                "SELECT actor, detail FROM onemap.audit_log WHERE kind = 'process.execute' "
                "AND layer = 'pipeline_gas_segments' ORDER BY seq DESC LIMIT 1")
            if row is not None:
                break
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    assert row is not None and row["actor"] == "pipes" and row["detail"]["process"] == "test-count"


async def test_bad_input_is_400_naming_the_input(client: httpx.AsyncClient) -> None:
    url = EXECUTE.format("test-count")
    cases: list[tuple[Any, str | None]] = [
        ({"inputs": {"collection": "buildings"}}, "bbox"),
        ({"inputs": {"collection": "buildings", "bbox": [1, 2, 3]}}, "bbox"),
        ({"inputs": {"collection": "buildings", "bbox": ["a", 2, 3, 4]}}, "bbox"),
        ({"inputs": {"collection": "Bad Name!", "bbox": CITY}}, "collection"),
        ({"inputs": {"collection": "buildings", "bbox": CITY, "depth": 3}}, "depth"),
        ({"inputs": {"collection": {"href": "http://elsewhere/x"}, "bbox": CITY}}, "collection"),
        ({"inputs": {"collection": "buildings", "bbox": CITY}, "response": "zip"}, None),
        ({"inputs": {"collection": "buildings", "bbox": CITY}, "mode": "x"}, None),
        ([1, 2], None),
    ]
    for body, name in cases:
        problem = assert_problem(await client.post(url, json=body), 400)
        assert problem.get("input") == name, (body, problem)
    qualified = {"inputs": {"collection": {"value": "buildings", "mediaType": "text/plain"}, "bbox": CITY},
                 "response": "document"}
    assert (await client.post(url, json=qualified)).status_code == 200
    refused = assert_problem(await client.post(EXECUTE.format("test-refuse"), json={"inputs": {"start": "JS9"}}), 400)
    assert refused["input"] == "start" and "50 m" in refused["detail"]
    bad_json = await client.post(url, content=b"{not json", headers={"Content-Type": "application/json"})
    assert_problem(bad_json, 400)


async def test_an_unexpected_failure_is_422_and_says_nothing_inside(client: httpx.AsyncClient) -> None:
    problem = assert_problem(await client.post(EXECUTE.format("test-crash"), json={"inputs": {}}), 422)
    assert "incident" in problem and SECRET_DETAIL not in problem["detail"]


async def test_openapi_describes_the_processes_paths(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi")).json()
    for path, method in (("/processes", "get"), ("/processes/{processId}", "get"),
                         ("/processes/{processId}/execution", "post"), ("/jobs", "get"), ("/jobs/{jobId}", "get"),
                         ("/jobs/{jobId}", "delete"), ("/jobs/{jobId}/results", "get")):
        assert method in doc["paths"][path], path
    process_ids = doc["paths"]["/processes/{processId}"]["get"]["parameters"][0]["schema"]["enum"]
    assert "test-count" in process_ids
    assert "StatusInfo" in doc["components"]["schemas"]
