"""Reading features: ``/items`` pages, one item (as current or as of a time), and its versions.

Versions follow the OGC *Versioned Features* proposal (Memento pattern 1.2): the
item is Original Resource and TimeGate, ``?datetime=<valid_from>`` is the
canonical Memento of a version, and ``/versions`` is the TimeMap.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, NoReturn

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.audit import note_read
from api.auth import ReadableCollection, collection_for_read, current_principal
from api.context import AppContext, get_context
from api.errors import ApiError, InvalidParameter
from api.negotiation import negotiate
from api.ogc import html
from api.ogc.links import GEOJSON, HTML, JSON, base_url, link, self_and_alternate, self_url
from api.ogc.params import ITEM_PARAMS, check_known, crs_param, items_request
from api.query_string import has_query_param, query_value
from layers.errors import FeatureNotFound, FeatureRetired, UnknownLayer
from layers.model import Layer
from layers.query.history import latest_valid_version, version_rows
from layers.query.instants import http_date, parse_instant, rfc3339
from layers.query.items import ItemsRequest, Page, fetch_item, fetch_page
from layers.query.paging import encode
from layers.temporal import AsOf, During
from spatial.crs import CRS84, CrsRef

router = APIRouter(tags=["features"])
Ctx = Annotated[AppContext, Depends(get_context)]


class FeatureGone(FeatureRetired):
    """410 with the Memento links a client needs to find the versions that do exist."""

    def __init__(self, detail: str, *, links: list[dict[str, Any]], headers: dict[str, str]) -> None:
        super().__init__(detail)
        self.links = links
        self.headers = headers


class NoFeatures(ApiError):
    """404: a raster layer has tiles, not features."""

    status = 404
    type_slug = "no-features"
    title = "This collection has no features"


def vector(layer: Layer) -> Layer:
    """``layer`` if it holds features, else :class:`NoFeatures`."""
    if not layer.is_vector:
        raise NoFeatures(f"{layer.id} is a raster layer; it has tiles, not features")
    return layer


def feature_url(request: Request, layer: Layer, fid: int, at: dt.datetime | None = None) -> str:
    """Absolute URL of a feature, or of its Memento valid at ``at``."""
    url = f"{base_url(request)}/collections/{layer.id}/items/{fid}"
    return url + (f"?datetime={rfc3339(at)}" if at is not None else "")


def crs_headers(crs: CrsRef) -> dict[str, str]:
    """The Part 2 ``Content-Crs`` header for ``crs``."""
    return {"Content-Crs": f"<{crs.uri}>"}


def etag(fid: int, version: int, *, default_representation: bool = True) -> str:
    """Strong ETag of a version in its default representation (GeoJSON, CRS84), weak otherwise."""
    tag = f'"{fid}.{version}"'
    return tag if default_representation else f"W/{tag}"


async def readable(request: Request, collection_id: str) -> tuple[AppContext, Layer]:
    """The same guard as :data:`api.auth.ReadableCollection`, called directly.

    The items and item paths are the hot ones; resolving the guard here instead of
    through FastAPI's dependency solver saves a sixth of their Python time.
    """
    ctx: AppContext = request.app.state.ctx
    principal = await current_principal(request, ctx)
    return ctx, vector(await collection_for_read(collection_id, ctx, principal))


@router.get("/collections/{collectionId}/items", summary="Features of a collection (GeoJSON or HTML)")
async def get_items(request: Request, collectionId: str) -> Response:
    """A page of features (GeoJSON or HTML), keyset-paged; ``offset`` starts a walk anywhere."""
    ctx, layer = await readable(request, collectionId)
    fmt = negotiate(request)
    req, key = items_request(request, layer, ctx.settings.api, ctx.signing_key)
    async with ctx.pool.acquire() as conn:
        page = await fetch_page(conn, req)
    bbox = query_value(request, "bbox")
    note_read(request, ctx, layer, kind="read.items", area=f"bbox:{bbox[:200]}" if bbox else "all",
              features=page.returned)
    links = self_and_alternate(request, fmt, GEOJSON)
    links.append(link(f"{base_url(request)}/collections/{layer.id}", "collection", JSON, layer.title_en))
    links += paging_links(request, req, page, key, ctx.signing_key, GEOJSON if fmt == "json" else HTML)
    headers = {**crs_headers(req.crs), "OneMap-Number-Matched": page.matched_kind}
    if isinstance(req.selection, AsOf):
        headers["Memento-Datetime"] = http_date(req.selection.at)
    if isinstance(req.selection, During):
        profile = "versions-as-features-unique-ids" if req.unique_ids else "versions-as-features"
        headers["Link"] = f'<http://www.opengis.net/def/profile/OGC/0/{profile}>; rel="profile"'
    if fmt == "html":
        features = orjson.loads(b"[" + page.features + b"]")
        return html.render(
            request,
            "items.html.j2",
            layer=layer,
            features=features,
            page=page,
            links=links,
            fields=html.columns(layer),
            headers=headers,
        )
    return Response(collection_body(page, links), media_type=GEOJSON, headers=headers)


def paging_links(
    request: Request, req: ItemsRequest, page: Page, key: str, secret: str, media: str
) -> list[dict[str, Any]]:
    """next/prev links, each carrying a keyset cursor (never an offset, even on a page reached by one)."""
    out = []
    going_back = req.cursor is not None and req.cursor.direction == "prev"
    if (page.has_more or going_back) and page.last_key:
        token = encode(page.last_key, direction="next", query=key, secret=secret)
        out.append(link(self_url(request, cursor=token, offset=None), "next", media, "next page"))
    has_prev = req.offset > 0 or (
        req.cursor is not None and (req.cursor.direction == "next" or page.has_more)
    )
    if has_prev and page.first_key:
        token = encode(page.first_key, direction="prev", query=key, secret=secret)
        out.append(link(self_url(request, cursor=token, offset=None), "prev", media, "previous page"))
    return out


def collection_body(page: Page, links: list[dict[str, Any]]) -> bytes:
    """The FeatureCollection around PostgreSQL's feature text (no per-feature work here)."""
    tail: dict[str, Any] = {
        "numberReturned": page.returned,
        "timeStamp": rfc3339(dt.datetime.now(dt.UTC).replace(microsecond=0)),
        "links": links,
    }
    if page.matched_kind == "exact":
        tail["numberMatched"] = page.matched
    elif page.matched_kind == "estimate":
        tail["numberMatchedEstimate"] = page.matched
    tail["numberMatchedKind"] = page.matched_kind
    return (
        b'{"type":"FeatureCollection","features":[' + page.features + b"]," + orjson.dumps(tail)[1:]
    )


