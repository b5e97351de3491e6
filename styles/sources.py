"""Every style source One Map ships, read from ``styles/data/*.yaml`` (one file per layer group).

The files hold the drawing decisions as data; this module only expands their shorthands (code-list
swatches, the pipeline template, raster legends from the colour map) and validates every entry
into :class:`~styles.model.StyleSource`, so a misspelt key or an out-of-range colour fails the
first time styles are read, naming the file and entry (the style tests read them all).

Colours come from the standards where one exists: CJJ 61-2017 Appendix B for pipelines
(:mod:`spatial.codelists.cjj61`, with the on-screen shades for 路灯/信号/广播电视), and the 用地用海
classification's colours for land use. Labels come from the code lists, so a class is named
the same in the legend, the API and the import reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from importlib.resources import files
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from spatial.codelists.cjj61 import CATEGORIES, PLATFORM_CATEGORIES
from spatial.codelists.registry import get_codelist
from styles.errors import InvalidStyleFile
from styles.model import RasterRamp, StyleSource

# In the order /styles lists them: base map, buildings, grid, pipelines, rasters.
FILES = ("basemap.yaml", "buildings.yaml", "grid.yaml", "pipelines.yaml", "rasters.yaml", "cases.yaml")
FALLBACK_FILE = "fallback.yaml"
_SOURCE = TypeAdapter(StyleSource)
_RAMP = TypeAdapter(RasterRamp)
Entry = dict[str, Any]


def read_style_file(name: str) -> Any:
    """The parsed YAML of ``styles/data/<name>``."""
    return yaml.safe_load(files("styles").joinpath("data", name).read_text(encoding="utf-8"))


def builtin_sources() -> dict[str, StyleSource]:
    """Every shipped style source, keyed by the registry's ``style_id``, in :data:`FILES` order."""
    return dict(_builtin())


@cache
def _builtin() -> tuple[tuple[str, StyleSource], ...]:
    return tuple((s.id, s) for name in FILES for s in parse_style_file(name, read_style_file(name)))


@cache
def fallback_source() -> StyleSource:
    """The neutral style of a layer that has no style source of its own."""
    doc = read_style_file(FALLBACK_FILE)
    return _validate(FALLBACK_FILE, doc.get("source") if isinstance(doc, dict) else None)


def parse_style_file(name: str, doc: Any) -> list[StyleSource]:
    """Validate one style file's document: a ``sources`` list and/or a ``pipeline_template``.

    Raises:
        InvalidStyleFile: The document does not describe valid style sources.
    """
    if not isinstance(doc, dict) or not set(doc) or not set(doc) <= {"sources", "pipeline_template"}:
        raise InvalidStyleFile(f"{name}: expected a mapping with 'sources' and/or 'pipeline_template'")
    entries = list(doc.get("sources") or [])
    if "pipeline_template" in doc:
        entries += list(_pipeline_entries(name, doc["pipeline_template"]))
    return [_validate(name, entry) for entry in entries]


def _validate(name: str, entry: Any) -> StyleSource:
    if not isinstance(entry, dict):
        raise InvalidStyleFile(f"{name}: every style source must be a mapping, not {entry!r}")
    label = entry.get("id", "?")
    try:
        return _SOURCE.validate_python(_expand(name, entry))
    except (ValidationError, KeyError, ValueError) as exc:
        raise InvalidStyleFile(f"{name}: style source {label!r}: {exc}") from exc


def _expand(name: str, entry: Entry) -> Entry:
    """Resolve the shorthands: code-list swatches, and raster swatches made from the colour map."""
    out = dict(entry)
    legend_label = out.pop("legend_label", None)
    if out.get("raster") is not None:
        out["raster"] = ramp = _RAMP.validate_python(out["raster"])
        if "swatches" not in out:
            out["swatches"] = list(_ramp_swatches(ramp, legend_label))
    elif legend_label is not None:
        raise InvalidStyleFile(f"{name}: legend_label is only for raster sources")
    out["swatches"] = [s for item in out.get("swatches", []) for s in _swatches(item)]
    return out


def _swatches(item: Any) -> Iterator[Any]:
    """A swatch as written, or ``{codelist, rgb: {code: colour}}``: one swatch per listed code."""
    if not isinstance(item, dict) or "codelist" not in item:
        yield item
        return
    if set(item) != {"codelist", "rgb"}:
        raise ValueError("a code-list swatch has exactly the keys codelist and rgb")
    codes = get_codelist(item["codelist"])
    for code, rgb in item["rgb"].items():
        if code in codes.labels_zh:
            zh = codes.labels_zh[code]
            yield {"value": code, "rgb": rgb, "label_zh": zh, "label_en": codes.labels_en.get(code, zh)}


def _ramp_swatches(ramp: RasterRamp, legend_label: str | None) -> Iterator[Entry]:
    if ramp.classes:
        for code, rgb, zh, en in ramp.classes:
            yield {"value": str(code), "rgb": rgb, "label_zh": zh, "label_en": en}
        return
    if legend_label is None:
        raise ValueError("a raster with colour stops needs legend_label")
    for value, rgb in ramp.stops:
        text = legend_label.format(value=value)
        yield {"value": f"{value:g}", "rgb": rgb, "label_zh": text, "label_en": text}


def _pipeline_entries(name: str, template: Any) -> Iterator[Entry]:
    """One entry per CJJ 61 platform category; the colours come from the code list."""
    if not isinstance(template, dict) or not isinstance(template.get("swatch"), dict):
        raise InvalidStyleFile(f"{name}: pipeline_template needs a swatch with label_zh and label_en")
    for key, p in PLATFORM_CATEGORIES.items():
        cat = CATEGORIES[p.category]
        words = {
            "key": key,
            "zh": p.zh,
            "en": p.en,
            "code": cat.code,
            "subcategories": "、".join(cat.subcategories[s][1] for s in p.subcategories),
        }
        entry = {k: v.format(**words) if isinstance(v, str) else v for k, v in template.items() if k != "swatch"}
        swatch = {k: v.format(**words) for k, v in template["swatch"].items()}
        entry["swatches"] = [{"value": None, "rgb": p.screen_rgb, **swatch, "standard_rgb": p.rgb}]
        yield entry
