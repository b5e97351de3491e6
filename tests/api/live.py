"""A live ``onemap serve`` (uvicorn's supervisor and its workers) for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

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


class PortTaken(RuntimeError):
    """Another process holds the port picked for a test server (so it must start on another one)."""


def _listening_inodes(port: int) -> set[int]:
    """Inodes of the sockets listening on 127.0.0.1:``port`` (or on every IPv4 address), from /proc."""
    wanted = {f"0100007F:{port:04X}", f"00000000:{port:04X}"}
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] in wanted and fields[3] == "0A":  # 0A: TCP_LISTEN
            inodes.add(int(fields[9]))
    return inodes


def _process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants still running."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        try:
            todo += [int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return tree


def listens_on(pid: int, port: int) -> bool:
    """Whether process ``pid`` (or one of its children) holds the socket listening on ``port``.

    A 200 from ``/health`` on the port only says *some* One Map answers there: with pytest-xdist another
    worker's server may have bound the port between our free-port check and our server's bind (our server
    then exits with "address already in use"), and that server has another database without our keys.
    """
    targets = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not targets:
        return False
    for member in _process_tree(pid):
        try:
            fds = list(Path(f"/proc/{member}/fd").iterdir())
        except (FileNotFoundError, PermissionError):
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in targets:
                    return True
            except OSError:
                continue
    return False


def wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 90) -> None:
    """Block until ``/health`` answers 200 from ``proc`` itself, or raise with the end of the log.

    Raises:
        PortTaken: another process holds the port (start again on a fresh one; see serve_subprocess).
        RuntimeError: ``proc`` exited for another reason, or did not answer within ``timeout_s``.
    """
    port = urlsplit(base).port
    assert port is not None, base
    deadline = time.monotonic() + timeout_s
    while True:
        # Checked first: if our server died on a taken port, the one answering /health is not ours.
        if proc.poll() is not None:
            text = log.read_text(errors="replace")
            if "already in use" in text:
                raise PortTaken(f"port {port} was taken before our server bound it: {text[-1000:]}")
            raise RuntimeError(f"the server exited ({proc.returncode}) before answering: {text[-3000:]}")
        try:
            healthy = httpx.get(f"{base}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            healthy = False
        if healthy:
            if listens_on(proc.pid, port):
                return
            # Some other process answers on our port: never run the tests against it.
            raise PortTaken(f"another process (not pid {proc.pid}) answers on port {port}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start in {timeout_s} s: {log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    """SIGTERM, then SIGKILL if it is still there after ``timeout_s`` (a worker stuck in native code)."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def serve_subprocess(argv: Callable[[int], list[str]], env: dict[str, str], log: Path, *, first_port: int,
                     timeout_s: float = 90, attempts: int = 5) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start ``argv(port)`` on a free 127.0.0.1 port and yield its base URL and process once it answers.

    Picking a free port and binding it are two steps, and another xdist worker can bind the same port in
    between; the loser then starts again on the next free port instead of failing (or, worse, testing
    the winner). Stopped with :func:`stop` at the end.
    """
    port = first_port
    for attempt in range(attempts):
        port = find_free_port(port)
        with open(log, "wb") as out:
            proc = subprocess.Popen(argv(port), env=env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base, proc, log, timeout_s)
        except PortTaken:
            stop(proc)
            if attempt == attempts - 1:
                raise
            port += 1
            continue
        except BaseException:
            stop(proc)
            raise
        try:
            yield base, proc
        finally:
            stop(proc)
        return


@contextmanager
def onemap_serve(database_url: str, var_dir: Path, *, workers: int, secret: str) -> Iterator[Live]:
    """``onemap serve --workers N`` on a free 127.0.0.1 port, stopped (SIGTERM) at the end."""
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

    def argv(port: int) -> list[str]:
        return [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers)]

    with serve_subprocess(argv, env, log, first_port=19300) as (base, proc):
        yield Live(base, proc, log)


def uvicorn_argv(port: int) -> list[str]:
    """``uvicorn --factory api.asgi:app`` on 127.0.0.1:``port`` (the app's settings from the environment)."""
    return [sys.executable, "-m", "uvicorn", "api.asgi:app", "--factory", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning"]
