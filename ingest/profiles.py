"""Mapping profiles: which delivery column feeds which layer field, in which unit, with which codes.

A profile is YAML (shipped ones live in ``ingest/profiles/``; GIS staff may
pass their own file). Example::

    name: cjj61_segments
    title: 管线段成果表 (CJJ 61-2017)
    applies_to: pipeline_segments
    fields:
      diameter_mm: {from: [管径, GJ], unit: mm}
      material: {from: [材质], values: {砼: T}}
      start_depth_m:
        from: [起点埋深]
        elevations: {ground: [起点地面高程], pipe: [起点管顶高程, 起点管底高程]}
    defaults: {status: "0"}

Every layer field also matches a column named like the field itself or its Chinese
title, so a delivery in One Map's own field names needs no profile at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ingest.errors import ProfileError
from layers.schema import LayerSchema

Parse = Literal["number", "integer", "year", "date", "text", "code"]


class Elevations(BaseModel):
    """Depth from elevations: ``depth = ground − pipe`` (1985 datum, metres)."""

    model_config = ConfigDict(extra="forbid")

    ground: list[str]
    pipe: list[str]


class FieldSpec(BaseModel):
    """Where one layer field comes from."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: list[str] = Field(default_factory=list, alias="from")
    unit: str | None = None
    parse: Parse | None = None
    values: dict[str, str] = Field(default_factory=dict)
    otherwise: str | None = None
    elevations: Elevations | None = None
    when_present: str | None = None
    value: Any = None
    slice_of: str | None = None
    slice: Annotated[list[int], Field(min_length=2, max_length=2)] | None = None
    geodesic_area: bool = False
    template: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"from": [data]}
        if isinstance(data, list):
            return {"from": data}
        if isinstance(data, dict) and isinstance(data.get("from"), str):
            return {**data, "from": [data["from"]]}
        return data


class Profile(BaseModel):
    """A named mapping from a delivery shape to a layer (or a pipeline part)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    title: str
    applies_to: list[str]
    description: str | None = None
    fields: dict[str, FieldSpec] = Field(default_factory=dict)
    defaults: dict[str, Any] = Field(default_factory=dict)
    layer_map: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _one_target(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("applies_to"), str):
            return {**data, "applies_to": [data["applies_to"]]}
        return data


def _key(name: str) -> str:
    """Column names compare without case, spaces, underscores or brackets (起点 埋深 = 起点埋深)."""
    return re.sub(r"[\s_\-()（）:：]", "", name).lower()


@dataclass
class Resolved:
    """A profile applied to one source's columns: every layer field and how to fill it."""

    profile: str
    columns: dict[str, str]  # layer field → source column
    specs: dict[str, FieldSpec]
    constants: dict[str, Any]  # --set: wins over the data
    defaults: dict[str, Any]  # profile defaults: fill empty values
    derived: dict[str, FieldSpec]  # fields computed from other fields or the geometry
    elevation_columns: dict[str, tuple[str, str]] = field(default_factory=dict)
    unused: list[str] = field(default_factory=list)

    def provides(self, name: str) -> bool:
        """Whether field ``name`` gets a value from anywhere (a column, --set, a default, derivation, elevations)."""
        return (
            name in self.columns or name in self.constants or name in self.defaults or name in self.derived
            or name in self.elevation_columns
        )

    def describe(self) -> dict[str, Any]:
        """The mapping as the report shows it, including the source columns nothing uses."""
        return {
            "profile": self.profile,
            "columns": dict(self.columns),
            "elevations": {k: list(v) for k, v in self.elevation_columns.items()},
            "constants": dict(self.constants),
            "defaults": dict(self.defaults),
            "derived": sorted(self.derived),
            "unused_source_columns": list(self.unused),
        }


def _find(candidates: list[str], columns: dict[str, str]) -> str | None:
    for name in candidates:
        hit = columns.get(_key(name))
        if hit is not None:
            return hit
    return None


