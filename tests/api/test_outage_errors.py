"""Every way a database outage surfaces in a route answers 503 problem+json with Retry-After (the
catch-all 500, which Starlette re-raises and uvicorn answers by closing the connection, is left for
real bugs); and workers started together agree on the dev signing key."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from api.errors import install_error_handlers
from api.settings import ApiSettings
from layers.errors import DatabaseUnavailable

OUTAGES = {
    "refused": ConnectionRefusedError(111, "Connection refused"),
    "reset": ConnectionResetError(104, "Connection reset by peer"),
    "admin-shutdown": asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    "starting-up": asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    "closed-mid-query": asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle"),
    "unavailable": DatabaseUnavailable("nothing answers at postgresql://onemap@10.0.0.5:5432/onemap"),
}


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app, retry_after_s=7)

    @app.get("/fail/{kind}")
    async def fail(kind: str) -> None:
        if kind == "bug":
            raise RuntimeError("a real bug")
        raise OUTAGES[kind]

    return app


@pytest.mark.parametrize("kind", sorted(OUTAGES))
async def test_outage_errors_answer_503_with_retry_after(kind: str) -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        r = await client.get(f"/fail/{kind}")
    assert r.status_code == 503
    assert r.headers["retry-after"] == "7"
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == "/problems/database-unavailable" and body["status"] == 503
    assert "10.0.0.5" not in r.text and "postgresql://" not in r.text  # no internal address leaks


async def test_a_real_bug_is_still_a_500() -> None:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        r = await client.get("/fail/bug")
    assert r.status_code == 500 and r.json()["type"] == "/problems/internal-error"


def test_workers_starting_together_share_one_dev_signing_key(tmp_path: Path) -> None:
    settings = ApiSettings(env="dev")
    start = threading.Barrier(12)

    def one() -> str:
        start.wait()
        return settings.signing_key(tmp_path)

    with ThreadPoolExecutor(12) as pool:
        keys = set(pool.map(lambda _i: one(), range(12)))
    assert len(keys) == 1 and len(keys.pop()) >= 48
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no draft left behind
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
