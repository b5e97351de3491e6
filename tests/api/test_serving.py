"""api/serving.py: a response's head and body leave in one write, so an instance that dies mid-response
sends nothing (HAProxy retries the read elsewhere) rather than headers without a body."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.serving import CoalescingTransport
from tests.api.live import serve_subprocess

# An app that sends its response's head and dies before the body: the instance lost mid-response.
APP = """
import os, signal, sys
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from api.serving import AtomicResponseProtocol

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    if scope["path"] == "/die":
        os.kill(os.getpid(), signal.SIGKILL)
    await send({"type": "http.response.body", "body": b"ok"})

protocol = AtomicResponseProtocol if sys.argv[2] == "atomic" else HttpToolsProtocol
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), http=protocol, log_level="warning", lifespan="off")
"""


class _Recorder(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Any] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.calls.append(bytes(data))

    def close(self) -> None:
        self.calls.append("close")
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing


async def test_writes_of_one_step_leave_in_one_piece_and_close_sends_them_first() -> None:
    real = _Recorder()
    transport = CoalescingTransport(real, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"ok")
    assert real.calls == []  # held until the end of this step
    await asyncio.sleep(0)
    assert real.calls == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]
    transport.write(b"last")
    transport.close()
    assert real.calls[1:] == [b"last", "close"]


@pytest.mark.parametrize(("protocol", "expected"), [
    ("atomic", "Server disconnected without sending a response"),  # nothing sent: a balancer may retry
    ("uvicorn", "peer closed connection without sending complete message body"),  # why the protocol exists
])
def test_an_instance_dying_between_head_and_body_sends_nothing(tmp_path: Path, protocol: str, expected: str) -> None:
    with serve_subprocess(lambda port: [sys.executable, "-c", APP, str(port), protocol], dict(os.environ),
                          tmp_path / "server.log", first_port=19800, timeout_s=30) as (base, proc):
        assert httpx.get(f"{base}/health", timeout=5).content == b"ok"
        with pytest.raises(httpx.RemoteProtocolError, match=expected):
            httpx.get(f"{base}/die", timeout=5)
        assert proc.wait(timeout=10) == -9
