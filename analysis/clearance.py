"""GB 50289 clearance rules (``clearance_rules.yaml``) and the checks that apply them.

Horizontal clearance applies to pipes that do not cross: the 2D distance between centre lines
in GK zone 38 metres (EPSG:4547) less both half-widths. Vertical clearance applies where they
cross: the gap between the two pipes' depth ranges at the crossing (both depths are below the
same ground there, so no elevation is needed). A building's clearance is from the pipe's outer
wall to the footprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import shapely
import yaml
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from analysis.pipes import Pipe

Kind = Literal["horizontal", "vertical"]
BUILDING = "building"


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the rule table."""

    kind: Kind
    pair: tuple[str, str]
    when: dict[str, dict[str, Any]]
    min_m: float
    clause: str


@dataclass(frozen=True, slots=True)
class Rules:
    """The table with its provenance."""

    source: str
    confidence: str
    groups: dict[str, frozenset[str]]
    rules: tuple[Rule, ...]


@cache
def rules() -> Rules:
    """The rule table shipped in ``analysis/clearance_rules.yaml``."""
    data = yaml.safe_load(resources.files("analysis").joinpath("clearance_rules.yaml").read_text(encoding="utf-8"))
    groups = {k: frozenset(v) for k, v in data["groups"].items()}
    out = [Rule(kind, (r["pair"][0], r["pair"][1]), r.get("when", {}), float(r["min_m"]), r["clause"])
           for kind in ("horizontal", "vertical") for r in data[kind]]
    return Rules(data["source"], data["confidence"], groups, tuple(out))


def _holds(key: str, value: Any, pipe: Pipe) -> bool:
    dia = pipe.width_m * 1000
    burial = pipe.row.get("burial") or "ZM"  # unrecorded burial: the stricter 直埋 rules apply
    if key == "diameter_mm_max":
        return bool(dia <= value)
    if key == "diameter_mm_over":
        return bool(dia > value)
    if key == "pressure":
        return pipe.row.get("pressure_class") in value
    if key == "burial":
        return burial in value
    if key == "burial_not":
        return burial not in value
    raise ValueError(f"clearance_rules.yaml: unknown condition {key!r}")


def _fits(pipe: Pipe | None, cond: dict[str, Any]) -> bool:
    if pipe is None:
        return not cond
    return all(_holds(k, v, pipe) for k, v in cond.items())


def rule_for(kind: Kind, a: Pipe, b: Pipe | None) -> Rule | None:
    """The governing rule between pipe ``a`` and pipe ``b`` (None: a building), the strictest that matches."""
    table = rules()
    key_b = BUILDING if b is None else b.cat.key

    def side(group: str, key: str) -> bool:
        return key in table.groups[group]

    best: Rule | None = None
    for r in table.rules:
        if r.kind != kind:
            continue
        x, y = r.pair
        when_a, when_b = r.when.get("a", {}), r.when.get("b", {})
        forward = side(x, a.cat.key) and side(y, key_b) and _fits(a, when_a) and _fits(b, when_b)
        backward = b is not None and side(x, key_b) and side(y, a.cat.key) and _fits(b, when_a) and _fits(a, when_b)
        hit = forward or backward
        if hit and (best is None or r.min_m > best.min_m):
            best = r
    return best


@dataclass(frozen=True, slots=True)
class Finding:
    """A clearance measured against its rule (metres); ``at`` is where, in EPSG:4547."""

    kind: Kind
    rule: Rule
    actual_m: float
    at: Point

    @property
    def violated(self) -> bool:
        """Closer than the rule allows."""
        return self.actual_m < self.rule.min_m - 1e-9


def between_pipes(a: Pipe, b: Pipe) -> Finding | None:
    """Vertical clearance where ``a`` and ``b`` cross, else horizontal; None when no rule covers the pair."""
    crossing = a.line.intersection(b.line)
    if not crossing.is_empty:
        rule = rule_for("vertical", a, b)
        if rule is None:
            return None
        gaps = []
        for x, y in shapely.get_coordinates(crossing):
            pt = Point(x, y)
            fa, fb = a.fraction(pt), b.fraction(pt)
            gaps.append((max(b.top_depth_at(fb) - a.bottom_depth_at(fa), a.top_depth_at(fa) - b.bottom_depth_at(fb)),
                         pt))
        gap, pt = min(gaps, key=lambda g: g[0])
        return Finding("vertical", rule, round(gap, 3), pt)
    rule = rule_for("horizontal", a, b)
    if rule is None:
        return None
    near_b = nearest_points(a.line, b.line)[1]
    actual = a.line.distance(b.line) - a.width_m / 2 - b.width_m / 2
    return Finding("horizontal", rule, round(actual, 3), near_b)


def to_building(a: Pipe, footprint: BaseGeometry) -> Finding | None:
    """Horizontal clearance from the pipe's outer wall to a building footprint (EPSG:4547)."""
    rule = rule_for("horizontal", a, None)
    if rule is None:
        return None
    actual = a.line.distance(footprint) - a.width_m / 2
    return Finding("horizontal", rule, round(actual, 3), nearest_points(a.line, footprint)[1])
