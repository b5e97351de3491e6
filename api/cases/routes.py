"""The case console's JSON: the code lists, the departments, the queue, one case, and the actions.

``POST /cases/{id}/actions/{action}`` moves a case; the database's transitions table decides what
is legal (409 otherwise) and whose it is (403); a case the caller may not see is 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.cases.common import Ctx, SignedIn, action_from, case_layer, json_response, scope_of
from api.errors import InvalidParameter
from api.ogc.items import etag
from api.ogc.writes import precondition
from cases.codes import codes_document, departments
from cases.errors import CaseNotFound, InvalidReport
from cases.queue import parse_states, queue
from cases.records import case_detail
from cases.workflow import act

router = APIRouter(tags=["cases"])


@router.get("/cases/codes", summary="Case classes (立案条件, 处置时限, 结案条件), states, actions, sources")
async def get_codes() -> Response:
    """The code lists the report form and the console use; [GK] figures carry ``gk: true``."""
    return json_response(codes_document(), headers={"Cache-Control": "max-age=300"})


@router.get("/cases/departments", summary="处置部门: the classes each handles and its area")
async def get_departments() -> Response:
    """Every department with its classes (``kind:prefix``) and area (``all`` or adcodes/street codes)."""
    return json_response([d.as_dict() for d in departments().values()], headers={"Cache-Control": "max-age=300"})


@router.get("/cases/queue", summary="The queue by state, with timers (what the caller may see)")
async def get_queue(
    ctx: Ctx, principal: SignedIn,
    state: Annotated[str | None, Query(description="state or states, comma-separated; default: every open state")]
    = None,
    department: Annotated[str | None, Query(description="only this department's cases")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Current cases in the asked states, newest report first, and the count in each state."""
    states = parse_states(state)
    async with ctx.pool.acquire() as conn:
        body = await queue(conn, layer=case_layer(ctx), scope=scope_of(principal), states=states,
                           department=department, limit=limit, offset=offset)
    return json_response(body)


@router.get("/cases/{case_id:int}", summary="One case: the case, its history, photos and timers")
async def get_case(case_id: int, ctx: Ctx, principal: SignedIn) -> Response:
    """The case as a Feature, one history entry per version, its photos and its timers."""
    layer = case_layer(ctx)
    async with ctx.pool.acquire() as conn:
        body = await case_detail(conn, layer, case_id, scope_of(principal))
    version = body["case"]["version"]
    return json_response(body, headers={"ETag": etag(case_id, version)})


async def _action_body(request: Request) -> object:
    raw = await request.body()
    if len(raw) > 64 * 1024:
        raise InvalidParameter("the action body is over 64 KiB")
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidReport("the action body is not valid JSON") from None


@router.post("/cases/{case_id:int}/actions/{action}", summary="Move a case (立案, 派遣, 处置, 核查, 结案 …)")
async def post_action(case_id: int, action: str, request: Request, ctx: Ctx, principal: SignedIn) -> Response:
    """Take one action; answers the new state, the ETag and the case. ``If-Match`` is optional."""
    body = action_from(await _action_body(request))
    layer = case_layer(ctx)
    wanted = precondition(request, layer, case_id).version
    scope = scope_of(principal)
    async with ctx.pool.acquire() as conn:
        moved = await act(conn, layer=layer, fid=case_id, action=action, body=body, principal=principal,
                          scope=scope, expected_version=wanted, now=None)
        try:
            case = (await case_detail(conn, layer, case_id, scope))["case"]
        except CaseNotFound:  # the move took the case out of the caller's sight (another department)
            case = None
    tag = etag(case_id, moved.version)
    return json_response({"id": case_id, "state": moved.state, "etag": tag, "version": moved.version,
                          "case": case, "at": dt.datetime.now(dt.UTC).isoformat()},
                         headers={"ETag": tag})
