"""Reading the values survey tables really contain: "DN300", "1.2m", "2015年", "2020/5/3", "铸铁".

Each converter takes one raw value and returns the value to validate, or the raw
value unchanged when it cannot make sense of it — validation then rejects it with
the schema's own message, so nothing is silently dropped.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

# Length and pressure units a delivery may state, in the unit's SI base (m, MPa).
UNIT_FACTORS: dict[str, tuple[str, float]] = {
    "mm": ("m", 0.001), "cm": ("m", 0.01), "dm": ("m", 0.1), "m": ("m", 1.0), "km": ("m", 1000.0),
    "in": ("m", 0.0254), "inch": ("m", 0.0254), "ft": ("m", 0.3048),
    "mpa": ("mpa", 1.0), "kpa": ("mpa", 0.001), "pa": ("mpa", 1e-6), "bar": ("mpa", 0.1),
    "kv": ("kv", 1.0), "v": ("kv", 0.001),
    "m2": ("m2", 1.0), "m²": ("m2", 1.0), "mu": ("m2", 666.6666666666666), "亩": ("m2", 666.6666666666666),
    "ha": ("m2", 10_000.0), "km2": ("m2", 1_000_000.0),
}
_NUMBER = re.compile(r"^\s*(?:DN|De|Φ|φ|Ø|D)?\s*([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)\s*([A-Za-z²亩]*)\s*$")
_YEAR = re.compile(r"^\s*((?:18|19|20|21)\d{2})(?:\s*年|[-/.年]\s*\d{1,2}.*)?\s*$")
_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
_COMPACT_DATE = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")


def unit_factor(source: str, target: str) -> float:
    """Multiplier from ``source`` unit to ``target`` unit (e.g. mm → m = 0.001).

    Raises:
        ValueError: for unknown units or units of different kinds.
    """
    try:
        src_base, src_f = UNIT_FACTORS[source.lower()]
        dst_base, dst_f = UNIT_FACTORS[target.lower()]
    except KeyError as exc:
        raise ValueError(f"unknown unit {exc.args[0]!r}; known: {', '.join(sorted(UNIT_FACTORS))}") from None
    if src_base != dst_base:
        raise ValueError(f"cannot convert {source} to {target}")
    return src_f / dst_f


def number_in(value: Any, *, unit: str | None, target_unit: str | None) -> Any:
    """A number from ``300``, ``"300"``, ``"DN300"``, ``"1.2m"``, converted to ``target_unit``.

    ``unit`` is what the delivery's column holds when the value carries no unit itself.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        number: float = float(value)
        stated = None
    elif isinstance(value, str):
        match = _NUMBER.match(value)
        if match is None:
            return value
        number, stated = float(match.group(1)), (match.group(2) or None)
    else:
        return value
    if not math.isfinite(number):
        return value
    source_unit = stated or unit
    if source_unit and target_unit and source_unit.lower() != target_unit.lower():
        try:
            number *= unit_factor(source_unit, target_unit)
        except ValueError:
            return value
    if isinstance(value, int) and number.is_integer():
        return int(number)
    return number


def year_of(value: Any) -> Any:
    """The year of ``2015``, ``"2015年"``, ``"2015-06"``, ``"2015.6"``, a date; else the value itself."""
    if isinstance(value, dt.date):
        return value.year
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        match = _YEAR.match(value)
        if match:
            return int(match.group(1))
    return value


def date_of(value: Any) -> Any:
    """An ISO date from ``"2020/5/3"``, ``"2020年5月3日"``, ``"20200503"``, datetimes; else the value."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        match = _DATE.match(value) or _COMPACT_DATE.match(value)
        if match:
            try:
                return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3))).isoformat()
            except ValueError:
                return value
    return value


def text_of(value: Any) -> Any:
    """Text as delivered, trimmed; integral floats (from spreadsheets) lose their ``.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return value.strip()
    return value


def code_mapper(
    values: Mapping[str, str], *, labels: Mapping[str, str] | None = None, codes: set[str] | None = None,
    otherwise: str | None = None,
) -> Callable[[Any], Any]:
    """A function mapping delivered text to a code: explicit ``values`` first, then code-list
    labels (铸铁 → ZT), then codes in any letter case (pe → PE), then ``otherwise``.

    Unknown values pass through unchanged (or become ``otherwise``) so validation can name them.
    """
    exact = {str(k).strip(): v for k, v in values.items()}
    by_label = dict(labels or {})
    upper = {c.upper(): c for c in (codes or set())}

    def convert(value: Any) -> Any:
        if value is None:
            return None
        text = text_of(value)
        if not isinstance(text, str) or text == "":
            return None if text == "" else value
        for table in (exact, by_label):
            if text in table:
                return table[text]
        if text.upper() in upper:
            return upper[text.upper()]
        return otherwise if otherwise is not None else text

    return convert
