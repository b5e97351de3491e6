"""Filing a report (信息采集 → 案卷建立): classify, locate, number, write version 1 (state
``reported``) through the versioned write path, store its photos and log its event — in one
transaction, so a refused photo or point leaves no half-made case behind."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import asyncpg
from shapely.geometry import Point

from cases.attachments import Photo, store_photo
from cases.calendar import work_calendar
from cases.codes import SOURCES, case_class
from cases.errors import InvalidReport
from cases.events import record_event
from cases.location import Location, component_point, locate
from cases.statements import bound
from layers.model import Layer
from layers.versioning import FeatureIn, insert_feature, open_changeset


@dataclass(frozen=True, slots=True)
class ReportIn:
    """A report as filed: class, words, source, and (optionally) where, as EPSG:4490 lon/lat degrees."""

    kind: str
    big_class: str | None
    small_class: str
    description: str | None = None
    source: str = "inspector"
    component_code: str | None = None
    lon: float | None = None
    lat: float | None = None


@dataclass(frozen=True, slots=True)
class Filed:
    """A filed case: its id, version, properties, location and photo ids."""

    fid: int
    version: int
    properties: dict[str, Any]
    location: Location
    attachments: list[int]


async def next_case_no(conn: asyncpg.Connection, when: dt.datetime) -> str:
    """YYYYMMDD (the day in the calendar's zone) + a 4-digit sequence of that day."""
    day = when.astimezone(work_calendar().zone).date()
    sql, args = bound("case_number", {"day": day})
    seq: int = await conn.fetchval(sql, *args)
    if seq > 9999:
        raise InvalidReport(f"more than 9999 cases on {day}: the case number has 4 digits for the day")
    return f"{day:%Y%m%d}{seq:04d}"


async def _point(conn: asyncpg.Connection, report: ReportIn, photos: list[Photo]) -> tuple[float, float]:
    if report.lon is not None and report.lat is not None:
        return report.lon, report.lat
    for photo in photos[:1]:
        if photo.lon is not None and photo.lat is not None:
            return photo.lon, photo.lat
    if report.component_code:
        lon, lat, _, _ = await component_point(conn, report.component_code)
        return lon, lat
    raise InvalidReport("the report has no point: send geometry, a photo with GPS in its EXIF, or a component_code")


async def file_report(
    conn: asyncpg.Connection, *, layer: Layer, report: ReportIn, photos: list[Photo], actor: str,
    now: dt.datetime | None = None,
) -> Filed:
    """File a report as a new case in state ``reported``.

    Raises:
        InvalidReport: unknown class or source, or no point.
        OutsideGrid: the point is outside every unit grid cell.
    """
    cls = case_class(report.kind, report.small_class, report.big_class)
    if report.source not in SOURCES:
        raise InvalidReport(f"source must be one of {', '.join(SOURCES)}")
    when = now or dt.datetime.now(dt.UTC)
    async with conn.transaction():
        lon, lat = await _point(conn, report, photos)
        where = await locate(conn, lon=lon, lat=lat, kind=cls.kind, small_class=cls.small_class,
                             component_code=report.component_code)
        props: dict[str, Any] = {
            "case_no": await next_case_no(conn, when), "source": report.source, "kind": cls.kind,
            "big_class": cls.big_class, "small_class": cls.small_class, "description": report.description,
            "grid_code": where.grid_code, "community": where.community, "street": where.street,
            "district": where.district, "component_code": where.component_code, "department": where.department,
            "state": "reported", "urgency": cls.urgency, "reported_at": when, "reporter": actor, "rework_count": 0,
        }
        cs = await open_changeset(conn, actor=actor, source="api", note="case report",
                                  details={"case_no": props["case_no"]})
        ref = await insert_feature(conn, layer=layer, feature=FeatureIn(Point(lon, lat), props), changeset_id=cs,
                                   valid_from=when)
        ids = [await store_photo(conn, fid=ref.fid, photo=p, actor=actor) for p in photos]
        await record_event(conn, fid=ref.fid, version=ref.version, action="report", from_state=None, props=props,
                           actor=actor, at=when, attachments=ids,
                           details={"component_distance_m": where.component_distance_m})
    return Filed(ref.fid, ref.version, props, where, ids)
