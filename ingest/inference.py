"""Telling a pipeline row's CJJ 61 category when the delivery does not say it.

Contractors often deliver 管线点/管线段 tables with no 管线类别 or 小类 column: the category
is in the 物探点号 (``JS12`` is a 给水 point, ``YS3`` a 雨水 one) and a segment belongs to
the network of the points it joins. In order, a row's category comes from:

1. its own columns (or ``--set``), then ``--category`` — what the delivery or GIS staff say;
2. a point's 物探点号 prefix; a segment's end points (their columns, else their prefixes);
3. for a point, the segments that reference it;
4. the file or CAD layer name.

A row still without a 小类 gets its category's general code
(:data:`spatial.codelists.cjj61.GENERAL_SUBCATEGORY`). Every inference is counted for the
report; contradictions (a point's prefix against its segments, a segment's two ends) reject
the row with both sides named.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ingest.targets import route
from spatial.codelists.cjj61 import CATEGORIES, GENERAL_SUBCATEGORY

Pair = tuple[str, str | None]  # (大类 code, 小类 code or None)

# Prefixes survey software and contractors put before point numbers, beyond the CJJ 61 codes themselves.
PREFIX_ALIASES: dict[str, Pair] = {
    "GS": ("JS", None), "SS": ("JS", "SS"), "DX": ("TX", "DH"), "YX": ("TX", "DS"), "TX": ("TX", None),
}
_LEADING_LETTERS = re.compile(r"^\s*([A-Za-z]+)")
KNOWN_PREFIXES = "JS 给水, YS 雨水, WS 污水, PS 排水, RQ 燃气, DL 电力, LD 路灯, XH 信号, DX 电信, DS 有线电视, …"
HOW_PREFIX = "物探点号 prefix"
HOW_SEGMENTS = "segments that reference the point"
HOW_ENDS = "the segment's end points (起点/终点点号)"
HOW_NAME = "file or CAD layer name"
HOW_GENERAL = "no 小类: the category's general code"


def _prefix_table() -> dict[str, Pair]:
    table: dict[str, Pair] = {code: (code, None) for code in CATEGORIES}
    for code, cat in CATEGORIES.items():
        for sub in cat.subcategories:
            table.setdefault(sub, (code, sub))
    table.update(PREFIX_ALIASES)
    return table


PREFIXES: dict[str, Pair] = _prefix_table()


def prefix_of(point_no: Any) -> str | None:
    """The leading letters of a point number, upper-cased (``js-012`` → ``JS``), or None."""
    if point_no is None:
        return None
    match = _LEADING_LETTERS.match(str(point_no))
    return match.group(1).upper() if match else None


def pair_of_prefix(point_no: Any) -> Pair | None:
    """(大类, 小类) a point number's prefix stands for (``YS3`` → PS/YS), or None when it is not a known code."""
    prefix = prefix_of(point_no)
    return PREFIXES.get(prefix) if prefix else None


def describe_pair(pair: Pair) -> str:
    """``PS/YS 雨水`` or ``JS 给水``, for messages and the report."""
    cat, sub = pair
    if sub is None:
        return f"{cat} {CATEGORIES[cat].zh}"
    return f"{cat}/{sub} {CATEGORIES[cat].subcategories[sub][1]}"


def compatible(a: Pair, b: Pair) -> bool:
    """Whether two (大类, 小类) pairs can be the same row: same 大类, and the same layer when both name a 小类."""
    if a[0] != b[0]:
        return False
    if a[1] is None or b[1] is None or a[1] == b[1]:
        return True
    key = route(a[0], a[1]).key
    return key is not None and key == route(b[0], b[1]).key


def _agreed(pairs: list[Pair]) -> Pair | None:
    """The most specific pair all of ``pairs`` are compatible with, or None when they disagree."""
    if not pairs:
        return None
    if any(not compatible(a, b) for a in pairs for b in pairs):
        return None
    subs = Counter(p[1] for p in pairs if p[1] is not None)
    return pairs[0][0], (subs.most_common(1)[0][0] if subs else None)


