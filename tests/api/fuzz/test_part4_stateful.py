"""Schemathesis' stateful phase on the Part 4 routes: create, read, replace, patch and retire
features of an overlay layer as an editor, chained through the ids and ETags the server returns.

``tests/api/test_clients.py`` runs schemathesis' stateless phases over every operation; this adds
the sequences. Our /openapi is generic over collections (``{collectionId}``, free-form
``properties``), so random bodies would mostly be refused with 422 before any state is made: the
test narrows a copy of the document to one overlay layer, whose schema it knows, and adds the
OpenAPI links (201 → featureId and If-Match) the stateful phase follows. Bounded: scenarios,
steps and the request timeout are capped, so it takes seconds.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.api.conftest import Seed

pytestmark = [pytest.mark.slow]

LAYER = "fuzz_marks"
OVERLAY = {
    "id": LAYER,
    "title_zh": "模糊测试标志",
    "title_en": "Fuzz marks",
    "geometry_type": "Point",
    "access": "public",
    "schema": {
        "fields": [
            {"name": "label", "type": "string", "title_zh": "标签", "title_en": "Label"},
            {"name": "count", "type": "integer", "minimum": 0, "title_zh": "数", "title_en": "Count"},
            {"name": "surveyed", "type": "date", "title_zh": "调查日期", "title_en": "Surveyed"},
        ]
    },
}
# The positive/negative data checks are left out on purpose: the narrowed document is stricter
# than the server in places (points only inside Changsha) and looser in others (it cannot say
# "no U+0000", which the body guard refuses with 400, nor the layer's own rules, answered 422).
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "use_after_free",
    "ensure_resource_availability",
]
ITEMS = "/collections/{collectionId}/items"
ITEM = "/collections/{collectionId}/items/{featureId}"
# Points in Changsha (OpenAPI 3.0 cannot give longitude and latitude different ranges, so an enum):
# anywhere else is refused with 422 by the layer's extent check before any state is made.
POINT = {
    "type": "object",
    "required": ["type", "coordinates"],
    "additionalProperties": False,
    "properties": {
        "type": {"type": "string", "enum": ["Point"]},
        "coordinates": {"enum": [[112.95, 28.2], [113.0, 28.25], [112.9, 28.15], [112.98, 28.19]]},
    },
}
PROPERTIES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "label": {"type": "string", "maxLength": 60},
        "count": {"type": "integer", "minimum": -5, "maximum": 10**12},
        "surveyed": {"type": "string", "format": "date"},
    },
}


def _link(operation: str) -> dict[str, Any]:
    return {
        "operationId": operation,
        "parameters": {"path.featureId": "$response.body#/id", "header.If-Match": "$response.header.ETag"},
    }


def part4_document(full: dict[str, Any]) -> dict[str, Any]:
    """The Part 4 operations of ``full`` (our /openapi), narrowed to :data:`LAYER`, with links."""
    doc = copy.deepcopy(full)
    doc["paths"] = {
        ITEMS: {"post": doc["paths"][ITEMS]["post"]},
        ITEM: {m: doc["paths"][ITEM][m] for m in ("get", "put", "patch", "delete")},
    }
    for path in doc["paths"].values():
        for op in path.values():
            for param in op.get("parameters", []):
                if param["name"] == "collectionId":
                    param["schema"] = {"type": "string", "enum": [LAYER]}
    feature_input = doc["components"]["schemas"]["FeatureInput"]
    feature_input["properties"].update({"geometry": POINT, "properties": PROPERTIES})
    feature_input["additionalProperties"] = False
    for content in doc["paths"][ITEM]["patch"]["requestBody"]["content"].values():
        content["schema"] = {
            "type": "object", "additionalProperties": False, "properties": {"properties": PROPERTIES, "geometry": POINT}
        }
    follow = {name: _link(name) for name in ("getFeature", "replaceFeature", "updateFeature", "deleteFeature")}
    doc["paths"][ITEMS]["post"]["responses"]["201"]["links"] = follow
    for method in ("put", "patch"):
        doc["paths"][ITEM][method]["responses"]["200"]["links"] = follow
    return doc


@pytest.fixture(scope="module")
def overlay(server: str, seed: Seed) -> str:
    r = httpx.post(f"{server}/collections", json=OVERLAY, headers=seed.auth("admin"), timeout=30)
    assert r.status_code == 201, r.text
    return LAYER


def test_part4_sequences_never_answer_5xx_and_keep_to_the_schema(server: str, seed: Seed, overlay: str) -> None:
    full = httpx.get(f"{server}/openapi", params={"f": "json"}, timeout=30).json()
    schema = schemathesis.openapi.from_dict(part4_document(full))
    schema.config.update(base_url=server, headers=seed.auth("editor"), request_timeout=20)
    schema.config.checks.update(included_check_names=CHECKS)
    machine = schema.as_state_machine()
    calls: list[tuple[str, int]] = []

    class Part4(machine):  # type: ignore[misc, valid-type]
        def after_call(self, response: Any, case: Any) -> None:
            calls.append((f"{case.method} {case.operation.path}", response.status_code))
            super().after_call(response, case)

    run_state_machine_as_test(
        Part4,
        settings=settings(
            max_examples=40,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
    statuses = {status for _, status in calls}
    assert not [c for c in calls if c[1] >= 500], calls
    # The links were followed: features were created and then read, changed or retired through them.
    assert ("POST " + ITEMS, 201) in calls, sorted(set(calls))
    assert any(op.startswith(("PUT", "PATCH", "DELETE")) and s in (200, 204) for op, s in calls), sorted(set(calls))
    assert statuses <= {200, 201, 204, 400, 404, 409, 410, 412, 422, 428}, sorted(set(calls))
