"""Applying a resolved profile to a batch: layer-field columns, and geometries in EPSG:4490.

Everything works column by column; converters are memoised per distinct value,
because survey columns repeat the same few codes, units and years endlessly.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Geod

from ingest.convert import code_mapper, date_of, number_in, text_of, year_of
from ingest.profiles import FieldSpec, Resolved
from ingest.readers.base import Batch
from layers.errors import FieldError
from layers.schema import FieldDef, LayerSchema
from spatial.codelists import CODELISTS
from spatial.crs import STORAGE_SRID, transform_xy
from spatial.errors import SpatialError
from spatial.survey import CrsDecision

_GEOD = Geod(ellps="GRS80")  # CGCS2000's ellipsoid differs from GRS80 by 0.1 mm in b
_MEMO_LIMIT = 200_000


@dataclass
class Mapped:
    """A batch in layer terms: values per field (absent fields are not keys) and EPSG:4490 geometries."""

    row_no: list[int]
    values: dict[str, list[Any]]
    geoms: npt.NDArray[np.object_]
    geom_errors: dict[int, FieldError]
    raw: dict[str, list[Any]]
    # The delivered WKB when ``geoms`` are parsed from it untransformed (validation may keep its bytes).
    source_wkb: list[bytes | None] | None = None

    def __len__(self) -> int:
        """Number of rows in the batch."""
        return len(self.row_no)


def _memoised(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    by_text: dict[str, Any] = {}
    by_value: dict[tuple[type, Any], Any] = {}

    def call(value: Any) -> Any:
        if type(value) is str:
            if value in by_text:
                return by_text[value]
            out = fn(value)
            if len(by_text) < _MEMO_LIMIT:
                by_text[value] = out
            return out
        try:
            key = (type(value), value)
            if key in by_value:
                return by_value[key]
        except TypeError:
            return fn(value)
        out = fn(value)
        if len(by_value) < _MEMO_LIMIT:
            by_value[key] = out
        return out

    return call


def _parse_of(f: FieldDef, spec: FieldSpec) -> str:
    if spec.parse is not None:
        return spec.parse
    parse = {"number": "number", "integer": "integer", "date": "date", "code": "code"}.get(f.type, "text")
    if f.type == "integer" and "year" in f.name:
        return "year"
    if f.type == "string" and spec.values:
        return "code"
    return parse


def converter(f: FieldDef, spec: FieldSpec) -> Callable[[Any], Any]:
    """The function turning one delivered value into the value to validate for field ``f``."""
    parse = _parse_of(f, spec)
    if parse == "code":
        codelist = CODELISTS.get(f.codelist) if f.codelist else None
        codes = set(f.allowed_codes() or [])
        fn = code_mapper(spec.values, labels=codelist.by_label() if codelist else None, codes=codes,
                         otherwise=spec.otherwise)
    elif parse in ("number", "integer"):
        unit, target = spec.unit, f.unit

        def fn(v: Any) -> Any:
            return number_in(v, unit=unit, target_unit=target)
    elif parse == "year":
        fn = year_of
    elif parse == "date":
        fn = date_of
    else:
        fn = text_of
    if spec.slice and not spec.slice_of:
        a, b = spec.slice
        inner = fn

        def fn(v: Any) -> Any:
            out = inner(v)
            return out[a:b] if isinstance(out, str) else out

    return _memoised(fn)


class BatchMapper:
    """Maps batches of one source to one layer schema; converters live as long as the source."""

    def __init__(self, schema: LayerSchema, resolved: Resolved, decision: CrsDecision | None) -> None:
        self.schema = schema
        self.resolved = resolved
        self.decision = decision
        self._convert = {f.name: converter(f, resolved.specs[f.name]) for f in schema.fields}
        # Free-text fields only get trimmed: no memo needed (ids and names rarely repeat).
        self._plain_text = {f.name for f in schema.fields if f.type == "string" and _parse_of(f, resolved.specs[f.name])
                            == "text" and not resolved.specs[f.name].slice}

    def key_values(self, batch: Batch, name: str) -> list[Any] | None:
        """The values ``map`` would give field ``name``, when it comes straight from one column
        (None otherwise: constants, defaults and derived keys need the full mapping)."""
        r = self.resolved
        column = r.columns.get(name)
        if column is None or name in r.constants or name in r.defaults or name in r.derived:
            return None
        raw = batch.columns.get(column, [None] * len(batch))
        if name in self._plain_text:
            return [v.strip() if type(v) is str else text_of(v) for v in raw]
        convert = self._convert[name]
        return [convert(v) for v in raw]

    def map(self, batch: Batch) -> Mapped:
        """The batch in layer terms: converted values, defaults, constants, derived fields; EPSG:4490 geometries."""
        n = len(batch)
        r = self.resolved
        values: dict[str, list[Any]] = {}
        for name, column in r.columns.items():
            raw = batch.columns.get(column, [None] * n)
            if name in self._plain_text:
                values[name] = [v.strip() if type(v) is str else text_of(v) for v in raw]
            else:
                convert = self._convert[name]
                values[name] = [convert(v) for v in raw]
        for name, (ground_col, pipe_col) in r.elevation_columns.items():
            values[name] = _depths(batch.columns[ground_col], batch.columns[pipe_col])
        for name, default in r.defaults.items():
            col = values.get(name)
            values[name] = [default] * n if col is None else [default if v is None else v for v in col]
        for name, constant in r.constants.items():
            values[name] = [self._convert[name](constant)] * n
        geoms, geom_errors, moved = self._geometries(batch)
        for name, spec in r.derived.items():
            if name in r.constants or (name in values and all(v is not None for v in values[name])):
                continue
            derived = _derive(spec, values, geoms, n, batch.columns)
            if derived is not None:
                current = values.get(name)
                values[name] = derived if current is None else [c if c is not None else d
                                                                for c, d in zip(current, derived, strict=True)]
        return Mapped(batch.row_no, values, geoms, geom_errors, batch.columns, None if moved else batch.wkb)

    def _geometries(self, batch: Batch) -> tuple[npt.NDArray[np.object_], dict[int, FieldError], bool]:
        """(EPSG:4490 geometries, unreadable rows, whether the coordinates were transformed)."""
        errors: dict[int, FieldError] = {}
        wkb = np.array(batch.wkb, dtype=object)
        geoms = shapely.from_wkb(wkb, on_invalid="ignore")
        if len(geoms) and shapely.is_missing(geoms).sum() > sum(raw is None for raw in batch.wkb):
            for i, (raw, g) in enumerate(zip(batch.wkb, geoms, strict=True)):
                if raw is not None and g is None:
                    errors[i] = FieldError("geometry", "unreadable", "the geometry cannot be read (corrupt WKB)")
        if self.decision is None:
            return geoms, errors, False
        stored = to_storage(geoms, self.decision, errors)
        return stored, errors, stored is not geoms


def to_storage(
    geoms: npt.NDArray[np.object_], decision: CrsDecision, errors: dict[int, FieldError]
) -> npt.NDArray[np.object_]:
    """Geometries from the source CRS (and axis order) to EPSG:4490 lon/lat degrees.

    Rows whose coordinates cannot be transformed become None with an entry in ``errors``.
    """
    crs = decision.crs
    swap = decision.swap_xy
    identity = crs.offset is None and crs.srid in (STORAGE_SRID, 4326)

    def move(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        xs, ys = (coords[:, 1], coords[:, 0]) if swap else (coords[:, 0], coords[:, 1])
        if not identity:
            xs, ys = transform_xy(xs, ys, src=crs, dst_srid=STORAGE_SRID)
        return np.column_stack([xs, ys])

    if identity and not swap:
        return geoms
    try:
        return np.asarray(shapely.transform(geoms, move), dtype=object)
    except SpatialError:
        out = np.empty(len(geoms), dtype=object)
        for i, g in enumerate(geoms):
            try:
                out[i] = None if g is None else shapely.transform(g, move)
            except SpatialError as exc:
                out[i] = None
                errors[i] = FieldError("geometry", "out-of-range", str(exc))
        return out


def _depths(ground: list[Any], pipe: list[Any]) -> list[Any]:
    out: list[Any] = []
    for g, p in zip(ground, pipe, strict=True):
        gv, pv = number_in(g, unit=None, target_unit=None), number_in(p, unit=None, target_unit=None)
        if isinstance(gv, float | int) and isinstance(pv, float | int):
            out.append(round(float(gv) - float(pv), 3))
        else:
            out.append(None)
    return out


def _derive(
    spec: FieldSpec, values: dict[str, list[Any]], geoms: npt.NDArray[np.object_], n: int,
    raw: dict[str, list[Any]],
) -> list[Any] | None:
    if spec.template:
        return _fill_template(spec.template, values, raw, n)
    if spec.when_present:
        column = values.get(spec.when_present)
        return None if column is None else [spec.value if v is not None else None for v in column]
    if spec.slice_of and spec.slice:
        column = values.get(spec.slice_of)
        a, b = spec.slice
        return None if column is None else [str(v)[a:b] if v is not None else None for v in column]
    if spec.geodesic_area:
        return [round(abs(_GEOD.geometry_area_perimeter(g)[0]), 2) if g is not None and g.area > 0 else None
                for g in geoms]
    return None


def _fill_template(template: str, values: dict[str, list[Any]], raw: dict[str, list[Any]], n: int) -> list[Any]:
    """``"{start_point}-{end_point}"`` per row, from layer fields or else source columns; None if one is empty."""
    names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    columns = {name: values.get(name) or raw.get(name) or [None] * n for name in names}
    out: list[Any] = []
    for i in range(n):
        row = {name: columns[name][i] for name in names}
        empty = any(v is None for v in row.values())
        out.append(None if empty else template.format(**{k: text_of(v) for k, v in row.items()}))
    return out
