"""HEAD wherever GET is answered: a pure-ASGI middleware that runs the GET and drops the body.

FastAPI routes declared with ``@router.get`` answer HEAD with 405 (unlike Starlette's own
routes), and the tile fast lane only looks at GET. Running the request as GET gives HEAD exactly
GET's status and headers (Content-Type, Content-Length, ETag, Link …), as RFC 9110 §9.3.2 asks,
for every route, error and fast lane at once. The body is still produced, then discarded: HEAD is
rare enough that a separate cheaper path per route would not pay for itself.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass everything through, except that HEAD runs as GET with an empty body sent."""
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)
