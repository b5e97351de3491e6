"""Where each pipeline category lies in the street and what its points are (示例数据 rules).

Positions follow GB 50289-2016's order from the 道路红线 towards the centre (电力,
通信, 给水, 燃气, …, 污水, 雨水): cables and pressure pipes under the footways,
drainage under the carriageway. The nine categories share the two sides of a
street so that every pair keeps its horizontal clearance.

Point feature codes (CJJ 61 附录F 序号) are the verified ones of domain.md §1.2
where they exist (配水 三通 02 / 变径 04 / 消防栓 02 / 阀门 04 / 阀门井 05 / 水表 07;
排水 检修井 02 / 雨水箅 04 / 化粪池 15); the rest are One Map's own numbering [GK].
"""

from __future__ import annotations

from dataclasses import dataclass

from sample.streets import ARTERIAL, LOCAL, SECONDARY

ALL_CLASSES = frozenset({ARTERIAL, SECONDARY, LOCAL})
MAIN_CLASSES = frozenset({ARTERIAL, SECONDARY})
SIDEWALK_M = {ARTERIAL: 6.0, SECONDARY: 4.5, LOCAL: 3.0}


@dataclass(frozen=True, slots=True)
class CategorySpec:
    """A platform pipeline category's place in the street and its survey conventions.

    Attributes:
        key: Platform category (``spatial.codelists.cjj61.PLATFORM_CATEGORIES``).
        prefix: 代号 used in point and segment numbers (JS0001…).
        side: +1 left of the street's direction (west/north side), -1 right.
        from_edge_m: Distance in from the 红线; ``None`` means just inside the kerb.
        under_road_m: For drainage: distance into the carriageway from the kerb.
        classes: Road classes that carry it.
        spacing_m: Segment length range between points.
        depth_m: Cover depth range to the pipe top (pressure pipes and cables).
    """

    key: str
    prefix: str
    side: int
    from_edge_m: float | None
    under_road_m: float | None
    classes: frozenset[str]
    spacing_m: tuple[float, float]
    depth_m: tuple[float, float]

    def offset_m(self, road_class: str, width_m: float) -> float:
        """Signed offset from the street centreline (left positive), metres."""
        sidewalk = SIDEWALK_M[road_class]
        if self.under_road_m is not None:
            inward = sidewalk + self.under_road_m
        elif self.from_edge_m is not None:
            inward = self.from_edge_m
        else:
            inward = sidewalk - 0.4
        return self.side * (width_m / 2 - inward)


SPECS: dict[str, CategorySpec] = {s.key: s for s in [
    # Left side, from the 红线: 电力, 给水, 路灯 (at the kerb), then 污水 in the carriageway.
    CategorySpec("power", "DL", +1, 0.8, None, ALL_CLASSES, (50, 80), (0.8, 1.2)),
    CategorySpec("water", "JS", +1, 2.0, None, ALL_CLASSES, (40, 80), (1.0, 1.4)),
    CategorySpec("streetlight", "LD", +1, None, None, ALL_CLASSES, (30, 40), (0.5, 0.8)),
    CategorySpec("sewage", "WS", +1, None, 2.0, ALL_CLASSES, (30, 50), (2.0, 3.0)),
    # Right side: 通讯, 广播电视, 燃气, 交通信号 (at the kerb), then 雨水.
    CategorySpec("telecom", "TX", -1, 0.8, None, ALL_CLASSES, (50, 80), (0.8, 1.1)),
    CategorySpec("cabletv", "DS", -1, 1.5, None, MAIN_CLASSES, (50, 80), (0.7, 1.0)),
    CategorySpec("gas", "RQ", -1, 2.6, None, ALL_CLASSES, (50, 80), (0.9, 1.3)),
    CategorySpec("signal", "XH", -1, None, None, MAIN_CLASSES, (50, 80), (0.6, 0.8)),
    CategorySpec("storm", "YS", -1, None, 1.5, ALL_CLASSES, (30, 50), (1.5, 2.2)),
]}

# 附属物 that are wells (a cover at the surface): their city-component minor code (CJ/T 214).
WELL_COVER_MINOR = {
    ("water", "FMJ"): "0101", ("water", "SBJ"): "0101", ("sewage", "JCJ"): "0102", ("storm", "JCJ"): "0103",
    ("storm", "YB"): "0104", ("power", "DLJ"): "0105", ("streetlight", "SK"): "0106",
    ("telecom", "RK"): "0107", ("telecom", "SK"): "0107", ("cabletv", "RK"): "0108", ("cabletv", "SK"): "0108",
    ("gas", "FMJ"): "0111", ("signal", "SK"): "0112",  # signal wells belong to the traffic police (公安)
}
# Point facilities that are themselves city components.
FACILITY_MINOR = {("water", "XFS"): "0118", ("streetlight", "LDG"): "0121", ("signal", "XHD"): "0206"}

FEATURE_SEQ = {"ZXD": 1, "ST": 2, "SIT": 3, "BJ": 4, "WT": 5, "GD": 6, "ZZD": 7, "YLK": 8, "CD": 9, "BC": 10}
APPURTENANCE_SEQ = {
    "water": {"XFS": 2, "FM": 4, "FMJ": 5, "SB": 7, "SBJ": 8, "PQF": 9},
    "sewage": {"JCJ": 2, "HFC": 15},
    "storm": {"JCJ": 2, "YB": 4},
    "gas": {"FM": 4, "FMJ": 5, "TYX": 10, "NSG": 11},
    "power": {"DLJ": 2, "BXX": 8},
    "streetlight": {"SK": 3, "LDG": 6},
    "signal": {"SK": 3, "XHD": 7},
    "telecom": {"RK": 2, "SK": 3, "JHX": 9},
    "cabletv": {"RK": 2, "SK": 3},
}
COVERS = {  # (material, size) of a well cover by type
    "JCJ": ("球墨铸铁", "Φ700"), "FMJ": ("球墨铸铁", "Φ700"), "SBJ": ("球墨铸铁", "Φ600"),
    "DLJ": ("复合材料", "800×800"), "RK": ("球墨铸铁", "Φ800"), "SK": ("复合材料", "500×500"),
    "YB": ("球墨铸铁", "750×450"),
}

OWNERS = {
    "water": "长沙水业集团有限公司",
    "sewage": "长沙市排水有限责任公司",
    "storm": "长沙市城市管理和综合执法局",
    "gas": "长沙新奥燃气有限公司",
    "power": "国网湖南省电力有限公司长沙供电分公司",
    "streetlight": "长沙市路灯管理处",
    "signal": "长沙市公安局交通警察支队",
    "cabletv": "湖南有线长沙网络有限公司",
}
TELECOM_OWNERS = ("中国电信股份有限公司长沙分公司", "中国联合网络通信有限公司长沙市分公司",
                  "中国移动通信集团湖南有限公司长沙分公司")
SURVEY_UNIT = "长沙市勘测设计研究院"
