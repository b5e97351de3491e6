"""Layer attribute schemas: field definitions, SQL types, and validation of feature properties.

A schema lives in the registry row as JSON. Code-list fields name a list in
:mod:`spatial.codelists`; cross-field rules are named and live in :mod:`layers.rules`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from layers.errors import FieldError
from spatial.codelists import CODELISTS

FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime", "code"]

SYSTEM_COLUMNS = frozenset(
    {"fid", "version", "valid_from", "valid_to", "recorded_at", "superseded_at", "changeset_id", "src_hash", "geom",
     "tile_zoom", "tile_key"}
)
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
# The units layer definitions use → their UCUM codes (Part 5's default unit language).
UCUM = {"m": "m", "m²": "m2", "m³": "m3", "mm": "mm", "cm": "cm", "km": "km", "kV": "kV", "MPa": "MPa",
        "°": "deg", "%": "%", "t": "t", "kg": "kg", "s": "s", "h": "h", "a": "a"}

_SQL_TYPES: dict[str, str] = {
    "string": "text",
    "code": "text",
    "integer": "bigint",
    "number": "double precision",
    "boolean": "boolean",
    "date": "date",
    "datetime": "timestamptz",
}
_JSON_TYPES: dict[str, dict[str, str]] = {
    "string": {"type": "string"},
    "code": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
}


class FieldDef(BaseModel):
    """One attribute of a layer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    type: FieldType
    title_zh: str
    title_en: str
    description: str | None = None
    required: bool = False
    codelist: str | None = None
    enum: list[str] | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    pattern: str | None = None
    unit: str | None = None
    check: Literal["grid_code", "component_code", "cjj61_feature_code", "adcode"] | None = None

    @field_validator("name")
    @classmethod
    def _not_system(cls, value: str) -> str:
        if value in SYSTEM_COLUMNS:
            raise ValueError(f"{value!r} is a system column name")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FieldDef:
        if self.codelist is not None and self.codelist not in CODELISTS:
            raise ValueError(f"field {self.name}: unknown code list {self.codelist!r}")
        if self.type == "code" and self.codelist is None and self.enum is None:
            raise ValueError(f"field {self.name}: a code field needs a codelist or an enum")
        if self.pattern is not None:
            re.compile(self.pattern)
        return self

    @property
    def sql_type(self) -> str:
        return _SQL_TYPES[self.type]

    def allowed_codes(self) -> list[str] | None:
        if self.enum is not None:
            return list(self.enum)
        if self.codelist is not None:
            return CODELISTS[self.codelist].codes()
        return None

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema of this property (used by /schema, /queryables, TileJSON and OpenAPI).

        Part 5 annotations: ``x-ogc-unit`` (UCUM where the unit has a UCUM code, with
        ``x-ogc-unitLang``); code lists as ``enum`` plus code → label maps in Chinese and English.
        """
        out: dict[str, Any] = {**_JSON_TYPES[self.type], "title": self.title_zh, "x-title-en": self.title_en}
        if self.description:
            out["description"] = self.description
        codes = self.allowed_codes()
        if codes is not None:
            out["enum"] = codes
            if self.codelist:
                cl = CODELISTS[self.codelist]
                out["x-codelist"] = cl.name
                out["x-labels"] = dict(cl.labels_zh)
                if cl.labels_en:
                    out["x-labels-en"] = dict(cl.labels_en)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.max_length is not None:
            out["maxLength"] = self.max_length
        if self.pattern is not None:
            out["pattern"] = self.pattern
        if self.unit is not None:
            out["x-unit"] = self.unit  # kept for clients written before Part 5
            ucum = UCUM.get(self.unit)
            out["x-ogc-unit"] = ucum or self.unit
            if ucum is not None:
                out["x-ogc-unitLang"] = "UCUM"
        return out


class LayerSchema(BaseModel):
    """The attributes of a layer, its natural key and the rules that span fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: list[FieldDef]
    key: list[str] = Field(default_factory=list)
    label: str | None = None
    search: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names(self) -> LayerSchema:
        names = [f.name for f in self.fields]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"duplicate field names: {sorted(dupes)}")
        for ref in [*self.key, *self.search, *([self.label] if self.label else [])]:
            if ref not in names:
                raise ValueError(f"{ref!r} is referenced but not a field")
        from layers.rules import RULES

        for rule in self.rules:
            if rule not in RULES:
                raise ValueError(f"unknown rule {rule!r}; known: {sorted(RULES)}")
        return self

    def field(self, name: str) -> FieldDef | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]


