"""Plausible street names for the generated street grid (示例数据: invented, not Changsha's real roads)."""

from __future__ import annotations

import random

ROOTS = (
    "桂花", "银杉", "松雅", "栖凤", "云栖", "青竹", "紫荆", "丹霞", "明德", "崇文", "博雅", "映月", "清泉",
    "沁园", "玉兰", "香樟", "梧桐", "杏林", "兰亭", "翠微", "晴岚", "锦绣", "瑞祥", "和顺", "安居", "福泽",
    "永泰", "长兴", "嘉禾", "丰泽", "鸿运", "腾飞", "惠民", "康宁", "怡和", "文昌", "启明", "星辉", "向阳",
    "龙泉", "鹤鸣", "鹿鸣", "燕归", "莺歌", "荷塘", "柳岸", "梅林", "竹园", "枫桥", "石门", "金沙", "银湾",
    "碧波", "澄湖", "秀峰", "翠屏", "华清", "景明", "宏图", "振兴", "同心", "友谊", "育才", "书香", "雅苑",
    "科创", "智谷", "创业", "汇金", "聚宝", "盛世", "恒远", "德润", "仁和", "礼贤", "信义", "尚德", "厚德",
    "弘毅", "致远", "明远", "思源", "望江", "临江", "观澜", "听涛", "揽月", "迎宾", "静安", "宁远", "新桥",
    "青山", "白鹭", "杜鹃", "茶山", "桃源", "李园", "杨柳", "松涛", "竹韵", "兰溪", "桔园", "莲塘", "芷兰",
    "晓园", "春华", "秋实", "夏荷", "冬青", "晨光", "暮云", "霞凝", "月湖", "星湖", "泉塘", "井湾", "花桥",
)
NUMERALS = "一二三四五六七八九"


class NamePool:
    """Draws distinct names from a shuffled pool; the order is fixed by the seed."""

    def __init__(self, rnd: random.Random) -> None:
        self._roots = list(ROOTS)
        rnd.shuffle(self._roots)
        self._next = 0
        self._rnd = rnd

    def root(self) -> str:
        root = self._roots[self._next % len(self._roots)]
        lap = self._next // len(self._roots)
        self._next += 1
        # After a full lap the roots repeat with a numeral, as real towns do (…二路).
        return root if lap == 0 else f"{root}{NUMERALS[(lap - 1) % len(NUMERALS)]}"

    def main_road(self) -> tuple[str, str]:
        """(root, suffix) of an arterial: 大道 or 路."""
        return self.root(), "大道" if self._rnd.random() < 0.35 else "路"

    def local_street(self) -> str:
        root = self.root()
        return f"{root}{'街' if self._rnd.random() < 0.7 else '巷'}"
