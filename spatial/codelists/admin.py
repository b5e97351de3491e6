"""GB/T 2260 administrative division codes for Changsha (domain.md §2.1) [GK]."""

from __future__ import annotations

from spatial.codelists.base import CodeList

CHANGSHA = CodeList(
    name="gbt2260.changsha",
    title="长沙市行政区划代码 (GB/T 2260)",
    labels_zh={
        "430100": "长沙市", "430102": "芙蓉区", "430103": "天心区", "430104": "岳麓区",
        "430105": "开福区", "430111": "雨花区", "430112": "望城区", "430121": "长沙县",
        "430181": "浏阳市", "430182": "宁乡市",
    },
    labels_en={
        "430100": "Changsha", "430102": "Furong", "430103": "Tianxin", "430104": "Yuelu",
        "430105": "Kaifu", "430111": "Yuhua", "430112": "Wangcheng", "430121": "Changsha County",
        "430181": "Liuyang", "430182": "Ningxiang",
    },
    source="GB/T 2260 中华人民共和国行政区划代码 [GK]",
)

CITY_ADCODE = "430100"
DISTRICT_ADCODES = frozenset(c for c in CHANGSHA.codes() if c != CITY_ADCODE)
