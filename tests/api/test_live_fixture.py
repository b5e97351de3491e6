"""The live-server fixtures' start-up check (tests/api/live.py): a 200 from ``/health`` on the picked port
counts only if the process we started holds the listening socket.

Under ``pytest -n 2`` two workers could pick the same "free" port; the loser's server exited with
"address already in use" while its fixture, polling ``/health``, got the winner's 200 and ran its tests
against the other worker's server and database (401 unknown API key, then connection refused once
that module ended)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from layers.cluster import find_free_port
from tests.api.live import PortTaken, listens_on, serve_subprocess, wait_healthy


class _Healthy(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def _other_server() -> Iterator[int]:
    """Another process's server, as far as the fixture can tell: it answers /health with 200."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()


# Binds the port given, then answers /health: a stand-in for uvicorn that starts in well under a second.
SERVE = """
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
try:
    server = HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
except OSError as e:
    sys.exit(f"error while attempting to bind: address already in use ({e})")
server.serve_forever()
"""


def test_a_healthy_answer_from_another_process_is_not_our_server(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_text("")
    with _other_server() as port:
        # Our process has not bound the port yet (it is still importing, or about to fail to bind).
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
            with pytest.raises(PortTaken, match=f"not pid {proc.pid}"):
                wait_healthy(f"http://127.0.0.1:{port}", proc, log, timeout_s=10)
        finally:
            proc.kill()
            proc.wait()


def test_our_server_dying_on_a_taken_port_is_reported_as_such(tmp_path: Path) -> None:
    log = tmp_path / "log"
    with _other_server() as port, open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], stdout=out, stderr=subprocess.STDOUT)
        proc.wait(timeout=30)
        with pytest.raises(PortTaken, match="already in use"):
            wait_healthy(f"http://127.0.0.1:{port}", proc, log, timeout_s=10)


def test_listens_on_tells_the_owner_of_a_listening_socket() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = int(s.getsockname()[1])
        assert listens_on(os.getpid(), port)
        with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as other:
            try:
                assert not listens_on(other.pid, port)
            finally:
                other.kill()


def test_serve_subprocess_moves_on_when_the_picked_port_is_taken(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with _other_server() as taken:
        # Simulate the race: the port looked free when picked, and was taken before our server bound it.
        monkeypatch.setattr("tests.api.live.find_free_port",
                            lambda start: start if start == taken else find_free_port(start))
        with serve_subprocess(lambda port: [sys.executable, "-c", SERVE, str(port)], dict(os.environ), tmp_path / "log",
                              first_port=taken, timeout_s=30) as (base, proc):
            assert base != f"http://127.0.0.1:{taken}"
            assert listens_on(proc.pid, int(base.rsplit(":", 1)[1]))
        assert proc.poll() is not None  # stopped at the end
