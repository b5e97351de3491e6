"""Characters PostgreSQL text cannot hold are refused at the edge, before any route sees them.

A NUL (U+0000) in a query parameter — a CQL2 literal, ``/search?q=``, a tile ``filter`` —
used to travel all the way to asyncpg and come back as ``CharacterNotInRepertoireError``, a
500. This pure-ASGI middleware reads the percent-decoded path and query string, and the
fields of a form-encoded body (the sign-in form), and answers 400 problem+json naming the
parameter instead. JSON bodies are checked where they are parsed (``api/ogc/bodies.py``),
and cql2-json ``\\u0000`` escapes on the parsed filter (``layers/query/limits.py``).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem_response
from layers.query.limits import unstorable

FORM = b"application/x-www-form-urlencoded"
# Forms we read here are sign-in forms; anything longer is left whole to the route's own limit.
FORM_CHECK_BYTES = 64 * 1024


def first_unstorable(pairs: list[tuple[str, str]]) -> tuple[str, str] | None:
    """(name, ``U+XXXX``) of the first name or value holding a character PostgreSQL cannot store."""
    for name, value in pairs:
        bad = unstorable(name) or unstorable(value)
        if bad is not None:
            return name, bad
    return None


class UnstorableCharacters:
    """ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """400 for a NUL in the path, the query or a form body; everything else passes unchanged."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_query: bytes = scope.get("query_string", b"")
        raw_path: bytes = scope.get("raw_path", b"")
        found = None
        if _may_hold_nul(raw_query) or _may_hold_nul(raw_path):
            found = first_unstorable(parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True))
            if found is None:
                bad_path = unstorable(unquote(raw_path.decode("latin-1")))
                found = ("path", bad_path) if bad_path else None
        if found is None and _is_form(scope):
            body, receive = await _buffered(receive)
            if body is not None:
                found = first_unstorable(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
        if found is None:
            await self.app(scope, receive, send)
            return
        name, bad = found
        response = problem_response(
            Request(scope), status=400, type_slug="invalid-parameter", title="Invalid query parameter",
            detail=f"{name} holds {bad}, which PostgreSQL text cannot store", extra={"parameter": name},
        )
        await response(scope, receive, send)


def _may_hold_nul(raw: bytes) -> bool:
    """Whether a raw path or query string can decode to a NUL, the one unstorable character it can hold.

    Percent-escapes decode as UTF-8 with errors replaced, so a surrogate never comes out of
    them; only ``%00`` or a raw zero byte give U+0000. Almost every request skips the parsing.
    """
    return b"%00" in raw or b"\x00" in raw


def _is_form(scope: Scope) -> bool:
    headers = dict(scope.get("headers", []))
    return bool(headers.get(b"content-type", b"").split(b";")[0].strip().lower() == FORM)


async def _buffered(receive: Receive) -> tuple[bytes | None, Receive]:
    """Read a form body up to :data:`FORM_CHECK_BYTES`; return it (None past the cap) and a receive that replays it."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if size > FORM_CHECK_BYTES or not message.get("more_body", False):
            break
    complete = size <= FORM_CHECK_BYTES and not messages[-1].get("more_body", False)
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request") if complete else None

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return body, replay
