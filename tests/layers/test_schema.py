"""Attribute validation against registry schemas and code lists."""

from __future__ import annotations

import datetime as dt

import pytest

from layers.definitions import builtin_layers
from layers.model import LayerDef
from layers.schema import validate_properties


def _layer(layer_id: str) -> LayerDef:
    return next(layer for layer in builtin_layers() if layer.id == layer_id)


GOOD_GAS = {
    "segment_no": "RQ-0001", "category": "RQ", "subcategory": "TR", "start_point": "RQ1", "end_point": "RQ2",
    "start_depth_m": 1.2, "end_depth_m": 1.3, "material": "PE", "diameter_mm": 160, "status": "0",
    "pressure_class": "ZA", "pressure_mpa": 0.35, "feature_code": "53031000",
}


def test_good_gas_segment_passes_and_coerces() -> None:
    clean, errors = validate_properties(_layer("pipeline_gas_segments").attributes,
                                        {**GOOD_GAS, "diameter_mm": "160", "survey_date": "2024-05-01"})
    assert errors == []
    assert clean["diameter_mm"] == 160 and clean["survey_date"] == dt.date(2024, 5, 1)


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"material": "铸铁"}, "material", "codelist"),  # label, not code
        ({"subcategory": "JP"}, "subcategory", "codelist"),  # 给水 subcategory on a gas layer
        ({"category": "JS"}, "category", "codelist"),
        ({"start_depth_m": 31}, "start_depth_m", "maximum"),
        ({"diameter_mm": 5}, "diameter_mm", "minimum"),
        ({"diameter_mm": "wide"}, "diameter_mm", "type"),
        ({"pressure_mpa": 0.9}, "pressure_mpa", "pressure-class"),  # over the 中压A limit
        ({"colour": "red"}, "colour", "unknown-property"),
        ({"status": None}, "status", "required"),
        ({"feature_code": "51041000"}, "feature_code", "cjj61-feature-code"),  # a 给水 code
    ],
)
def test_field_errors(change: dict[str, object], field: str, code: str) -> None:
    _, errors = validate_properties(_layer("pipeline_gas_segments").attributes, {**GOOD_GAS, **change})
    assert (field, code) in {(e.field, e.code) for e in errors}


def test_every_missing_required_field_is_reported_at_once() -> None:
    _, errors = validate_properties(_layer("pipeline_gas_segments").attributes, {})
    required = {f.name for f in _layer("pipeline_gas_segments").attributes.fields if f.required}
    assert {e.field for e in errors if e.code == "required"} == required


def test_partial_patch_skips_required() -> None:
    clean, errors = validate_properties(_layer("pipeline_gas_segments").attributes, {"owner": "长沙新奥燃气"},
                                        partial=True)
    assert errors == [] and clean == {"owner": "长沙新奥燃气"}


def test_point_is_feature_xor_appurtenance() -> None:
    schema = _layer("pipeline_water_points").attributes
    base = {"point_no": "JS1", "category": "JS", "subcategory": "JP", "status": "0"}
    assert validate_properties(schema, {**base, "appurtenance": "FM"})[1] == []
    both = validate_properties(schema, {**base, "appurtenance": "FM", "feature_point": "ST"})[1]
    assert any(e.code == "exclusive" for e in both)
    neither = validate_properties(schema, base)[1]
    assert any(e.field == "feature_point" for e in neither)


def test_grid_and_component_codes() -> None:
    grid = _layer("grid_cells").attributes
    ok = {"grid_code": "43010400701203", "district_adcode": "430104", "street_no": "007", "community_no": "012"}
    assert validate_properties(grid, ok)[1] == []
    wrong_district = validate_properties(grid, {**ok, "district_adcode": "430102"})[1]
    assert any(e.code == "grid-district" for e in wrong_district)
    short = validate_properties(grid, {**ok, "grid_code": "4301040070120"})[1]
    assert any(e.code == "grid-code" for e in short)
    comp = _layer("city_components").attributes
    c_ok = {"obj_code": "4301040101000001", "obj_name": "上水井盖", "major_code": "01", "minor_code": "0101"}
    assert validate_properties(comp, c_ok)[1] == []
    assert any(e.code == "component-minor" for e in validate_properties(comp, {**c_ok, "minor_code": "0102"})[1])


def test_landuse_code_checked_against_its_scheme() -> None:
    schema = _layer("landuse").attributes
    ok = {"parcel_no": "P1", "landuse_code": "0701", "scheme": "ydyh", "scheme_version": "2023", "plan_status": "现状"}
    assert validate_properties(schema, ok)[1] == []
    bad = validate_properties(schema, {**ok, "scheme": "gbt21010", "scheme_version": "2017"})[1]
    assert any(e.code == "landuse-code" for e in bad)


def test_datetime_needs_zone_and_bool_not_number() -> None:
    from layers.schema import FieldDef, LayerSchema

    schema = LayerSchema(fields=[
        FieldDef(name="t", type="datetime", title_zh="t", title_en="t"),
        FieldDef(name="n", type="number", title_zh="n", title_en="n"),
    ])
    assert any(e.field == "t" for e in validate_properties(schema, {"t": "2024-01-01T10:00:00"})[1])
    assert validate_properties(schema, {"t": "2024-01-01T10:00:00Z"})[1] == []
    assert any(e.field == "n" for e in validate_properties(schema, {"n": True})[1])
    assert any(e.field == "n" for e in validate_properties(schema, {"n": "nan"})[1])
