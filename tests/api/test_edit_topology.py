"""Pipe topology on every write path: segments follow a moved point (Part 4 and changesets, in the
same changeset), a used point cannot be retired or renumbered (409 topology), and undo restores both."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import Seed

POINTS, SEGMENTS = "pipeline_water_points", "pipeline_water_segments"


def point(no: str, lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"point_no": no, "category": "JS", "subcategory": "JY", "feature_point": "ST",
                           "status": "0"}}


def segment(no: str, start: str, end: str, coords: list[list[float]]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords},
            "properties": {"segment_no": no, "category": "JS", "subcategory": "JY", "start_point": start,
                           "end_point": end, "start_depth_m": 1.2, "end_depth_m": 1.4, "material": "PE",
                           "diameter_mm": 200, "status": "0"}}


async def network(client: httpx.AsyncClient, seed: Seed, tag: str) -> dict[str, int]:
    """Points P1-P2-P3 and segments S1 (P1→P2), S2 (P2→P3), written in one changeset."""
    p1, p2, p3 = f"{tag}-P1", f"{tag}-P2", f"{tag}-P3"
    r = await client.post("/changesets", headers=seed.auth("admin"), json={"comment": "示例数据 network", "edits": [
        {"op": "insert", "collection": POINTS, "feature": point(p1, 112.95, 28.18)},
        {"op": "insert", "collection": POINTS, "feature": point(p2, 112.951, 28.18)},
        {"op": "insert", "collection": POINTS, "feature": point(p3, 112.952, 28.18)},
        {"op": "insert", "collection": SEGMENTS,
         "feature": segment(f"{tag}-S1", p1, p2, [[112.95, 28.18], [112.9505, 28.1801], [112.951, 28.18]])},
        {"op": "insert", "collection": SEGMENTS,
         "feature": segment(f"{tag}-S2", p2, p3, [[112.951, 28.18], [112.952, 28.18]])},
    ]})
    assert r.status_code == 201, r.text
    ids = [x["id"] for x in r.json()["results"]]
    return dict(zip(["p1", "p2", "p3", "s1", "s2"], ids, strict=True))


async def coords(client: httpx.AsyncClient, seed: Seed, fid: int) -> list[list[float]]:
    r = await client.get(f"/collections/{SEGMENTS}/items/{fid}", headers=seed.auth("admin"))
    assert r.status_code == 200, r.text
    result: list[list[float]] = r.json()["geometry"]["coordinates"]
    return result


async def test_moving_a_point_moves_segment_ends_in_the_same_changeset(client: httpx.AsyncClient, seed: Seed) -> None:
    net = await network(client, seed, "MV")
    r = await client.patch(f"/collections/{POINTS}/items/{net['p2']}", headers=seed.auth("admin"),
                           json={"geometry": {"type": "Point", "coordinates": [112.9512, 28.1803]}})
    assert r.status_code == 200, r.text
    s1, s2 = await coords(client, seed, net["s1"]), await coords(client, seed, net["s2"])
    assert s1[-1] == [112.9512, 28.1803] and s1[0] == [112.95, 28.18] and s1[1] == [112.9505, 28.1801]
    assert s2[0] == [112.9512, 28.1803] and s2[-1] == [112.952, 28.18]
    cs = int(r.headers["onemap-changeset"])
    edits = (await client.get(f"/changesets/{cs}", headers=seed.auth("admin"))).json()["edits"]
    assert {(e["collection"], e["id"]) for e in edits} == {(POINTS, net["p2"]), (SEGMENTS, net["s1"]),
                                                           (SEGMENTS, net["s2"])}
    # Through a changeset the follow-ups are reported as "derived".
    moved = await client.post("/changesets", headers=seed.auth("admin"), json={"comment": "管点位置更正", "edits": [
        {"op": "update", "collection": POINTS, "id": net["p3"],
         "patch": {"geometry": {"type": "Point", "coordinates": [112.9525, 28.1805]}}}]})
    assert moved.status_code == 201, moved.text
    (derived,) = moved.json()["derived"]
    assert derived["collection"] == SEGMENTS and derived["id"] == net["s2"] and derived["version"] == 3
    assert "MV-P3" in derived["reason"]
    assert (await coords(client, seed, net["s2"]))[-1] == [112.9525, 28.1805]
    # Changing only attributes leaves segments alone.
    same = await client.patch(f"/collections/{POINTS}/items/{net['p1']}", headers=seed.auth("admin"),
                              json={"properties": {"well_depth_m": 2.5}})
    assert same.status_code == 200
    r1 = await client.get(f"/collections/{SEGMENTS}/items/{net['s1']}", headers=seed.auth("admin"))
    assert r1.headers["etag"] == f'"{net["s1"]}.2"'


async def test_retiring_or_renumbering_a_used_point_is_refused(client: httpx.AsyncClient, seed: Seed) -> None:
    net = await network(client, seed, "RT")
    r = await client.delete(f"/collections/{POINTS}/items/{net['p2']}", headers=seed.auth("admin"))
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["type"].endswith("/topology") and "RT-P2" in problem["detail"]
    assert {(s["id"], s["point"]) for s in problem["segments"]} == {(net["s1"], "end"), (net["s2"], "start")}
    renumber = await client.patch(f"/collections/{POINTS}/items/{net['p2']}", headers=seed.auth("admin"),
                                  json={"properties": {"point_no": "RT-P9"}})
    assert renumber.status_code == 409 and renumber.json()["type"].endswith("/topology")
    # Retiring the segments first, in the same changeset, frees the point.
    ok = await client.post("/changesets", headers=seed.auth("admin"), json={"edits": [
        {"op": "retire", "collection": SEGMENTS, "id": net["s1"]},
        {"op": "retire", "collection": SEGMENTS, "id": net["s2"]},
        {"op": "retire", "collection": POINTS, "id": net["p2"]}]})
    assert ok.status_code == 201, ok.text
    # Undo brings all three back, point first (reverse order), so the network is whole again.
    undo = await client.post(f"/changesets/{ok.json()['id']}/undo", headers=seed.auth("admin"))
    assert undo.status_code == 201, undo.text
    got = await client.get(f"/collections/{POINTS}/items/{net['p2']}", headers=seed.auth("admin"))
    assert got.status_code == 200 and got.json()["properties"]["point_no"] == "RT-P2"
    assert (await coords(client, seed, net["s1"]))[-1] == [112.951, 28.18]


async def test_undo_of_a_point_move_restores_the_segments(client: httpx.AsyncClient, seed: Seed) -> None:
    net = await network(client, seed, "UM")
    r = await client.patch(f"/collections/{POINTS}/items/{net['p1']}", headers=seed.auth("admin"),
                           json={"geometry": {"type": "Point", "coordinates": [112.9498, 28.1797]}})
    assert r.status_code == 200
    assert (await coords(client, seed, net["s1"]))[0] == [112.9498, 28.1797]
    undo = await client.post(f"/changesets/{r.headers['onemap-changeset']}/undo", headers=seed.auth("admin"))
    assert undo.status_code == 201, undo.text
    assert (await coords(client, seed, net["s1"]))[0] == [112.95, 28.18]
    point_back = await client.get(f"/collections/{POINTS}/items/{net['p1']}", headers=seed.auth("admin"))
    assert point_back.json()["geometry"]["coordinates"] == [112.95, 28.18]
    # The segment got exactly one restoring version (not a second one from the point's follow-up).
    edits = undo.json()["edits"]
    assert sum(1 for e in edits if e["collection"] == SEGMENTS) == 1


async def test_pipe_layers_need_a_grant(client: httpx.AsyncClient, seed: Seed) -> None:
    body = {"edits": [{"op": "insert", "collection": POINTS, "feature": point("ACL-1", 112.95, 28.18)}]}
    assert (await client.post("/changesets", json=body, headers=seed.auth("editor"))).status_code == 404
    assert (await client.post("/changesets", json=body, headers=seed.auth("pipes"))).status_code == 403
    gas = {"edits": [{"op": "insert", "collection": POINTS, "feature": point("ACL-2", 112.95, 28.18)}]}
    assert (await client.post("/changesets", json=gas, headers=seed.auth("gas_editor"))).status_code == 404


async def test_bulk_edit_checks_rules_of_every_merged_feature(client: httpx.AsyncClient, seed: Seed) -> None:
    net = await network(client, seed, "BK")
    url = f"/collections/{SEGMENTS}/bulk-edit"
    # Each segment alone is fine without a diameter only if it has a section: the layer rule says so.
    broken = await client.post(url, headers=seed.auth("admin"),
                               json={"filter": "segment_no LIKE 'BK-%'", "set": {"diameter_mm": None}})
    assert broken.status_code == 422, broken.text
    assert {e["field"] for e in broken.json()["errors"]} == {"diameter_mm"}
    assert all(str(net["s1"]) in e["message"] or str(net["s2"]) in e["message"] for e in broken.json()["errors"])
    r = await client.get(f"/collections/{SEGMENTS}/items/{net['s1']}", headers=seed.auth("admin"))
    assert r.json()["properties"]["diameter_mm"] == 200 and r.headers["etag"] == f'"{net["s1"]}.1"'
    renumber = await client.post(f"/collections/{POINTS}/bulk-edit", headers=seed.auth("admin"),
                                 json={"filter": "point_no = 'BK-P1'", "set": {"point_no": "BK-P7"}})
    assert renumber.status_code == 422 and renumber.json()["errors"][0]["code"] == "topology"
    owner = await client.post(url, headers=seed.auth("admin"),
                              json={"filter": "segment_no LIKE 'BK-%'", "set": {"owner": "长沙水务"}})
    assert owner.status_code == 201 and owner.json()["count"] == 2


async def test_changesets_on_restricted_layers_stay_hidden(client: httpx.AsyncClient, seed: Seed) -> None:
    r = await client.post("/changesets", headers=seed.auth("admin"), json={"comment": "管点补测", "edits": [
        {"op": "insert", "collection": POINTS, "feature": point("HID-1", 112.95, 28.18)}]})
    assert r.status_code == 201
    url = f"/changesets/{r.json()['id']}"
    assert (await client.get(url, headers=seed.auth("editor"))).status_code == 404
    seen = await client.get(url, headers=seed.auth("pipes"))
    assert seen.status_code == 200 and seen.json()["comment"] == "管点补测" and seen.json()["complete"] is True
    listed = (await client.get(f"/changesets?collection={POINTS}", headers=seed.auth("editor")))
    assert listed.status_code == 404
    mine = (await client.get("/changesets?actor=admin&limit=500", headers=seed.auth("editor"))).json()
    assert r.json()["id"] not in {c["id"] for c in mine["changesets"]}


async def test_a_changeset_may_edit_a_segment_its_point_move_dragged(client: httpx.AsyncClient, seed: Seed) -> None:
    """The editor read S1 at version 1, moved its end point and fixed S1's owner: both land."""
    net = await network(client, seed, "DR")
    r = await client.post("/changesets", headers=seed.auth("admin"), json={"edits": [
        {"op": "update", "collection": POINTS, "id": net["p2"], "if_match": f'"{net["p2"]}.1"',
         "patch": {"geometry": {"type": "Point", "coordinates": [112.9511, 28.1801]}}},
        {"op": "update", "collection": SEGMENTS, "id": net["s1"], "if_match": f'"{net["s1"]}.1"',
         "patch": {"properties": {"owner": "长沙水务"}}}]})
    assert r.status_code == 201, r.text
    assert r.json()["results"][1]["version"] == 3
    got = await client.get(f"/collections/{SEGMENTS}/items/{net['s1']}", headers=seed.auth("admin"))
    assert got.json()["properties"]["owner"] == "长沙水务"
    assert got.json()["geometry"]["coordinates"][-1] == [112.9511, 28.1801]