def _coerce(f: FieldDef, value: Any) -> tuple[Any, FieldError | None]:
    def err(code: str, message: str) -> tuple[Any, FieldError]:
        return None, FieldError(f.name, code, message)

    if f.type in ("string", "code"):
        if isinstance(value, bool) or not isinstance(value, str | int):
            return err("type", f"expected text, got {type(value).__name__}")
        return str(value), None
    if f.type == "integer":
        if isinstance(value, bool):
            return err("type", "expected an integer, got a boolean")
        if isinstance(value, int):
            return value, None
        if isinstance(value, float) and value.is_integer():
            return int(value), None
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
            return int(value.strip()), None
        return err("type", f"expected an integer, got {value!r}")
    if f.type == "number":
        if isinstance(value, bool):
            return err("type", "expected a number, got a boolean")
        if isinstance(value, int | float):
            if not math.isfinite(float(value)):
                return err("type", "number must be finite")
            return float(value), None
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                return err("type", f"expected a number, got {value!r}")
            if math.isfinite(number):
                return number, None
        return err("type", f"expected a number, got {value!r}")
    if f.type == "boolean":
        if isinstance(value, bool):
            return value, None
        if isinstance(value, str) and value.lower() in {"true", "false", "1", "0", "是", "否"}:
            return value.lower() in {"true", "1", "是"}, None
        return err("type", f"expected true or false, got {value!r}")
    if f.type == "date":
        if isinstance(value, dt.datetime):
            return value.date(), None
        if isinstance(value, dt.date):
            return value, None
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip()), None
            except ValueError:
                pass
        return err("type", f"expected a date YYYY-MM-DD, got {value!r}")
    if f.type == "datetime":
        if isinstance(value, dt.datetime):
            parsed = value
        elif isinstance(value, str):
            try:
                parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                return err("type", f"expected an RFC 3339 date-time, got {value!r}")
        else:
            return err("type", f"expected an RFC 3339 date-time, got {value!r}")
        if parsed.tzinfo is None:
            return err("type", "date-time needs a time zone (e.g. +08:00 or Z)")
        return parsed, None
    raise AssertionError(f"unhandled field type {f.type}")


def _check_value(f: FieldDef, value: Any) -> FieldError | None:
    from layers.rules import run_field_check

    codes = f.allowed_codes()
    if codes is not None and value not in codes:
        shown = ", ".join(codes[:15]) + (" …" if len(codes) > 15 else "")
        return FieldError(f.name, "codelist", f"{value!r} is not an allowed code ({shown})")
    if f.minimum is not None and isinstance(value, int | float) and value < f.minimum:
        return FieldError(f.name, "minimum", f"{value} is below the minimum {f.minimum:g}{f.unit or ''}")
    if f.maximum is not None and isinstance(value, int | float) and value > f.maximum:
        return FieldError(f.name, "maximum", f"{value} is above the maximum {f.maximum:g}{f.unit or ''}")
    if f.max_length is not None and isinstance(value, str) and len(value) > f.max_length:
        return FieldError(f.name, "max-length", f"longer than {f.max_length} characters")
    if f.pattern is not None and isinstance(value, str) and not re.fullmatch(f.pattern, value):
        return FieldError(f.name, "pattern", f"{value!r} does not match {f.pattern}")
    if f.check is not None and isinstance(value, str):
        problem = run_field_check(f.check, value)
        if problem:
            return FieldError(f.name, f.check.replace("_", "-"), problem)
    return None


def validate_properties(
    schema: LayerSchema, properties: dict[str, Any], *, partial: bool = False
) -> tuple[dict[str, Any], list[FieldError]]:
    """Check and coerce feature properties against ``schema``.

    Args:
        schema: The layer schema from the registry.
        properties: Incoming values; ``None`` clears a field.
        partial: True for merge-patch input, where absent required fields are fine.

    Returns:
        (clean values keyed by field name, every field error found). Unknown
        properties are errors, so a typo never silently drops data.
    """
    from layers.rules import run_rules

    clean: dict[str, Any] = {}
    errors: list[FieldError] = []
    known = {f.name: f for f in schema.fields}
    for name in properties:
        if name not in known:
            errors.append(FieldError(name, "unknown-property", f"{name!r} is not a property of this layer"))
    for f in schema.fields:
        if f.name not in properties:
            if f.required and not partial:
                errors.append(FieldError(f.name, "required", "is required"))
            continue
        raw = properties[f.name]
        if raw is None or (isinstance(raw, str) and raw.strip() == "" and f.type != "string"):
            if f.required:
                errors.append(FieldError(f.name, "required", "is required and cannot be empty"))
            else:
                clean[f.name] = None
            continue
        value, problem = _coerce(f, raw)
        if problem is None:
            problem = _check_value(f, value)
        if problem is not None:
            errors.append(problem)
        else:
            clean[f.name] = value
    if not errors and not partial:
        errors.extend(run_rules(schema.rules, clean))
    return clean, errors
