"""``onemap user``/``token``/``audit`` end to end: the password policy, key rotation, and admin
actions on record, searchable with ``onemap audit search --json``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]


def onemap(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    var = Path(tempfile.gettempdir()) / f"onemap-audit-cli-{os.getpid()}"  # caches and keys stay out of the repo
    env = {**os.environ, "ONEMAP_DATABASE_URL": url, "ONEMAP_ENV": "test", "ONEMAP_VAR_DIR": str(var)}
    return subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, cwd=PROJECT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def url(fresh_db_url: str) -> str:
    return fresh_db_url


def test_accounts_and_audit_commands(url: str) -> None:
    weak = onemap(url, "user", "create", "--name", "li.si", "--password", "li.si2024password")
    assert weak.returncode == 2 and "user name" in weak.stderr
    common = onemap(url, "user", "create", "--name", "li.si", "--password", "Password123456!")
    assert common.returncode == 2 and "common passwords" in common.stderr
    good = onemap(url, "user", "create", "--name", "li.si", "--password", "lantern orchard basalt 7",
                  "--role", "editor")
    assert good.returncode == 0, good.stderr
    assert onemap(url, "user", "password", "--name", "li.si", "--password", "short").returncode == 2
    assert onemap(url, "user", "password", "--name", "li.si", "--password", "tidal granite meadow 42").returncode == 0
    assert onemap(url, "user", "revoke-tokens", "--name", "li.si").returncode == 0

    key = onemap(url, "token", "create", "--name", "traffic", "--grant", "pipeline_*").stdout.strip()
    assert key.startswith("om_")
    rotated = onemap(url, "token", "rotate", "--key", key, "--grace-hours", "2")
    assert rotated.returncode == 0, rotated.stderr
    new_key = rotated.stdout.strip()
    assert new_key.startswith("om_") and new_key != key and "works until" in rotated.stderr
    assert onemap(url, "token", "revoke", "--key", new_key.split("_")[1]).returncode == 0
    assert onemap(url, "token", "revoke", "--key", new_key.split("_")[1]).returncode == 2  # already gone

    found = onemap(url, "audit", "search", "--kind", "admin.", "--json")
    assert found.returncode == 0, found.stderr
    events = [json.loads(line) for line in found.stdout.splitlines()]
    kinds = [e["kind"] for e in reversed(events)]
    assert kinds == ["admin.user_saved", "admin.password_changed", "admin.sessions_revoked", "admin.key_created",
                     "admin.key_rotated", "admin.key_revoked"]
    assert all(e["actor"].startswith("cli:") for e in events)
    assert events[-4]["detail"]["grants"] == ["pipeline_*"]
    text = onemap(url, "audit", "search", "--user", events[0]["actor"], "--since", "1d")
    assert "admin.key_revoked" in text.stdout
    assert "nothing older" in onemap(url, "audit", "purge", "--days", "30").stdout
    verified = onemap(url, "audit", "verify")
    assert verified.returncode == 0 and "audit chain OK: 6 rows" in verified.stdout


async def test_export_of_an_internal_layer_is_on_record(url: str, tmp_path: Path) -> None:
    import asyncio

    from layers.db import connect
    from tests.api.conftest import _bulk, power_rows

    conn = await connect(url)
    try:
        await _bulk(conn, "power_facilities", power_rows())
    finally:
        await conn.close()
    out = tmp_path / "power.pmtiles"
    env_args = ("tiles", "export", str(out), "--layers", "power_facilities", "--bbox", "112.5,27.8,113.5,28.7",
                "--zoom", "10")
    run = await asyncio.to_thread(onemap, url, *env_args)
    assert run.returncode == 0, run.stderr
    found = await asyncio.to_thread(onemap, url, "audit", "search", "--kind", "export", "--json")
    events = [json.loads(line) for line in found.stdout.splitlines()]
    assert len(events) == 1
    event = events[0]
    assert event["layer"] == "power_facilities" and event["area"] == "bbox:112.5,27.8,113.5,28.7"
    assert event["detail"]["format"] == "pmtiles" and event["detail"]["tiles"] > 0
