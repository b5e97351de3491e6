"""Filing reports and photos: ``POST /cases/reports`` (multipart: a ``report`` JSON part and
``photo`` files), ``POST /collections/city_cases/items`` (OGC API Features Part 4, for other
systems), ``POST /cases/{id}/attachments`` and ``GET /cases/{id}/attachments/{aid}``.

Part 4 POST to the case layer is served here, not by the generic Part 4 route: a case must start
``reported`` and be located, numbered and logged, which the generic write cannot know. This route
is mounted before the Features routers, so it wins for this one collection; PUT/PATCH/DELETE stay
generic, and the database refuses any of them that would change a case's state.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.responses import Response

from api.cases.common import Ctx, SignedIn, case_layer, json_response, report_from, scope_of
from api.errors import Forbidden
from api.ogc.bodies import content_crs, feature_parts, geometry_from, read_json_body
from api.ogc.items import etag
from cases.access import may_report
from cases.attachments import Photo, check_photo, read_photo, store_photo
from cases.errors import AttachmentTooLarge, CaseNotFound, InvalidReport
from cases.records import attachment_link, current_row
from cases.reports import Filed, ReportIn, file_report
from cases.settings import CaseSettings
from layers.principals import Principal

router = APIRouter(tags=["cases"])


async def _photos(files: list[UploadFile], settings: CaseSettings) -> list[Photo]:
    if len(files) > settings.max_photos:
        raise InvalidReport(f"at most {settings.max_photos} photos per request")
    out = []
    for upload in files:
        data = await upload.read(settings.max_photo_bytes + 1)
        if len(data) > settings.max_photo_bytes:
            raise AttachmentTooLarge(f"{upload.filename or 'photo'} is over the limit of "
                                     f"{settings.max_photo_bytes} bytes")
        out.append(check_photo(data, max_bytes=settings.max_photo_bytes, max_pixels=settings.max_photo_pixels,
                               filename=upload.filename))
    return out


def _check_reporter(principal: Principal) -> None:
    if not may_report(principal):
        raise Forbidden(f"{principal.name} may not file case reports (inspector, operator, supervisor, "
                        "dispatcher, editor or admin)")


def _filed(filed: Filed) -> dict[str, Any]:
    p, where = filed.properties, filed.location
    return {"id": filed.fid, "case_no": p["case_no"], "state": p["state"], "grid_code": where.grid_code,
            "community": where.community, "street": where.street, "district": where.district,
            "component_code": where.component_code, "department": where.department,
            "etag": etag(filed.fid, filed.version), "attachments": filed.attachments}


async def _file(ctx: Any, principal: Principal, report: ReportIn, photos: list[Photo]) -> Filed:
    async with ctx.pool.acquire() as conn:
        return await file_report(conn, layer=case_layer(ctx), report=report, photos=photos, actor=principal.name)


@router.post("/cases/reports", status_code=201, summary="File a report (multipart: report JSON + photos)")
async def post_report(
    ctx: Ctx, principal: SignedIn,
    report: Annotated[str, Form(description="JSON: geometry?, kind, big_class, small_class, description, "
                                            "source?, component_code?")],
    photo: Annotated[list[UploadFile] | None, File(description="JPEG, PNG or HEIC")] = None,
) -> Response:
    """Classify, locate (grid, component, department), number and file the case; one transaction."""
    _check_reporter(principal)
    try:
        data = orjson.loads(report)
    except orjson.JSONDecodeError:
        raise InvalidReport("the report part is not valid JSON") from None
    parsed = report_from(data)
    photos = await _photos(photo or [], ctx.settings.cases)
    filed = await _file(ctx, principal, parsed, photos)
    return json_response(_filed(filed), status=201,
                         headers={"Location": f"/cases/{filed.fid}", "ETag": etag(filed.fid, filed.version)})


@router.post("/collections/city_cases/items", status_code=201, summary="File a report (OGC API Features Part 4)")
async def post_case_feature(request: Request, ctx: Ctx, principal: SignedIn) -> Response:
    """A GeoJSON Feature (point in CRS84 or ``Content-Crs``) with kind, classes and description;
    the state is always ``reported`` and the location is worked out here."""
    _check_reporter(principal)
    body = await read_json_body(request, ctx.settings.api.max_body_bytes)
    geom_value, props, _ = feature_parts(body, partial=False)
    geom = geometry_from(geom_value, content_crs(request)) if geom_value is not None else None
    props = dict(props or {})
    props.pop("state", None)  # forced: every case starts reported
    fields = {k: v for k, v in props.items() if k in ("kind", "big_class", "small_class", "description", "source",
                                                       "component_code")}
    parsed = report_from(fields, default_source="system")
    if geom is not None:
        if geom.geom_type != "Point":
            raise InvalidReport("a case is a Point")
        parsed = ReportIn(**{**{f: getattr(parsed, f) for f in ReportIn.__dataclass_fields__},
                             "lon": geom.x, "lat": geom.y})
    filed = await _file(ctx, principal, parsed, [])
    url = str(request.url_for("get_item", collectionId="city_cases", featureId=str(filed.fid)))
    return json_response(_filed(filed), status=201, headers={"Location": url, "ETag": etag(filed.fid, filed.version)})


@router.post("/cases/{case_id:int}/attachments", status_code=201, summary="Add a photo to a case")
async def post_attachment(
    case_id: int, ctx: Ctx, principal: SignedIn,
    photo: Annotated[UploadFile, File(description="JPEG, PNG or HEIC")],
) -> Response:
    """Store a photo (EXIF stripped) for a case the caller sees; its id goes in an action's attachments."""
    (checked,) = await _photos([photo], ctx.settings.cases)
    async with ctx.pool.acquire() as conn, conn.transaction():
        await current_row(conn, case_layer(ctx), case_id, scope_of(principal))
        aid = await store_photo(conn, fid=case_id, photo=checked, actor=principal.name)
    return json_response({"id": aid, "sha256": checked.sha256.hex(), "media_type": checked.media_type,
                          "size": len(checked.data), "url": attachment_link(case_id, aid)}, status=201,
                         headers={"Location": attachment_link(case_id, aid)})


@router.get("/cases/{case_id:int}/attachments/{aid:int}", summary="A photo of a case (EXIF stripped)")
async def get_attachment(case_id: int, aid: int, ctx: Ctx, principal: SignedIn) -> Response:
    """The stored image, only to callers who see the case."""
    async with ctx.pool.acquire() as conn:
        await current_row(conn, case_layer(ctx), case_id, scope_of(principal))
        found = await read_photo(conn, fid=case_id, aid=aid)
    if found is None:
        raise CaseNotFound(f"case {case_id} has no photo {aid}")
    data, media_type, digest = found
    return Response(data, media_type=media_type, headers={
        "ETag": f'"{digest}"', "Cache-Control": "private, max-age=86400",
        "X-Content-Type-Options": "nosniff"})
