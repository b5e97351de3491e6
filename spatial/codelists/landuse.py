"""Land-use classifications (domain.md §4).

Two schemes are kept apart on purpose: 国土空间调查、规划、用途管制用地用海分类
(2020 trial, 2023 revision) and GB/T 21010-2017 土地利用现状分类. Public code often
labels the first as the second [V: S16b]; a layer's ``scheme`` field says which.
"""

from __future__ import annotations

from spatial.codelists.base import CodeList

YDYH_2023 = CodeList(
    name="ydyh.2023",
    title="国土空间调查、规划、用途管制用地用海分类 (2023)",
    labels_zh={
        "01": "耕地", "02": "园地", "03": "林地", "04": "草地", "05": "湿地",
        "06": "农业设施建设用地", "07": "居住用地", "08": "公共管理与公共服务用地",
        "09": "商业服务业用地", "10": "工矿用地", "11": "仓储用地", "12": "交通运输用地",
        "13": "公用设施用地", "14": "绿地与开敞空间用地", "15": "特殊用地", "16": "留白用地",
        "17": "陆地水域", "18": "渔业用海", "19": "工矿通信用海", "20": "交通运输用海",
        "21": "游憩用海", "22": "特殊用海", "23": "其他土地", "24": "其他海域",
        # Second level used by the sample city [GK: names from the 2023 tree].
        "0701": "城镇住宅用地", "0702": "城镇社区服务设施用地", "0703": "农村宅基地",
        "0801": "机关团体用地", "0802": "科研用地", "0803": "文化用地", "0804": "教育用地",
        "0805": "体育用地", "0806": "医疗卫生用地", "0901": "商业用地", "0902": "商务金融用地",
        "1001": "工业用地", "1101": "物流仓储用地", "1201": "铁路用地", "1207": "城镇村道路用地",
        "1208": "交通场站用地", "1301": "供水用地", "1303": "供电用地", "1401": "公园绿地",
        "1402": "防护绿地", "1403": "广场用地", "1701": "河流水面", "1702": "湖泊水面",
    },
    labels_en={
        "01": "Cropland", "02": "Orchard", "03": "Forest", "04": "Grassland", "05": "Wetland",
        "06": "Agricultural facilities", "07": "Residential", "08": "Public administration and services",
        "09": "Commercial", "10": "Industrial and mining", "11": "Warehousing", "12": "Transport",
        "13": "Public utilities", "14": "Green and open space", "15": "Special use", "16": "Reserved",
        "17": "Inland water", "18": "Fishery sea", "19": "Industrial sea", "20": "Transport sea",
        "21": "Recreation sea", "22": "Special sea", "23": "Other land", "24": "Other sea",
        "0701": "Urban housing", "0702": "Community services", "0703": "Rural homesteads",
        "0801": "Government", "0802": "Research", "0803": "Culture", "0804": "Education",
        "0805": "Sports", "0806": "Health", "0901": "Retail", "0902": "Business and finance",
        "1001": "Industry", "1101": "Logistics", "1201": "Railway", "1207": "Urban roads",
        "1208": "Transport stations", "1301": "Water supply", "1303": "Power supply",
        "1401": "Parks", "1402": "Protective green", "1403": "Squares", "1701": "Rivers", "1702": "Lakes",
    },
    source="自然资源部 用地用海分类指南 (2023) [V: S16 first level; second level GK]",
)

GBT21010_2017 = CodeList(
    name="gbt21010.2017",
    title="土地利用现状分类 (GB/T 21010-2017)",
    labels_zh={
        "01": "耕地", "02": "园地", "03": "林地", "04": "草地", "05": "商服用地", "06": "工矿仓储用地",
        "07": "住宅用地", "08": "公共管理与公共服务用地", "09": "特殊用地", "10": "交通运输用地",
        "11": "水域及水利设施用地", "12": "其他土地",
    },
    labels_en={
        "01": "Cropland", "02": "Orchard", "03": "Forest", "04": "Grassland", "05": "Commercial",
        "06": "Industrial and storage", "07": "Residential", "08": "Public administration and services",
        "09": "Special use", "10": "Transport", "11": "Water and water works", "12": "Other land",
    },
    source="GB/T 21010-2017 [GK]",
)

SCHEME = CodeList(
    name="landuse.scheme",
    title="用地分类体系",
    labels_zh={"ydyh": "用地用海分类", "gbt21010": "GB/T 21010 土地利用现状分类"},
    labels_en={"ydyh": "Land and sea use classification", "gbt21010": "GB/T 21010 land-use status"},
    source="domain.md §4",
)

SCHEME_VERSIONS: dict[str, dict[str, CodeList]] = {
    "ydyh": {"2023": YDYH_2023},
    "gbt21010": {"2017": GBT21010_2017},
}


def check_landuse_code(code: str, *, scheme: str, version: str) -> str | None:
    """Why ``code`` is not valid in ``scheme``/``version``, or None when it is."""
    versions = SCHEME_VERSIONS.get(scheme)
    if versions is None:
        return f"unknown land-use scheme {scheme!r} (ydyh, gbt21010)"
    codelist = versions.get(version)
    if codelist is None:
        return f"scheme {scheme} has no version {version!r} ({', '.join(versions)})"
    if code not in codelist:
        return f"{code!r} is not a {codelist.title} code"
    return None
