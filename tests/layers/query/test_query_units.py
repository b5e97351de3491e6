"""Pure parts of layers.query: datetime, bbox, sortby, cursors and the CQL2 → SQL translation."""

from __future__ import annotations

import datetime as dt

import pytest

from layers.definitions import builtin_layers
from layers.model import Layer
from layers.query import cql2
from layers.query.bbox import parse_bbox
from layers.query.errors import InvalidCursor, InvalidFilter, InvalidQuery, UnknownProperty
from layers.query.instants import http_date, parse_datetime, rfc3339
from layers.query.paging import decode, encode
from layers.query.sorting import parse_sortby
from layers.sql import Params
from layers.temporal import AsOf, During
from spatial.crs import parse_crs

UTC = dt.UTC


@pytest.fixture(scope="module")
def buildings() -> Layer:
    definition = next(d for d in builtin_layers() if d.id == "buildings")
    return Layer.model_validate(definition.model_dump(by_alias=True))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T08:00:00Z", AsOf(dt.datetime(2024, 5, 1, 8, tzinfo=UTC))),
        ("2024-05-01T16:00:00+08:00", AsOf(dt.datetime(2024, 5, 1, 8, tzinfo=UTC))),
        (
            "2024-05-01",
            During(
                dt.datetime(2024, 5, 1, tzinfo=UTC), dt.datetime(2024, 5, 1, 23, 59, 59, 999999, tzinfo=UTC)
            ),
        ),
        ("../2024-05-01T00:00:00Z", During(None, dt.datetime(2024, 5, 1, tzinfo=UTC))),
        ("2024-05-01T00:00:00Z/..", During(dt.datetime(2024, 5, 1, tzinfo=UTC), None)),
        ("2024-05-01T00:00:00Z/", During(dt.datetime(2024, 5, 1, tzinfo=UTC), None)),
        ("../..", During(None, None)),
    ],
)
def test_datetime_forms(text: str, expected: object) -> None:
    assert parse_datetime(text) == expected


@pytest.mark.parametrize("text", ["", "tomorrow", "2024-13-01", "a/b/c", "2025-01-01/2024-01-01"])
def test_bad_datetimes(text: str) -> None:
    with pytest.raises(InvalidQuery):
        parse_datetime(text)


def test_time_formats() -> None:
    t = dt.datetime(2012, 10, 14, 16, 43, 17, tzinfo=UTC)
    assert rfc3339(t) == "2012-10-14T16:43:17Z"
    assert rfc3339(t.replace(microsecond=5)) == "2012-10-14T16:43:17.000005Z"
    assert http_date(t) == "Sun, 14 Oct 2012 16:43:17 GMT"


def test_bbox_axis_orders_and_projection() -> None:
    lonlat = parse_bbox("112.9,28.1,113.0,28.2")
    latlon = parse_bbox("28.1,112.9,28.2,113.0", crs=parse_crs("EPSG:4326"))
    assert lonlat.envelope_4490 == latlon.envelope_4490 == (112.9, 28.1, 113.0, 28.2)
    gk = parse_bbox("3118000,490000,3120000,492000", crs=parse_crs("EPSG:4547"))
    assert gk.polygon_wkb is not None
    xmin, ymin, xmax, ymax = gk.envelope_4490
    assert 113.89 < xmin < xmax < 113.92 and 28.17 < ymin < ymax < 28.20
    assert parse_bbox("112.9,28.1,0,113.0,28.2,100").envelope_4490 == (112.9, 28.1, 113.0, 28.2)


def test_sortby(buildings: Layer) -> None:
    keys = parse_sortby(buildings, "-height_m,+name,floors:desc")
    assert [(k.name, k.descending) for k in keys] == [("height_m", True), ("name", False), ("floors", True)]
    with pytest.raises(UnknownProperty):
        parse_sortby(buildings, "geometry")
    with pytest.raises(InvalidQuery):
        parse_sortby(buildings, "name,-name")


def test_cursor_round_trip_and_tampering(buildings: Layer) -> None:
    keys = parse_sortby(buildings, "-height_m,year_built")
    token = encode("[12.5, null, 1001, 2]", direction="next", query="q1", secret="s")
    cur = decode(token, keys=keys, query="q1", secret="s")
    assert (cur.values, cur.fid, cur.version, cur.direction) == ([12.5, None], 1001, 2, "next")
    with pytest.raises(InvalidCursor, match="different query"):
        decode(token, keys=keys, query="q2", secret="s")
    with pytest.raises(InvalidCursor):
        decode(token, keys=keys, query="q1", secret="other-secret")
    body, mac = token.split(".")
    with pytest.raises(InvalidCursor):
        decode(body[:-2] + "xx." + mac, keys=keys, query="q1", secret="s")


def test_cql2_binds_every_value(buildings: Layer) -> None:
    params = Params()
    tree = cql2.parse("name = 'x''; DROP TABLE y; --' AND height_m > 3", lang="cql2-text")
    sql = cql2.translate(tree, layer=buildings, params=params)
    assert "DROP" not in sql and sql.count("$") == 2
    assert params.values == ["x'; DROP TABLE y; --", 3.0]


def test_cql2_refuses_identifiers_outside_the_schema(buildings: Layer) -> None:
    for text in ['"name; DROP TABLE x" = 1', "pg_sleep = 1", "fid2 > 3"]:
        with pytest.raises(InvalidFilter):
            cql2.translate(cql2.parse(text, lang="cql2-text"), layer=buildings, params=Params())
