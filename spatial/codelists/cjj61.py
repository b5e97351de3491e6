"""CJJ 61-2017 underground pipeline codes (Appendix B, C and F).

Category/subcategory codes and colours are from Appendix B [V: domain.md S1];
materials, burial types and status from Appendix C [V: S3]. Colours are set per
category; the platform's nine categories map onto CJJ 61 as domain.md §1.1 says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from spatial.codelists.base import CodeList

SOURCE = "CJJ 61-2017 《城市地下管线探测技术规程》"


@dataclass(frozen=True, slots=True)
class Category:
    """A CJJ 61 大类: two-letter 代号, one-digit 代码, name and standard colour (RGB)."""

    code: str
    digit: str
    zh: str
    en: str
    rgb: tuple[int, int, int]
    subcategories: dict[str, tuple[str, str, str]]  # 代号 → (2-digit 代码, zh, en)


CATEGORIES: dict[str, Category] = {
    c.code: c
    for c in [
        Category("JS", "1", "给水", "Water supply", (0, 255, 255), {
            "JY": ("01", "原水", "Raw water"), "SS": ("02", "输水", "Transmission"),
            "ZS": ("03", "中水", "Reclaimed water"), "JP": ("04", "配水", "Distribution"),
            "JZ": ("05", "直饮水", "Drinking water"), "XS": ("06", "消防水", "Fire water"),
            "LS": ("07", "绿化水", "Irrigation water"), "JH": ("08", "循环水", "Circulating water"),
        }),
        Category("PS", "2", "排水", "Drainage", (76, 57, 38), {
            "YS": ("01", "雨水", "Storm water"), "WS": ("02", "污水", "Sewage"),
            "HS": ("03", "雨污合流", "Combined sewer"),
        }),
        Category("RQ", "3", "燃气", "Gas", (255, 0, 255), {
            "MQ": ("01", "煤气", "Coal gas"), "YH": ("02", "液化气", "LPG"),
            "TR": ("03", "天然气", "Natural gas"),
        }),
        Category("RL", "4", "热力", "District heating", (255, 128, 0), {
            "RS": ("01", "热水", "Hot water"), "ZQ": ("02", "蒸汽", "Steam"),
        }),
        Category("DL", "5", "电力", "Electric power", (255, 0, 0), {
            "GD": ("01", "供电", "Power supply"), "LD": ("02", "路灯", "Street lighting"),
            "XH": ("03", "交通信号", "Traffic signals"), "DC": ("04", "电车", "Trolley"),
            "GG": ("05", "广告", "Advertising"),
        }),
        Category("TX", "6", "通信", "Telecommunications", (0, 255, 0), {
            "DH": ("01", "电话", "Telephone"), "DS": ("02", "有线电视", "Cable TV"),
            "XX": ("03", "信息网络", "Data network"), "GB": ("04", "广播", "Broadcasting"),
        }),
        Category("GY", "7", "工业", "Industrial", (0, 0, 0), {}),
        Category("QT", "8", "其他", "Other", (102, 0, 204), {
            "ZH": ("01", "综合管沟", "Utility tunnel"), "BM": ("02", "不明管线", "Unknown"),
        }),
    ]
}


@dataclass(frozen=True, slots=True)
class PlatformCategory:
    """One of One Map's nine pipeline categories and the CJJ 61 codes it covers.

    ``screen_rgb`` is the on-screen shade that tells 路灯/信号 apart from 供电 (all
    standard red) and 广播电视 from 通讯 (both standard green); exports keep ``rgb``.
    """

    key: str
    zh: str
    en: str
    category: str
    subcategories: tuple[str, ...]
    screen_rgb: tuple[int, int, int]

    @property
    def rgb(self) -> tuple[int, int, int]:
        return CATEGORIES[self.category].rgb

    @property
    def depth_to_invert(self) -> bool:
        """Whether 埋深 is measured to the invert (管内底/沟底) rather than the pipe top (管顶)."""
        return self.key in INVERT_DEPTH


# Gravity drainage (雨水; 污水, which holds 雨污合流): 埋深 is measured to the invert and water runs
# downhill; pressure pipes and cables are measured to the pipe top (domain.md §1.3) [GK: verify
# against §5 of CJJ 61]. The analyses, the 3D tiles and the sample generator all read this one rule.
INVERT_DEPTH = frozenset({"storm", "sewage"})
# 断面尺寸 of a 管块/方沟 as surveys write it: width × height in millimetres (``800×600``).
SECTION = re.compile(r"^\s*(\d{2,5})\s*[×xX*]\s*(\d{2,5})\s*$")


def parse_section(section: str | None) -> tuple[int, int] | None:
    """``"800×600"`` → (800, 600): a 断面's width and height in mm; None when absent or malformed."""
    m = SECTION.match(section or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


PLATFORM_CATEGORIES: dict[str, PlatformCategory] = {
    p.key: p
    for p in [
        PlatformCategory("water", "给水", "Water supply", "JS",
                         ("JY", "SS", "ZS", "JP", "JZ", "XS", "LS", "JH"), (0, 255, 255)),
        PlatformCategory("sewage", "污水", "Sewage", "PS", ("WS", "HS"), (76, 57, 38)),
        PlatformCategory("storm", "雨水", "Storm water", "PS", ("YS",), (140, 105, 70)),
        PlatformCategory("gas", "燃气", "Gas", "RQ", ("MQ", "YH", "TR"), (255, 0, 255)),
        PlatformCategory("power", "电力", "Electric power", "DL", ("GD", "DC", "GG"), (255, 0, 0)),
        PlatformCategory("streetlight", "路灯", "Street lighting", "DL", ("LD",), (255, 110, 110)),
        PlatformCategory("signal", "交通信号", "Traffic signals", "DL", ("XH",), (170, 0, 0)),
        PlatformCategory("telecom", "通讯", "Telecommunications", "TX", ("DH", "XX"), (0, 255, 0)),
        PlatformCategory("cabletv", "广播电视", "Cable TV and broadcasting", "TX", ("DS", "GB"),
                         (0, 150, 60)),
    ]
}

# The 小类 a row gets when a delivery names only its 大类 (an import reports each use). For 排水 it is
# 雨污合流 HS: drainage not declared as storm only or sewage only is treated as combined, which the
# sewage layer holds. 工业 GY has no subcategory in this list, so it gets none.
GENERAL_SUBCATEGORY: dict[str, str] = {
    "JS": "JP", "PS": "HS", "RQ": "TR", "RL": "RS", "DL": "GD", "TX": "DH", "QT": "BM",
}

CATEGORY = CodeList(
    name="cjj61.category",
    title="管线大类 (CJJ 61-2017 附录B)",
    labels_zh={c.code: c.zh for c in CATEGORIES.values()},
    labels_en={c.code: c.en for c in CATEGORIES.values()},
    source=f"{SOURCE} 附录B",
)

SUBCATEGORY = CodeList(
    name="cjj61.subcategory",
    title="管线小类 (CJJ 61-2017 附录B)",
    labels_zh={s: v[1] for c in CATEGORIES.values() for s, v in c.subcategories.items()},
    labels_en={s: v[2] for c in CATEGORIES.values() for s, v in c.subcategories.items()},
    source=f"{SOURCE} 附录B",
)


def subcategory_list(platform_key: str) -> CodeList:
    """The subcategories one platform category's layer accepts."""
    p = PLATFORM_CATEGORIES[platform_key]
    subs = CATEGORIES[p.category].subcategories
    return CodeList(
        name=f"cjj61.subcategory.{platform_key}",
        title=f"{p.zh}管线小类 (CJJ 61-2017 附录B)",
        labels_zh={s: subs[s][1] for s in p.subcategories},
        labels_en={s: subs[s][2] for s in p.subcategories},
        source=f"{SOURCE} 附录B",
    )


MATERIAL = CodeList(
    name="cjj61.material",
    title="管线材质 (CJJ 61-2017 C.0.1)",
    labels_zh={
        "ZT": "铸铁", "G": "钢", "T": "混凝土", "PE": "PE", "PVC": "PVC", "BLG": "玻璃钢",
        "QM": "球墨铸铁", "ZS": "砖石", "Z": "砖", "S": "石", "SM": "石棉", "TC": "陶瓷",
        "TZ": "铜", "VL": "钢芯铝绞线", "GX": "光纤",
    },
    labels_en={
        "ZT": "Cast iron", "G": "Steel", "T": "Concrete", "PE": "Polyethylene", "PVC": "PVC",
        "BLG": "Fibreglass", "QM": "Ductile iron", "ZS": "Brick and stone", "Z": "Brick",
        "S": "Stone", "SM": "Asbestos cement", "TC": "Ceramic", "TZ": "Copper",
        "VL": "Steel-cored aluminium", "GX": "Optical fibre",
    },
    source=f"{SOURCE} 附录C C.0.1",
)

BURIAL = CodeList(
    name="cjj61.burial",
    title="埋设方式 (CJJ 61-2017 C.0.2)",
    labels_zh={
        "ZM": "直埋", "GM": "管埋", "GK": "管块", "GG": "管沟", "JK": "架空", "DM": "地面",
        "SJ": "上架", "XTD": "小通道", "ZH": "综合管廊", "RF": "人防", "JN": "井内连线",
        "DG": "顶管/定向钻", "SX": "水下",
    },
    labels_en={
        "ZM": "Direct burial", "GM": "In conduit", "GK": "Duct bank", "GG": "Trench", "JK": "Overhead",
        "DM": "On ground", "SJ": "On rack", "XTD": "Small tunnel", "ZH": "Utility tunnel",
        "RF": "Civil-defence tunnel", "JN": "Within well", "DG": "Jacked/HDD", "SX": "Underwater",
    },
    source=f"{SOURCE} 附录C C.0.2",
)

STATUS = CodeList(
    name="cjj61.status",
    title="管线状态 (CJJ 61-2017 C.0.3)",
    labels_zh={"0": "在用", "1": "废弃", "2": "空管", "3": "其他"},
    labels_en={"0": "In use", "1": "Abandoned", "2": "Empty", "3": "Other"},
    source=f"{SOURCE} 附录C C.0.3",
)

FEATURE_POINT = CodeList(
    name="cjj61.feature_point",
    title="管线特征点",
    labels_zh={
        "WT": "弯头", "ST": "三通", "SIT": "四通", "BJ": "变径", "YLK": "预留口", "CD": "出地",
        "GD": "盖堵", "BC": "变材", "ZZD": "转折点", "ZXD": "直线点", "JD": "接户点",
    },
    labels_en={
        "WT": "Elbow", "ST": "Tee", "SIT": "Cross", "BJ": "Reducer", "YLK": "Reserved outlet",
        "CD": "Rises to surface", "GD": "End cap", "BC": "Material change", "ZZD": "Bend point",
        "ZXD": "Straight point", "JD": "Service connection",
    },
    source=f"{SOURCE} 特征点 [GK: codes are One Map's own abbreviations]",
)

APPURTENANCE = CodeList(
    name="cjj61.appurtenance",
    title="管线附属物",
    labels_zh={
        "JCJ": "检修井", "YJ": "窨井", "FM": "阀门", "FMJ": "阀门井", "XFS": "消防栓", "SB": "水表",
        "SBJ": "水表井", "PQF": "排气阀", "YB": "雨水箅", "HFC": "化粪池", "BZ": "泵站",
        "TYX": "调压箱", "NSG": "凝水缸", "DLJ": "电缆井", "RK": "人孔", "SK": "手孔",
        "XHD": "信号灯杆", "LDG": "路灯杆", "BXX": "变电箱", "JHX": "交接箱",
    },
    labels_en={
        "JCJ": "Inspection well", "YJ": "Manhole", "FM": "Valve", "FMJ": "Valve chamber",
        "XFS": "Fire hydrant", "SB": "Water meter", "SBJ": "Meter chamber", "PQF": "Air valve",
        "YB": "Storm inlet", "HFC": "Septic tank", "BZ": "Pump station", "TYX": "Pressure regulator",
        "NSG": "Condensate trap", "DLJ": "Cable well", "RK": "Manhole (telecom)", "SK": "Handhole",
        "XHD": "Signal pole", "LDG": "Lamp post", "BXX": "Transformer box", "JHX": "Cross-connect cabinet",
    },
    source=f"{SOURCE} 附属物 [GK: codes are One Map's own abbreviations]",
)

GAS_PRESSURE = CodeList(
    name="gb50028.pressure",
    title="燃气压力级制 (GB 50028)",
    labels_zh={
        "D": "低压", "ZB": "中压B", "ZA": "中压A", "CGB": "次高压B", "CGA": "次高压A",
        "GB": "高压B", "GA": "高压A",
    },
    labels_en={
        "D": "Low (<0.01 MPa)", "ZB": "Medium B (≤0.2 MPa)", "ZA": "Medium A (≤0.4 MPa)",
        "CGB": "Sub-high B (≤0.8 MPa)", "CGA": "Sub-high A (≤1.6 MPa)", "GB": "High B (≤2.5 MPa)",
        "GA": "High A (≤4.0 MPa)",
    },
    source="GB 50028 城镇燃气设计规范 [GK]",
)

GAS_PRESSURE_MAX_MPA = {"D": 0.01, "ZB": 0.2, "ZA": 0.4, "CGB": 0.8, "CGA": 1.6, "GB": 2.5, "GA": 4.0}

# Appendix F 8-digit codes verified in domain.md §1.2 (S2 lists only 给水 and 排水).
VERIFIED_FEATURE_CODES: dict[str, str] = {
    "51041000": "配水 管段", "51042102": "配水 三通", "51042104": "配水 变径",
    "51042202": "配水 消防栓", "51042204": "配水 阀门", "51042205": "配水 阀门井",
    "51042207": "配水 水表", "52011000": "雨水 管段", "52012202": "雨水 检修井",
    "52012204": "雨水 雨水箅", "52021000": "污水 管段", "52022202": "污水 检修井",
    "52022215": "污水 化粪池",
}


def feature_code(category: str, subcategory: str, *, element: int, point_kind: int = 0, seq: int = 0) -> str:
    """Compose the 8-digit CJJ 61 Appendix F code.

    Layout: ``5 | 大类(1) | 小类(2) | 要素类型(1: 1 line, 2 point, 3 area) | 管点类型(1) | 序号(2)``.
    """
    cat = CATEGORIES[category]
    sub_digits = cat.subcategories[subcategory][0]
    return f"5{cat.digit}{sub_digits}{element}{point_kind}{seq:02d}"


def check_feature_code(code: str, *, category: str, subcategory: str) -> str | None:
    """Why ``code`` is not a well-formed Appendix F code for this category, or None if it is."""
    if len(code) != 8 or not code.isdigit():
        return "must be 8 digits (CJJ 61 附录F)"
    if code[0] != "5":
        return "must start with 5 (GB/T 13923 管线大类)"
    cat = CATEGORIES.get(category)
    if cat is None or code[1] != cat.digit:
        return f"digit 2 must be the 大类 digit of {category}"
    sub = cat.subcategories.get(subcategory)
    if sub is None or code[2:4] != sub[0]:
        return f"digits 3–4 must be the 小类 code of {subcategory}"
    if code[4] not in "123":
        return "digit 5 (要素类型) must be 1 line, 2 point or 3 area"
    return None


ALL = [CATEGORY, SUBCATEGORY, MATERIAL, BURIAL, STATUS, FEATURE_POINT, APPURTENANCE, GAS_PRESSURE] + [
    subcategory_list(k) for k in PLATFORM_CATEGORIES
]
