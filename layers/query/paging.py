"""Keyset paging cursors: a signed, opaque token naming the last row a page showed.

A cursor holds the sort values, fid and version of a row, the direction, and a
fingerprint of the query it belongs to, signed with the server's key. Changing
the query (filter, sort, time) invalidates it, so a cursor can never be replayed
against a different order. Keyset positions stay stable while rows are added or
retired elsewhere in the order: no duplicates and no gaps for rows that stay.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from layers.query.errors import InvalidCursor
from layers.query.sorting import SortKey

Direction = Literal["next", "prev"]


@dataclass(frozen=True, slots=True)
class Cursor:
    """A decoded cursor: the sort values, fid and version of the row a page ended (began) on."""

    values: list[Any]
    fid: int
    version: int
    direction: Direction


def fingerprint(*parts: object) -> str:
    """A short hash of what defines a query, so a cursor is refused by any other query."""
    return hashlib.sha256(orjson.dumps([str(p) for p in parts])).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(key_json: str, *, direction: Direction, query: str, secret: str) -> str:
    """Token for the row whose key JSON (sort values…, fid, version) is ``key_json``."""
    body = _b64(orjson.dumps({"k": orjson.loads(key_json), "d": direction[0], "q": query}))
    mac = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()[:12]
    return f"{body}.{_b64(mac)}"


def decode(token: str, *, keys: tuple[SortKey, ...], query: str, secret: str) -> Cursor:
    """Verify and unpack a cursor for this query.

    Raises:
        InvalidCursor: for a forged, damaged or foreign token.
    """
    body, _, mac = token.partition(".")
    try:
        expected = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()[:12]
        if not hmac.compare_digest(expected, _unb64(mac)):
            raise ValueError("bad signature")
        data = orjson.loads(_unb64(body))
        raw = list(data["k"])
        direction: Direction = "next" if data["d"] == "n" else "prev"
        if data["q"] != query:
            raise InvalidCursor(
                "this cursor belongs to a different query (filter, sort, time or collection changed); "
                "start again from the first page",
                parameter="cursor",
            )
        if len(raw) != len(keys) + 2:
            raise ValueError("wrong length")
        values = [_typed(k, v) for k, v in zip(keys, raw[: len(keys)], strict=True)]
        return Cursor(values, int(raw[-2]), int(raw[-1]), direction)
    except InvalidCursor:
        raise
    except Exception:
        raise InvalidCursor(
            "the cursor is not valid; follow the next/prev links as given", parameter="cursor"
        ) from None


def _typed(key: SortKey, value: Any) -> Any:
    if value is None:
        return None
    if key.kind == "datetime":
        return dt.datetime.fromisoformat(str(value))
    if key.kind == "date":
        return dt.date.fromisoformat(str(value))
    if key.kind == "integer":
        return int(value)
    if key.kind == "number":
        return float(value)
    if key.kind == "boolean":
        return bool(value)
    return str(value)
