"""Cross-process invalidation: an edit through one server drops the tile in every other server process."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import mapbox_vector_tile
import pytest

from layers.db import connect
from spatial.tms import WEB_MERCATOR_QUAD, tile_range
from tests.api.live import serve_subprocess, uvicorn_argv
from tests.cityfixtures import City

pytestmark = pytest.mark.slow


@contextmanager
def _server(city: City, var_dir: Path) -> Iterator[str]:
    env = {
        **os.environ,
        "ONEMAP_DATABASE_URL": city.url,
        "ONEMAP_VAR_DIR": str(var_dir),
        "ONEMAP_ENV": "test",
        "ONEMAP_SECRET_KEY": "s" * 40,
        "ONEMAP_TILE_DISK_CACHE": "false",
    }
    var_dir.mkdir(parents=True, exist_ok=True)
    # Checked to be this process's own server (tests/api/live.py): the test runs two side by side.
    with serve_subprocess(uvicorn_argv, env, var_dir / "uvicorn.log", first_port=19700, timeout_s=60) as (base, _p):
        yield base


async def test_an_edit_in_one_process_reaches_the_tile_cache_of_another(city: City, tmp_path: Path) -> None:
    conn = await connect(city.url)
    try:
        row = await conn.fetchrow(
            "SELECT fid, ST_X(ST_PointOnSurface(geom)) AS lon, ST_Y(ST_PointOnSurface(geom)) AS lat "
            "FROM data.buildings WHERE valid_to IS NULL ORDER BY fid LIMIT 1"
        )
    finally:
        await conn.close()
    here = tile_range(WEB_MERCATOR_QUAD, (row["lon"], row["lat"], row["lon"], row["lat"]), 16)
    far = tile_range(WEB_MERCATOR_QUAD, (row["lon"] + 0.03, row["lat"], row["lon"] + 0.03, row["lat"]), 16)
    path = f"/collections/buildings/tiles/WebMercatorQuad/16/{here.y0}/{here.x0}"
    far_path = f"/collections/buildings/tiles/WebMercatorQuad/16/{far.y0}/{far.x0}"
    admin = {"Authorization": f"Bearer {city.admin_key}"}

    def use_in(data: bytes) -> str | None:
        for f in mapbox_vector_tile.decode(data)["buildings"]["features"]:
            if f["id"] == row["fid"]:
                return str(f["properties"].get("use"))
        return None

    with _server(city, tmp_path / "a") as a, _server(city, tmp_path / "b") as b:
        async with httpx.AsyncClient(timeout=30) as client:
            for base in (a, b):
                first = await client.get(base + path)
                assert first.headers["x-tile-source"] == "database" and use_in(first.content) is not None
                again = await client.get(base + path)
                assert again.headers["x-tile-source"] == "memory"
                await client.get(base + far_path)
            before = use_in((await client.get(b + path)).content)
            new_use = "office" if before != "office" else "education"

            # Edit through server A's Features API (Part 4, with the ETag it hands out).
            item = await client.get(f"{a}/collections/buildings/items/{row['fid']}", headers=admin)
            assert item.status_code == 200
            patched = await client.patch(
                f"{a}/collections/buildings/items/{row['fid']}",
                json={"properties": {"use": new_use}},
                headers={**admin, "If-Match": item.headers["etag"], "Content-Type": "application/merge-patch+json"},
            )
            assert patched.status_code in (200, 204), patched.text

            # Server B heard the edit: its cached tile is gone and the fresh one shows the change.
            seen = None
            for _ in range(50):
                r = await client.get(b + path)
                seen = use_in(r.content)
                if seen == new_use:
                    break
                await asyncio.sleep(0.1)
            assert seen == new_use
            assert (await client.get(b + far_path)).headers["x-tile-source"] == "memory"
            assert use_in((await client.get(a + path)).content) == new_use
