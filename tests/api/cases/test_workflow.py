"""The whole case workflow through the API, each step by the role that owns it."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.api.cases.conftest import CaseSeed, jpeg
from tests.cases.city import WATER_COVER, WATER_COVER_AT, cell_code

EVENT_AT = {"type": "Point", "coordinates": [112.9525, 28.2015]}  # cell 03


async def report(client: httpx.AsyncClient, seed: CaseSeed, who: str = "inspector", **fields: Any) -> httpx.Response:
    body = {"geometry": EVENT_AT, "kind": "event", "big_class": "05", "small_class": "0501",
            "description": "人行道占道经营", **fields}
    return await client.post("/cases/reports", headers=seed.auth(who), data={"report": json.dumps(body)},
                             files=[("photo", ("a.jpg", jpeg(), "image/jpeg"))])


async def act(client: httpx.AsyncClient, seed: CaseSeed, who: str, fid: int, action: str, **body: Any
              ) -> httpx.Response:
    return await client.post(f"/cases/{fid}/actions/{action}", headers=seed.auth(who), json=body)


async def photo(client: httpx.AsyncClient, seed: CaseSeed, who: str, fid: int) -> int:
    r = await client.post(f"/cases/{fid}/attachments", headers=seed.auth(who),
                          files={"photo": ("done.jpg", jpeg(), "image/jpeg")})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def test_report_to_closure_with_each_role(cases_client: httpx.AsyncClient, case_seed: CaseSeed) -> None:
    c, s = cases_client, case_seed
    r = await report(c, s)
    assert r.status_code == 201, r.text
    filed = r.json()
    fid = filed["id"]
    assert filed["state"] == "reported" and filed["grid_code"] == cell_code(3)
    assert filed["department"] == "cg-430104" and len(filed["case_no"]) == 12
    assert r.headers["location"] == f"/cases/{fid}"

    steps = [("operator", "accept", {}, "accepted"),
             ("dispatcher", "dispatch", {"department": "cg-430104"}, "dispatched")]
    for who, action, body, state in steps:
        r = await act(c, s, who, fid, action, **body)
        assert r.status_code == 200, r.text
        assert r.json()["state"] == state and r.headers["etag"] == r.json()["etag"]
    aid = await photo(c, s, "handler", fid)
    r = await act(c, s, "handler", fid, "complete", attachments=[aid], reason="已清理")
    assert r.status_code == 200, r.text
    assert r.json()["case"]["properties"]["handler"] == "handler"
    r = await act(c, s, "inspector", fid, "verify", verdict="fixed")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "closed"

    detail = (await c.get(f"/cases/{fid}", headers=s.auth("leader"))).json()
    assert [h["action"] for h in detail["history"]] == ["report", "accept", "dispatch", "complete", "verify", "close"]
    assert [h["version"] for h in detail["history"]] == [1, 2, 3, 4, 5, 6]
    assert [h["actor"] for h in detail["history"]][:4] == ["inspector", "operator", "dispatcher", "handler"]
    assert detail["history"][3]["attachments"][0]["id"] == aid
    props = detail["case"]["properties"]
    assert props["state"] == "closed" and props["closed_at"] and props["deadline_at"]
    assert detail["timers"]["overdue"] is False
    versions = await c.get(f"/collections/city_cases/items/{fid}/versions", headers=s.auth("admin"))
    assert versions.status_code == 200
    assert [v["version"] for v in versions.json()["versions"]] == [1, 2, 3, 4, 5, 6]  # none overwritten


async def test_component_report_finds_the_cover_and_its_owner(cases_client: httpx.AsyncClient,
                                                              case_seed: CaseSeed) -> None:
    lon, lat = WATER_COVER_AT
    r = await report(cases_client, case_seed, geometry={"type": "Point", "coordinates": [lon + 0.00005, lat]},
                     kind="component", big_class="01", small_class="0101", description="井盖破损")
    assert r.status_code == 201, r.text
    assert r.json()["component_code"] == WATER_COVER and r.json()["department"] == "sw"
