"""Hostile requests against One Map under uvicorn, in a subprocess, so a crash fails a test instead
of killing the test runner.

Two parts: the attack's corpus replayed (``corpus/hostile_filters.jsonl``: each case answers its
expected status and the server still answers afterwards), then Hypothesis fuzzing of the filter
(CQL2 text and JSON) and of every query parameter of /items, the tiles and /search. The
properties: never a 5xx, every 4xx is problem+json, and never a dropped connection.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, assume, currently_in_test_context, given, settings
from hypothesis import strategies as st

from tests.api.fuzz import strategies as fz

pytestmark = [pytest.mark.slow]

CORPUS = Path(__file__).parent / "corpus" / "hostile_filters.jsonl"
ITEMS = "/collections/buildings/items"
TILE = "/collections/buildings/tiles/WebMercatorQuad/14/6865/13332"
# httpx refuses longer URLs (65,536); the filter limit (20,000 characters) bites well before.
MAX_URL = 60_000
# Bounded for CI: about 2,100 requests in all, at a few milliseconds each on a warm server.
FUZZ = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def corpus() -> list[dict[str, Any]]:
    cases = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    for case in cases:
        case["filter"] = "".join(text * times for text, times in case["parts"])
    return cases


def query(params: dict[str, str]) -> str:
    """The query string with brackets, quotes and commas left as typed, as the attacker sent them
    (percent-encoding them would triple a nested filter's length)."""
    return "&".join(f"{quote(k, safe='')}={quote(v, safe=chr(39) + '(),=*')}" for k, v in params.items())


@pytest.fixture(scope="module")
def http(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=10) as client:  # a hung worker fails fast
        yield client


def get(http: httpx.Client, path: str, params: dict[str, str]) -> httpx.Response:
    """GET that fails the test with the request it sent when the connection drops."""
    url = f"{path}?{query(params)}" if params else path
    if currently_in_test_context():
        assume(len(url) < MAX_URL)
    try:
        return http.get(url)
    except httpx.TransportError as exc:  # a dropped or refused connection: the server died
        raise AssertionError(f"connection lost on {path} {str(params)[:300]}: {exc!r}") from exc


def assert_well_behaved(r: httpx.Response, params: dict[str, str]) -> None:
    assert r.status_code < 500, f"{r.status_code} for {str(params)[:300]}: {r.text[:500]}"
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json", (r.status_code, r.text[:300])
        assert r.json()["status"] == r.status_code


def assert_alive(http: httpx.Client) -> None:
    assert get(http, "/health", {}).status_code == 200


# -- the attack's corpus ----------------------------------------------------------------------------
TARGETS = {"items": ITEMS, "tile": TILE}
CORPUS_CASES = [
    pytest.param(case, TARGETS[target], id=f"{case['name']}-{target}")
    for case in corpus()
    for target in case.get("targets", TARGETS)
]


@pytest.mark.parametrize(("case", "target"), CORPUS_CASES)
def test_the_attack_corpus_answers_as_expected_and_the_server_survives(
    http: httpx.Client, case: dict[str, Any], target: str
) -> None:
    params = {"filter": case["filter"], "filter-lang": case["lang"]}
    r = get(http, target, params)
    expected = case["expect"]
    if target == TILE and expected == 200:
        expected = r.status_code if r.status_code in (200, 204) else 200  # an empty tile is 204
    assert r.status_code == expected, r.text[:500]
    assert_well_behaved(r, params)
    if "limit" in case:
        body = r.json()
        assert body["limit"] == case["limit"] and body["type"] == "/problems/filter-too-complex", body
    assert_alive(http)


def test_nested_brackets_that_used_to_kill_the_server_are_a_400_naming_the_limit(http: httpx.Client) -> None:
    """The issue's request: a few thousand brackets around ``name = 'a'`` segfaulted the process."""
    hostile = "(" * 3000 + "name = 'a'" + ")" * 3000
    r = get(http, ITEMS, {"filter": hostile})
    assert r.status_code == 400
    body = r.json()
    assert body["limit"] == "ONEMAP_FILTER_MAX_DEPTH" and body["maximum"] == 8
    assert "ONEMAP_FILTER_MAX_DEPTH" in body["detail"]
    within = get(http, ITEMS, {"filter": "(" * 8 + "name = 'a'" + ")" * 8})
    assert within.status_code == 200, within.text
    assert_alive(http)


# -- fuzzing ----------------------------------------------------------------------------------------
@FUZZ
@given(expr=fz.cql2_text)
def test_fuzz_cql2_text_filters(http: httpx.Client, expr: str) -> None:
    params = {"filter": expr}
    assert_well_behaved(get(http, "/collections/test_parcels/items", params), params)


@FUZZ
@given(expr=fz.cql2_json)
def test_fuzz_cql2_json_filters(http: httpx.Client, expr: str) -> None:
    params = {"filter": expr, "filter-lang": "cql2-json"}
    assert_well_behaved(get(http, ITEMS, params), params)


@FUZZ
@given(params=fz.items_params, collection=st.sampled_from(["buildings", "test_parcels", "power_facilities"]))
def test_fuzz_items_parameters(http: httpx.Client, params: dict[str, str], collection: str) -> None:
    assert_well_behaved(get(http, f"/collections/{collection}/items", params), params)


@FUZZ
@given(address=fz.tile_address, params=fz.tile_params, one_layer=st.booleans())
def test_fuzz_tile_requests(
    http: httpx.Client, address: tuple[str, str, str, str], params: dict[str, str], one_layer: bool
) -> None:
    tms, z, y, x = (quote(part, safe="") for part in address)
    path = f"/collections/test_parcels/tiles/{tms}/{z}/{y}/{x}" if one_layer else f"/tiles/{tms}/{z}/{y}/{x}"
    assert_well_behaved(get(http, path, params), params)


@FUZZ
@given(params=fz.search_params)
def test_fuzz_search(http: httpx.Client, params: dict[str, str]) -> None:
    assert_well_behaved(get(http, "/search", params), params)


def test_the_server_survived_the_fuzzing(http: httpx.Client) -> None:
    """Runs last in the module: the process that took every request above still answers."""
    assert_alive(http)
    assert get(http, ITEMS, {"filter": "name = 'a'"}).status_code == 200
