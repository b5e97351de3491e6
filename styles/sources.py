"""Every style source One Map ships, keyed by the registry's ``style_id``.

Colours come from the standards where one exists: CJJ 61-2017 Appendix B for pipelines
(:mod:`spatial.codelists.cjj61`, with the on-screen shades for 路灯/信号/广播电视), and the 用地用海
classification's colours for land use. Labels come from the code lists, so a class is named
the same in the legend, the API and the import reports.
"""

from __future__ import annotations

from spatial.codelists.buildings import USE
from spatial.codelists.cjj61 import CATEGORIES, PLATFORM_CATEGORIES
from spatial.codelists.grid import COMPONENT_MAJOR
from spatial.codelists.landuse import YDYH_2023
from styles.model import RasterRamp, Rgb, StyleSource, Swatch

# 用地用海分类 level-1 colours [GK: recalled from the 2020/2023 guide's colour appendix, not
# checked against the printed text; verify before using them in statutory plan maps].
LANDUSE_RGB: dict[str, Rgb] = {
    "01": (245, 248, 220),
    "02": (191, 233, 170),
    "03": (104, 177, 103),
    "04": (205, 245, 122),
    "05": (101, 205, 170),
    "06": (216, 215, 159),
    "07": (255, 255, 45),
    "08": (255, 0, 255),
    "09": (255, 0, 0),
    "10": (187, 150, 116),
    "11": (135, 97, 211),
    "12": (182, 182, 182),
    "13": (0, 99, 128),
    "14": (0, 255, 0),
    "15": (133, 145, 86),
    "16": (255, 255, 255),
    "17": (69, 130, 255),
    "18": (151, 219, 242),
    "19": (131, 200, 240),
    "20": (111, 181, 238),
    "21": (171, 228, 246),
    "22": (91, 163, 236),
    "23": (204, 204, 204),
    "24": (190, 232, 255),
}

BUILDING_RGB: dict[str, Rgb] = {
    "residential": (242, 205, 140),
    "commercial": (231, 120, 110),
    "office": (170, 140, 210),
    "industrial": (180, 160, 140),
    "public": (230, 140, 200),
    "education": (120, 180, 230),
    "health": (240, 100, 100),
    "transport": (160, 160, 170),
    "religious": (200, 170, 90),
    "utility": (90, 150, 160),
    "agricultural": (170, 200, 120),
    "other": (205, 200, 195),
}

COMPONENT_RGB: dict[str, Rgb] = {
    "01": (60, 90, 160),
    "02": (230, 150, 30),
    "03": (120, 120, 120),
    "04": (60, 160, 60),
    "05": (170, 110, 70),
    "06": (150, 80, 170),
}

_GREY: Rgb = (150, 150, 150)


def _codes(codelist_labels_zh: dict[str, str], labels_en: dict[str, str], rgb: dict[str, Rgb]) -> tuple[Swatch, ...]:
    return tuple(
        Swatch(code, rgb[code], codelist_labels_zh[code], labels_en.get(code, codelist_labels_zh[code]))
        for code in rgb
        if code in codelist_labels_zh
    )


