"""Fixtures of the case page tests: the fixture city (its unit grid), its app and client, the case
roles with API keys, and a live uvicorn server for Chromium."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn

from api.app import create_app
from layers.db import connect
from layers.principals import create_principal, issue_api_key
from tests.cityfixtures import City, app, app_settings, city, client  # noqa: F401 - fixtures

# name → (roles, department); the handler's department is set by the test that knows it.
CASE_USERS: dict[str, tuple[list[str], str | None]] = {
    "jiandu": (["inspector"], None),
    "shouli": (["operator", "dispatcher"], None),
    "zhiban": (["supervisor"], None),
    "lingdao": (["leader"], None),
}


@dataclass
class CaseServer:
    """A live server on the fixture city, and an API key per case role."""

    url: str
    city: City
    keys: dict[str, str]


async def _case_users(url: str) -> dict[str, str]:
    conn = await connect(url)
    try:
        keys = {}
        for name, (roles, department) in CASE_USERS.items():
            pid = await create_principal(conn, name=name, kind="user", roles=roles, department=department)
            keys[name] = await issue_api_key(conn, principal_id=pid)
        return keys
    finally:
        await conn.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
async def case_keys(city: City) -> dict[str, str]:  # noqa: F811
    return await _case_users(city.url)


@pytest.fixture(scope="module")
def case_server(
    city: City, case_keys: dict[str, str], tmp_path_factory: pytest.TempPathFactory  # noqa: F811
) -> Iterator[CaseServer]:
    port = _free_port()
    application = create_app(app_settings(city.url, tmp_path_factory.mktemp("var")))
    # An event stream a failed test left open must not hold the shutdown past the database's drop.
    config = uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield CaseServer(f"http://127.0.0.1:{port}", city, case_keys)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
