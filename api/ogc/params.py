"""Reading the items query string into a validated :class:`layers.query.items.ItemsRequest`."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from api.errors import InvalidParameter
from api.query_string import query_value
from api.settings import ApiSettings
from layers.model import Layer
from layers.query import cql2
from layers.query.bbox import parse_bbox
from layers.query.instants import parse_datetime
from layers.query.items import ItemsRequest
from layers.query.paging import decode, fingerprint
from layers.query.properties import parse_properties
from layers.query.sorting import parse_sortby
from layers.temporal import Current, During
from spatial.crs import CRS84, CrsRef, parse_crs
from spatial.errors import UnsupportedCrs

ITEMS_PARAMS = frozenset(
    {
        "f",
        "lang",
        "limit",
        "bbox",
        "bbox-crs",
        "datetime",
        "filter",
        "filter-lang",
        "filter-crs",
        "crs",
        "sortby",
        "properties",
        "cursor",
        "offset",
        "profile",
    }
)
ITEM_PARAMS = frozenset({"f", "lang", "crs", "datetime", "properties"})
PROFILES = ("versions-as-features", "versions-as-features-unique-ids")
# CRSs offered in every collection's ``crs`` list (Part 2), CRS84 first as the default.
OUTPUT_SRIDS = (4490, 4326, 4547, 4526, 3857)


def check_known(request: Request, allowed: frozenset[str]) -> None:
    """400 naming the first query parameter that is not in ``allowed``."""
    if not request.scope.get("query_string"):
        return  # nothing to check, and nothing parsed for it (item by id, most tiles)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise InvalidParameter(
            f"unknown query parameter(s): {', '.join(unknown)}; allowed here: {', '.join(sorted(allowed))}",
            extra={"parameter": unknown[0]},
        )


def crs_param(request: Request, name: str, *, output: bool = False) -> CrsRef:
    """A CRS parameter; output CRSs exclude the GCJ-02/BD-09 offset datums."""
    raw = query_value(request, name)
    if raw is None:
        return CRS84
    try:
        ref = parse_crs(raw)
    except UnsupportedCrs as exc:
        raise InvalidParameter(f"{name}: {exc}", extra={"parameter": name}) from None
    if output and ref.offset is not None:
        raise InvalidParameter(
            f"{name}: {raw} is accepted as input only; see the collection's crs list",
            extra={"parameter": name},
        )
    return ref


def limit_param(request: Request, settings: ApiSettings) -> int:
    """``limit``: 1 to the configured maximum, the configured default when absent."""
    raw = request.query_params.get("limit")
    if raw is None:
        return settings.default_limit
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(
            f"limit must be a whole number, not {raw!r}", extra={"parameter": "limit"}
        ) from None
    if value < 1 or value > settings.max_limit:
        raise InvalidParameter(
            f"limit must be between 1 and {settings.max_limit}", extra={"parameter": "limit"}
        )
    return value


def offset_param(request: Request) -> int:
    """``offset`` (rows to skip, as pygeoapi, tipg and GeoServer take it): a whole number ≥ 0.

    It only starts a walk: next/prev links carry a keyset cursor, so combining ``offset`` with
    ``cursor`` is refused rather than given a meaning a client would have to guess.
    """
    raw = request.query_params.get("offset")
    if raw is None:
        return 0
    if "cursor" in request.query_params:
        raise InvalidParameter(
            "offset and cursor cannot be combined: offset starts a walk, and the next/prev links "
            "it returns carry a cursor (follow them as given)",
            extra={"parameter": "offset"},
        )
    if not raw.isdigit() or len(raw) > 15:
        raise InvalidParameter(
            f"offset must be a whole number of rows, 0 or more, not {raw!r}", extra={"parameter": "offset"}
        )
    return int(raw)


def items_request(
    request: Request, layer: Layer, settings: ApiSettings, secret: str
) -> tuple[ItemsRequest, str]:
    """Validate every items parameter into (request, query fingerprint for cursors).

    Problems are 400 problem+json naming the parameter.
    """
    q = request.query_params
    check_known(request, ITEMS_PARAMS)
    crs = crs_param(request, "crs", output=True)
    bbox_crs = crs_param(request, "bbox-crs")
    filter_crs = crs_param(request, "filter-crs")
    selection = parse_datetime(q["datetime"]) if "datetime" in q else Current()
    bbox = parse_bbox(q["bbox"], crs=bbox_crs) if "bbox" in q else None
    if "bbox-crs" in q and "bbox" not in q:
        raise InvalidParameter("bbox-crs needs bbox", extra={"parameter": "bbox-crs"})
    tree: dict[str, Any] | bool | None = None
    if "filter" in q:
        tree = cql2.parse(q["filter"], lang=q.get("filter-lang", "cql2-text"), limits=settings.filter_limits())
    elif "filter-lang" in q or "filter-crs" in q:
        raise InvalidParameter("filter-lang and filter-crs need filter", extra={"parameter": "filter"})
    sort = parse_sortby(layer, q["sortby"]) if "sortby" in q else ()
    props = parse_properties(layer, q["properties"]) if "properties" in q else None
    profile = q.get("profile", PROFILES[0])
    if profile not in PROFILES:
        raise InvalidParameter(
            f"profile must be one of {', '.join(PROFILES)}", extra={"parameter": "profile"}
        )
    key = fingerprint(
        layer.id,
        repr(selection),
        bbox.envelope_4490 if bbox else None,
        bbox.polygon_wkb.hex() if bbox and bbox.polygon_wkb else None,
        tree,
        filter_crs.uri,
        [k.token for k in sort],
    )
    offset = offset_param(request)
    cursor = decode(q["cursor"], keys=sort, query=key, secret=secret) if "cursor" in q else None
    req = ItemsRequest(
        layer=layer,
        selection=selection,
        bbox=bbox,
        filter_tree=tree,
        filter_crs=filter_crs,
        sort=sort,
        properties=props,
        crs=crs,
        limit=limit_param(request, settings),
        offset=offset,
        cursor=cursor,
        unique_ids=profile == PROFILES[1] and isinstance(selection, During),
        count_cap=settings.exact_count_max_rows,
    )
    return req, key
