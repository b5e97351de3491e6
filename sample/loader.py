"""Load the sample Changsha city: once, in one transaction, through the versioned write path.

``onemap db load-sample`` and ``onemap demo`` call :func:`load_sample`. A marker
changeset (``source='sample'``, ``details.role='marker'``) records that the city is
loaded; a second call finds it and does nothing. Any failure rolls everything back.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from cases.backfill import allow_bulk_history, backfill_events
from layers.db import connect
from layers.errors import LayerError
from layers.registry import Registry
from sample import sources
from sample.build import SampleBuild, sample_city
from sample.cases import case_plans
from sample.context import SAMPLE_VERSION, Area, Bbox
from sample.writer import Changesets, Plan, write_layer
from spatial.geometry import CHANGSHA_BBOX_4490

# Any constant works; it only has to be the same for every loader process.
_LOCK_KEY = 0x0E3A9_5A3D


class InvalidSampleBbox(LayerError):
    status = 400
    type_slug = "invalid-sample-bbox"
    title = "The sample bbox is not a lon/lat box inside Changsha"


@dataclass(slots=True)
class SampleReport:
    """What a load did. ``counts``: layer id → (current features, total versions) in the database."""

    skipped: bool
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    seconds: float = 0.0
    sample_version: str = SAMPLE_VERSION
    bbox: Bbox | None = None
    rasters: dict[str, list[str]] = field(default_factory=dict)


Step = Callable[[SampleBuild], Awaitable[dict[str, list[Plan]]]]


@dataclass(frozen=True, slots=True)
class _Progress:
    enabled: bool
    started: float = field(default_factory=time.monotonic)

    def say(self, message: str) -> None:
        if self.enabled:
            print(f"[sample {time.monotonic() - self.started:6.1f} s] {message}", file=sys.stderr, flush=True)


def _check_bbox(bbox: Bbox | None) -> Bbox | None:
    if bbox is None:
        return None
    x0, y0, x1, y1 = (float(v) for v in bbox)
    cx0, cy0, cx1, cy1 = CHANGSHA_BBOX_4490
    if not (x0 < x1 and y0 < y1 and cx0 <= x0 and x1 <= cx1 and cy0 <= y0 and y1 <= cy1):
        raise InvalidSampleBbox(
            f"bbox {bbox} must be (min lon, min lat, max lon, max lat) in EPSG:4490 degrees inside "
            f"Changsha {CHANGSHA_BBOX_4490}"
        )
    return (x0, y0, x1, y1)


async def sample_marker(conn: asyncpg.Connection) -> dict[str, Any] | None:
    """The details of the sample city's marker changeset, or None when no sample is loaded."""
    row = await conn.fetchrow(
        "SELECT details FROM onemap.changesets WHERE source = 'sample' AND details->>'role' = 'marker' "
        "ORDER BY id LIMIT 1"
    )
    return dict(row["details"]) if row else None


async def layer_counts(conn: asyncpg.Connection, registry: Registry) -> dict[str, tuple[int, int]]:
    """(current, all versions) for every built-in vector layer."""
    counts: dict[str, tuple[int, int]] = {}
    for layer in registry.vector_layers():
        if not layer.builtin:
            continue
        row = await conn.fetchrow(
            f"SELECT count(*) FILTER (WHERE valid_to IS NULL) AS cur, count(*) AS total FROM {layer.table}"  # noqa: S608
        )
        counts[layer.id] = (int(row["cur"]), int(row["total"]))
    return counts


def raster_epochs(registry: Registry, data_dir: Path) -> dict[str, list[str]]:
    """The registered GHSL raster layers' epochs, checked against the files they name.

    Raises:
        SampleDataMissing: when an epoch's file is absent.
    """
    out: dict[str, list[str]] = {}
    for layer in registry.all():
        if layer.kind != "raster" or layer.metadata.raster is None:
            continue
        for epoch in layer.metadata.raster.epochs:
            if not (data_dir / epoch.file).is_file():
                raise sources.SampleDataMissing(f"raster layer {layer.id}: {epoch.file} is missing under {data_dir}")
        out[layer.id] = [e.datetime.isoformat() for e in layer.metadata.raster.epochs]
    return out


