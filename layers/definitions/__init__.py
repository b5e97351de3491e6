"""Built-in layer definitions: YAML files here, with the pipeline template expanded per category."""

from __future__ import annotations

import copy
from functools import cache
from importlib import resources
from typing import Any

import yaml

from layers.model import LayerDef
from spatial.codelists.cjj61 import PLATFORM_CATEGORIES

_LIST_FILES = ("base.yaml", "buildings_grid.yaml", "rasters.yaml", "cases.yaml")


def _read(name: str) -> Any:
    return yaml.safe_load(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))


def _fill(node: Any, values: dict[str, str]) -> Any:
    if isinstance(node, str):
        for name, value in values.items():
            node = node.replace("{" + name + "}", value)
        return node
    if isinstance(node, list):
        return [_fill(n, values) for n in node]
    if isinstance(node, dict):
        return {k: _fill(v, values) for k, v in node.items()}
    return node


def pipeline_definitions() -> list[dict[str, Any]]:
    """Segments and points layers for each of the nine platform pipeline categories."""
    template = _read("pipelines.yaml")
    out: list[dict[str, Any]] = []
    for key, cat in PLATFORM_CATEGORIES.items():
        values = {"key": key, "zh": cat.zh, "en": cat.en, "category": cat.category}
        for part in ("segments", "points"):
            layer = _fill(copy.deepcopy(template[part]), values)
            if part == "segments":
                layer["schema"]["fields"] += copy.deepcopy(template["extra_segment_fields"].get(key, []))
                if key == "gas":
                    layer["schema"]["rules"].append("gas_pressure_class")
            out.append(layer)
    return out


@cache
def builtin_layers() -> tuple[LayerDef, ...]:
    """Every built-in layer, validated. Cached: the files ship with the package."""
    raw: list[dict[str, Any]] = []
    for name in _LIST_FILES:
        raw += _read(name)
    raw += pipeline_definitions()
    layers = tuple(LayerDef.model_validate(item) for item in raw)
    ids = [layer.id for layer in layers]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ValueError(f"duplicate built-in layer ids: {sorted(dupes)}")
    return layers