def _base() -> list[StyleSource]:
    landuse_swatches = _codes(dict(YDYH_2023.labels_zh), dict(YDYH_2023.labels_en), LANDUSE_RGB)
    return [
        StyleSource(
            "admin_districts",
            "polygon",
            "行政区划（区县）",
            "Districts",
            (Swatch(None, (120, 60, 140), "区县界", "District boundary"),),
            label="name",
            label_minzoom=8,
            outline=(120, 60, 140),
            width=2.0,
            opacity=0.0,
            fill=False,
        ),
        StyleSource(
            "admin_subdistricts",
            "polygon",
            "街道界",
            "Sub-districts",
            (Swatch(None, (160, 100, 170), "街道界", "Sub-district boundary"),),
            label="name",
            label_minzoom=12,
            outline=(160, 100, 170),
            width=1.2,
            opacity=0.0,
            fill=False,
        ),
        StyleSource(
            "landuse",
            "polygon",
            "用地用海",
            "Land and sea use",
            (
                *landuse_swatches,
                Swatch(None, (230, 230, 230), "其他/未分类", "Other"),
            ),
            by="landuse_code",
            by_prefix=2,
            outline=(255, 255, 255),
            opacity=0.55,
        ),
        StyleSource(
            "roads",
            "line",
            "道路（OSM）",
            "Roads (OSM)",
            (
                Swatch("primary", (245, 160, 80), "主要道路", "Primary"),
                Swatch("secondary", (250, 200, 110), "次要道路", "Secondary"),
                Swatch("tertiary", (255, 225, 150), "三级道路", "Tertiary"),
                Swatch(None, (255, 255, 255), "其他道路", "Other roads"),
            ),
            by="highway",
            label="name",
            label_minzoom=15,
            outline=(170, 170, 170),
            width=3.0,
            opacity=1.0,
        ),
        StyleSource(
            "streets_sample",
            "line",
            "道路中心线",
            "Street centrelines",
            (
                Swatch("主干路", (245, 170, 90), "主干路", "Arterial"),
                Swatch("次干路", (250, 210, 120), "次干路", "Secondary"),
                Swatch("支路", (255, 255, 255), "支路", "Local"),
                Swatch(None, (255, 255, 255), "道路", "Street"),
            ),
            by="road_class",
            label="name",
            label_minzoom=14,
            outline=(170, 170, 170),
            width=4.0,
            opacity=1.0,
        ),
        StyleSource(
            "water_lines",
            "line",
            "水系（线）",
            "Rivers",
            (Swatch(None, (90, 150, 220), "河流", "River"),),
            label="name",
            label_minzoom=10,
            width=2.5,
            opacity=1.0,
        ),
        StyleSource(
            "water_areas",
            "polygon",
            "水系（面）",
            "Water bodies",
            (Swatch(None, (160, 200, 240), "水面", "Water"),),
            label="name",
            label_minzoom=14,
            outline=(90, 150, 220),
            opacity=0.9,
        ),
        StyleSource(
            "rail_stations",
            "point",
            "轨道交通站点",
            "Stations",
            (
                Swatch("subway", (0, 110, 190), "地铁站", "Metro"),
                Swatch("train", (200, 40, 40), "火车站", "Railway"),
                Swatch("monorail", (120, 60, 170), "磁浮站", "Maglev"),
                Swatch("light_rail", (0, 160, 160), "轻轨站", "Light rail"),
                Swatch(None, (80, 80, 80), "站点", "Station"),
            ),
            by="station",
            label="name",
            label_minzoom=12,
            outline=(255, 255, 255),
            width=6.0,
            opacity=1.0,
        ),
        StyleSource(
            "power_facilities",
            "polygon",
            "电力设施",
            "Power facilities",
            (
                Swatch("substation", (250, 150, 150), "变电站", "Substation"),
                Swatch("plant", (220, 90, 90), "电厂", "Power plant"),
                Swatch(None, (240, 180, 180), "其他电力设施", "Other"),
            ),
            by="power",
            label="name",
            label_minzoom=15,
            outline=(200, 60, 60),
            opacity=0.7,
        ),
    ]


def _buildings_grid() -> list[StyleSource]:
    use_swatches = _codes(dict(USE.labels_zh), dict(USE.labels_en), BUILDING_RGB)
    return [
        StyleSource(
            "buildings",
            "building",
            "建筑物（按用途）",
            "Buildings by use",
            (*use_swatches, Swatch(None, BUILDING_RGB["other"], "未知用途", "Unknown use")),
            by="use",
            label="name",
            label_minzoom=17,
            outline=(150, 140, 130),
            opacity=0.85,
            height="height_m",
            floors="floors",
        ),
        StyleSource(
            "grid_cells",
            "grid",
            "万米单元网格",
            "Unit grid",
            (Swatch(None, (230, 90, 20), "网格边界（编码标注）", "Grid cell (labelled with its code)"),),
            label="grid_code",
            label_minzoom=16,
            outline=(230, 90, 20),
            width=1.2,
            opacity=0.05,
        ),
        StyleSource(
            "city_components",
            "point",
            "城市部件",
            "City components",
            _codes(dict(COMPONENT_MAJOR.labels_zh), dict(COMPONENT_MAJOR.labels_en), COMPONENT_RGB),
            by="major_code",
            label="obj_name",
            label_minzoom=19,
            outline=(255, 255, 255),
            width=4.0,
            opacity=1.0,
        ),
    ]


