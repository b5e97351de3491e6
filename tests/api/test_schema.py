"""OGC API Features Part 5 (Schemas): /collections/{id}/schema for every collection, roles, units,
code lists, and real items validated against their schema with the jsonschema package."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from api.ogc.conformance import CONFORMANCE
from layers.json_schema import logical_feature
from spatial.codelists import get_codelist
from tests.api.conftest import Seed

REL_SCHEMA = "http://www.opengis.net/def/rel/ogc/1.0/schema"
FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _rfc3339(value: object) -> bool:
    """jsonschema checks date-time only with an optional package; RFC 3339 with a zone, here."""
    if not isinstance(value, str):
        return True
    if "T" not in value or dt.datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is None:
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    return True
PART5 = "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/"


async def _schema(client: httpx.AsyncClient, collection: str, **headers: str) -> dict[str, Any]:
    r = await client.get(f"/collections/{collection}/schema", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/schema+json")
    doc: dict[str, Any] = r.json()
    return doc


async def test_every_collection_serves_its_schema(client: httpx.AsyncClient, seed: Seed) -> None:
    listing = (await client.get("/collections", headers=seed.auth("admin"))).json()["collections"]
    assert len(listing) > 10
    for collection in listing:
        doc = await _schema(client, collection["id"], **seed.auth("admin"))
        Draft202012Validator.check_schema(doc)
        assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert doc["$id"].endswith(f"/collections/{collection['id']}/schema")
        assert doc["type"] == "object"
        seqs = [p["x-ogc-propertySeq"] for p in doc["properties"].values()]
        assert seqs == list(range(1, len(seqs) + 1))
        queryables = (
            await client.get(f"/collections/{collection['id']}/queryables", headers=seed.auth("admin"))
        ).json()["properties"]
        # Every returned property other than the id can be filtered on, under the same name.
        assert set(doc["properties"]) - {"id"} <= set(queryables)


async def test_roles_name_id_geometry_and_valid_time(client: httpx.AsyncClient) -> None:
    doc = await _schema(client, "rail_stations")
    roles = {name: p.get("x-ogc-role") for name, p in doc["properties"].items() if p.get("x-ogc-role")}
    assert roles == {
        "id": "id",
        "geometry": "primary-geometry",
        "valid_from": "primary-interval-start",
        "valid_to": "primary-interval-end",
    }
    assert doc["properties"]["geometry"]["format"] == "geometry-point"
    assert doc["properties"]["valid_to"]["type"] == ["string", "null"]
    assert doc["properties"]["valid_from"]["readOnly"] is True


async def test_units_and_code_lists(client: httpx.AsyncClient) -> None:
    doc = await _schema(client, "buildings")
    height = doc["properties"]["height_m"]
    assert height["x-ogc-unit"] == "m" and height["x-ogc-unitLang"] == "UCUM"
    use = doc["properties"]["use"]
    codes = get_codelist("building.use")
    assert use["enum"] == codes.codes()  # required: no null
    assert use["x-labels"] == dict(codes.labels_zh)
    assert use.get("x-labels-en", {}) == dict(codes.labels_en)
    assert "use" in doc["required"] and "height_m" not in doc["required"]
    assert doc["properties"]["year_source"]["enum"] == ["survey", "ghsl_age", "unknown", None]


async def test_collection_links_its_schema(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/collections/buildings")).json()
    schema_links = [lk for lk in doc["links"] if lk["rel"] == REL_SCHEMA]
    assert len(schema_links) == 1 and schema_links[0]["type"] == "application/schema+json"
    assert (await client.get(schema_links[0]["href"])).status_code == 200
    page = await client.get("/collections/buildings/schema", params={"f": "html"})
    assert page.status_code == 200 and "height_m" in page.text


@pytest.mark.parametrize(
    ("collection", "who", "params"),
    [
        ("rail_stations", None, {"limit": 300}),
        ("buildings", None, {"limit": 300}),
        ("test_parcels", None, {"limit": 100}),
        ("power_facilities", "viewer", {"limit": 300}),
        ("test_parcels", None, {"limit": 100, "datetime": "../.."}),
    ],
)
async def test_items_validate_against_their_schema(
    client: httpx.AsyncClient, seed: Seed, collection: str, who: str | None, params: dict[str, Any]
) -> None:
    headers = seed.auth(who) if who else {}
    schema = await _schema(client, collection, **headers)
    validator = Draft202012Validator(schema, format_checker=FORMATS)
    body = (await client.get(f"/collections/{collection}/items", params=params, headers=headers)).json()
    assert body["features"]
    for feature in body["features"]:
        errors = [e.message for e in validator.iter_errors(logical_feature(feature))]
        assert not errors, (feature["id"], errors)
    item = (await client.get(f"/collections/{collection}/items/{body['features'][0]['id']}", headers=headers)).json()
    assert not list(validator.iter_errors(logical_feature(item)))


async def test_schema_rejects_what_the_server_would_refuse(client: httpx.AsyncClient) -> None:
    """The schema is not vacuous: wrong codes, types and unknown properties fail it."""
    validator = Draft202012Validator(await _schema(client, "rail_stations"), format_checker=FORMATS)
    good = (await client.get("/collections/rail_stations/items", params={"limit": 1})).json()["features"][0]
    assert validator.is_valid(logical_feature(good))
    for change in ({"station": "bus"}, {"name": 3}, {"colour": "red"}, {"valid_from": "yesterday"}):
        bad = logical_feature(good) | change
        assert not validator.is_valid(bad), change


def test_conformance_declares_part5_schemas() -> None:
    assert PART5 + "schemas" in CONFORMANCE
    assert PART5 + "core-roles-features" in CONFORMANCE
