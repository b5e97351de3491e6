"""Which pipeline category a request names, and the two layers that hold it.

A caller may name a category by the platform key (``water``), its Chinese name (给水), or
its CJJ 61 code (``JS``; ``PS/WS`` and ``PS/YS`` for the two drainage layers, ``DL/LD`` …),
as domain.md §1.1 maps them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from analysis.contract import InvalidInput
from layers.definitions import builtin_layers
from layers.model import Layer
from spatial.codelists.cjj61 import PLATFORM_CATEGORIES, PlatformCategory

# 附属物 codes that close (domain.md §1.3: 阀门 FM, 阀门井 FMJ).
VALVE_CODES = frozenset({"FM", "FMJ"})

_ALIASES: dict[str, str] = {
    "通信": "telecom", "信号": "signal", "交通信号灯": "signal", "电视": "cabletv", "广播": "cabletv",
    "合流": "sewage", "雨污合流": "sewage", "PS/HS": "sewage", "DL": "power", "TX": "telecom",
    "TX/XX": "telecom", "TX/GB": "cabletv", "DL/DC": "power", "DL/GG": "power",
}


@dataclass(frozen=True, slots=True)
class CategoryLayers:
    """A platform category with its segments and points layers."""

    category: PlatformCategory
    segments: Layer
    points: Layer

    @property
    def key(self) -> str:
        """The platform key (``water``, ``storm`` …)."""
        return self.category.key

    @property
    def gravity(self) -> bool:
        """Whether flow follows the invert elevations (雨水, 污水 and 雨污合流)."""
        return self.category.depth_to_invert


@cache
def _names() -> dict[str, str]:
    out: dict[str, str] = {}
    for key, cat in PLATFORM_CATEGORIES.items():
        out[key] = key
        out[cat.zh] = key
        for sub in cat.subcategories:
            out[f"{cat.category}/{sub}"] = key
    out["JS"], out["RQ"] = "water", "gas"
    out.update(_ALIASES)
    return {k.upper() if k.isascii() else k: v for k, v in out.items()}


@cache
def _layer(layer_id: str) -> Layer:
    # Built-in definitions are what migrate() registered; reading them needs no database.
    found = next(d for d in builtin_layers() if d.id == layer_id)
    return Layer.model_validate(found.model_dump(by_alias=True))


def layer(layer_id: str) -> Layer:
    """A built-in layer by id (its table name and fields), without a database round trip."""
    return _layer(layer_id)


def resolve_category(value: object, *, input_name: str = "category") -> CategoryLayers:
    """The category a request names (key, 中文名 or CJJ 61 code).

    Raises:
        InvalidInput: not a string, or no such category.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(input_name, "give a pipeline category: a key (water), a name (给水) or a CJJ 61 code (JS)")
    text = value.strip()
    key = _names().get(text.upper() if text.isascii() else text)
    if key is None:
        known = "、".join(f"{c.zh} ({k})" for k, c in PLATFORM_CATEGORIES.items())
        raise InvalidInput(input_name, f"unknown pipeline category {text!r}; known: {known}")
    return CategoryLayers(PLATFORM_CATEGORIES[key], layer(f"pipeline_{key}_segments"), layer(f"pipeline_{key}_points"))


def all_categories() -> list[CategoryLayers]:
    """The nine categories, in the platform's order."""
    return [resolve_category(k) for k in PLATFORM_CATEGORIES]
