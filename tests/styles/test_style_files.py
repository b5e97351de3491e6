"""The style files (styles/data/*.yaml): read as package data, expanded, and validated strictly."""

from __future__ import annotations

from typing import Any

import pytest

from spatial.codelists.cjj61 import PLATFORM_CATEGORIES
from spatial.codelists.landuse import YDYH_2023
from styles.errors import InvalidStyleFile
from styles.sources import FILES, builtin_sources, fallback_source, parse_style_file, read_style_file


def _one(**fields: Any) -> dict[str, Any]:
    entry = {
        "id": "x",
        "kind": "line",
        "title_zh": "线",
        "title_en": "Line",
        "swatches": [{"value": None, "rgb": [1, 2, 3], "label_zh": "线", "label_en": "Line"}],
    }
    return {"sources": [{**entry, **fields}]}


def test_every_file_is_package_data_and_ids_are_unique() -> None:
    ids = [s.id for name in FILES for s in parse_style_file(name, read_style_file(name))]
    assert len(ids) == len(set(ids)) == len(builtin_sources())
    assert fallback_source().id == "default" and fallback_source().default.rgb == (150, 150, 150)


def test_a_code_list_swatch_becomes_one_labelled_swatch_per_code() -> None:
    landuse = builtin_sources()["landuse"]
    assert [s.value for s in landuse.classes] == [f"{n:02d}" for n in range(1, 25) if f"{n:02d}" in YDYH_2023]
    assert landuse.swatch_for("07").label_zh == YDYH_2023.labels_zh["07"]


def test_the_pipeline_template_makes_one_source_per_platform_category() -> None:
    sources = builtin_sources()
    for key, p in PLATFORM_CATEGORIES.items():
        src = sources[f"pipeline_{key}"]
        assert src.title_zh == f"{p.zh}管线" and src.default.rgb == p.screen_rgb
        assert src.dashed_when == ("status", ("1", "2"))
    assert sources["pipeline_water"].default.label_zh.startswith("给水（JS：")


def test_raster_legends_are_made_from_the_colour_map() -> None:
    volume = builtin_sources()["ghsl_built_volume"]
    assert [s.label_zh for s in volume.swatches][:2] == ["1 m³", "20,000 m³"]
    assert volume.raster is not None and volume.raster.unit == "m³"
    age = builtin_sources()["ghsl_built_age"]
    assert [s.value for s in age.swatches] == ["1", "2", "3", "4", "5"]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (_one(colour=[1, 2, 3]), "colour"),  # a misspelt key is refused, not ignored
        (_one(outline=[1, 2, 300]), "outline"),  # colour channels are 0-255
        (_one(kind="area"), "kind"),
        (_one(swatches=[{"codelist": "no.such.list", "rgb": {}}]), "no.such.list"),
        (_one(legend_label="{value} m"), "legend_label"),
        ({"styles": []}, "sources"),
    ],
)
def test_a_broken_style_file_is_refused_with_its_name(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidStyleFile) as caught:
        parse_style_file("broken.yaml", doc)
    assert "broken.yaml" in str(caught.value) and message in str(caught.value)
