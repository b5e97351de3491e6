"""Named validation rules: per-field format checks and rules that span several fields."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from layers.errors import FieldError
from spatial.codelists import admin, grid, landuse
from spatial.codelists.cjj61 import GAS_PRESSURE_MAX_MPA, check_feature_code

FIELD_CHECKS: dict[str, Callable[[str], str | None]] = {
    "grid_code": lambda v: grid.check_grid_code(v),
    "component_code": lambda v: grid.check_component_code(v),
    "adcode": lambda v: None if v in admin.CHANGSHA else f"{v!r} is not a Changsha GB/T 2260 code",
    # The 8-digit code needs the category to be checked fully; see _feature_code_matches.
    "cjj61_feature_code": lambda v: None if len(v) == 8 and v.isdigit() and v[0] == "5"
    else "must be an 8-digit CJJ 61 附录F code starting with 5",
}


def run_field_check(name: str, value: str) -> str | None:
    """Run the named format check on ``value``; returns the problem, or None if it passes."""
    return FIELD_CHECKS[name](value)


Rule = Callable[[dict[str, Any]], Iterable[FieldError]]


def _feature_xor_appurtenance(p: dict[str, Any]) -> Iterable[FieldError]:
    has_feature = p.get("feature_point") is not None
    has_app = p.get("appurtenance") is not None
    if has_feature and has_app:
        yield FieldError("appurtenance", "exclusive", "a point is either a 特征点 or a 附属物, not both")
    if not has_feature and not has_app:
        yield FieldError("feature_point", "required", "a point needs a 特征点 or a 附属物")


def _feature_code_matches(p: dict[str, Any]) -> Iterable[FieldError]:
    code, cat, sub = p.get("feature_code"), p.get("category"), p.get("subcategory")
    if code and cat and sub:
        problem = check_feature_code(code, category=cat, subcategory=sub)
        if problem:
            yield FieldError("feature_code", "cjj61-feature-code", problem)


def _gas_pressure(p: dict[str, Any]) -> Iterable[FieldError]:
    cls, mpa = p.get("pressure_class"), p.get("pressure_mpa")
    if cls and mpa is not None and mpa > GAS_PRESSURE_MAX_MPA[cls]:
        yield FieldError(
            "pressure_mpa", "pressure-class",
            f"{mpa} MPa exceeds the {cls} class limit of {GAS_PRESSURE_MAX_MPA[cls]} MPa (GB 50028)",
        )


def _diameter_or_section(p: dict[str, Any]) -> Iterable[FieldError]:
    if p.get("diameter_mm") is None and not p.get("section"):
        yield FieldError("diameter_mm", "required", "a segment needs a 管径 (mm) or a 断面尺寸 (宽×高)")


def _landuse_scheme(p: dict[str, Any]) -> Iterable[FieldError]:
    code, scheme, version = p.get("landuse_code"), p.get("scheme"), p.get("scheme_version")
    if code and scheme and version:
        problem = landuse.check_landuse_code(code, scheme=scheme, version=version)
        if problem:
            yield FieldError("landuse_code", "landuse-code", problem)


def _grid_parts(p: dict[str, Any]) -> Iterable[FieldError]:
    code, district = p.get("grid_code"), p.get("district_adcode")
    if code and district and not code.startswith(district):
        yield FieldError("grid_code", "grid-district", f"grid code does not start with its district {district}")


def _component_grid(p: dict[str, Any]) -> Iterable[FieldError]:
    code, major, minor = p.get("obj_code"), p.get("major_code"), p.get("minor_code")
    if code and major and code[6:8] != major:
        yield FieldError("major_code", "component-major", f"digits 7–8 of {code} are not {major}")
    if code and minor and code[6:10] != minor:
        yield FieldError("minor_code", "component-minor", f"digits 7–10 of {code} are not {minor}")


RULES: dict[str, Rule] = {
    "feature_xor_appurtenance": _feature_xor_appurtenance,
    "cjj61_feature_code_matches": _feature_code_matches,
    "gas_pressure_class": _gas_pressure,
    "diameter_or_section": _diameter_or_section,
    "landuse_scheme": _landuse_scheme,
    "grid_code_district": _grid_parts,
    "component_code_parts": _component_grid,
}


def run_rules(names: Iterable[str], properties: dict[str, Any]) -> list[FieldError]:
    """Run the named cross-field rules on a feature's properties; returns every problem found."""
    errors: list[FieldError] = []
    for name in names:
        errors.extend(RULES[name](properties))
    return errors