def parse_fid(raw: str) -> int:
    """A feature id from the path; anything but digits is a 404 (no such feature)."""
    if not raw.isdigit() or len(raw) > 18:
        raise FeatureNotFound(f"there is no feature {raw!r}")
    return int(raw)


def version_links(
    request: Request, layer: Layer, fid: int, row: Any, at_text: str | None, *, base: str | None = None
) -> list[dict[str, Any]]:
    """Memento links of the version in ``row``: canonical, original, timemap and neighbours."""
    # One base for every link: this is the item-by-id hot path.
    collection = f"{base or base_url(request)}/collections/{layer.id}"
    original = f"{collection}/items/{fid}"
    versions = f"{original}/versions"
    links = [
        link(f"{original}?datetime={rfc3339(row['valid_from'])}", "canonical", GEOJSON, "this version"),
        link(original, "original", GEOJSON, "the feature (current version)"),
        link(versions, "timemap", JSON, "all versions"),
        link(versions, "version-history", JSON, "all versions"),
        link(collection, "collection", JSON, layer.title_en),
    ]
    if row["prev_from"] is not None:
        links.append(link(f"{original}?datetime={rfc3339(row['prev_from'])}", "predecessor-version", GEOJSON))
    if row["next_from"] is not None:
        links.append(link(f"{original}?datetime={rfc3339(row['next_from'])}", "successor-version", GEOJSON))
    return links


def link_header(links: list[dict[str, Any]]) -> str:
    """The Memento relations of ``links`` as an RFC 8288 ``Link`` header."""
    wanted = {
        "canonical",
        "original",
        "timemap",
        "version-history",
        "predecessor-version",
        "successor-version",
        "latest-version",
    }
    return ", ".join(f'<{lk["href"]}>; rel="{lk["rel"]}"' for lk in links if lk["rel"] in wanted)


@router.get("/collections/{collectionId}/items/{featureId}", summary="One feature, current or as of a time")
async def get_item(request: Request) -> Response:
    """One feature (GeoJSON or HTML) as current or valid at ``datetime``, with Memento links.

    The path parameters are read from the request, not declared: FastAPI then has nothing to
    solve per request, a tenth of this path's Python calls (it is the leanest read there is).
    """
    featureId: str = request.path_params["featureId"]
    ctx, layer = await readable(request, request.path_params["collectionId"])
    check_known(request, ITEM_PARAMS)
    if has_query_param(request, "properties"):
        raise InvalidParameter(
            "properties applies to /items; an item always has all its properties",
            extra={"parameter": "properties"},
        )
    fmt = negotiate(request)
    fid = parse_fid(featureId)
    crs = crs_param(request, "crs", output=True)
    at_text = query_value(request, "datetime")
    at = parse_instant(at_text) if at_text else None
    if at_text and "/" in at_text:
        raise InvalidParameter(
            "an item takes one instant in datetime, not an interval", extra={"parameter": "datetime"}
        )
    async with ctx.pool.acquire() as conn:
        row = await fetch_item(conn, layer=layer, fid=fid, crs=crs, at=at)
        if row is None:
            await gone_or_missing(conn, request, layer, fid, at)
    note_read(request, ctx, layer, kind="read.item", area=f"fid:{fid}", features=1)
    base = base_url(request)
    links = version_links(request, layer, fid, row, at_text, base=base)
    headers = {
        **crs_headers(crs),
        "Memento-Datetime": http_date(row["valid_from"]),
        "ETag": etag(fid, row["version"], default_representation=fmt == "json" and crs is CRS84),
        "Link": link_header(links),
    }
    if at is not None and row["valid_to"] is not None:
        headers["Cache-Control"] = "public, max-age=86400, immutable"
    if fmt == "html":
        feature = orjson.loads(row["f"])
        return html.render(
            request,
            "item.html.j2",
            layer=layer,
            feature=feature,
            links=links,
            row=row,
            fields=html.columns(layer),
            headers=headers,
        )
    all_links = self_and_alternate(request, fmt, GEOJSON, base=base) + links
    body = row["f"].encode()[:-1] + b',"links":' + orjson.dumps(all_links) + b"}"
    return Response(body, media_type=GEOJSON, headers=headers)


