"""API fixtures: a module-wide clone seeded with real Changsha data, principals with API keys,
and the app under httpx's ASGI transport with its lifespan running."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import shapely
from pydantic import SecretStr
from shapely.geometry import MultiPolygon, shape

from api.app import create_app
from api.settings import ApiSettings, Settings
from layers.bulk import copy_rows, create_staging, insert_all
from layers.db import connect
from layers.model import LayerDef
from layers.principals import create_principal, issue_api_key
from layers.registry import Registry, register_layer
from layers.settings import DatabaseSettings
from layers.versioning import open_changeset
from spatial.codelists.buildings import OSM_BUILDING_TO_USE
from tests.api.live import serve_subprocess, uvicorn_argv
from tests.support import SAMPLE_DATA

DATA = SAMPLE_DATA / "changsha"
SEED_VALID_FROM = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
SECRET = "test-secret-" + "x" * 40
TYPES_LAYER: dict[str, Any] = {
    "id": "test_parcels",
    "title_zh": "测试地块",
    "title_en": "Test parcels",
    "group": "overlay",
    "geometry_type": "Point",
    "access": "public",
    "schema": {
        "fields": [
            {"name": "code", "type": "string", "required": True, "title_zh": "编码", "title_en": "Code"},
            {"name": "kind", "type": "code", "enum": ["a", "b", "c"], "title_zh": "类", "title_en": "Kind"},
            {"name": "n", "type": "integer", "minimum": 0, "title_zh": "数", "title_en": "Number"},
            {"name": "area", "type": "number", "title_zh": "面积", "title_en": "Area"},
            {"name": "ok", "type": "boolean", "title_zh": "是否", "title_en": "OK"},
            {"name": "surveyed", "type": "date", "title_zh": "调查日期", "title_en": "Surveyed"},
        ]
    },
}


@dataclass
class Seed:
    url: str
    keys: dict[str, str]
    counts: dict[str, int]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


def _features(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text())["features"])


async def _bulk(conn: Any, layer_id: str, rows: list[tuple[Any, ...]]) -> int:
    layer = (await Registry.load(conn)).get(layer_id)
    cs = await open_changeset(conn, actor="pytest-seed", source="test")
    staging = await create_staging(conn, layer)
    await copy_rows(conn, staging, rows)
    await insert_all(conn, staging, changeset_id=cs)
    return len(rows)


def station_rows() -> list[tuple[Any, ...]]:
    rows = []
    for i, f in enumerate(_features(DATA / "transport" / "osm_railway_stations_changsha.geojson")):
        p = f["properties"]
        geom = shape(f["geometry"])
        rows.append((i, shapely.to_wkb(geom), SEED_VALID_FROM, p.get("name"), p["station"]))
    return rows


def building_rows(limit: int = 400) -> list[tuple[Any, ...]]:
    rows = []
    for i, f in enumerate(_features(DATA / "buildings" / "osm_buildings_changsha_partial.geojson")[:limit]):
        p = f["properties"]
        geom = shape(f["geometry"])
        if geom.geom_type == "Polygon":
            geom = MultiPolygon([geom])
        if not geom.is_valid or geom.geom_type != "MultiPolygon":
            continue
        use = OSM_BUILDING_TO_USE.get(p.get("building") or "", "other")
        height = p.get("height_m")
        floors = p.get("levels_num")
        rows.append(
            (
                i,
                shapely.to_wkb(geom),
                SEED_VALID_FROM,
                f"osm/{p['osm_type']}/{p['osm_id']}",
                p.get("name"),
                None,
                use,
                float(height) if height is not None else float(3 + (i % 40)),
                "measured" if height is not None else "default",
                int(floors) if floors is not None else None,
                None,
                "unknown",
            )
        )
    return rows


def power_rows() -> list[tuple[Any, ...]]:
    rows = []
    for i, f in enumerate(_features(DATA / "power" / "osm_power_polygons_changsha.geojson")):
        p = f["properties"]
        geom = shape(f["geometry"])
        geom = MultiPolygon([geom]) if geom.geom_type == "Polygon" else geom
        rows.append(
            (
                i,
                shapely.to_wkb(geom),
                SEED_VALID_FROM,
                p.get("name"),
                p["power"],
                float(p["MAX_kv"]) if p.get("MAX_kv") else None,
                p.get("source"),
                p.get("output"),
            )
        )
    return rows


def parcel_rows() -> list[tuple[Any, ...]]:
    """60 points on a grid in Yuelu with every property type (and some NULLs)."""
    rows = []
    for i in range(60):
        lon, lat = 112.93 + (i % 10) * 0.001, 28.17 + (i // 10) * 0.001
        rows.append(
            (
                i,
                shapely.to_wkb(shapely.Point(lon, lat)),
                SEED_VALID_FROM,
                f"P{i:03d}",
                "abc"[i % 3],
                i,
                float(i) * 10.5 if i % 7 else None,
                i % 2 == 0,
                dt.date(2020, 1, 1) + dt.timedelta(days=i * 10),
            )
        )
    return rows


@pytest.fixture(scope="module")
async def seed(module_db_url: str) -> Seed:
    conn = await connect(module_db_url)
    try:
        await register_layer(conn, LayerDef.model_validate(TYPES_LAYER))
        counts = {
            "rail_stations": await _bulk(conn, "rail_stations", station_rows()),
            "buildings": await _bulk(conn, "buildings", building_rows()),
            "power_facilities": await _bulk(conn, "power_facilities", power_rows()),
            "test_parcels": await _bulk(conn, "test_parcels", parcel_rows()),
        }
        keys = {}
        for name, roles, grants in [
            ("admin", ["admin"], []),
            ("editor", ["editor"], []),
            ("viewer", ["viewer"], []),
            ("pipes", ["viewer"], ["pipeline_*"]),
            ("gas_editor", ["editor"], ["pipeline_gas_*"]),
        ]:
            pid = await create_principal(conn, name=name, kind="system", roles=roles, grants=grants)
            keys[name] = await issue_api_key(conn, principal_id=pid)
        await create_principal(
            conn, name="zhang.san", kind="user", roles=["editor"], password="correct horse"
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return Seed(url=module_db_url, keys=keys, counts=counts)


def api_settings(url: str, var_dir: Path, **api: Any) -> Settings:
    return Settings(
        db=DatabaseSettings(database_url=url, var_dir=var_dir),
        api=ApiSettings(env="test", secret_key=SecretStr(SECRET), **api),
    )


@pytest.fixture(scope="module")
def var_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="onemap-api-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="module")
async def client(seed: Seed, var_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(api_settings(seed.url, var_dir, max_body_bytes=100_000, exact_count_max_rows=300))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(seed: Seed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Map under uvicorn on a free port, against the module's seeded clone."""
    env = {
        **os.environ,
        "ONEMAP_DATABASE_URL": seed.url,
        "ONEMAP_SECRET_KEY": SECRET,
        "ONEMAP_ENV": "test",
        "ONEMAP_VAR_DIR": str(tmp_path_factory.mktemp("var")),
    }
    log = tmp_path_factory.mktemp("log") / "uvicorn.log"
    with serve_subprocess(uvicorn_argv, env, log, first_port=18700, timeout_s=60) as (base, _proc):
        yield base
