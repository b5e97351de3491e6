"""Where delivered rows go: a fixed layer, or — for pipelines — the layer of their category.

Pipelines are stored per platform category (``pipeline_<key>_segments`` and
``pipeline_<key>_points``, keys from :data:`spatial.codelists.cjj61.PLATFORM_CATEGORIES`).
A row's CJJ 61 category and subcategory decide the key; both may arrive as codes
(JS, YS), Chinese names (给水, 雨水) or the platform's own names (污水, 路灯, 通讯).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ingest.errors import TargetError
from spatial.codelists.cjj61 import CATEGORIES, PLATFORM_CATEGORIES

Part = Literal["segments", "points"]
PLATFORM_KEYS: tuple[str, ...] = tuple(PLATFORM_CATEGORIES)

# Everything a delivery may write for a category, subcategory or platform category → (大类, 小类 or None).
_ALIASES: dict[str, tuple[str, str | None]] = {}
for _code, _cat in CATEGORIES.items():
    _ALIASES[_code.upper()] = (_code, None)
    _ALIASES[_cat.zh] = (_code, None)
    for _sub, (_digits, _zh, _en) in _cat.subcategories.items():
        _ALIASES.setdefault(_sub.upper(), (_code, _sub))
        _ALIASES[_zh] = (_code, _sub)
        _ALIASES[f"{_code}{_sub}".upper()] = (_code, _sub)
        _ALIASES[f"{_code}/{_sub}".upper()] = (_code, _sub)
for _key, _p in PLATFORM_CATEGORIES.items():
    _ALIASES[_key.upper()] = (_p.category, _p.subcategories[0] if len(_p.subcategories) == 1 else None)
_ALIASES.update({
    "上水": ("JS", None), "自来水": ("JS", None), "供水": ("JS", None), "污水": ("PS", "WS"), "雨水": ("PS", "YS"),
    "合流": ("PS", "HS"), "天然气": ("RQ", "TR"), "煤气": ("RQ", "MQ"), "供电": ("DL", "GD"), "路灯": ("DL", "LD"),
    "交通信号": ("DL", "XH"), "交通信号灯": ("DL", "XH"), "信号": ("DL", "XH"), "通讯": ("TX", None),
    "电信": ("TX", "DH"), "电话": ("TX", "DH"), "广播电视": ("TX", "DS"), "有线电视": ("TX", "DS"),
    "广播": ("TX", "GB"), "网络": ("TX", "XX"), "信息网络": ("TX", "XX"), "SEWAGE": ("PS", "WS"),
    "STORM": ("PS", "YS"), "STREETLIGHT": ("DL", "LD"), "SIGNAL": ("DL", "XH"), "CABLETV": ("TX", "DS"),
})
_SUB_TO_KEY = {(p.category, s): k for k, p in PLATFORM_CATEGORIES.items() for s in p.subcategories}
# Categories whose platform layer does not depend on the subcategory.
_WHOLE = {p.category: k for k, p in PLATFORM_CATEGORIES.items()
          if sum(q.category == p.category for q in PLATFORM_CATEGORIES.values()) == 1}


def parse_category(value: Any) -> tuple[str | None, str | None]:
    """(大类, 小类) from anything a delivery writes; (None, None) when it says nothing usable."""
    if value is None:
        return None, None
    text = str(value).strip()
    if not text:
        return None, None
    return _ALIASES.get(text.upper(), _ALIASES.get(text, (None, None)))


def codes_of(category: Any, subcategory: Any) -> tuple[str | None, str | None]:
    """(大类, 小类) codes from a row's category and subcategory values (either may name both)."""
    cat, sub_from_cat = parse_category(category)
    sub_cat, sub = parse_category(subcategory)
    return cat or sub_cat, sub or sub_from_cat


@dataclass(frozen=True, slots=True)
class Route:
    """Where a pipeline row goes, or why it cannot go anywhere."""

    key: str | None
    category: str | None
    subcategory: str | None
    problem: str | None = None


def route(category: Any, subcategory: Any, *, fallback: tuple[str | None, str | None] = (None, None)) -> Route:
    """The platform category of a row from its category and subcategory columns.

    ``fallback`` (from ``--category``, a file or CAD layer name) fills what the row leaves out.
    """
    cat, sub = codes_of(category, subcategory)
    if cat is None:
        cat = fallback[0]
    if sub is None and fallback[0] in (None, cat):
        sub = fallback[1]
    if cat is None:
        shown = category if category is not None else subcategory
        return Route(None, None, None, f"pipeline category {shown!r} is not a CJJ 61 category (给水 JS, 排水 PS, …)")
    if sub is not None and sub not in CATEGORIES[cat].subcategories:
        return Route(None, cat, sub, f"{sub} is not a subcategory of {cat} ({CATEGORIES[cat].zh})")
    if sub is not None and (cat, sub) in _SUB_TO_KEY:
        return Route(_SUB_TO_KEY[(cat, sub)], cat, sub)
    if sub is None and cat in _WHOLE:
        return Route(_WHOLE[cat], cat, None)
    name = CATEGORIES[cat].zh
    if sub is None:
        return Route(None, cat, None, f"category {cat} ({name}) needs a subcategory to choose its layer")
    return Route(None, cat, sub, f"{cat}/{sub} ({name}) is not one of the nine platform pipeline categories")


def layer_id(key: str, part: Part) -> str:
    """The layer id of one part of a platform category, e.g. ``pipeline_water_points``."""
    return f"pipeline_{key}_{part}"


def category_from_name(name: str, layer_map: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(大类, 小类) from a file or CAD layer name through ``layer_map`` (regex → "PS/YS", "water" …)."""
    for pattern, value in layer_map.items():
        if re.search(pattern, name, re.IGNORECASE):
            return parse_category(value)
    return None, None


def parse_category_option(value: str) -> tuple[str, str | None]:
    """``--category`` as ``water``, ``JS``, ``PS/YS`` or ``雨水``.

    Raises:
        TargetError: when it names nothing known.
    """
    cat, sub = parse_category(value)
    if cat is None:
        keys = ", ".join(PLATFORM_CATEGORIES)
        raise TargetError(f"--category {value!r} is unknown; use a platform key ({keys}), a CJJ 61 code like PS/YS, "
                          "or a Chinese name like 雨水")
    return cat, sub


def part_of(geometry_type: str | None, fields: list[str]) -> Part | None:
    """Whether a source table holds segments or points, from its geometry or its columns."""
    if geometry_type:
        base = geometry_type.removeprefix("Multi")
        if base == "LineString":
            return "segments"
        if base == "Point":
            return "points"
    lowered = {re.sub(r"\s", "", f).lower() for f in fields}
    if lowered & {"起始点号", "起点点号", "起点号", "start_point", "from_node", "node1", "qddh"}:
        return "segments"
    if lowered & {"物探点号", "点号", "point_no", "node_id", "wtdh"}:
        return "points"
    return None