@dataclass
class Hints:
    """What a whole delivery says about categories, gathered before any row is routed.

    ``points`` holds the categories delivered points state in their own columns;
    ``at_point`` the categories of the segments that reference each point number.
    """

    points: dict[str, Pair] = field(default_factory=dict)
    at_point: dict[str, list[Pair]] = field(default_factory=dict)

    def add_point(self, point_no: Any, pair: Pair | None) -> None:
        """Remember a delivered point's own category (call for every point before any segment)."""
        if point_no is not None and pair is not None:
            self.points[str(point_no)] = pair

    def add_segment(self, start: Any, end: Any, pair: Pair | None) -> None:
        """Remember a segment's category (its own, else its ends') at both of its end points."""
        known = pair or self.ends_pair(start, end)[0]
        if known is None:
            return
        for number in (start, end):
            if number is not None:
                self.at_point.setdefault(str(number), []).append(known)

    def end_pair(self, point_no: Any) -> Pair | None:
        """A segment end's category: the delivered point's own, else its number's prefix."""
        if point_no is None:
            return None
        return self.points.get(str(point_no)) or pair_of_prefix(point_no)

    def ends_pair(self, start: Any, end: Any) -> tuple[Pair | None, str | None]:
        """(the category both ends agree on, or None; why not, when they contradict each other)."""
        a, b = self.end_pair(start), self.end_pair(end)
        if a is not None and b is not None and not compatible(a, b):
            return None, (f"its start point {start!r} is {describe_pair(a)} but its end point {end!r} is "
                          f"{describe_pair(b)}")
        return _agreed([p for p in (a, b) if p is not None]), None

    def segments_pair(self, point_no: Any) -> tuple[Pair | None, str | None]:
        """(the category the segments referencing a point agree on, or None; why not, when they disagree)."""
        pairs = self.at_point.get(str(point_no), []) if point_no is not None else []
        agreed = _agreed(pairs)
        if pairs and agreed is None:
            shown = ", ".join(sorted({describe_pair(p) for p in pairs}))
            return None, f"the segments that reference point {point_no!r} disagree ({shown})"
        return agreed, None


@dataclass(frozen=True, slots=True)
class Inferred:
    """One thing inferred about one row: which field, how, and the value it got."""

    field: str
    how: str
    value: str


@dataclass(frozen=True, slots=True)
class Decision:
    """A row's (大类, 小类) after inference, what was inferred, or why it cannot be told."""

    category: str | None
    subcategory: str | None
    inferred: tuple[Inferred, ...] = ()
    problem: str | None = None
    code: str = "category"


def decide(explicit: tuple[str | None, str | None], hints: list[tuple[Pair | None, str]]) -> Decision:
    """Fill what ``explicit`` lacks from ``hints`` (pairs and how each was found, best first), else general 小类."""
    cat, sub = explicit
    notes: list[Inferred] = []
    for pair, how in hints:
        if pair is None:
            continue
        if cat is None:
            cat = pair[0]
            notes.append(Inferred("category", how, describe_pair((cat, None))))
        if sub is None and pair[1] is not None and pair[0] == cat:
            sub = pair[1]
            notes.append(Inferred("subcategory", how, describe_pair((cat, sub))))
        if sub is not None:
            break
    if cat is not None and sub is None and cat in GENERAL_SUBCATEGORY:
        sub = GENERAL_SUBCATEGORY[cat]
        notes.append(Inferred("subcategory", HOW_GENERAL, describe_pair((cat, sub))))
    return Decision(cat, sub, tuple(notes))


def decide_point(explicit: tuple[str | None, str | None], point_no: Any, hints: Hints,
                 name: Pair | None) -> Decision:
    """A point's category: its columns, else its 物探点号 prefix, the segments referencing it, the name.

    A prefix that contradicts the referencing segments (or segments that contradict each other)
    rejects the point, since either could be wrong.
    """
    prefix = pair_of_prefix(point_no)
    segments, disagreement = hints.segments_pair(point_no)
    if explicit[0] is None and disagreement is not None:
        return Decision(None, None, problem=disagreement, code="category-conflict")
    if explicit[0] is None and prefix is not None and segments is not None and not compatible(prefix, segments):
        return Decision(None, None, code="category-conflict", problem=(
            f"物探点号 {point_no!r} says {describe_pair(prefix)} but the segments that reference it say "
            f"{describe_pair(segments)}"))
    made = decide(explicit, [(prefix, HOW_PREFIX), (segments, HOW_SEGMENTS), (name, HOW_NAME)])
    if made.category is None:
        return Decision(None, None, problem=(
            f"no 管线类别, and its category cannot be told: 物探点号 {point_no!r} has no known CJJ 61 prefix "
            f"({KNOWN_PREFIXES}) and no segment of the delivery references it"))
    return made


def decide_segment(explicit: tuple[str | None, str | None], start: Any, end: Any, hints: Hints,
                   name: Pair | None) -> Decision:
    """A segment's category: its columns, else its end points (their columns or prefixes), the name.

    Ends of contradicting categories reject the segment with both named.
    """
    ends, contradiction = hints.ends_pair(start, end) if explicit[0] is None else (None, None)
    if contradiction is not None:
        return Decision(None, None, problem=contradiction, code="category-conflict")
    made = decide(explicit, [(ends, HOW_ENDS), (name, HOW_NAME)])
    if made.category is None:
        return Decision(None, None, problem=(
            f"no 管线类别, and its category cannot be told: neither its start point {start!r} nor its end point "
            f"{end!r} has a known category or CJJ 61 prefix"))
    return made
