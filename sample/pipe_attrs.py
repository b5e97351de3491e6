"""What each pipe run is made of and how it changed (示例数据): sizes, materials, owners, eras, events.

A run is one stretch of one category between two junctions, along one street. Its
first version follows the era it was laid in; later versions come from the city's
real programmes of the last decades, dated per street by the fixed seed:

- 给水: grey cast-iron mains (before 1995) replaced by ductile iron, 2008–2022;
- 污水: combined sewers (雨污合流, before 1992) separated, 2012–2021 — the storm
  drains of those streets are laid then; some old streets are still combined;
- 燃气: coal gas (煤气) converted to natural gas (天然气), 2005–2007;
- 通讯: copper replaced by fibre (光进铜退), 2009–2016; 广播电视: coax to fibre, 2012–2018;
- 电力: cables added to busy duct banks, 2015–2022;
- dead-end cast-iron stubs of water and gas abandoned, 2010–2020 (the run is retired).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from sample.context import day_in_year, rng
from sample.pipe_specs import OWNERS, TELECOM_OWNERS
from sample.streets import ARTERIAL, LOCAL, SECONDARY, Street

LAST_YEAR = 2024
EVENT_WATER = "示例数据：给水管网改造（灰口铸铁管更换为球墨铸铁管）"
EVENT_SEPARATION = "示例数据：雨污分流改造（合流管改污水管，新建雨水管）"
EVENT_GAS = "示例数据：煤气转天然气置换"
EVENT_FIBRE = "示例数据：通信光进铜退（铜缆更换为光缆）"
EVENT_CATV = "示例数据：有线电视双向网改（同轴电缆更换为光缆）"
EVENT_CABLES = "示例数据：电力电缆扩容"
EVENT_ABANDON = "示例数据：旧城改造废除铸铁支管"


@dataclass
class RunPlan:
    """A run's segment properties over time: ``base`` from ``built``, then each change in order."""

    built: dt.datetime
    base: dict[str, Any]
    changes: list[tuple[dt.datetime, dict[str, Any], str]] = field(default_factory=list)
    retired: tuple[dt.datetime, str] | None = None

    def props_at(self, version: int) -> dict[str, Any]:
        props = dict(self.base)
        for _, update, _ in self.changes[:version]:
            props.update(update)
        return props


@dataclass(frozen=True)
class StreetPlan:
    """Decisions taken once per street, so every category and every run on it agree."""

    still_combined: bool
    separated: dt.datetime
    gas_conversion: dt.datetime
    fibre: dt.datetime | None
    catv_fibre: dt.datetime | None
    water_transmission: bool
    power_110kv: bool
    telecom_owner: str


def street_plan(street: Street) -> StreetPlan:
    """Deterministic per street (drawn from its own seeded stream), so it needs no cache."""
    rnd = rng("street-plan", street.street_no)
    old = street.built.year < 1992 and street.extended is None
    return StreetPlan(
        still_combined=old and rnd.random() < 0.3,
        separated=day_in_year(rnd.randint(2012, 2021), rnd),
        gas_conversion=day_in_year(rnd.randint(2005, 2007), rnd),
        fibre=day_in_year(rnd.randint(2009, 2016), rnd) if rnd.random() < 0.8 else None,
        catv_fibre=day_in_year(rnd.randint(2012, 2018), rnd) if rnd.random() < 0.7 else None,
        water_transmission=street.road_class == ARTERIAL and rnd.random() < 0.3,
        power_110kv=street.road_class == ARTERIAL and rnd.random() < 0.3,
        telecom_owner=rnd.choice(TELECOM_OWNERS),
    )


def _laid(street_built: dt.datetime, rnd: random.Random, earliest: tuple[int, int] | None = None) -> dt.datetime:
    """When a run was laid: with its street, or when the service reached streets that predate it."""
    year = street_built.year
    if earliest is not None:
        year = max(year, rnd.randint(*earliest))
    year = min(year + (1 if rnd.random() < 0.3 else 0), LAST_YEAR)
    if year == street_built.year:
        return street_built
    return day_in_year(year, rnd)


def _later(after: dt.datetime, year: int, rnd: random.Random) -> dt.datetime:
    when = day_in_year(year, rnd)
    return when if when > after else after + dt.timedelta(days=rnd.randint(200, 700))


def _water(s: Street, sp: StreetPlan, built: dt.datetime, stub: bool, rnd: random.Random) -> RunPlan:
    y = built.year
    if sp.water_transmission:
        sub, dia, mpa = "SS", rnd.choice([800, 1000, 1200]), rnd.choice([0.5, 0.55, 0.6])
    else:
        sub, mpa = "JP", rnd.choice([0.3, 0.35, 0.4])
        dia = rnd.choice({ARTERIAL: [400, 500, 600], SECONDARY: [300], LOCAL: [150, 200]}[s.road_class])
    if y < 1985:
        material = "ZT"
    elif y < 2000:
        material = "ZT" if dia < 300 and rnd.random() < 0.5 else "QM"
    else:
        material = "PE" if dia <= 200 else "QM"
    plan = RunPlan(built, {"subcategory": sub, "diameter_mm": dia, "material": material, "pressure_mpa": mpa,
                           "burial": "ZM", "owner": OWNERS["water"]})
    if material == "ZT" and y < 1995:
        if stub and rnd.random() < 0.35:
            plan.retired = (_later(built, rnd.randint(2010, 2020), rnd), EVENT_ABANDON)
        elif rnd.random() < 0.6:
            when = _later(built, rnd.randint(2008, 2022), rnd)
            plan.changes.append((when, {"material": "QM", "build_year": when.year,
                                        "diameter_mm": max(dia, 200)}, EVENT_WATER))
    return plan


