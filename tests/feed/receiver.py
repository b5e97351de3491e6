"""A real local HTTP webhook receiver (http.server in a thread) for the delivery tests: it records
every request, and answers ``fail_first`` requests (or all, with ``always_fail``) with 500."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson


@dataclass
class Receiver:
    url: str = ""
    fail_first: int = 0
    always_fail: bool = False
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    accepted: list[dict] = field(default_factory=list)  # parsed bodies answered 200
    lock: threading.Lock = field(default_factory=threading.Lock)
    got: threading.Event = field(default_factory=threading.Event)

    def take(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.requests.append((headers, body))
            if self.always_fail or len(self.requests) <= self.fail_first:
                return 500
            self.accepted.append(orjson.loads(body))
            self.got.set()
            return 200

    def mutations(self) -> list[dict]:
        with self.lock:
            return [m for body in self.accepted for m in body["mutations"]]


@contextmanager
def running_receiver(**kwargs: object) -> Iterator[Receiver]:
    receiver = Receiver(**kwargs)  # type: ignore[arg-type]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.take({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
