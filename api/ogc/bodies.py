"""Request bodies: size-limited JSON reading (413 past the limit) and GeoJSON feature input."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from api.errors import InvalidParameter, PayloadTooLarge
from layers.errors import FieldError, ValidationFailed
from layers.query.limits import unstorable
from layers.query.output import TIME_PROPERTIES
from layers.query.storage_crs import to_storage
from spatial.crs import CRS84, CrsRef, parse_crs
from spatial.errors import UnsupportedCrs

# A GeoJSON MultiPolygon Feature nests 6 levels and a layer definition 5; 32 leaves room to spare.
BODY_MAX_DEPTH = 32


class BadBody(InvalidParameter):
    """400: the body is empty, not JSON, nested too deeply or holds U+0000."""

    type_slug = "invalid-body"
    title = "The request body cannot be read"


async def read_json_body(request: Request, limit: int) -> Any:
    """The body parsed as JSON.

    Raises:
        PayloadTooLarge: 413 when Content-Length or the streamed body exceeds ``limit`` bytes.
        BadBody: 400 when it is not JSON.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body exceeds the {limit}-byte limit")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise BadBody("the request body is empty; send a GeoJSON Feature")
    try:
        body = orjson.loads(raw)  # refuses lone surrogates and nesting past 1,024 itself
    except orjson.JSONDecodeError as exc:
        raise BadBody(f"the body is not valid JSON: {exc}") from None
    check_body(body)
    return body


def check_body(body: Any) -> None:
    """400 when a parsed JSON body nests deeper than :data:`BODY_MAX_DEPTH`, or a key or string
    anywhere in it holds U+0000 (``\\u0000``).

    PostgreSQL text and jsonb cannot hold U+0000; unchecked, it reached asyncpg and came back a
    500. Depth: orjson allows 1,024 levels, and shapely's GeoJSON reader recursed into Python's
    recursion limit on a few hundred. Walked with a stack, not recursion.
    """
    stack: list[tuple[Any, int]] = [(body, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > BODY_MAX_DEPTH:
            raise BadBody(f"the body nests deeper than {BODY_MAX_DEPTH} levels")
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for pair in node.items() for child in pair)
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
        elif isinstance(node, str) and (bad := unstorable(node)) is not None:
            raise BadBody(f"the body holds {bad}, which PostgreSQL text cannot store")


def content_crs(request: Request) -> CrsRef:
    """The CRS of geometries in the body (``Content-Crs`` header, default CRS84)."""
    raw = request.headers.get("content-crs")
    if not raw:
        return CRS84
    try:
        return parse_crs(raw.strip().strip("<>"))
    except UnsupportedCrs as exc:
        raise InvalidParameter(f"Content-Crs: {exc}", extra={"parameter": "Content-Crs"}) from None


def geometry_from(value: Any, crs: CrsRef) -> BaseGeometry:
    """A GeoJSON geometry in ``crs`` → shapely in EPSG:4490 lon/lat, or 422 with a field error."""

    def refuse(code: str, message: str) -> ValidationFailed:
        return ValidationFailed(errors=[FieldError("geometry", code, message)])

    if not isinstance(value, dict) or "type" not in value:
        raise refuse("invalid-geojson", "geometry must be a GeoJSON geometry object")
    try:
        geom = shape(value)
    except Exception as exc:
        raise refuse("invalid-geojson", f"not a valid GeoJSON geometry: {exc}") from None
    if geom.is_empty:
        raise refuse("empty", "geometry is empty")

    def fail(message: str) -> Exception:
        return refuse("out-of-range", message)

    return to_storage(geom, crs, fail=fail)


def feature_parts(body: Any, *, partial: bool) -> tuple[Any, dict[str, Any] | None, Any]:
    """(geometry value or None, properties or None, id) of a GeoJSON Feature body.

    ``valid_from``/``valid_to`` are read-only properties (the schema says so): a client that
    writes back a feature it read sends them, and they are dropped here rather than refused.
    Valid time is set with the ``OGC-Mutation-Datetime`` header.
    """
    if not isinstance(body, dict):
        raise ValidationFailed(
            errors=[FieldError("feature", "type", "the body must be a GeoJSON Feature object")]
        )
    if not partial and body.get("type") != "Feature":
        raise ValidationFailed(errors=[FieldError("type", "type", 'the body must have "type": "Feature"')])
    props = body.get("properties")
    if props is not None and not isinstance(props, dict):
        raise ValidationFailed(errors=[FieldError("properties", "type", "properties must be an object")])
    if props is not None:
        props = {k: v for k, v in props.items() if k not in TIME_PROPERTIES}
    if not partial and "geometry" not in body:
        raise ValidationFailed(errors=[FieldError("geometry", "required", "a feature needs a geometry")])
    return body.get("geometry"), props, body.get("id")
