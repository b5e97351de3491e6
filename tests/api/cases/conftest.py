"""Case API fixtures: a module-wide clone with the tiny city, one API key per role, and the app."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image

from api.app import create_app
from layers.db import connect
from layers.principals import create_principal, issue_api_key
from tests.api.conftest import SECRET, api_settings
from tests.api.live import serve_subprocess, uvicorn_argv
from tests.cases.city import seed_city

# name → (roles, department)
PEOPLE: dict[str, tuple[list[str], str | None]] = {
    "inspector": (["inspector"], None),
    "operator": (["operator"], None),
    "supervisor": (["supervisor"], None),
    "dispatcher": (["dispatcher"], None),
    "handler": (["handler"], "cg-430104"),
    "water": (["handler"], "sw"),
    "leader": (["leader"], None),
    "viewer": (["viewer"], None),
    "admin": (["admin"], None),
    "editor": (["editor"], None),
}


@dataclass
class CaseSeed:
    url: str
    keys: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


@pytest.fixture(scope="module")
async def case_seed(module_db_url: str) -> CaseSeed:
    conn = await connect(module_db_url)
    try:
        await seed_city(conn)
        keys = {}
        for name, (roles, dept) in PEOPLE.items():
            pid = await create_principal(conn, name=name, kind="system", roles=roles, department=dept)
            keys[name] = await issue_api_key(conn, principal_id=pid)
    finally:
        await conn.close()
    return CaseSeed(module_db_url, keys)


@pytest.fixture(scope="module")
async def cases_client(case_seed: CaseSeed, var_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(api_settings(case_seed.url, var_dir))
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport,
                                                                   base_url="http://testserver") as c:
        yield c


def jpeg(size: tuple[int, int] = (64, 48), gps: tuple[float, float] | None = None) -> bytes:
    """A small real JPEG, with EXIF GPS (lon, lat) when given."""
    image = Image.new("RGB", size, (200, 60, 30))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make: something that must not be served back
    if gps is not None:
        lon, lat = gps

        def dms(value: float) -> tuple[float, float, float]:
            d = int(value)
            m = int((value - d) * 60)
            s = round(((value - d) * 60 - m) * 60, 4)
            return (float(d), float(m), s)

        exif[0x8825] = {1: "N", 2: dms(lat), 3: "E", 4: dms(lon)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def png(size: tuple[int, int] = (20, 20)) -> bytes:
    """A small real PNG."""
    out = io.BytesIO()
    Image.new("RGB", size, (0, 120, 200)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def case_server(case_seed: CaseSeed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Map under uvicorn against the module's clone (streams need a real server), heartbeat 0.5 s."""
    env = {**os.environ, "ONEMAP_DATABASE_URL": case_seed.url, "ONEMAP_SECRET_KEY": SECRET, "ONEMAP_ENV": "test",
           "ONEMAP_VAR_DIR": str(tmp_path_factory.mktemp("var")), "ONEMAP_CASES_HEARTBEAT_S": "0.5"}
    log = tmp_path_factory.mktemp("log") / "uvicorn.log"
    with serve_subprocess(uvicorn_argv, env, log, first_port=18900, timeout_s=60) as (base, _proc):
        yield base
