"""综合评价 over HTTP: ``GET /cases/stats`` (JSON, CSV or XLSX) and ``GET /cases/hotspots`` (GeoJSON)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from api.cases.common import Ctx, SignedIn, json_response, scope_of
from api.errors import InvalidParameter
from cases.export import to_csv, to_xlsx
from cases.stats import hotspots, statistics

router = APIRouter(tags=["cases"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _days(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    today = dt.date.today()
    end = end or today
    start = start or end - dt.timedelta(days=364)
    if (end - start).days > 3700:
        raise InvalidParameter("the period may span at most ten years", extra={"parameter": "from"})
    return start, end


@router.get("/cases/stats", summary="综合评价: indicators per district, street, community, grid, department, inspector")
async def get_stats(
    ctx: Ctx, principal: SignedIn,
    start: Annotated[dt.date | None, Query(alias="from", description="first day, YYYY-MM-DD")] = None,
    end: Annotated[dt.date | None, Query(alias="to", description="last day (included), YYYY-MM-DD")] = None,
    by: Literal["district", "street", "community", "grid", "department", "inspector"] = "district",
    district: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    street: Annotated[str | None, Query(pattern=r"^\d{9}$")] = None,
    format: Literal["json", "csv", "xlsx"] = "json",
) -> Response:
    """Reported, 立案, 派遣, 结案, 按期处置 (rate), 按期结案率, 返工 (rate), 超期, average handling hours."""
    first, last = _days(start, end)
    async with ctx.pool.acquire() as conn:
        body = await statistics(conn, scope=scope_of(principal), start=first, end=last, by=by, district=district,
                                street=street)
    name = f"cases-{by}-{first:%Y%m%d}-{last:%Y%m%d}"
    if format == "csv":
        return Response(to_csv(body), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if format == "xlsx":
        return Response(to_xlsx(body), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    body["period"] = {"from": first.isoformat(), "to": last.isoformat(), "by": by}
    return json_response(body)


@router.get("/cases/hotspots", summary="Cases per unit grid cell (GeoJSON, CRS84)")
async def get_hotspots(
    ctx: Ctx, principal: SignedIn,
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
) -> Response:
    """The grid cells with cases reported in the period, each with ``count``."""
    first, last = _days(start, end)
    async with ctx.pool.acquire() as conn:
        body = await hotspots(conn, scope=scope_of(principal), start=first, end=last)
    return Response(json_response(body).body, media_type="application/geo+json")
