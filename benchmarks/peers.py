"""Peers and servers under test: tipg in its own virtualenv, and One Map under uvicorn.

tipg is installed from PyPI into ``benchmarks/.work/tipg-venv`` (never into the
project's venv) and reads a view of current rows (``bench.buildings``), so it sees
the same rows through the same partial indexes One Map uses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.settings import PROJECT, TIPG_SCHEMA, TIPG_VIEW, WORK

TIPG_VENV = WORK / "tipg-venv"


def ensure_tipg() -> Path:
    """The tipg venv's python, creating it on first use."""
    python = TIPG_VENV / "bin" / "python"
    if not (TIPG_VENV / "bin" / "uvicorn").exists():
        print("installing tipg into benchmarks/.work/tipg-venv …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "tipg", "uvicorn[standard]"], check=True)
    return python


def _wait(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {WORK}/*.log")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return
        except Exception:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


@contextmanager
def _serve(cmd: list[str], env: dict[str, str], ready_url: str, log_name: str) -> Iterator[None]:
    WORK.mkdir(parents=True, exist_ok=True)
    with open(WORK / log_name, "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT)
        try:
            _wait(ready_url, proc)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def onemap_server(
    database_url: str, *, port: int, workers: int, secret: str, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """Run One Map (``onemap serve``) on ``port`` for the duration of the context; yields its base URL."""
    env = {
        **os.environ,
        "ONEMAP_DATABASE_URL": database_url,
        "ONEMAP_SECRET_KEY": secret,
        "ONEMAP_ENV": "dev",
        "ONEMAP_LOG_LEVEL": "warning",
        **(extra_env or {}),
    }
    # `onemap serve` itself, so the benchmark measures what a deployment runs (its HTTP protocol:
    # api/serving.py; no access log; log level from ONEMAP_LOG_LEVEL).
    cmd = [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers)]
    base = f"http://127.0.0.1:{port}"
    with _serve(cmd, env, f"{base}/health", "onemap.log"):
        yield base


@contextmanager
def tipg_server(database_url: str, *, port: int, workers: int) -> Iterator[str]:
    """Run tipg (installed by the benchmark) on the same database; yields its base URL."""
    python = ensure_tipg()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TIPG_DB_SCHEMAS": json.dumps([TIPG_SCHEMA]),
        # tipg keys its table config by "<schema>_<table>".
        "TIPG_TABLE_CONFIG": json.dumps({f"{TIPG_SCHEMA}_{TIPG_VIEW}": {"pk": "fid", "geomcol": "geom"}}),
        "TIPG_MAX_FEATURES_PER_QUERY": "10000",
        "DB_MAX_CONN_SIZE": "16",
        "DB_MIN_CONN_SIZE": "4",
    }
    cmd = [
        str(python.parent / "uvicorn"),
        "tipg.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    base = f"http://127.0.0.1:{port}"
    with _serve(cmd, env, f"{base}/collections", "tipg.log"):
        yield base
