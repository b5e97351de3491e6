"""One delivery's steps: plan the sources → read, map, validate → COPY into staging → check in SQL → merge.

:class:`Delivery` holds the state of one run on one connection; :func:`ingest.run.run_delivery`
runs its steps inside one transaction and decides what the report says. A layer's initial load
(no current feature, a big delivery) skips staging: each batch is written as it is validated
(:mod:`layers.initial_load`), so PostgreSQL works while the next batch is read.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import numpy as np
import shapely

from ingest import checks, routing
from ingest.errors import TargetError
from ingest.fingerprint import Skipper, row_hashes, salt_of
from ingest.hooks import ROUTED_JOBS, check_hooks
from ingest.inference import Hints
from ingest.inputs import Input
from ingest.mapping import BatchMapper, Mapped
from ingest.merge import changed_sample, merge_stages
from ingest.profiles import IDENTITY, Resolved, choose_profile, load_profile, resolve
from ingest.progress import Progress
from ingest.readers.base import Batch, ReadOptions, read_ahead
from ingest.readers.formats import open_source
from ingest.report import MAP_SAMPLE, Report
from ingest.request import Request
from ingest.staged import CheckView, Found, Stage, drop_rows, staged_rows
from ingest.targets import layer_id, part_of
from ingest.validate import PropertyValidator, check_geometries, merge_errors
from layers import bulk, initial_load
from layers.errors import FieldError
from layers.model import Layer
from layers.registry import Registry
from spatial.survey import decide_crs, describe

ROW_BASE = 10_000_000_000  # staging row_no = source index × ROW_BASE + source row


class Delivery:
    """Runs one :class:`Request` on one connection; the report fills in as it goes."""

    def __init__(self, conn: asyncpg.Connection, request: Request, registry: Registry, report: Report) -> None:
        self.conn = conn
        self.request = request
        self.registry = registry
        self.report = report
        self.inputs: list[Input] = []
        self.stages: dict[str, Stage] = {}
        self.points = routing.PointIndex()
        self.hints = Hints()
        self.found: dict[str, Found] = {}
        self.skippers: dict[str, Skipper | None] = {}
        self._copying: asyncio.Task[int] | None = None
        self.salts: dict[tuple[int, str], bytes] = {}
        self.progress = Progress(enabled=request.progress)
        self.changeset_id: int | None = None  # set by the runner before any row is read
        self.loads: dict[str, initial_load.InitialLoad] = {}  # layers written while read (initial loads)

    # --- planning -----------------------------------------------------------------------------

    def plan(self) -> None:
        """Open every source and decide its part (for routed jobs such as pipelines) and target.

        Raises:
            IngestError: when a source cannot be read, or the rows have no layer to go to.
        """
        req = self.request
        routed = req.job in ROUTED_JOBS
        if not routed:
            target = req.target_layer
            if target is None:
                raise TargetError("say which layer to import into with --layer (onemap import generic --layer …)")
            layer = self.registry.get(target)
            if not layer.is_vector:
                raise TargetError(f"{target} is a raster layer; raster layers are not imported row by row")
            if req.mode != "append" and not layer.attributes.key:
                raise TargetError(f"{target} has no key field, so --mode {req.mode} cannot match features; "
                                  "use --mode append")
        for spec in req.sources:
            options = ReadOptions(layer=spec.layer, encoding=req.encoding, x_column=req.x_column,
                                  y_column=req.y_column)
            for src in open_source(spec.path, options):
                item = Input(len(self.inputs), src)
                if routed:
                    item.part = spec.part or part_of(src.geometry_type, src.fields)
                    if item.part is None:
                        raise TargetError(f"{src.label}: cannot tell whether it holds pipe segments or points; "
                                          "pass it as --segments or --points")
                self.inputs.append(item)
                self.report.sources.append(src.describe())
        if routed:
            self.inputs.sort(key=lambda i: i.part != "points")  # points first: segments refer to them

    def _target_kind(self, item: Input) -> str:
        return f"pipeline_{item.part}" if item.part else (self.request.target_layer or "")

    def _template(self, item: Input) -> Layer:
        if item.part:
            return self.registry.get(layer_id("water", item.part))
        return self.registry.get(self.request.target_layer or "")

    def _resolve(self, item: Input, layer: Layer) -> Resolved:
        """The item's profile (chosen once, on first use) applied to ``layer``'s fields."""
        if item.profile is None:
            item.profile = (load_profile(self.request.profile) if self.request.profile
                            else choose_profile(self._target_kind(item), self._template(item).attributes,
                                                item.source.fields))
            if item.profile is IDENTITY and item.part:
                # Pipeline tables in our own field names still want the CJJ 61 defaults and CAD layer names.
                item.profile = load_profile(f"cjj61_{item.part}")
            self.report.sources[item.index]["profile"] = item.profile.name
        constants = {k: v for k, v in self.request.constants.items() if layer.attributes.field(k) is not None}
        return resolve(item.profile, layer.attributes, item.source.fields, renames=self.request.renames,
                       constants=constants)

    def peek_columns(self, item: Input) -> Resolved:
        """Which column feeds which field of the item's template layer, before its CRS is decided."""
        return self._resolve(item, self._template(item))

    def resolved_for(self, item: Input, layer: Layer) -> Resolved:
        """The item's mapping to ``layer``, with its batch mapper (call once the item's CRS is decided)."""
        if layer.id not in item.resolved:
            resolved = item.resolved[layer.id] = self._resolve(item, layer)
            lacking = [f.name for f in layer.attributes.fields
                       if f.required and not resolved.provides(f.name) and f.name not in ("category", "subcategory")]
            if lacking:
                self.report.warnings.append(
                    f"{item.source.label} → {layer.id}: no column for required field(s) {', '.join(lacking)}; "
                    "map them with --map COLUMN=FIELD or give a value with --set FIELD=VALUE"
                )
            item.mappers[layer.id] = BatchMapper(layer.attributes, resolved, item.decision)
        return item.resolved[layer.id]

    def _decide_crs(self, item: Input, first: Batch) -> None:
        src = item.source
        geoms = shapely.from_wkb(np.array([w for w in first.wkb if w is not None], dtype=object), on_invalid="ignore")
        coords = shapely.get_coordinates(geoms[~shapely.is_missing(geoms)]) if len(geoms) else np.empty((0, 2))
        if len(coords) == 0:
            return  # a table without coordinates (segments drawn from their points)
        item.decision = decide_crs(coords[:, 0], coords[:, 1], given=self.request.crs,
                                   declared=src.declared_crs, xy_order=self.request.xy_order)
        self.report.sources[item.index]["crs"] = describe(item.decision)

    # --- staging ------------------------------------------------------------------------------

    async def _skipper(self, item: Input, layer: Layer) -> Skipper | None:
        """Fingerprinting for single-key layers fed straight from a column (not pipelines, whose rows
        are routed and completed across layers); skipping unchanged rows only in upsert mode."""
        if layer.id not in self.skippers:
            key = layer.attributes.key
            usable = (item.part is None and len(key) == 1
                      and item.mappers[layer.id].key_values(_EMPTY_BATCH, key[0]) is not None)
            self.skippers[layer.id] = (
                await Skipper.load(self.conn, layer=layer, key_field=key[0], skipping=self.request.mode == "upsert")
                if usable else None
            )
        skipper = self.skippers[layer.id]
        if skipper is not None and (item.index, layer.id) not in self.salts:
            self.salts[(item.index, layer.id)] = salt_of({
                "layer": layer.id, "mapping": item.resolved[layer.id].describe(),
                "crs": describe(item.decision) if item.decision else None, "make_valid": self.request.make_valid,
                "encoding": item.source.encoding.name if item.source.encoding else None,
            })
        return skipper

    async def _stage_for(self, layer: Layer) -> Stage:
        stage = self.stages.get(layer.id)
        if stage is None:
            staging = await bulk.create_staging(self.conn, layer,
                                                fingerprints=self.skippers.get(layer.id) is not None)
            stage = self.stages[layer.id] = Stage(layer, staging, PropertyValidator(layer.attributes))
        return stage

    async def run_inputs(self) -> None:
        """Read, map, validate and stage every row of every input (pipeline tables: points first)."""
        if routing.needs_hints(self, self.inputs):
            # Categories missing from some table may be told by the others: read them once for that.
            self.hints = await asyncio.to_thread(routing.gather_hints, self, self.inputs)
        total = sum(i.source.count or 0 for i in self.inputs) or None
        self.progress.start(total)
        for item in self.inputs:
            first = True
            async for batch in read_ahead(item.source.batches()):
                if first:
                    self._decide_crs(item, batch)
                    first = False
                await self._batch(item, batch)
                self.report.rows_read += len(batch)
                self.progress.advance(len(batch))
        await self._flush_copy()
        self.progress.close()

    async def _flush_copy(self) -> None:
        """Wait for the COPY in flight: the connection carries one statement at a time."""
        if self._copying is not None:
            task, self._copying = self._copying, None
            await task

    async def _batch(self, item: Input, batch: Batch) -> None:
        if item.part is not None:
            await self._flush_copy()  # routing and completion query the database
            groups, routes = routing.route_batch(self, item, batch)
        else:
            groups, routes = {self.request.target_layer or "": list(range(len(batch)))}, {}
        for target, indices in groups.items():
            if not indices:
                continue
            layer = self.registry.get(target)
            sub = batch if len(indices) == len(batch) else batch.subset(indices)
            self.resolved_for(item, layer)
            if layer.id not in self.stages:
                await self._flush_copy()  # the first batch for a layer creates its staging table
                await self._skipper(item, layer)
                await self._begin_initial_load(await self._stage_for(layer))
            skipper, stage = await self._skipper(item, layer), self.stages[layer.id]
            if item.part:
                mapped = item.mappers[layer.id].map(sub)
                sub_routes = {i: routes[row] for i, row in enumerate(indices)}
                await routing.complete(self, item, layer, mapped, sub_routes)
                records = self._records(item, layer, stage, mapped, None)
            else:
                # Mapping and validating the next batch in a worker thread lets PostgreSQL
                # digest the previous batch's COPY on the other core meanwhile.
                records = await asyncio.to_thread(self._prepare, item, layer, stage, skipper, sub)
            await self._copy(item, stage, records)

    async def _begin_initial_load(self, stage: Stage) -> None:
        """Write this layer's rows batch by batch while reading, when the delivery is its initial load.

        Only where every reason to reject a row is known before it is staged: duplicate keys are
        caught while reading (a single-column key: :class:`Skipper`), missing keys too (below), the
        layer has no current feature to clash with, and the job has no check hooks of its own.
        """
        req, layer = self.request, stage.layer
        if (req.mode not in ("upsert", "append") or self.skippers.get(layer.id) is None or check_hooks(req.job)
                or self.changeset_id is None):
            return
        rows = sum(i.source.count or 0 for i in self.inputs)
        load = await initial_load.begin(self.conn, stage.staging, rows=rows, changeset_id=self.changeset_id,
                                        valid_from=req.valid_from)
        if load is not None:
            self.loads[layer.id] = load

    def _prepare(self, item: Input, layer: Layer, stage: Stage, skipper: Skipper | None,
                 batch: Batch) -> list[tuple[Any, ...]]:
        hashes: list[bytes] | None = None
        if skipper is not None:
            batch, hashes = self._skip_unchanged(item, layer, skipper, batch)
            if not len(batch):
                return []
        mapped = item.mappers[layer.id].map(batch)
        return self._records(item, layer, stage, mapped, hashes)

    def _skip_unchanged(self, item: Input, layer: Layer, skipper: Skipper, batch: Batch) -> tuple[Batch, list[bytes]]:
        """The rows of ``batch`` that need mapping, with their fingerprints; counts and rejects the rest."""
        keys = item.mappers[layer.id].key_values(batch, skipper.key_field)
        assert keys is not None
        hashes = row_hashes(batch.wkb, batch.columns, self.salts[(item.index, layer.id)])
        base = item.index * ROW_BASE
        keep, rejected = skipper.split(keys, hashes, [base + r for r in batch.row_no])
        counts = self.report.layer(layer.id)
        counts.read += len(batch) - len(keep)
        for i, staged_no, errors, key in rejected:
            index, row = divmod(staged_no, ROW_BASE)
            attributes = {k: v[i] for k, v in batch.columns.items()} if i >= 0 else None
            self.report.reject(source=self.inputs_by_index(index).source.label, row=row, target=layer.id,
                               errors=errors, key=key, attributes=attributes)
        if len(keep) == len(batch):
            return batch, hashes
        return batch.subset(keep), [hashes[i] for i in keep]

    def _records(self, item: Input, layer: Layer, stage: Stage, mapped: Mapped,
                 hashes: list[bytes] | None) -> list[tuple[Any, ...]]:
        """Validate a mapped batch; report what fails; return the COPY records of what passes."""
        n = len(mapped)
        clean, prop_errors = stage.validator.validate(mapped.values, n)
        assert layer.geometry_type is not None
        wkb, geom_errors, repairs = check_geometries(mapped.geoms, target=layer.geometry_type,
                                                    make_valid=self.request.make_valid, source_wkb=mapped.source_wkb)
        geom_errors.update({i: [e] for i, e in mapped.geom_errors.items()})
        errors = merge_errors(geom_errors, prop_errors)
        if layer.id in self.loads and self.request.mode != "append":
            # Written before the checks run: the check for a missing key (checks.missing_keys) runs here.
            key = layer.attributes.key
            keys = zip(*(clean.get(k, [None] * n) for k in key), strict=True)
            errors.update({i: [checks.missing_key_error(key, self.request.mode)]
                           for i, values in enumerate(keys) if i not in errors and None in values})
        label = item.source.label
        for i, messages in repairs.items():
            self.report.repairs.append({"source": label, "row": mapped.row_no[i], "target": layer.id,
                                        "repairs": messages})
        base = item.index * ROW_BASE
        nothing = [None] * n
        columns = [clean.get(f.name, nothing) for f in layer.attributes.fields]
        extra = [hashes] if stage.staging.fingerprints and hashes is not None else (
            [nothing] if stage.staging.fingerprints else [])
        load = self.loads.get(layer.id)
        if load is not None:
            ok = np.array([i not in errors for i in range(n)], dtype=bool) if errors else np.ones(n, dtype=bool)
            x0, y0, x1, y1 = map(float, shapely.total_bounds(mapped.geoms[ok]))
            box = (x0, y0, x1, y1) if ok.any() else None
            records = load.rows(wkb, columns, hashes or nothing, box)
        else:
            records = list(zip([base + r for r in mapped.row_no], wkb, nothing, *columns, *extra, strict=True))
        if errors:
            for i in sorted(errors):
                self._reject(item, layer, mapped, i, errors[i])
            records = [r for i, r in enumerate(records) if i not in errors]
        self.report.layer(layer.id).read += n
        if records and item.part == "points":
            self.points.add_staged(layer.id, clean, mapped, errors)
        return records

    async def _copy(self, item: Input, stage: Stage, records: list[tuple[Any, ...]]) -> None:
        if not records:
            return
        await self._flush_copy()
        stage.rows += len(records)
        load = self.loads.get(stage.layer.id)
        self._copying = asyncio.create_task(initial_load.load_batch(self.conn, load, records) if load is not None
                                            else bulk.copy_rows(self.conn, stage.staging, records))

    def _reject(self, item: Input, layer: Layer | None, mapped: Mapped, i: int, errors: list[FieldError]) -> None:
        geom = mapped.geoms[i]
        geojson = None
        if geom is not None and self.report.mapped_rejections() < MAP_SAMPLE and _in_degrees(geom):
            geojson = shapely.geometry.mapping(geom)
        key_field = layer.attributes.key[0] if layer and layer.attributes.key else None
        key = mapped.values.get(key_field, [None] * len(mapped))[i] if key_field else None
        self.report.reject(
            source=item.source.label, row=mapped.row_no[i], target=layer.id if layer else None, errors=errors,
            key=None if key is None else str(key), attributes={k: v[i] for k, v in mapped.raw.items()},
            geometry=geojson,
        )

    def reject_unrouted(self, item: Input, batch: Batch, i: int, message: str, code: str = "category") -> None:
        """Report row ``i`` of ``batch`` as rejected before it reached any layer (its category)."""
        mapped = Mapped(batch.row_no, {}, np.array([None] * len(batch), dtype=object), {}, batch.columns)
        self._reject(item, None, mapped, i, [FieldError("category", code, message)])

    # --- checks and merge -----------------------------------------------------------------------

    async def check(self) -> None:
        """Set-based checks on the staged rows; rejected rows leave staging."""
        req = self.request
        rejected_before: dict[str, set[str]] = {}
        for r in self.report.rejections:
            if r.target is not None and r.key is not None:
                rejected_before.setdefault(r.target, set()).add(r.key)
        # Layers written while read were checked while read: their staging tables are empty.
        staged = {k: v for k, v in self.stages.items() if k not in self.loads}
        view = CheckView(self.conn, self.registry, staged, req.mode, req.valid_from, req.snap_tolerance_m,
                         rejected_before=rejected_before)
        found = await checks.run_all(view, req.job)
        for target_id, skipper in self.skippers.items():
            stage = self.stages.get(target_id)
            if skipper is None or not skipper.forced or stage is None:
                continue
            already = {r[0] for r in found.get(target_id, [])}
            dropped = [(row_no, key) for row_no, key in skipper.forced if row_no not in already]
            present = await self._drop_forced(stage, skipper, dropped)
            stage.rows -= len(present)
            found.setdefault(target_id, []).extend(
                (row_no, [FieldError(skipper.key_field, "duplicate",
                                     f"{skipper.key_field} {key!r} appears more than once in the delivery")], key)
                for row_no, key in dropped if row_no in present)
        for stage_id, rows in found.items():
            for row_no, errors, key in rows:
                index, row = divmod(row_no, ROW_BASE)
                self.report.reject(source=self.inputs_by_index(index).source.label, row=row, target=stage_id,
                                   errors=errors, key=key)

    async def _drop_forced(self, stage: Stage, skipper: Skipper, dropped: list[tuple[int, str]]) -> set[int]:
        """Take the first rows of keys met twice out of staging (or out of the layer, for an initial
        load written while read); returns the row numbers of those that were there."""
        load = self.loads.get(stage.layer.id)
        if load is None:
            present = set(await staged_rows(self.conn, stage.staging, [r for r, _ in dropped]))
            await drop_rows(self.conn, stage.staging, list(present))
            return present
        found = set(await initial_load.withdraw(self.conn, load, key_field=skipper.key_field,
                                                keys=[key for _, key in dropped]))
        return {row_no for row_no, key in dropped if key in found}

    def inputs_by_index(self, index: int) -> Input:
        """The input whose staged row numbers start at ``index`` × ROW_BASE."""
        return next(i for i in self.inputs if i.index == index)

    async def merge(self, changeset_id: int) -> None:
        """Merge every staging table into its layer; the report gets the counts and the changed sample."""
        skipped = {k: s.skipped for k, s in self.skippers.items() if s is not None}
        await merge_stages(self.conn, stages=self.stages, skipped=skipped, report=self.report,
                           mode=self.request.mode, valid_from=self.request.valid_from, changeset_id=changeset_id,
                           loads=self.loads)
        self.report.changed_sample = await changed_sample(self.conn, registry=self.registry,
                                                          changeset_id=changeset_id)


_EMPTY_BATCH = Batch([], [], {})


def _in_degrees(geom: Any) -> bool:
    minx, miny, maxx, maxy = geom.bounds
    return bool(-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90)
