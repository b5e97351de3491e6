"""Map editing (issue 12 §1): multi-edit changesets, comments, 412 conflict payloads, 422 shapes,
undo, and access. Pipe topology is in test_edit_topology.py, bulk edits in test_bulk_edit.py."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from layers.db import connect
from tests.api.conftest import Seed

PARCELS = "/collections/test_parcels/items"


def parcel(code: str, lon: float = 112.95, lat: float = 28.18, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"code": code, **props}}


async def db_value(seed: Seed, sql: str, *args: Any) -> Any:
    conn = await connect(seed.url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def new_parcel(client: httpx.AsyncClient, seed: Seed, code: str, **props: Any) -> tuple[int, str]:
    r = await client.post(PARCELS, json=parcel(code, **props), headers=seed.auth("editor"))
    assert r.status_code == 201, r.text
    return r.json()["id"], r.headers["etag"]


async def post(client: httpx.AsyncClient, seed: Seed, body: dict[str, Any], who: str = "editor") -> httpx.Response:
    return await client.post("/changesets", json=body, headers=seed.auth(who))


async def test_changeset_writes_every_edit_with_its_comment(client: httpx.AsyncClient, seed: Seed) -> None:
    a, etag_a = await new_parcel(client, seed, "CS-A", n=1)
    b, _ = await new_parcel(client, seed, "CS-B")
    r = await post(client, seed, {"comment": "补测更正", "valid_from": "2027-01-01T00:00:00+08:00", "edits": [
        {"op": "insert", "collection": "test_parcels", "feature": parcel("CS-C", kind="a")},
        {"op": "update", "collection": "test_parcels", "id": a, "if_match": etag_a,
         "patch": {"properties": {"n": 2}}},
        {"op": "retire", "collection": "test_parcels", "id": b, "if_match": "*"},
    ]})
    assert r.status_code == 201, r.text
    doc = r.json()
    cs = doc["id"]
    assert r.headers["location"].endswith(f"/changesets/{cs}") and r.headers["onemap-changeset"] == str(cs)
    assert doc["comment"] == "补测更正" and doc["actor"] == "editor"
    assert [x["op"] for x in doc["results"]] == ["insert", "update", "retire"]
    assert doc["results"][1]["etag"] == f'"{a}.2"' and doc["derived"] == []
    assert doc["valid_from"].startswith("2026-12-31T16:00:00")
    got = (await client.get(f"{PARCELS}/{a}")).json()
    assert got["properties"]["n"] == 2
    assert (await client.get(f"{PARCELS}/{b}")).status_code == 410
    # One changeset holds all three, and each version names it.
    assert await db_value(seed, "SELECT count(*) FROM onemap.changes WHERE changeset_id = $1", cs) == 3
    read = (await client.get(f"/changesets/{cs}", headers=seed.auth("viewer"))).json()
    assert read["comment"] == "补测更正" and read["undone_by"] is None and len(read["edits"]) == 3
    assert {e["op"] for e in read["edits"]} == {"insert", "update", "retire"}
    versions = (await client.get(f"{PARCELS}/{a}/versions")).json()["versions"]
    assert versions[-1]["comment"] == "补测更正" and versions[-1]["changeset"] == cs
    listed = (await client.get("/changesets?collection=test_parcels&limit=5", headers=seed.auth("viewer"))).json()
    assert listed["changesets"][0]["id"] == cs and listed["changesets"][0]["comment"] == "补测更正"
    trail = (await client.get(f"/collections/test_parcels/changes?fid={a}", headers=seed.auth("viewer"))).json()
    assert trail["changes"][0]["comment"] == "补测更正"


async def test_one_bad_edit_writes_nothing(client: httpx.AsyncClient, seed: Seed) -> None:
    a, etag_a = await new_parcel(client, seed, "CS-BAD", n=1)
    before = await db_value(seed, "SELECT max(id) FROM onemap.changesets")
    rows = await db_value(seed, "SELECT count(*) FROM data.test_parcels")
    r = await post(client, seed, {"comment": "should not land", "edits": [
        {"op": "insert", "collection": "test_parcels", "feature": parcel("CS-NEW")},
        {"op": "update", "collection": "test_parcels", "id": a, "if_match": etag_a,
         "patch": {"properties": {"n": -3, "kind": "z"}}},
    ]})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["type"].endswith("/validation-failed")
    assert {(e["index"], e["field"]) for e in problem["errors"]} == {(1, "n"), (1, "kind")}
    assert await db_value(seed, "SELECT max(id) FROM onemap.changesets") == before
    assert await db_value(seed, "SELECT count(*) FROM data.test_parcels") == rows


async def test_late_failure_rolls_back_earlier_edits(client: httpx.AsyncClient, seed: Seed) -> None:
    """An edit that fails only when written (a retired feature) undoes the edits before it."""
    a, etag_a = await new_parcel(client, seed, "CS-LATE")
    gone, _ = await new_parcel(client, seed, "CS-GONE")
    assert (await client.delete(f"{PARCELS}/{gone}", headers=seed.auth("editor"))).status_code == 204
    r = await post(client, seed, {"edits": [
        {"op": "update", "collection": "test_parcels", "id": a, "if_match": etag_a, "patch": {"properties": {"n": 9}}},
        {"op": "update", "collection": "test_parcels", "id": gone, "patch": {"properties": {"n": 9}}},
    ]})
    assert r.status_code == 410 and r.json()["index"] == 1
    assert (await client.get(f"{PARCELS}/{a}")).headers["etag"] == etag_a


async def test_stale_if_match_is_412_with_the_current_version(client: httpx.AsyncClient, seed: Seed) -> None:
    a, etag_a = await new_parcel(client, seed, "CS-412", n=1)
    moved = await client.patch(f"{PARCELS}/{a}", json={"properties": {"n": 5}},
                               headers={**seed.auth("editor"), "If-Match": etag_a})
    assert moved.status_code == 200
    b, etag_b = await new_parcel(client, seed, "CS-412b")
    r = await post(client, seed, {"edits": [
        {"op": "update", "collection": "test_parcels", "id": b, "if_match": etag_b, "patch": {"properties": {"n": 1}}},
        {"op": "replace", "collection": "test_parcels", "id": a, "if_match": etag_a, "feature": parcel("CS-412")},
    ]})
    assert r.status_code == 412, r.text
    problem = r.json()
    assert problem["type"].endswith("/version-conflict")
    (conflict,) = problem["conflicts"]
    assert conflict["index"] == 1 and conflict["id"] == a and conflict["sent_etag"] == etag_a
    assert conflict["current_etag"] == moved.headers["etag"]
    assert conflict["current"]["properties"]["n"] == 5 and conflict["current"]["type"] == "Feature"
    assert (await client.get(f"{PARCELS}/{b}")).headers["etag"] == etag_b  # the other edit did not land


async def test_part4_comment_changeset_header_and_412_payload(client: httpx.AsyncClient, seed: Seed) -> None:
    a, etag_a = await new_parcel(client, seed, "P4-C")
    r = await client.patch(f"{PARCELS}/{a}", json={"properties": {"n": 3}}, headers={
        **seed.auth("editor"), "If-Match": etag_a, "OneMap-Comment": quote("门牌号更正 (survey 2026)"),
        "OGC-Mutation-Datetime": "2027-01-02T00:00:00Z"})
    assert r.status_code == 200, r.text
    cs = int(r.headers["onemap-changeset"])
    doc = (await client.get(f"/changesets/{cs}", headers=seed.auth("editor"))).json()
    assert doc["comment"] == "门牌号更正 (survey 2026)" and doc["valid_from"].startswith("2027-01-02")
    assert doc["edits"] == [{"collection": "test_parcels", "id": a, "op": "update", "version_before": 1,
                             "version_after": 2}]
    stale = await client.patch(f"{PARCELS}/{a}", json={"properties": {"n": 4}},
                               headers={**seed.auth("editor"), "If-Match": etag_a})
    assert stale.status_code == 412
    (conflict,) = stale.json()["conflicts"]
    assert conflict["current_etag"] == r.headers["etag"] and conflict["current"]["properties"]["n"] == 3
    bad = await client.patch(f"{PARCELS}/{a}", json={"properties": {"n": 4}},
                             headers={**seed.auth("editor"), "OneMap-Comment": "%FF%FE"})
    assert bad.status_code == 400


async def test_field_errors_for_range_and_code(client: httpx.AsyncClient, seed: Seed) -> None:
    r = await client.post(PARCELS, json=parcel("FE", n=-1, kind="x"), headers=seed.auth("editor"))
    assert r.status_code == 422
    fields = {e["field"]: e for e in r.json()["errors"]}
    assert set(fields) == {"n", "kind"} and "index" not in fields["n"]


BOWTIE = {"type": "Polygon", "coordinates": [[[112.95, 28.18], [112.952, 28.182], [112.952, 28.18],
                                              [112.95, 28.182], [112.95, 28.18]]]}


def building(geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": {"use": "other", "height_m": 12}}


async def test_self_intersection_is_422_with_location_unless_repaired(client: httpx.AsyncClient, seed: Seed) -> None:
    r = await client.post("/collections/buildings/items", json=building(BOWTIE), headers=seed.auth("editor"))
    assert r.status_code == 422, r.text
    (err,) = r.json()["errors"]
    assert err["field"] == "geometry" and "Self-intersection" in err["message"]
    lon, lat = err["location"]
    assert abs(lon - 112.951) < 1e-6 and abs(lat - 28.181) < 1e-6  # where the bow tie's edges cross
    in_cs = await post(client, seed, {"edits": [{"op": "insert", "collection": "buildings",
                                                 "feature": building(BOWTIE)}]})
    assert in_cs.status_code == 422 and in_cs.json()["errors"][0]["index"] == 0
    assert in_cs.json()["errors"][0]["location"] == err["location"]
    fixed = await client.post("/collections/buildings/items?repair=true", json=building(BOWTIE),
                              headers=seed.auth("editor"))
    assert fixed.status_code == 201, fixed.text
    geom = fixed.json()["geometry"]
    assert geom["type"] == "MultiPolygon" and len(geom["coordinates"]) == 2  # the two triangles, still polygons
    repaired = await post(client, seed, {"repair": True, "edits": [
        {"op": "insert", "collection": "buildings", "feature": building(BOWTIE)}]})
    assert repaired.status_code == 201, repaired.text


async def test_access_to_changesets(client: httpx.AsyncClient, seed: Seed) -> None:
    edit = {"op": "insert", "collection": "test_parcels", "feature": parcel("ACL")}
    assert (await post(client, seed, {"edits": [edit]}, who="viewer")).status_code == 403
    assert (await client.post("/changesets", json={"edits": [edit]})).status_code == 401
    pipe = {"op": "retire", "collection": "pipeline_water_points", "id": 1}
    assert (await post(client, seed, {"edits": [pipe]})).status_code == 404  # restricted: not even seen
    assert (await post(client, seed, {"edits": []})).status_code == 400
    assert (await post(client, seed, {"edits": [{"op": "explode", "collection": "test_parcels"}]})).status_code == 400
    assert (await client.get("/changesets/999999999", headers=seed.auth("viewer"))).status_code == 404
    assert (await client.get("/changesets")).status_code == 401


async def test_undo_restores_previous_versions_as_a_new_changeset(client: httpx.AsyncClient, seed: Seed) -> None:
    a, etag_a = await new_parcel(client, seed, "U-A", n=1, kind="a")
    b, _ = await new_parcel(client, seed, "U-B", n=7)
    r = await post(client, seed, {"comment": "to be undone", "edits": [
        {"op": "insert", "collection": "test_parcels", "feature": parcel("U-C")},
        {"op": "update", "collection": "test_parcels", "id": a, "if_match": etag_a,
         "patch": {"properties": {"n": 2, "kind": None},
                   "geometry": {"type": "Point", "coordinates": [112.96, 28.19]}}},
        {"op": "retire", "collection": "test_parcels", "id": b},
    ]})
    assert r.status_code == 201, r.text
    cs, c = r.json()["id"], r.json()["results"][0]["id"]
    assert (await client.post(f"/changesets/{cs}/undo", json={}, headers=seed.auth("editor"))).status_code == 403
    undo = await client.post(f"/changesets/{cs}/undo", json={"comment": "撤销"}, headers=seed.auth("admin"))
    assert undo.status_code == 201, undo.text
    doc = undo.json()
    assert doc["undoes"] == cs and doc["comment"] == "撤销" and len(doc["edits"]) == 3
    assert (await client.get(f"/changesets/{cs}", headers=seed.auth("admin"))).json()["undone_by"] == doc["id"]
    assert (await client.get(f"{PARCELS}/{c}")).status_code == 410
    got_a = await client.get(f"{PARCELS}/{a}")
    assert got_a.json()["properties"]["n"] == 1 and got_a.json()["properties"]["kind"] == "a"
    assert got_a.json()["geometry"]["coordinates"] == [112.95, 28.18] and got_a.headers["etag"] == f'"{a}.3"'
    got_b = await client.get(f"{PARCELS}/{b}")
    assert got_b.status_code == 200 and got_b.json()["properties"]["n"] == 7
    # History kept: every version is still there, the undo added new ones.
    ops = [v["operation"] for v in (await client.get(f"{PARCELS}/{b}/versions")).json()["versions"]]
    assert len(ops) == 2
    assert await db_value(seed, "SELECT count(*) FROM data.test_parcels WHERE fid = $1", a) == 3


async def test_undo_refuses_later_edits_unless_forced(client: httpx.AsyncClient, seed: Seed) -> None:
    a, etag_a = await new_parcel(client, seed, "UC-A", n=1)
    first = await post(client, seed, {"edits": [
        {"op": "update", "collection": "test_parcels", "id": a, "if_match": etag_a,
         "patch": {"properties": {"n": 2}}}]})
    assert first.status_code == 201
    later = await client.patch(f"{PARCELS}/{a}", json={"properties": {"n": 3}}, headers=seed.auth("editor"))
    assert later.status_code == 200
    url = f"/changesets/{first.json()['id']}/undo"
    refused = await client.post(url, headers=seed.auth("admin"))
    assert refused.status_code == 409 and refused.json()["type"].endswith("/undo-conflict")
    (feature,) = refused.json()["features"]
    assert feature["id"] == a and feature["changeset"] == int(later.headers["onemap-changeset"])
    assert (await client.get(f"{PARCELS}/{a}")).json()["properties"]["n"] == 3  # nothing written
    forced = await client.post(url, json={"force": True}, headers=seed.auth("admin"))
    assert forced.status_code == 201, forced.text
    assert (await client.get(f"{PARCELS}/{a}")).json()["properties"]["n"] == 1
