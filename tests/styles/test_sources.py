"""Style sources: CJJ 61 colours, land-use and building classes, needs, folium styling, legend."""

from __future__ import annotations

import pytest

from layers.definitions import builtin_layers
from layers.model import Layer
from spatial.codelists.buildings import USE
from spatial.codelists.cjj61 import CATEGORIES, PLATFORM_CATEGORIES
from styles.catalog import properties_for, source_for, style_ids
from styles.folium_style import legend_html, style_function
from styles.legend import legend_entry
from styles.model import hex_color

LAYERS = {d.id: Layer.model_validate(d.model_dump(by_alias=True)) for d in builtin_layers()}


def test_every_builtin_layer_has_its_own_style_source() -> None:
    for layer in LAYERS.values():
        assert layer.style_id in style_ids(), layer.id
        assert source_for(layer).id == layer.style_id


@pytest.mark.parametrize("key", list(PLATFORM_CATEGORIES))
def test_pipelines_use_cjj61_colours(key: str) -> None:
    p = PLATFORM_CATEGORIES[key]
    src = source_for(LAYERS[f"pipeline_{key}_segments"])
    assert src.default.standard_rgb == CATEGORIES[p.category].rgb
    assert src.default.rgb == p.screen_rgb


def test_subcategory_shades_are_distinguishable_on_screen_but_standard_in_reports() -> None:
    screen = {k: source_for(LAYERS[f"pipeline_{k}_segments"]).default.color for k in ("power", "streetlight", "signal")}
    assert len(set(screen.values())) == 3
    standard = {
        source_for(LAYERS[f"pipeline_{k}_segments"]).default.standard_color for k in ("power", "streetlight", "signal")
    }
    assert standard == {hex_color((255, 0, 0))}
    tv = source_for(LAYERS["pipeline_cabletv_segments"]).default
    assert tv.color != source_for(LAYERS["pipeline_telecom_segments"]).default.color
    assert tv.standard_color == hex_color((0, 255, 0))
    report = style_function(LAYERS["pipeline_streetlight_segments"], standard=True)({"properties": {"status": "0"}})
    screen_style = style_function(LAYERS["pipeline_streetlight_segments"])({"properties": {"status": "1"}})
    assert report["color"] == "#ff0000" and screen_style["color"] == screen["streetlight"]
    assert "dashArray" in screen_style and "dashArray" not in report


def test_buildings_classify_by_use_and_extrude_by_height() -> None:
    src = source_for(LAYERS["buildings"])
    assert {s.value for s in src.classes} == set(USE.codes())
    assert src.height == "height_m" and {"use", "height_m", "floors"} <= set(properties_for(LAYERS["buildings"]))
    office = style_function(LAYERS["buildings"])({"properties": {"use": "office"}})
    home = style_function(LAYERS["buildings"])({"properties": {"use": "residential"}})
    assert office["fillColor"] != home["fillColor"]


def test_land_use_colours_follow_level_one_codes() -> None:
    src = source_for(LAYERS["landuse"])
    assert src.by == "landuse_code" and src.by_prefix == 2
    assert src.swatch_for("070101").label_zh == "居住用地"
    assert src.swatch_for("0804").value == "08"
    assert src.swatch_for("99").value is None


def test_grid_is_outlined_and_labelled_with_its_code() -> None:
    src = source_for(LAYERS["grid_cells"])
    assert src.kind == "grid" and src.label == "grid_code" and src.outline is not None


def test_legend_marks_sample_layers() -> None:
    grid = legend_entry(LAYERS["grid_cells"])
    assert grid["sample"] and grid["badge_zh"] == "示例数据" and "示例数据" in grid["title_zh"]
    stations = legend_entry(LAYERS["rail_stations"])
    assert not stations["sample"] and stations["badge_zh"] is None
    assert len(stations["items"]) == 5
    volume = legend_entry(LAYERS["ghsl_built_volume"])
    assert volume["symbol"] == "raster" and len(volume["gradient"]) >= 3
    assert "示例数据" in legend_html(LAYERS["landuse"])
