"""Unit grid (CJ/T 213) and city component (CJ/T 214 / GB/T 30428.2) codes.

Grid code: 6 district (GB/T 2260) + 3 street + 3 community + 2 (CJ/T 213) or
3 (DB11/T) sequence digits — 14 or 15 digits, domain.md §2.1.
Component code: 6 district + 2 大类 + 2 小类 + 6 流水号 = 16 digits, §2.2.
"""

from __future__ import annotations

import re

from spatial.codelists.admin import DISTRICT_ADCODES
from spatial.codelists.base import CodeList

GRID_CODE_RE = re.compile(r"^\d{14,15}$")
COMPONENT_CODE_RE = re.compile(r"^\d{16}$")

COMPONENT_MAJOR = CodeList(
    name="cjt214.major",
    title="城市部件大类 (CJ/T 214-2007)",
    labels_zh={
        "01": "公用设施", "02": "道路交通", "03": "市容环境", "04": "园林绿化", "05": "房屋土地",
        "06": "其他设施",
    },
    labels_en={
        "01": "Public utilities", "02": "Roads and traffic", "03": "Streetscape",
        "04": "Landscaping", "05": "Buildings and land", "06": "Other facilities",
    },
    source="CJ/T 214-2007 [names V: S14; order 02–06 GK]",
)

# 大类+小类 (4 digits) → name. 0101 is verified (S13); the rest follow the published
# order of 井盖 owners [names V: S14, order GK].
COMPONENT_MINOR = CodeList(
    name="cjt214.minor",
    title="城市部件小类 (CJ/T 214-2007)",
    labels_zh={
        "0101": "上水井盖", "0102": "污水井盖", "0103": "雨水井盖", "0104": "雨水箅子",
        "0105": "电力井盖", "0106": "路灯井盖", "0107": "通讯井盖", "0108": "电视井盖",
        "0109": "网络井盖", "0110": "热力井盖", "0111": "燃气井盖", "0112": "公安井盖",
        "0113": "无主井盖", "0118": "消防栓", "0121": "路灯", "0122": "地灯",
        "0201": "停车场", "0202": "公交站亭", "0203": "过街天桥", "0206": "交通信号灯",
        "0207": "交通标志牌", "0301": "公共厕所", "0302": "垃圾箱", "0303": "广告牌匾",
        "0401": "古树名木", "0402": "行道树", "0403": "绿地",
    },
    labels_en={
        "0101": "Water manhole cover", "0102": "Sewer manhole cover", "0103": "Storm manhole cover",
        "0104": "Storm grate", "0105": "Power manhole cover", "0106": "Street-light manhole cover",
        "0107": "Telecom manhole cover", "0108": "Cable-TV manhole cover", "0109": "Network manhole cover",
        "0110": "Heating manhole cover", "0111": "Gas manhole cover", "0112": "Police manhole cover",
        "0113": "Ownerless manhole cover", "0118": "Fire hydrant", "0121": "Street lamp",
        "0122": "Ground lamp", "0201": "Car park", "0202": "Bus shelter", "0203": "Footbridge",
        "0206": "Traffic signal", "0207": "Traffic sign", "0301": "Public toilet", "0302": "Litter bin",
        "0303": "Signboard", "0401": "Heritage tree", "0402": "Street tree", "0403": "Green space",
    },
    source="CJ/T 214-2007 [0101 V: S13; others GK]",
)

COMPONENT_STATE = CodeList(
    name="cjt214.state",
    title="部件状态",
    labels_zh={"1": "完好", "2": "破损", "3": "丢失", "4": "占用", "9": "其他"},
    labels_en={"1": "Intact", "2": "Damaged", "3": "Missing", "4": "Obstructed", "9": "Other"},
    source="城市部件 ObjState [GK]",
)


def check_grid_code(code: str, *, known_districts: frozenset[str] = DISTRICT_ADCODES) -> str | None:
    """Why ``code`` is not a valid unit grid code, or None when it is.

    Checks the 14/15-digit form and that the leading six digits are a known district.
    """
    if not GRID_CODE_RE.match(code):
        return "grid code must be 14 or 15 digits (CJ/T 213: 6 区县 + 3 街道 + 3 社区 + 2/3 网格)"
    if code[:6] not in known_districts:
        return f"digits 1–6 ({code[:6]}) are not a known district adcode"
    return None


def check_component_code(code: str, *, known_districts: frozenset[str] = DISTRICT_ADCODES) -> str | None:
    """Why ``code`` is not a valid 16-digit component code, or None when it is."""
    if not COMPONENT_CODE_RE.match(code):
        return "component code must be 16 digits (CJ/T 214: 6 区县 + 2 大类 + 2 小类 + 6 流水号)"
    if code[:6] not in known_districts:
        return f"digits 1–6 ({code[:6]}) are not a known district adcode"
    if code[6:8] not in COMPONENT_MAJOR:
        return f"digits 7–8 ({code[6:8]}) are not a component 大类"
    if code[6:10] not in COMPONENT_MINOR:
        return f"digits 7–10 ({code[6:10]}) are not a known component 小类"
    return None


def compose_grid_code(district: str, street: int, community: int, seq: int, *, digits: int = 2) -> str:
    """Build a grid code from its parts (``digits`` = 2 for CJ/T 213, 3 for DB11/T)."""
    return f"{district}{street:03d}{community:03d}{seq:0{digits}d}"


def compose_component_code(district: str, minor4: str, serial: int) -> str:
    """Build a 16-digit component code; ``minor4`` is 大类+小类, e.g. ``"0101"``."""
    return f"{district}{minor4}{serial:06d}"
