"""The `onemap` command as users run it: bootstrap idempotence and clear failures."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from layers.definitions import builtin_layers

ROOT = Path(__file__).resolve().parents[2]


def onemap(*args: str, env: dict[str, str], timeout: int = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEMAP_")}
    env.update(extra)
    return env


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_db_init_twice_then_stop(tmp_path: Path) -> None:
    env = _env(ONEMAP_VAR_DIR=str(tmp_path / "var"))
    try:
        first = onemap("db", "init", env=env)
        assert first.returncode == 0, first.stderr
        assert "created private PostgreSQL cluster" in first.stdout
        assert f"registered/updated {len(builtin_layers())} layers" in first.stdout
        second = onemap("db", "init", env=env)
        assert second.returncode == 0, second.stderr
        assert "created" not in second.stdout and "registered" not in second.stdout
        status = onemap("db", "status", env=env)
        assert "schema: 0001 (newest 0001)" in status.stdout.replace("\n", " ") or "(newest" in status.stdout
        assert "pipeline_gas_segments" in status.stdout and "postgis: 3." in status.stdout
    finally:
        stop = onemap("db", "stop", env=env)
    assert stop.returncode == 0 and "stopped" in stop.stdout
    down = onemap("db", "status", env=env)
    assert down.returncode != 0 and "onemap db start" in down.stderr


def test_unreachable_database_url(closed_port: int) -> None:
    result = onemap("db", "status", env=_env(ONEMAP_DATABASE_URL=f"postgresql://x@127.0.0.1:{closed_port}/x"))
    assert result.returncode != 0
    assert "Is PostgreSQL running" in result.stderr and "Traceback" not in result.stderr


def test_serve_refuses_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = onemap("serve", "--port", str(port), env=_env(ONEMAP_VAR_DIR=str(tmp_path)))
    assert result.returncode == 2
    assert f"port {port}" in result.stderr and "already in use" in result.stderr


def test_prod_refuses_default_secret(closed_port: int) -> None:
    result = onemap("db", "status", env=_env(ONEMAP_ENV="prod",
                                             ONEMAP_DATABASE_URL=f"postgresql://x@127.0.0.1:{closed_port}/x"))
    assert result.returncode != 0 and "ONEMAP_SECRET_KEY" in result.stderr


def test_python_dash_m_import_lists_jobs() -> None:
    result = subprocess.run([sys.executable, "-m", "import", "--help"], cwd=ROOT, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0 and "usage: onemap import <job>" in result.stdout
    unknown = subprocess.run([sys.executable, "-m", "import", "no_such_job"], cwd=ROOT, capture_output=True,
                             text=True, check=False)
    assert unknown.returncode == 2 and "unknown import job" in unknown.stderr
