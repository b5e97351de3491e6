"""QGIS itself (Debian's 3.22 bindings, headless) opens an internal layer with a Basic auth config.

QGIS cannot send a bearer header; its Basic method is how a desktop user signs in. The script
runs under the system Python (the venv has no QGIS), against One Map under uvicorn.
"""

from __future__ import annotations

import json
import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from layers.db import connect
from layers.principals import create_principal, issue_api_key
from tests.api.conftest import Seed

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("qgis_open_layer.py")


@cache
def qgis_import_error() -> str | None:
    """Why ``qgis.core`` cannot be imported by the system Python, or None when it can."""
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} is missing"
    out = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    return None if out.returncode == 0 else (out.stderr.strip().splitlines() or ["failed"])[-1]


pytestmark = [
    pytest.mark.qgis,
    pytest.mark.slow,
    pytest.mark.skipif(
        qgis_import_error() is not None,
        reason=f"qgis.core cannot be imported by {SYSTEM_PYTHON} ({qgis_import_error()}); "
        "install python3-qgis and qgis-providers (scripts/bootstrap.sh test does)",
    ),
]


def open_in_qgis(server: str, layer: str, user: str, password: str) -> dict[str, Any]:
    """What QGIS's OAPIF provider reports for ``layer``, opened with a Basic auth config."""
    # The venv's variables would point the system Python at the wrong site-packages.
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    out = subprocess.run(
        [SYSTEM_PYTHON, str(SCRIPT), server, layer, user, password],
        capture_output=True, text=True, timeout=240, env={**env, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return report


@pytest.fixture(scope="module")
async def desk(seed: Seed) -> dict[str, str]:
    """A viewer with a password and a system with an API key, as a desktop user would have."""
    conn = await connect(seed.url)
    try:
        await create_principal(conn, name="gis.user", kind="user", roles=["viewer"], password="qgis pass 1")
        # Its own name for the wrong-password case, so that failure never counts against gis.user.
        await create_principal(conn, name="gis.typo", kind="user", roles=["viewer"], password="qgis pass 2")
        pid = await create_principal(conn, name="qgis-system", kind="system", roles=["viewer"])
        key = await issue_api_key(conn, principal_id=pid)
    finally:
        await conn.close()
    return {"password": "qgis pass 1", "key": key}


def _untimed(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("valid_from", "valid_to")}


def expected(server: str, seed: Seed) -> list[dict[str, Any]]:
    """The internal layer's features' properties as the server gives them to a viewer."""
    body = httpx.get(f"{server}/collections/power_facilities/items", params={"limit": 1000},
                     headers=seed.auth("viewer"), timeout=30).json()
    return [f["properties"] for f in body["features"]]


@pytest.mark.parametrize("how", ["api key as password", "name and password"])
def test_qgis_opens_an_internal_layer_with_basic_auth(server: str, seed: Seed, desk: dict[str, str], how: str) -> None:
    user, password = ("qgis", desk["key"]) if how == "api key as password" else ("gis.user", desk["password"])
    report = open_in_qgis(server, "power_facilities", user, password)
    assert report["valid"] is True, report
    assert report["feature_count"] == seed.counts["power_facilities"]
    # The valid time reaches desktop clients as ordinary fields (QGIS drops JSON-FG's time member).
    assert {"name", "power", "voltage_kv", "plant_source", "output", "valid_from", "valid_to"} <= set(report["fields"])
    assert report["geometry_ok"] is True
    # QGIS's first features carry the same attributes the server holds (nulls included); QGIS turns
    # the valid time into QDateTime values, which are compared as fields above, not as text here.
    ours = [_untimed(row) for row in expected(server, seed)]
    assert report["sample"] and all(_untimed(row) in ours for row in report["sample"])
    assert any(row["name"] for row in report["sample"])


def test_qgis_without_credentials_cannot_open_it(server: str, desk: dict[str, str]) -> None:
    assert open_in_qgis(server, "power_facilities", "-", "-")["valid"] is False
    assert open_in_qgis(server, "power_facilities", "gis.typo", "qgis pass 3")["valid"] is False
    assert open_in_qgis(server, "rail_stations", "-", "-")["valid"] is True  # public layers need nothing
