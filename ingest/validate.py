"""Column-wise validation with exactly the rules and messages of the single-feature write path.

:func:`layers.schema.validate_properties` and :func:`spatial.geometry.check_geometry`
judge one feature at a time. A delivery has up to millions, so here:

* each field's values go through the same coercion and checks
  (``layers.schema._coerce``/``_check_value``), memoised per distinct value;
* cross-field rules run per row, only for rows whose fields all passed (as there);
* geometries are screened with vectorised GEOS calls, and any geometry that is not
  plainly fine goes through ``check_geometry`` itself for its exact verdict.

tests/ingest/test_validate_equivalence.py proves both agree on random input.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from layers.errors import FieldError
from layers.rules import run_rules
from layers.schema import FieldDef, LayerSchema, _check_value, _coerce
from spatial.geometry import CHANGSHA_BBOX_4490, check_geometry

_SINGLE = {"Point": 0, "LineString": 1, "Polygon": 3}
_MULTI = {"MultiPoint": (4, "Point"), "MultiLineString": (5, "LineString"), "MultiPolygon": (6, "Polygon")}
_WKB_TYPE = {"MultiPoint": 4, "MultiLineString": 5, "MultiPolygon": 6}
_MEMO_LIMIT = 200_000


class _FieldJudge:
    """One field's verdicts, remembered per distinct delivered value (text values keyed by themselves;
    others by type too, since 1, 1.0 and True are equal keys but not equal inputs)."""

    def __init__(self, f: FieldDef) -> None:
        self.f = f
        self.by_text: dict[str, tuple[Any, FieldError | None]] = {}
        self.by_value: dict[tuple[type, Any], tuple[Any, FieldError | None]] = {}
        empty_error = FieldError(f.name, "required", "is required and cannot be empty") if f.required else None
        self.empty: tuple[Any, FieldError | None] = (None, empty_error)
        # Free text with no constraint: any str is its own clean value (names, addresses, ids).
        self.plain_text = f.type == "string" and not (f.max_length or f.pattern or f.check)
        # Measurements (heights, depths) are mostly distinct, so memoising them does not pay;
        # numpy checks the range of a whole column at once.
        self.numeric = f.type in ("number", "integer") and f.enum is None and f.codelist is None and f.check is None

    def _numeric_column(self, values: list[Any]) -> tuple[list[Any], list[tuple[int, FieldError]]] | None:
        """Vectorised range check for plain numeric columns, or None to take the per-value path.

        Only exact Python ints/floats (and None) qualify, so coercion is the identity (ints stay
        ints; floats in a number field become floats); anything numpy flags is re-judged by
        ``_fresh`` for the exact message.
        """
        kinds = set(map(type, values))
        allowed = {int, type(None)} if self.f.type == "integer" else {int, float, type(None)}
        if not kinds <= allowed:
            return None
        n = len(values)
        missing = np.fromiter((v is None for v in values), dtype=bool, count=n)
        arr = np.array([0 if v is None else v for v in values], dtype=np.float64)
        with np.errstate(invalid="ignore"):
            flagged = ~np.isfinite(arr)
            if self.f.minimum is not None:
                flagged |= arr < self.f.minimum
            if self.f.maximum is not None:
                flagged |= arr > self.f.maximum
        flagged &= ~missing
        if self.f.type == "number" and int in kinds:
            out: list[Any] = [None if v is None else float(v) for v in values]
        else:
            out = list(values)
        bad: list[tuple[int, FieldError]] = []
        empty_value, empty_error = self.empty
        if missing.any():
            for i in np.flatnonzero(missing):
                out[i] = empty_value
                if empty_error is not None:
                    bad.append((int(i), empty_error))
        for i in np.flatnonzero(flagged):
            value, problem = self._fresh(values[i])
            out[i] = value
            if problem is not None:
                bad.append((int(i), problem))
        bad.sort(key=lambda item: item[0])
        return out, bad

    def column(self, values: list[Any]) -> tuple[list[Any], list[tuple[int, FieldError]]]:
        """(clean values, (row index, error) for each value that fails)."""
        by_text, by_value, empty = self.by_text, self.by_value, self.empty
        out: list[Any] = []
        bad: list[tuple[int, FieldError]] = []
        if self.plain_text and all(type(v) is str for v in values):
            return list(values), bad
        if self.numeric:
            fast = self._numeric_column(values)
            if fast is not None:
                return fast
        for i, raw in enumerate(values):
            if raw is None:
                hit = empty
            elif type(raw) is str:
                hit = by_text.get(raw) or self._text(raw)
            else:
                try:
                    hit = by_value.get((type(raw), raw)) or self._other(raw)
                except TypeError:
                    hit = self._fresh(raw)
            out.append(hit[0])
            if hit[1] is not None:
                bad.append((i, hit[1]))
        return out, bad

    def _text(self, raw: str) -> tuple[Any, FieldError | None]:
        hit = self.empty if raw.strip() == "" and self.f.type != "string" else self._fresh(raw)
        if len(self.by_text) < _MEMO_LIMIT:
            self.by_text[raw] = hit
        return hit

    def _other(self, raw: Any) -> tuple[Any, FieldError | None]:
        hit = self._fresh(raw)
        if len(self.by_value) < _MEMO_LIMIT:
            self.by_value[(type(raw), raw)] = hit
        return hit

    def _fresh(self, raw: Any) -> tuple[Any, FieldError | None]:
        value, problem = _coerce(self.f, raw)
        if problem is None:
            problem = _check_value(self.f, value)
        return (None, problem) if problem is not None else (value, None)


class PropertyValidator:
    """Validates mapped columns for one layer schema (judges are kept across batches)."""

    def __init__(self, schema: LayerSchema) -> None:
        self.schema = schema
        self._judges = {f.name: _FieldJudge(f) for f in schema.fields}

    def validate(
        self, values: dict[str, list[Any]], n: int
    ) -> tuple[dict[str, list[Any]], dict[int, list[FieldError]]]:
        """(clean columns, errors by row index). Absent fields behave as absent properties."""
        errors: dict[int, list[FieldError]] = {}
        clean: dict[str, list[Any]] = {}
        for f in self.schema.fields:
            column = values.get(f.name)
            if column is None:
                if f.required:
                    for i in range(n):
                        errors.setdefault(i, []).append(FieldError(f.name, "required", "is required"))
                continue
            clean[f.name], bad = self._judges[f.name].column(column)
            for i, problem in bad:
                errors.setdefault(i, []).append(problem)
        if self.schema.rules:
            names = list(clean)
            for i in range(n):
                if i in errors:
                    continue
                problems = run_rules(self.schema.rules, {k: clean[k][i] for k in names})
                if problems:
                    errors[i] = problems
        return clean, errors


def _wrap_multi(wkb: bytes, target: str) -> bytes:
    """WKB of ``MULTI(part)`` from a single part's WKB: same bytes, one header more."""
    return b"\x01" + struct.pack("<II", _WKB_TYPE[target], 1) + wkb