def _pipelines() -> list[StyleSource]:
    out = []
    for key, p in PLATFORM_CATEGORIES.items():
        cat = CATEGORIES[p.category]
        subs = "、".join(cat.subcategories[s][1] for s in p.subcategories)
        out.append(
            StyleSource(
                f"pipeline_{key}",
                "pipeline",
                f"{p.zh}管线",
                f"{p.en} pipes",
                (
                    Swatch(
                        None,
                        p.screen_rgb,
                        f"{p.zh}（{cat.code}：{subs}）",
                        f"{p.en} ({cat.code})",
                        standard_rgb=p.rgb,
                    ),
                ),
                label=None,
                outline=(40, 40, 40),
                width=2.0,
                opacity=1.0,
                dashed_when=("status", ("1", "2")),
            )
        )
    return out


def _rasters() -> list[StyleSource]:
    volume = RasterRamp(
        stops=(
            (1.0, (255, 255, 204)),
            (20_000.0, (254, 204, 92)),
            (60_000.0, (253, 141, 60)),
            (120_000.0, (240, 59, 32)),
            (200_000.0, (189, 0, 38)),
        ),
        transparent_below=0.5,
        unit="m³",
    )
    height = RasterRamp(
        stops=(
            (0.5, (237, 248, 251)),
            (6.0, (179, 205, 227)),
            (15.0, (140, 150, 198)),
            (30.0, (136, 86, 167)),
            (60.0, (129, 15, 124)),
        ),
        transparent_below=0.5,
        unit="m",
    )
    age = RasterRamp(
        classes=(
            (1, (84, 39, 143), "1980年以前", "Before 1980"),
            (2, (117, 107, 177), "1980–1989", "1980s"),
            (3, (158, 154, 200), "1990–1999", "1990s"),
            (4, (253, 141, 60), "2000–2009", "2000s"),
            (5, (230, 85, 13), "2010–2020", "2010–2020"),
        ),
        transparent_below=0.5,
    )
    return [
        StyleSource(
            "ghsl_built_volume",
            "raster",
            "建成区体量（GHSL）",
            "Built-up volume (GHSL)",
            tuple(Swatch(f"{v:g}", rgb, f"{v:,.0f} m³", f"{v:,.0f} m³") for v, rgb in volume.stops),
            raster=volume,
            opacity=0.75,
        ),
        StyleSource(
            "ghsl_building_height",
            "raster",
            "平均建筑高度（GHSL）",
            "Average building height (GHSL)",
            tuple(Swatch(f"{v:g}", rgb, f"{v:g} m", f"{v:g} m") for v, rgb in height.stops),
            raster=height,
            opacity=0.75,
        ),
        StyleSource(
            "ghsl_built_age",
            "raster",
            "建成年代（GHSL）",
            "Built-up age (GHSL)",
            tuple(Swatch(str(v), rgb, zh, en) for v, rgb, zh, en in age.classes),
            raster=age,
            opacity=0.75,
        ),
    ]


def builtin_sources() -> dict[str, StyleSource]:
    sources = [*_base(), *_buildings_grid(), *_pipelines(), *_rasters()]
    return {s.id: s for s in sources}


FALLBACK = StyleSource(
    "default",
    "polygon",
    "图层",
    "Layer",
    (Swatch(None, _GREY, "要素", "Feature"),),
    outline=(90, 90, 90),
    opacity=0.5,
)
