"""Every illegal transition is 409, every wrong role 403, a case out of sight 404 — checked
against the transitions table the database holds (the one source of the workflow)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cases.codes import ACTIONS, STATES
from layers.db import connect
from tests.api.cases.conftest import PEOPLE, CaseSeed
from tests.api.cases.test_workflow import act, photo, report

ROLE_OF = {name: set(roles) for name, (roles, _) in PEOPLE.items()}
# name → how to get a case there, from a fresh report (who, action, body)
PATHS: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "reported": [],
    "accepted": [("operator", "accept", {})],
    "rejected": [("operator", "reject", {"reason": "不属于城管问题"})],
    "hung": [("supervisor", "hang", {"reason": "需专项整治"})],
    "cancelled": [("supervisor", "cancel", {"reason": "重复上报"})],
    "dispatched": [("operator", "accept", {}), ("dispatcher", "dispatch", {})],
    "returned": [("operator", "accept", {}), ("dispatcher", "dispatch", {}),
                 ("handler", "return", {"reason": "不属本部门"})],
    "extended": [("operator", "accept", {}), ("dispatcher", "dispatch", {}),
                 ("handler", "extend", {"reason": "需采购材料", "deadline_hours": 14})],
    "completed": [("operator", "accept", {}), ("dispatcher", "dispatch", {}), ("handler", "complete", {"photo": 1})],
    "verifying": [("operator", "accept", {}), ("dispatcher", "dispatch", {}), ("handler", "complete", {"photo": 1}),
                  ("inspector", "verify", {})],
    "closed": [("operator", "accept", {}), ("dispatcher", "dispatch", {}), ("handler", "complete", {"photo": 1}),
               ("inspector", "verify", {}), ("inspector", "close", {})],
}


@pytest.fixture(scope="module")
async def transitions(case_seed: CaseSeed) -> dict[tuple[str, str], set[str]]:
    conn = await connect(case_seed.url)
    try:
        rows = await conn.fetch("SELECT from_state, action, roles FROM onemap.case_transitions")
    finally:
        await conn.close()
    return {(r["from_state"], r["action"]): set(r["roles"]) for r in rows}


@pytest.fixture(scope="module")
async def in_state(cases_client: httpx.AsyncClient, case_seed: CaseSeed) -> dict[str, int]:
    out = {}
    for state, path in PATHS.items():
        r = await report(cases_client, case_seed)
        assert r.status_code == 201, r.text
        fid = r.json()["id"]
        for who, action, body in path:
            if body.pop("photo", None):
                body = {**body, "attachments": [await photo(cases_client, case_seed, who, fid)]}
            moved = await act(cases_client, case_seed, who, fid, action, **body)
            assert moved.status_code == 200, moved.text
        out[state] = fid
    return out


def test_every_state_is_covered() -> None:
    assert set(PATHS) == set(STATES)


async def test_illegal_transitions_are_409_and_change_nothing(
    cases_client: httpx.AsyncClient, case_seed: CaseSeed, in_state: dict[str, int],
    transitions: dict[tuple[str, str], set[str]],
) -> None:
    illegal = [(s, a) for s in STATES for a in ACTIONS if a != "report" and (s, a) not in transitions]
    assert len(illegal) > 60
    for state, action in illegal:
        fid = in_state[state]
        r = await act(cases_client, case_seed, "admin", fid, action, reason="试试")
        assert r.status_code == 409, (state, action, r.text)
        problem = r.json()
        assert problem["type"].endswith("illegal-transition") and f'"{state}"' in problem["detail"]
        allowed = sorted(a for (s, a) in transitions if s == state)
        assert (", ".join(allowed) if allowed else "none") in problem["detail"]
    after = await cases_client.get(f"/cases/{in_state['closed']}", headers=case_seed.auth("admin"))
    assert len(after.json()["history"]) == 6


async def test_wrong_roles_are_403_and_unseen_cases_404(
    cases_client: httpx.AsyncClient, case_seed: CaseSeed, in_state: dict[str, int],
    transitions: dict[tuple[str, str], set[str]],
) -> None:
    checked = 0
    for (state, action), allowed in transitions.items():
        fid = in_state[state]
        for who in ("inspector", "operator", "supervisor", "dispatcher", "handler", "leader", "editor"):
            if ROLE_OF[who] & allowed:
                continue
            r = await act(cases_client, case_seed, who, fid, action, reason="越权")
            expected = 404 if who == "editor" else 403  # an editor has no case scope: the case is not there
            assert r.status_code == expected, (state, action, who, r.text)
            checked += 1
        for who in ("water", "viewer"):  # another department's handler, a plain viewer: not visible
            r = await act(cases_client, case_seed, who, fid, action, reason="越权")
            assert r.status_code == 404, (state, action, who, r.text)
    assert checked > 100
    state_now = await cases_client.get(f"/cases/{in_state['reported']}", headers=case_seed.auth("admin"))
    assert state_now.json()["case"]["properties"]["state"] == "reported"


async def test_anonymous_gets_401(cases_client: httpx.AsyncClient, in_state: dict[str, int]) -> None:
    r = await cases_client.post(f"/cases/{in_state['reported']}/actions/accept", json={})
    assert r.status_code == 401


async def test_a_reason_is_required_where_the_table_says(cases_client: httpx.AsyncClient, case_seed: CaseSeed,
                                                          in_state: dict[str, int]) -> None:
    r = await act(cases_client, case_seed, "supervisor", in_state["reported"], "hang")
    assert r.status_code == 400 and "reason" in r.json()["detail"]


async def test_stale_if_match_is_412(cases_client: httpx.AsyncClient, case_seed: CaseSeed,
                                     in_state: dict[str, int]) -> None:
    fid = in_state["accepted"]
    r = await cases_client.post(f"/cases/{fid}/actions/dispatch", headers={**case_seed.auth("dispatcher"),
                                "If-Match": f'"{fid}.1"'}, json={})
    assert r.status_code == 412


async def test_part4_put_cannot_move_a_case(cases_client: httpx.AsyncClient, case_seed: CaseSeed,
                                            in_state: dict[str, int]) -> None:
    fid = in_state["reported"]
    got = (await cases_client.get(f"/collections/city_cases/items/{fid}", headers=case_seed.auth("admin"))).json()
    props = {k: v for k, v in got["properties"].items() if v is not None}
    ok = await cases_client.patch(f"/collections/city_cases/items/{fid}", headers=case_seed.auth("admin"),
                                  json={"properties": {"description": "更正描述"}})
    assert ok.status_code == 200, ok.text
    moved = await cases_client.put(f"/collections/city_cases/items/{fid}", headers=case_seed.auth("admin"),
                                   json={"type": "Feature", "geometry": got["geometry"],
                                         "properties": {**props, "state": "closed"}})
    assert moved.status_code == 409, moved.text
    assert "actions" in moved.json()["detail"]
    detail = await cases_client.get(f"/cases/{fid}", headers=case_seed.auth("admin"))
    assert detail.json()["case"]["properties"]["state"] == "reported"
