"""A live ``onemap serve`` (uvicorn's supervisor and its workers) for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from layers.cluster import find_free_port

PROJECT = Path(__file__).resolve().parents[2]


@dataclass
class Live:
    """A running server: its base URL, the supervisor process and its log file."""

    base: str
    proc: subprocess.Popen[bytes]
    log: Path

    def workers(self) -> set[int]:
        """Pids of the live worker processes (the supervisor's spawned children)."""
        out = set()
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        for pid in children.read_text().split():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()[0]
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if b"spawn_main" in cmdline and state != "Z":
                out.add(int(pid))
        return out

    def log_text(self) -> str:
        """Everything the server logged so far."""
        return self.log.read_text(errors="replace")


def wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 90) -> None:
    """Block until ``/health`` answers 200, or raise with the end of the log."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"onemap serve did not start: {log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


@contextmanager
def onemap_serve(database_url: str, var_dir: Path, *, workers: int, secret: str) -> Iterator[Live]:
    """``onemap serve --workers N`` on a free 127.0.0.1 port, stopped (SIGTERM) at the end."""
    port = find_free_port(19300)
    env = {
        **os.environ,
        "ONEMAP_DATABASE_URL": database_url,
        "ONEMAP_SECRET_KEY": secret,
        "ONEMAP_ENV": "test",
        "ONEMAP_VAR_DIR": str(var_dir),
        "ONEMAP_LOG_LEVEL": "warning",
    }
    log = var_dir / "serve.log"
    var_dir.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers)],
            env=env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base, proc, log)
            yield Live(base, proc, log)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
