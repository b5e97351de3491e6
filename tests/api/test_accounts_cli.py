"""``onemap user create --role … --department …``: the 数字城管 roles, a handler's department on the
principal (and in /auth/me), and clear refusals."""

from __future__ import annotations

import httpx
import pytest

from api.app import create_app
from tests.api.conftest import api_settings
from tests.api.test_audit_cli import onemap

PASSWORD = "lantern orchard basalt 7"


@pytest.mark.slow
def test_case_roles_and_department(fresh_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    made = onemap(fresh_db_url, "user", "create", "--name", "wang.wu", "--password", PASSWORD, "--role", "handler",
                  "--department", "sw")
    assert made.returncode == 0, made.stderr
    no_dept = onemap(fresh_db_url, "user", "create", "--name", "zhao.liu", "--password", PASSWORD, "--role", "handler")
    assert no_dept.returncode != 0 and "department" in no_dept.stderr
    bad_dept = onemap(fresh_db_url, "user", "create", "--name", "zhao.liu", "--password", PASSWORD, "--role",
                      "handler", "--department", "nowhere")
    assert bad_dept.returncode != 0 and "unknown department" in bad_dept.stderr
    bad_role = onemap(fresh_db_url, "user", "create", "--name", "zhao.liu", "--password", PASSWORD, "--role", "boss")
    assert bad_role.returncode != 0 and "unknown role" in bad_role.stderr
    for role in ("inspector", "operator", "supervisor", "dispatcher", "leader"):
        ok = onemap(fresh_db_url, "user", "create", "--name", f"{role}.1", "--password", PASSWORD, "--role", role)
        assert ok.returncode == 0, ok.stderr


@pytest.mark.slow
async def test_department_reaches_the_session(fresh_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    made = onemap(fresh_db_url, "user", "create", "--name", "wang.wu", "--password", PASSWORD, "--role", "handler",
                  "--department", "sw")
    assert made.returncode == 0, made.stderr
    app = create_app(api_settings(fresh_db_url, tmp_path_factory.mktemp("var")))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        token = (await client.post("/auth/token", data={"username": "wang.wu", "password": PASSWORD})).json()
        me = await client.get("/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"})
        assert me.json()["roles"] == ["handler"] and me.json()["department"] == "sw"
        basic = await client.get("/auth/me", auth=("wang.wu", PASSWORD))
        assert basic.json()["department"] == "sw"
        queue = await client.get("/cases/queue", auth=("wang.wu", PASSWORD))
        assert queue.status_code == 200 and queue.json()["cases"] == []
