"""Routing pipeline rows to their platform category, and reading survey values."""

from __future__ import annotations

import pytest

from ingest.convert import code_mapper, date_of, number_in, year_of
from ingest.targets import category_from_name, route
from spatial.codelists.cjj61 import MATERIAL


@pytest.mark.parametrize(("category", "subcategory", "key"), [
    ("给水", None, "water"), ("JS", "JP", "water"), ("排水", "雨水", "storm"), ("PS", "WS", "sewage"),
    ("雨水", None, "storm"), (None, "污水", "sewage"), ("电力", "路灯", "streetlight"), ("DL", "XH", "signal"),
    ("电力", None, None), ("通信", "有线电视", "cabletv"), ("TX", "XX", "telecom"), ("燃气", None, "gas"),
    ("热力", "RS", None), ("水管", None, None),
])
def test_route(category: str | None, subcategory: str | None, key: str | None) -> None:
    r = route(category, subcategory)
    assert r.key == key, r.problem
    if key is None:
        assert r.problem


def test_cad_layer_names() -> None:
    cad = {"(^|[^A-Z])YS([^A-Z]|$)|雨水": "PS/YS", "(^|[^A-Z])(JS|GS)([^A-Z]|$)": "JS"}
    assert category_from_name("YS_LINE", cad) == ("PS", "YS")
    assert category_from_name("雨水管线", cad) == ("PS", "YS")
    assert category_from_name("GS-POINT", cad) == ("JS", None)
    assert category_from_name("DLJ", cad) == (None, None)


def test_survey_values() -> None:
    assert number_in("DN300", unit="mm", target_unit="mm") == 300.0
    assert number_in("1.2m", unit="mm", target_unit="m") == 1.2
    assert number_in(1200, unit="mm", target_unit="m") == 1.2
    assert number_in("12 inch", unit=None, target_unit="mm") == pytest.approx(304.8)
    assert number_in("abc", unit="m", target_unit="m") == "abc"
    assert year_of("2015年") == 2015 and year_of("2015-06") == 2015 and year_of(2015.0) == 2015
    assert date_of("2020年5月3日") == "2020-05-03" and date_of("20200503") == "2020-05-03"
    material = code_mapper({"砼": "T"}, labels=MATERIAL.by_label(), codes=set(MATERIAL.codes()))
    assert [material(v) for v in ("铸铁", "砼", "pe", "木头", " ")] == ["ZT", "T", "PE", "木头", None]