def check_geometries(
    geoms: npt.NDArray[np.object_], *, target: str, make_valid: bool = False,
    bbox_4490: tuple[float, float, float, float] | None = CHANGSHA_BBOX_4490,
    source_wkb: Sequence[bytes | None] | None = None,
) -> tuple[list[bytes | None], dict[int, list[FieldError]], dict[int, list[str]]]:
    """:func:`check_geometry` over an array of EPSG:4490 geometries.

    ``source_wkb``, when ``geoms`` were parsed from it untransformed, lets a clean 2D geometry
    keep its delivered bytes (little-endian WKB of the target type, or of its part wrapped as a
    one-part multi) instead of being encoded again: the same bytes, a second less per million.

    Returns:
        (2D WKB to store or None, errors by row index, repairs by row index).
    """
    n = len(geoms)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    flat = geoms.copy()
    has_z = np.zeros(n, dtype=bool)
    has_z[present] = shapely.has_z(geoms[present])
    if has_z.any():
        flat[has_z] = shapely.force_2d(geoms[has_z])
    bounds = np.full((n, 4), np.nan)
    bounds[present] = shapely.bounds(flat[present])
    with np.errstate(invalid="ignore"):
        in_range = (bounds[:, 0] >= -180) & (bounds[:, 2] <= 180) & (bounds[:, 1] >= -90) & (bounds[:, 3] <= 90)
        if bbox_4490 is not None:
            in_city = ((bounds[:, 0] >= bbox_4490[0]) & (bounds[:, 2] <= bbox_4490[2])
                       & (bounds[:, 1] >= bbox_4490[1]) & (bounds[:, 3] <= bbox_4490[3]))
        else:
            in_city = np.ones(n, dtype=bool)
    type_ids = shapely.get_type_id(flat)
    single_id = _SINGLE.get(target)
    promote_from = _SINGLE.get(_MULTI[target][1]) if target in _MULTI else None
    same = type_ids == shapely.GeometryType[_upper(target)].value
    promote = type_ids == promote_from if promote_from is not None else np.zeros(n, dtype=bool)
    demote = np.zeros(n, dtype=bool)
    if single_id is not None:
        multi_id = {0: 4, 1: 5, 3: 6}[single_id]
        demote = (type_ids == multi_id) & (shapely.get_num_geometries(flat) == 1)
    screened = present & in_range & in_city & (same | promote | demote)
    valid = np.zeros(n, dtype=bool)
    valid[screened] = shapely.is_valid(flat[screened])
    clean = screened & valid
    wkb: list[bytes | None] = [None] * n
    errors: dict[int, list[FieldError]] = {}
    repairs: dict[int, list[str]] = {}
    out = flat.copy()
    if demote.any():
        pick = clean & demote
        out[pick] = shapely.get_geometry(flat[pick], 0)
    encode = clean.copy()
    if source_wkb is not None:
        _reuse_source(source_wkb, clean & ~has_z & ~demote, promote, target, wkb, encode)
    encoded = np.empty(n, dtype=object)
    if encode.any():
        encoded[encode] = shapely.to_wkb(out[encode], output_dimension=2)
    for i in np.flatnonzero(encode):
        raw = bytes(encoded[i])
        wkb[i] = _wrap_multi(raw, target) if promote[i] else raw
    for i in np.flatnonzero(~clean):
        geom, problems, fixed = check_geometry(geoms[i], target=target, bbox_4490=bbox_4490, make_valid=make_valid)
        if problems:
            errors[int(i)] = [FieldError("geometry", p.code, p.message) for p in problems]
        elif geom is not None:
            wkb[i] = shapely.to_wkb(geom, output_dimension=2)
        if fixed:
            repairs[int(i)] = fixed
    return wkb, errors, repairs