async def load_sample(
    url: str,
    *,
    data_dir: Path,
    progress: bool = False,
    bbox: tuple[float, float, float, float] | None = None,
) -> SampleReport:
    """Load the sample city into the database at ``url`` unless it is already there.

    Args:
        url: PostgreSQL URL of a migrated One Map database.
        data_dir: The sample data folder (holding ``changsha/``), normally ``sample/data``.
        progress: Print each step and its timing to stderr.
        bbox: (min lon, min lat, max lon, max lat) in EPSG:4490 degrees: load only the
            features touching it — the same features, codes and history the full load has there.

    Raises:
        SampleDataMissing: when a source file is missing.
        InvalidSampleBbox: when ``bbox`` is not a lon/lat box inside Changsha.
        SampleInvalid: when a planned feature breaks its layer's schema (a loader bug).
    """
    started = time.monotonic()
    box = _check_bbox(bbox)
    sources.check_sources(data_dir)
    say = _Progress(progress)
    conn = await connect(url)
    try:
        registry = await Registry.load(conn)
        rasters = raster_epochs(registry, data_dir)
        if await sample_marker(conn) is None:
            # Generate (seconds of CPU) before the transaction opens, off the event loop.
            say.say("generating the sample city")
            await asyncio.to_thread(sample_city(data_dir).generate)
        async with conn.transaction():
            # Two loaders started together would both see no marker; the lock makes the second wait.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            marker = await sample_marker(conn)
            if marker is not None:
                say.say(f"already loaded (sample version {marker.get('sample_version')}); nothing to do")
                counts = await layer_counts(conn, registry)
                return SampleReport(skipped=True, counts=counts, seconds=time.monotonic() - started,
                                    sample_version=str(marker.get("sample_version")),
                                    bbox=tuple(marker["bbox"]) if marker.get("bbox") else None,
                                    rasters=rasters)
            changesets = await Changesets.open(conn, bbox=box)
            await allow_bulk_history(conn)  # the sample cases arrive with their whole history (cases/backfill.py)
            build = SampleBuild(data_dir=data_dir, area=Area(box))
            for step in STEPS:
                step_started = time.monotonic()
                planned = await step(build)
                for layer_id, plans in planned.items():
                    layer = registry.get(layer_id)
                    fids = await write_layer(conn, layer, plans, changesets)
                    build.fids[layer_id] = fids
                    versions = sum(len(p.versions) for p in plans)
                    say.say(f"{layer_id}: {len(plans)} features, {versions} versions")
                say.say(f"step {step.__name__} done in {time.monotonic() - step_started:.1f} s")
            say.say(f"case events: {await backfill_events(conn)}")
            await conn.execute("ANALYZE")
            counts = await layer_counts(conn, registry)
    finally:
        await conn.close()
    elapsed = time.monotonic() - started
    say.say(f"sample city loaded in {elapsed:.1f} s")
    return SampleReport(skipped=False, counts=counts, seconds=elapsed, bbox=box, rasters=rasters)


async def real_layers(build: SampleBuild) -> dict[str, list[Plan]]:
    """Boundaries, stations, power facilities, the Yuelu OSM roads and water, and the Xiang."""
    return build.real_layers()


async def buildings(build: SampleBuild) -> dict[str, list[Plan]]:
    """OSM buildings dated by GHSL age."""
    return {"buildings": build.buildings()}


async def streets(build: SampleBuild) -> dict[str, list[Plan]]:
    """The generated street grid, with its extensions."""
    return {"streets_sample": build.street_plans()}


async def grid(build: SampleBuild) -> dict[str, list[Plan]]:
    """Unit grid cells, with the re-coded 社区."""
    return {"grid_cells": build.grid_plans()}


async def landuse(build: SampleBuild) -> dict[str, list[Plan]]:
    """Land-use parcels at the three national land surveys."""
    return {"landuse": build.landuse_plans()}


async def pipelines(build: SampleBuild) -> dict[str, list[Plan]]:
    """The 18 pipeline layers."""
    return build.pipeline_plans()


async def components(build: SampleBuild) -> dict[str, list[Plan]]:
    """City components, linked to the pipeline points written by the previous step."""
    return {"city_components": build.component_plans()}


async def cases(build: SampleBuild) -> dict[str, list[Plan]]:
    """A year of 数字城管 cases on the grid cells and components written above (sample/cases.py)."""
    kept = build.kept.get("grid_cells", [])
    grid_plans = [build.city.grid_plans[i] for i in kept]
    share = len(kept) / max(1, len(build.city.grid_plans))
    return {"city_cases": case_plans(grid_plans, build.component_plans(), share=share)}


STEPS: list[Step] = [real_layers, buildings, streets, grid, landuse, pipelines, components, cases]
