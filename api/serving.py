"""uvicorn's HTTP protocol, handing each response's head and body to the socket in one write.

uvicorn writes a response's status line and headers as soon as the app sends ``http.response.start``,
and its body with a second write. An instance that dies between the two (a lost machine, SIGKILL, the
OOM killer) leaves HAProxy with the headers and no body: the response has begun, so HAProxy may not
send the request to another instance, and the client gets a broken response (tests/api/
test_cluster_topology.py saw ``peer closed connection without sending complete message body``).
Written together, a response is either all in the kernel, which delivers it after the process is
gone, or not sent at all, and HAProxy then retries the read on another instance (api/topology.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport(asyncio.Transport):
    """A transport that gathers the writes of one event-loop step and writes them at once after it.

    uvicorn writes a response's head and its body (when it comes in one piece, as every non-streamed
    response does) in the same step: they leave in one ``send``. A streamed body's later chunks go
    out a step later each, as before.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        """Wrap ``transport``; flushes are scheduled on ``loop``."""
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Hold ``data`` until the end of this event-loop step."""
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        # bytes cannot change after this returns; a bytearray or memoryview could, so it is copied.
        self._pending.append(data if type(data) is bytes else bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        """Hold each piece, as :meth:`write`."""
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Write what was held, in one piece (nothing if the connection is closing or lost)."""
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        """Send what was held, then close (uvicorn closes right after the last write of a response)."""
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        """Drop what was held and reset the connection."""
        self._pending.clear()
        self._transport.abort()

    def is_closing(self) -> bool:
        """The wrapped transport's state."""
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """The wrapped transport's socket, peer name, …"""
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        """Delegated."""
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        """Delegated."""
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        """Delegated."""
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Delegated."""
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        """Delegated."""
        return self._transport.get_protocol()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Delegated."""
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        """What the wrapped transport buffers plus what is held here."""
        return self._transport.get_write_buffer_size() + sum(len(p) for p in self._pending)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """Delegated."""
        return self._transport.get_write_buffer_limits()

    def can_write_eof(self) -> bool:
        """Delegated."""
        return self._transport.can_write_eof()

    def write_eof(self) -> None:
        """Send what was held, then half-close."""
        self.flush()
        self._transport.write_eof()


class AtomicResponseProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through a :class:`CoalescingTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """uvicorn's set-up (its flow control keeps the real transport), then writes go through the wrapper."""
        super().connection_made(transport)
        self.transport = CoalescingTransport(transport, self.loop)