def _drainage_size(s: Street, storm: bool, rnd: random.Random) -> dict[str, Any]:
    if storm and s.road_class == ARTERIAL and rnd.random() < 0.4:
        return {"section": "2000×1500", "diameter_mm": None, "burial": "GG"}
    sizes = {ARTERIAL: [1000, 1200] if storm else [600, 800, 1000], SECONDARY: [600, 800] if storm else [400, 500, 600],
             LOCAL: [400, 500] if storm else [300, 400]}
    return {"diameter_mm": rnd.choice(sizes[s.road_class]), "section": None, "burial": "ZM"}


def _modern_drain_material(dia: int | None, year: int) -> str:
    if dia is not None and dia <= 500 and year >= 2005:
        return "PE"
    return "T"


def _sewage(s: Street, sp: StreetPlan, built: dt.datetime, rnd: random.Random) -> RunPlan:
    size = _drainage_size(s, False, rnd)
    if built.year < 1992:
        if s.road_class != LOCAL and rnd.random() < 0.5:
            size = {"section": "1000×1200" if s.road_class == ARTERIAL else "800×1000", "diameter_mm": None,
                    "burial": "GG"}
            material = "Z"
        else:
            material = "T"
        plan = RunPlan(built, {"subcategory": "HS", "material": material, **size, "owner": OWNERS["sewage"]})
        if not sp.still_combined:
            when = sp.separated if sp.separated > built else _later(built, 2021, rnd)
            new_size = _drainage_size(s, False, rnd)
            plan.changes.append((when, {"subcategory": "WS", **new_size, "build_year": when.year,
                                        "material": _modern_drain_material(new_size["diameter_mm"], when.year)},
                                 EVENT_SEPARATION))
        return plan
    return RunPlan(built, {"subcategory": "WS", **size, "owner": OWNERS["sewage"],
                           "material": _modern_drain_material(size["diameter_mm"], built.year)})


def _storm(s: Street, sp: StreetPlan, built: dt.datetime, rnd: random.Random) -> RunPlan:
    size = _drainage_size(s, True, rnd)
    if s.built.year < 1992 and s.extended is None and sp.separated > built:
        built = sp.separated  # laid by the separation project
    return RunPlan(built, {"subcategory": "YS", **size, "owner": OWNERS["storm"],
                           "material": _modern_drain_material(size["diameter_mm"], built.year)})


def _gas(s: Street, sp: StreetPlan, built: dt.datetime, stub: bool, rnd: random.Random) -> RunPlan:
    dia = {ARTERIAL: 300, SECONDARY: rnd.choice([160, 200]), LOCAL: 110}[s.road_class]
    modern = {ARTERIAL: ("ZA", 0.4, "G"), SECONDARY: ("ZB", 0.2, "PE"), LOCAL: ("D", 0.003, "PE")}[s.road_class]
    if built >= sp.gas_conversion:
        cls, mpa, material = modern
        return RunPlan(built, {"subcategory": "TR", "diameter_mm": dia, "material": material,
                               "pressure_class": cls, "pressure_mpa": mpa, "burial": "ZM", "owner": OWNERS["gas"]})
    cls, mpa = ("ZB", 0.1) if s.road_class == ARTERIAL else ("D", 0.003)
    plan = RunPlan(built, {"subcategory": "MQ", "diameter_mm": dia, "material": "G" if dia >= 200 else "ZT",
                           "pressure_class": cls, "pressure_mpa": mpa, "burial": "ZM", "owner": OWNERS["gas"]})
    plan.changes.append((sp.gas_conversion, {"subcategory": "TR"}, EVENT_GAS))
    if stub and plan.base["material"] == "ZT" and rnd.random() < 0.4:
        plan.retired = (_later(sp.gas_conversion, rnd.randint(2012, 2020), rnd), EVENT_ABANDON)
    return plan