def _reuse_source(
    source_wkb: Sequence[bytes | None], usable: npt.NDArray[np.bool_], promote: npt.NDArray[np.bool_], target: str,
    wkb: list[bytes | None], encode: npt.NDArray[np.bool_],
) -> None:
    """Put the delivered bytes of ``usable`` rows in ``wkb`` when they are plain little-endian 2D WKB
    (no SRID, Z or M flags) of the target type or of its part; those rows need no encoding."""
    code = shapely.GeometryType[_upper(target)].value
    same = b"\x01" + struct.pack("<I", code)
    part = b"\x01" + struct.pack("<I", _SINGLE[_MULTI[target][1]]) if target in _MULTI else None
    for i in map(int, np.flatnonzero(usable)):
        raw = source_wkb[i]
        if raw is None:
            continue
        head = raw[:5]
        if head == same and not promote[i]:
            wkb[i] = raw
        elif head == part and promote[i]:
            wkb[i] = _wrap_multi(raw, target)
        else:
            continue
        encode[i] = False


def _upper(name: str) -> str:
    return {"Point": "POINT", "LineString": "LINESTRING", "Polygon": "POLYGON", "MultiPoint": "MULTIPOINT",
            "MultiLineString": "MULTILINESTRING", "MultiPolygon": "MULTIPOLYGON"}[name]


def merge_errors(*groups: dict[int, list[FieldError]]) -> dict[int, list[FieldError]]:
    """Errors by row index from several checks, every row's errors together."""
    out: dict[int, list[FieldError]] = {}
    for group in groups:
        for i, errs in group.items():
            out.setdefault(i, []).extend(errs)
    return out