async def gone_or_missing(
    conn: Any, request: Request, layer: Layer, fid: int, at: dt.datetime | None
) -> NoReturn:
    """Raise 404 for a feature that never existed, 410 (with Memento links) otherwise."""
    latest = await latest_valid_version(conn, layer=layer, fid=fid)
    if latest is None:
        raise FeatureNotFound(f"there is no feature {fid} in {layer.id}")
    when = f"at {rfc3339(at)}" if at else "now"
    if latest["valid_to"] is not None and at is None:
        detail = f"feature {fid} was retired at {rfc3339(latest['valid_to'])}"
    else:
        detail = f"feature {fid} did not exist {when}"
    latest_url = feature_url(request, layer, fid, latest["valid_from"])
    versions = f"{feature_url(request, layer, fid)}/versions"
    raise FeatureGone(
        detail,
        links=[
            link(latest_url, "latest-version", GEOJSON),
            link(versions, "timemap", JSON),
            link(versions, "version-history", JSON),
        ],
        headers={
            "Link": f'<{latest_url}>; rel="latest-version", <{versions}>; rel="timemap", '
            f'<{versions}>; rel="version-history"'
        },
    )


@router.get(
    "/collections/{collectionId}/items/{featureId}/versions",
    summary="TimeMap: every version of a feature (OGC Versioned Features proposal)",
)
async def get_versions(request: Request, featureId: str, layer: ReadableCollection, ctx: Ctx) -> Response:
    """The TimeMap of a feature: every version, with valid and transaction times."""
    vector(layer)
    check_known(request, frozenset({"f", "lang"}))
    fmt = negotiate(request)
    fid = parse_fid(featureId)
    async with ctx.pool.acquire() as conn:
        rows = await version_rows(conn, layer=layer, fid=fid)
    if not rows:
        raise FeatureNotFound(f"there is no feature {fid} in {layer.id}")
    note_read(request, ctx, layer, kind="read.versions", area=f"fid:{fid}", features=len(rows))
    original = feature_url(request, layer, fid)
    valid = [r for r in rows if r["valid_to"] is None or r["valid_to"] > r["valid_from"]]
    links = [
        link(self_url(request), "self", JSON if fmt == "json" else HTML),
        link(original, "original", GEOJSON, "the feature"),
    ]
    if valid:
        links.append(link(feature_url(request, layer, fid, valid[0]["valid_from"]), "first", GEOJSON))
    for r in valid:
        links.append(
            link(
                feature_url(request, layer, fid, r["valid_from"]),
                "memento",
                GEOJSON,
                datetime=http_date(r["valid_from"]),
            )
        )
    if valid:
        last = feature_url(request, layer, fid, valid[-1]["valid_from"])
        links += [link(last, "last", GEOJSON), link(last, "latest-version", GEOJSON)]
    versions = [
        {
            "version": r["version"],
            "validFrom": rfc3339(r["valid_from"]),
            "validTo": rfc3339(r["valid_to"]) if r["valid_to"] else None,
            "recordedAt": rfc3339(r["recorded_at"]),
            "supersededAt": rfc3339(r["superseded_at"]) if r["superseded_at"] else None,
            "changeset": r["changeset_id"],
            "comment": r["comment"],
            "operation": r["op"],
            "correction": r["valid_to"] is not None and r["valid_to"] <= r["valid_from"],
        }
        for r in rows
    ]
    doc = {
        "featureId": fid,
        "collection": layer.id,
        "versioning": {"timeAxis": "validity-time", "mutationTime": "server"},
        "retired": rows[-1]["valid_to"] is not None,
        "versions": versions,
        "links": links,
    }
    if fmt == "html":
        return html.render(request, "versions.html.j2", layer=layer, doc=doc)
    return Response(orjson.dumps(doc), media_type=JSON)


def no_such(layer_id: str) -> UnknownLayer:
    """The 404 for a collection that does not exist (or that the caller may not see)."""
    return UnknownLayer(f"there is no collection {layer_id!r}")
