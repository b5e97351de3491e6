"""The case code lists: problem classes (部件 and 事件) with 立案条件, 处置时限 and 结案条件,
the states, actions and sources of a case, and the 处置部门 with the classes and area they serve.

The classes and departments are YAML files in ``cases/data`` (figures tagged [GK] in
docs/domain.md §2.3); ``ONEMAP_CASES_CLASSES`` / ``ONEMAP_CASES_DEPARTMENTS`` name replacements.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from cases.errors import InvalidReport
from spatial.codelists.grid import COMPONENT_MAJOR, COMPONENT_MINOR

Kind = Literal["component", "event"]
Unit = Literal["working_hours", "working_days"]
KINDS: tuple[Kind, ...] = ("component", "event")

STATES: dict[str, tuple[str, str]] = {
    "reported": ("上报", "Reported"), "accepted": ("立案", "Accepted"), "rejected": ("不予立案", "Rejected"),
    "dispatched": ("派遣", "Dispatched"), "completed": ("处置完成", "Completed"),
    "verifying": ("核查", "Verifying"), "closed": ("结案", "Closed"), "returned": ("退回", "Returned"),
    "extended": ("延期", "Extension requested"), "hung": ("挂账", "On hold"), "cancelled": ("作废", "Cancelled"),
}
FINAL_STATES = frozenset({"rejected", "closed", "cancelled"})
ACTIONS: dict[str, tuple[str, str]] = {
    "report": ("上报", "Report"), "accept": ("立案", "Accept"), "reject": ("不予立案", "Reject"),
    "dispatch": ("派遣", "Dispatch"), "complete": ("处置完成", "Complete"), "return": ("退回", "Return"),
    "verify": ("核查", "Verify"), "close": ("结案", "Close"), "redispatch": ("重新派遣", "Redispatch"),
    "extend": ("延期", "Extend"), "hang": ("挂账", "Hang"), "cancel": ("作废", "Cancel"),
}
SOURCES: dict[str, tuple[str, str]] = {
    "inspector": ("监督员上报", "Inspector"), "public": ("公众举报", "Public"),
    "hotline": ("热线", "Hotline (12345)"), "system": ("其他系统", "Other system"),
}
URGENCIES: dict[str, tuple[str, str]] = {"normal": ("一般", "Normal"), "urgent": ("紧急", "Urgent")}


@dataclass(frozen=True, slots=True)
class TimeLimit:
    """处置时限: ``value`` working hours or working days on the case calendar."""

    value: float
    unit: Unit

    @property
    def hours(self) -> float:
        """The limit in working hours (a working day is the calendar's working hours per day)."""
        from cases.calendar import work_calendar

        return self.value if self.unit == "working_hours" else self.value * work_calendar().hours_per_day


@dataclass(frozen=True, slots=True)
class CaseClass:
    """One small class of problem, with what CJ/T 315 attaches to it."""

    kind: Kind
    big_class: str
    big_name: str
    small_class: str
    small_name: str
    accept_condition: str
    time_limit: TimeLimit
    close_condition: str
    urgency: str
    gk: bool

    def as_dict(self) -> dict[str, Any]:
        """The class as GET /cases/codes lists it."""
        return {"kind": self.kind, "big_class": self.big_class, "big_name": self.big_name,
                "small_class": self.small_class, "small_name": self.small_name,
                "accept_condition": self.accept_condition,
                "time_limit": {"value": self.time_limit.value, "unit": self.time_limit.unit},
                "close_condition": self.close_condition, "urgency": self.urgency, "gk": self.gk}


@dataclass(frozen=True, slots=True)
class Department:
    """A 处置部门: the classes it handles (``kind:prefix``) and its area (None: the whole city)."""

    code: str
    name: str
    short: str
    classes: tuple[str, ...]
    area: tuple[str, ...] | None
    owners: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """The department as GET /cases/departments lists it."""
        return {"code": self.code, "name": self.name, "short": self.short, "classes": list(self.classes),
                "area": "all" if self.area is None else list(self.area)}

    def serves(self, district: str, street: str) -> bool:
        """Whether the area covers a place (district adcode, 9-digit street code)."""
        return self.area is None or district in self.area or street in self.area

    def class_match(self, kind: str, small_class: str) -> int:
        """Length of the longest class prefix matching (0: none)."""
        best = 0
        for entry in self.classes:
            k, _, prefix = entry.partition(":")
            if k == kind and small_class.startswith(prefix):
                best = max(best, len(prefix))
        return best


def _yaml(env: str, name: str) -> Any:
    override = os.environ.get(env)
    text = Path(override).read_text(encoding="utf-8") if override else \
        resources.files("cases").joinpath("data", name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _limit(raw: Any) -> TimeLimit:
    if isinstance(raw, list):
        return TimeLimit(float(raw[0]), raw[1])
    return TimeLimit(float(raw["value"]), raw["unit"])


@cache
def case_classes() -> dict[tuple[str, str], CaseClass]:
    """Every class by (kind, small_class): the 部件 小类 with their time limits, and the 事件 classes."""
    raw = _yaml("ONEMAP_CASES_CLASSES", "classes.yaml")
    out: dict[tuple[str, str], CaseClass] = {}
    comp = raw["component"]
    defaults = comp["defaults"]
    for small, small_name in COMPONENT_MINOR.labels_zh.items():
        cfg = {**defaults, **(comp.get("overrides") or {}).get(small, {})}
        out[("component", small)] = CaseClass(
            "component", small[:2], COMPONENT_MAJOR.label(small[:2]), small, small_name, cfg["accept_condition"],
            _limit(cfg["time_limit"]), cfg["close_condition"], cfg.get("urgency", "normal"), bool(cfg.get("gk", True)))
    big = {str(k): str(v) for k, v in raw["event"]["big"].items()}
    for item in raw["event"]["small"]:
        code = str(item["code"])
        out[("event", code)] = CaseClass(
            "event", str(item["big"]), big[str(item["big"])], code, item["name"], item["accept"],
            _limit(item["limit"]), item["close"], item.get("urgency", "normal"), bool(item.get("gk", True)))
    for cls in out.values():
        if cls.time_limit.unit not in ("working_hours", "working_days"):
            raise ValueError(f"class {cls.kind}:{cls.small_class}: unit must be working_hours or working_days")
    return out


def case_class(kind: str, small_class: str, big_class: str | None = None) -> CaseClass:
    """The class ``kind``/``small_class``, checking ``big_class`` when given.

    Raises:
        InvalidReport: no such class, or the big class does not hold it.
    """
    found = case_classes().get((kind, small_class))
    if found is None:
        raise InvalidReport(f"there is no {kind} small class {small_class!r} (see GET /cases/codes)")
    if big_class is not None and big_class != found.big_class:
        raise InvalidReport(f"small class {small_class} belongs to big class {found.big_class}, not {big_class}")
    return found


@cache
def departments() -> dict[str, Department]:
    """Every 处置部门 by code, in file order."""
    out: dict[str, Department] = {}
    for item in _yaml("ONEMAP_CASES_DEPARTMENTS", "departments.yaml"):
        area = None if item["area"] == "all" else tuple(str(a) for a in item["area"])
        out[item["code"]] = Department(item["code"], item["name"], item.get("short", item["name"]),
                                       tuple(item["classes"]), area, tuple(item.get("owners", ())))
    return out


def department_for(kind: str, small_class: str, *, district: str, street: str, owner: str | None = None) -> str | None:
    """The department that handles a class in a place: the component's owner first, then the longest
    class match among departments serving the place, a local one before a city-wide one."""
    depts = departments().values()
    if owner:
        for d in depts:
            if owner in d.owners and d.class_match(kind, small_class):
                return d.code
    best: tuple[int, int, str] | None = None
    for d in depts:
        match = d.class_match(kind, small_class)
        if match and d.serves(district, street):
            rank = (match, 0 if d.area is None else 1, d.code)
            if best is None or rank[:2] > best[:2]:
                best = rank
    return best[2] if best else None


def codes_document() -> dict[str, Any]:
    """Everything GET /cases/codes answers."""
    return {
        "classes": [c.as_dict() for c in case_classes().values()],
        "states": [{"code": c, "zh": zh, "en": en, "final": c in FINAL_STATES} for c, (zh, en) in STATES.items()],
        "actions": [{"code": c, "zh": zh, "en": en} for c, (zh, en) in ACTIONS.items() if c != "report"],
        "sources": [{"code": c, "zh": zh, "en": en} for c, (zh, en) in SOURCES.items()],
        "urgencies": [{"code": c, "zh": zh, "en": en} for c, (zh, en) in URGENCIES.items()],
    }
