"""Code lists and code formats from CJJ 61, CJ/T 213/214 and the land-use schemes."""

from __future__ import annotations

import pytest

from spatial.codelists import CODELISTS, get_codelist, validate_code
from spatial.codelists.cjj61 import (
    CATEGORIES,
    PLATFORM_CATEGORIES,
    VERIFIED_FEATURE_CODES,
    check_feature_code,
    feature_code,
)
from spatial.codelists.grid import check_component_code, check_grid_code, compose_grid_code
from spatial.codelists.landuse import check_landuse_code
from spatial.errors import InvalidCode


def test_nine_platform_categories_map_onto_cjj61() -> None:
    assert len(PLATFORM_CATEGORIES) == 9
    assert {p.zh for p in PLATFORM_CATEGORIES.values()} == {
        "给水", "污水", "雨水", "燃气", "电力", "路灯", "交通信号", "通讯", "广播电视"}
    for p in PLATFORM_CATEGORIES.values():
        assert set(p.subcategories) <= set(CATEGORIES[p.category].subcategories)
    assert PLATFORM_CATEGORIES["storm"].subcategories == ("YS",)
    assert PLATFORM_CATEGORIES["sewage"].category == "PS"


def test_standard_colours_are_per_category_and_screen_shades_differ() -> None:
    red = CATEGORIES["DL"].rgb
    assert red == (255, 0, 0)
    lamps, signal, power = (PLATFORM_CATEGORIES[k] for k in ("streetlight", "signal", "power"))
    assert lamps.rgb == signal.rgb == power.rgb == red  # exports keep the standard colour
    assert len({lamps.screen_rgb, signal.screen_rgb, power.screen_rgb}) == 3
    assert CATEGORIES["PS"].rgb == (76, 57, 38)


@pytest.mark.parametrize("code", sorted(VERIFIED_FEATURE_CODES))
def test_verified_appendix_f_codes_are_well_formed(code: str) -> None:
    cat = {"1": "JS", "2": "PS"}[code[1]]
    sub = next(s for s, v in CATEGORIES[cat].subcategories.items() if v[0] == code[2:4])
    assert check_feature_code(code, category=cat, subcategory=sub) is None


def test_feature_code_compose_and_reject() -> None:
    assert feature_code("JS", "JP", element=1) == "51041000"
    assert feature_code("PS", "YS", element=2, point_kind=2, seq=2) == "52012202"
    assert check_feature_code("5104100", category="JS", subcategory="JP")
    assert check_feature_code("52041000", category="JS", subcategory="JP")  # wrong 大类 digit
    assert check_feature_code("51031000", category="JS", subcategory="JP")  # 中水 code under 配水


def test_material_lookup_by_label() -> None:
    material = get_codelist("cjj61.material")
    assert material.by_label()["铸铁"] == "ZT"
    validate_code(material, "QM")
    with pytest.raises(InvalidCode):
        validate_code(material, "XYZ")


def test_grid_codes() -> None:
    code = compose_grid_code("430104", 7, 12, 3)
    assert code == "43010400701203" and len(code) == 14
    assert check_grid_code(code) is None
    assert check_grid_code(code + "1") is None  # 15-digit (DB11/T) accepted
    assert "14 or 15" in (check_grid_code("4301040070120") or "")
    assert "not a known district" in (check_grid_code("11010100701203") or "")


def test_component_codes() -> None:
    assert check_component_code("4301040101000001") is None
    assert "16 digits" in (check_component_code("430104010100001") or "")
    assert "大类" in (check_component_code("4301049901000001") or "")
    assert "小类" in (check_component_code("4301040199000001") or "")


def test_landuse_schemes_are_kept_apart() -> None:
    assert check_landuse_code("0701", scheme="ydyh", version="2023") is None
    # 13 is 公用设施用地 in 用地用海 but does not exist in GB/T 21010's first level.
    assert check_landuse_code("13", scheme="ydyh", version="2023") is None
    assert check_landuse_code("13", scheme="gbt21010", version="2017")
    assert check_landuse_code("07", scheme="ydyh", version="2020")


def test_every_codelist_has_unique_name_and_labels() -> None:
    for name, cl in CODELISTS.items():
        assert name == cl.name
        assert cl.codes() and all(cl.label(c) for c in cl.codes())


def test_one_rule_for_depth_reference_and_section() -> None:
    from spatial.codelists.cjj61 import PLATFORM_CATEGORIES, parse_section

    inverts = {k for k, c in PLATFORM_CATEGORIES.items() if c.depth_to_invert}
    assert inverts == {"storm", "sewage"}  # gravity drainage; pressure pipes and cables to the top
    assert parse_section("800×600") == (800, 600) and parse_section(" 1200 x 900 ") == (1200, 900)
    assert parse_section("DN300") is None and parse_section(None) is None
