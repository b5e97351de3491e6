"""The rules of the building statistics (建筑统计): floors when missing, age bands, height classes.

The database applies them: ``onemap.building_keys`` and ``onemap.building_floors`` (migration
0014), used both by the rollup's trigger and by the scan of an area's edge
(``analysis/sql/building_stats.sql``); this module names them, labels them in Chinese and
English, and states them for the process description. Changing a rule means a migration that
replaces those functions and rebuilds the rollup (``SELECT onemap.building_rollup_fill()``).

* Floor area (建筑面积) = footprint area (m², EPSG:4547) × floors. Floors, in order: the recorded
  ``floors`` when ≥ 1 (rule ``floors``); else ``height_m`` / 3 m rounded half up, at least 1
  (rule ``height``); else 1 floor (rule ``default``). Each answer counts buildings per rule.
* Age bands (建成年代) by ``year_built``: before 1980, 1980–1999, 2000–2009, 2010–2019, 2020 on,
  unknown.
* Height classes (建筑高度分类) by ``height_m``, GB 50352-2019 §3.1.2 with GB 50016-2014's
  50 m line between 二类 and 一类 高层: 低层/多层 up to 27 m for residential and 24 m for other
  uses (and any single-storey non-residential building); 高层 to 50 m; 高层 50–100 m;
  超高层 over 100 m; unknown without a height.
"""

from __future__ import annotations

from dataclasses import dataclass

STOREY_M = 3.0


@dataclass(frozen=True, slots=True)
class Label:
    """One class of a breakdown: its key, Chinese and English labels."""

    key: str
    zh: str
    en: str


AGE_BANDS = (
    Label("before_1980", "1980年以前", "Before 1980"),
    Label("1980_1999", "1980–1999年", "1980–1999"),
    Label("2000_2009", "2000–2009年", "2000–2009"),
    Label("2010_2019", "2010–2019年", "2010–2019"),
    Label("since_2020", "2020年及以后", "2020 and later"),
    Label("unknown", "年代不详", "Unknown"),
)
HEIGHT_CLASSES = (
    Label("low_multi", "低层/多层（住宅≤27 m，其他≤24 m）", "Low/multi-storey (≤27 m residential, ≤24 m other)"),
    Label("high_to_50", "高层（≤50 m）", "High-rise (≤50 m)"),
    Label("high_50_100", "高层（50–100 m）", "High-rise (50–100 m)"),
    Label("super_high", "超高层（>100 m）", "Super high-rise (>100 m)"),
    Label("unknown", "高度不详", "Unknown"),
)
FLOOR_RULES = (
    Label("floors", "按登记层数", "Recorded floors"),
    Label("height", "按高度÷3 m（四舍五入，至少 1 层）", "Height ÷ 3 m (rounded half up, at least 1)"),
    Label("default", "无层数与高度，按 1 层", "No floors or height: 1 floor"),
)

RULES_ZH = (
    "建筑面积 = 基底面积（EPSG:4547 计算，m²）× 层数；层数缺失时按高度÷3 m 四舍五入（至少 1 层），"
    "高度也缺失时按 1 层，并分别统计各规则所用建筑数。建成年代分档：1980年以前、1980–1999、2000–2009、"
    "2010–2019、2020年及以后、不详。高度分类依 GB 50352-2019：住宅≤27 m、其他≤24 m（及单层非住宅）为低层/多层，"
    "≤50 m 与 50–100 m 为高层（GB 50016 二类/一类分界 50 m），>100 m 为超高层。"
    "建筑以其面内点（ST_PointOnSurface）落在范围内计入。"
)
RULES_EN = (
    "Floor area = footprint area (m², computed in EPSG:4547) × floors; when floors are missing, height ÷ 3 m "
    "rounded half up (at least 1); when height is missing too, 1 floor; the buildings using each rule are counted. "
    "Age bands: before 1980, 1980–1999, 2000–2009, 2010–2019, 2020 and later, unknown. Height classes after "
    "GB 50352-2019: low/multi-storey up to 27 m (residential) or 24 m (other uses, and any single-storey "
    "non-residential building); high-rise to 50 m and 50–100 m (the GB 50016 class II/I line); super high-rise "
    "over 100 m. A building is in the area when its point on surface (ST_PointOnSurface) is."
)