def resolve(
    profile: Profile, schema: LayerSchema, source_columns: list[str], *,
    renames: dict[str, str] | None = None, constants: dict[str, Any] | None = None,
) -> Resolved:
    """Match ``profile`` (plus ``--map`` renames and ``--set`` constants) to a source's columns.

    Raises:
        ProfileError: when ``--map``/``--set`` name a field the layer does not have.
    """
    names = set(schema.names)
    for target in [*(renames or {}).values(), *(constants or {})]:
        if target not in names:
            raise ProfileError(f"{target!r} is not a field of the layer; fields: {', '.join(schema.names)}")
    columns = {_key(c): c for c in source_columns}
    specs = {n: profile.fields.get(n, FieldSpec()) for n in schema.names}
    mapped: dict[str, str] = {}
    for src, dst in (renames or {}).items():
        if _key(src) not in columns:
            raise ProfileError(f"--map {src}={dst}: the delivery has no column {src!r}")
        mapped[dst] = columns[_key(src)]
    elevations: dict[str, tuple[str, str]] = {}
    derived: dict[str, FieldSpec] = {}
    for f in schema.fields:
        spec = specs[f.name]
        if f.name in mapped:
            continue
        hit = _find([*spec.source, f.name, f.title_zh], columns)
        if hit is not None:
            mapped[f.name] = hit
        elif spec.elevations is not None:
            ground, pipe = _find(spec.elevations.ground, columns), _find(spec.elevations.pipe, columns)
            if ground and pipe:
                elevations[f.name] = (ground, pipe)
        if spec.when_present or spec.slice_of or spec.geodesic_area or spec.template:
            derived[f.name] = spec
    used = set(mapped.values()) | {c for pair in elevations.values() for c in pair}
    return Resolved(
        profile=profile.name, columns=mapped, specs=specs, constants=dict(constants or {}),
        defaults={k: v for k, v in profile.defaults.items() if k in names},
        derived=derived, elevation_columns=elevations, unused=[c for c in source_columns if c not in used],
    )


def score(profile: Profile, schema: LayerSchema, source_columns: list[str]) -> int:
    """How many of the profile's own column names the source has (0: the profile does not fit)."""
    columns = {_key(c) for c in source_columns}
    hits = 0
    for f in schema.fields:
        spec = profile.fields.get(f.name)
        if spec and any(_key(s) in columns for s in spec.source):
            hits += 1
    return hits


def parse_profile(text: str, *, origin: str) -> Profile:
    """A profile from YAML text. Raises :class:`ProfileError` naming what is wrong."""
    try:
        data = yaml.safe_load(text)
        return Profile.model_validate(data)
    except (yaml.YAMLError, ValidationError) as exc:
        raise ProfileError(f"mapping profile {origin} is not valid: {exc}") from exc


@cache
def shipped_profiles() -> tuple[Profile, ...]:
    """Profiles that ship with One Map, for the common delivery shapes (domain.md §1)."""
    folder = resources.files(__package__).joinpath("profiles")
    out = []
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith((".yaml", ".yml")):
            out.append(parse_profile(item.read_text(encoding="utf-8"), origin=item.name))
    return tuple(out)


def load_profile(name_or_path: str) -> Profile:
    """A shipped profile by name, or a YAML file by path.

    Raises:
        ProfileError: when neither exists.
    """
    for p in shipped_profiles():
        if p.name == name_or_path:
            return p
    path = Path(name_or_path)
    if path.is_file():
        return parse_profile(path.read_text(encoding="utf-8"), origin=str(path))
    known = ", ".join(p.name for p in shipped_profiles())
    raise ProfileError(f"no mapping profile {name_or_path!r}: give a YAML file or one of {known}")


IDENTITY = Profile(name="field-names", title="layer field names and Chinese titles", applies_to=["*"])


def choose_profile(target: str, schema: LayerSchema, source_columns: list[str]) -> Profile:
    """The shipped profile for ``target`` that matches the most source columns, else field names only."""
    best, best_score = IDENTITY, 0
    for p in shipped_profiles():
        if target not in p.applies_to:
            continue
        s = score(p, schema, source_columns)
        if s > best_score:
            best, best_score = p, s
    return best