def _power(s: Street, sp: StreetPlan, built: dt.datetime, rnd: random.Random) -> RunPlan:
    props: dict[str, Any]
    if sp.power_110kv:
        props = {"section": "2000×2200", "burial": "GG", "voltage_kv": 110.0, "holes_total": 12,
                 "holes_used": 6, "cable_count": 6}
    elif s.road_class == ARTERIAL:
        props = {"section": "1400×900", "burial": "GK", "voltage_kv": 10.0, "holes_total": 24,
                 "holes_used": rnd.randint(8, 16)}
    elif s.road_class == SECONDARY:
        props = {"section": "1000×700", "burial": "GK", "voltage_kv": 10.0, "holes_total": 12,
                 "holes_used": rnd.randint(4, 8)}
    else:
        props = {"diameter_mm": 150, "burial": "GM", "voltage_kv": rnd.choice([10.0, 0.4]), "holes_total": 4,
                 "holes_used": rnd.randint(1, 2)}
    props.setdefault("cable_count", props["holes_used"])
    plan = RunPlan(built, {"subcategory": "GD", "material": "TZ", "owner": OWNERS["power"], **props})
    spare = props["holes_total"] - props["holes_used"]
    if s.road_class != LOCAL and spare >= 4 and rnd.random() < 0.25:
        when = _later(built, rnd.randint(2015, 2022), rnd)
        more = rnd.randint(2, spare)
        plan.changes.append((when, {"holes_used": props["holes_used"] + more,
                                    "cable_count": props["cable_count"] + more}, EVENT_CABLES))
    return plan


def _telecom(s: Street, sp: StreetPlan, built: dt.datetime, rnd: random.Random) -> RunPlan:
    sizes: dict[str, dict[str, Any]] = {ARTERIAL: {"section": "800×500", "holes_total": 24},
                                        SECONDARY: {"section": "600×400", "holes_total": 12},
                                        LOCAL: {"diameter_mm": 110, "holes_total": 4}}
    size = sizes[s.road_class]
    burial = "GM" if s.road_class == LOCAL else "GK"
    used = rnd.randint(1, max(1, int(size["holes_total"]) // 2))
    spare = s.road_class == LOCAL and built.year >= 2010 and rnd.random() < 0.1
    base = {**size, "burial": burial, "holes_used": 0 if spare else used, "cable_count": 0 if spare else used * 2,
            "status": "2" if spare else "0", "owner": sp.telecom_owner}
    if built.year < 2006:
        plan = RunPlan(built, {**base, "subcategory": "DH", "material": "TZ"})
        if sp.fibre is not None:
            when = sp.fibre if sp.fibre > built else _later(built, 2016, rnd)
            plan.changes.append((when, {"subcategory": "XX", "material": "GX"}, EVENT_FIBRE))
        return plan
    return RunPlan(built, {**base, "subcategory": "XX", "material": "GX"})


def _cabletv(s: Street, sp: StreetPlan, built: dt.datetime, rnd: random.Random) -> RunPlan:
    holes = rnd.choice([2, 4])
    base = {"subcategory": "DS", "diameter_mm": 110, "burial": "GM", "holes_total": holes,
            "holes_used": 1, "cable_count": 1, "owner": OWNERS["cabletv"]}
    if built.year < 2010:
        plan = RunPlan(built, {**base, "material": "TZ"})
        if sp.catv_fibre is not None:
            when = sp.catv_fibre if sp.catv_fibre > built else _later(built, 2018, rnd)
            plan.changes.append((when, {"material": "GX"}, EVENT_CATV))
        return plan
    return RunPlan(built, {**base, "material": "GX"})


EARLIEST = {"gas": (1986, 1996), "power": (1992, 2004), "signal": (1996, 2008), "telecom": (1988, 1998),
            "cabletv": (1996, 2006)}


def run_plan(key: str, street: Street, street_built: dt.datetime, *, stub: bool, run_id: object) -> RunPlan:
    """The history of one run of category ``key`` on ``street`` (whose stretch there dates from ``street_built``)."""
    rnd = rng("run-plan", key, run_id)
    sp = street_plan(street)
    built = _laid(street_built, rnd, EARLIEST.get(key))
    if key == "water":
        plan = _water(street, sp, built, stub, rnd)
    elif key == "sewage":
        plan = _sewage(street, sp, built, rnd)
    elif key == "storm":
        plan = _storm(street, sp, built, rnd)
    elif key == "gas":
        plan = _gas(street, sp, built, stub, rnd)
    elif key == "power":
        plan = _power(street, sp, built, rnd)
    elif key == "streetlight":
        plan = RunPlan(built, {"subcategory": "LD", "material": "TZ", "diameter_mm": 50, "burial": "GM",
                               "voltage_kv": 0.38, "cable_count": 1, "holes_total": 1, "holes_used": 1,
                               "owner": OWNERS["streetlight"]})
    elif key == "signal":
        plan = RunPlan(built, {"subcategory": "XH", "material": "TZ", "diameter_mm": 100, "burial": "GM",
                               "voltage_kv": 0.22, "cable_count": rnd.randint(2, 4), "holes_total": 4,
                               "holes_used": 2, "owner": OWNERS["signal"]})
    elif key == "telecom":
        plan = _telecom(street, sp, built, rnd)
    else:
        plan = _cabletv(street, sp, built, rnd)
    plan.base.setdefault("status", "0")
    plan.base.setdefault("build_year", plan.built.year)
    plan.base["road_name"] = street.name
    return plan
