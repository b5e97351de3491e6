"""Writing planned features through the versioned write path.

A generator describes each feature as a :class:`Plan`: its versions, oldest first,
and when (if ever) it was retired. The writer validates every version against the
registry schema, then writes round by round — first versions with
:func:`layers.bulk.insert_all`, later versions with :func:`layers.bulk.upsert_by_key`
(or :func:`layers.versioning.replace_feature` when a version changes the key) and
retirements with :func:`layers.versioning.retire_feature`. Nothing is inserted
into a layer table any other way, so history is exactly what the write path makes.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from shapely.geometry.base import BaseGeometry

from layers import bulk
from layers.errors import LayerError, ValidationFailed
from layers.model import Layer
from layers.versioning import FeatureIn, open_changeset, prepare, replace_feature, retire_feature
from sample.context import SAMPLE_VERSION, SEED

ACTOR = "onemap-sample"


class SampleInvalid(LayerError):
    """A generated or real sample feature broke its layer's schema: a bug in the loader."""

    status = 500
    type_slug = "sample-invalid"
    title = "The sample city does not match its layer schemas"


@dataclass(slots=True)
class Version:
    """One version of a planned feature: geometry in EPSG:4490 lon/lat, properties by field name.

    ``event`` names the change that made this version (its changeset note); the
    first version's event is the load itself.
    """

    valid_from: dt.datetime
    geometry: BaseGeometry
    properties: dict[str, Any]
    event: str | None = None


@dataclass(slots=True)
class Plan:
    """Every version of one feature, oldest first, and its retirement (valid_to of the last)."""

    versions: list[Version]
    retired_at: dt.datetime | None = None
    retire_event: str | None = None


@dataclass(slots=True)
class Changesets:
    """The load's changesets: one marker for first versions, one per named history event."""

    conn: asyncpg.Connection
    marker: int
    bbox: Sequence[float] | None
    _events: dict[str, int] = field(default_factory=dict)

    @classmethod
    async def open(cls, conn: asyncpg.Connection, *, bbox: Sequence[float] | None) -> Changesets:
        marker = await open_changeset(
            conn, actor=ACTOR, source="sample", note="示例城市：首次载入 (sample city load)",
            details={"role": "marker", "sample_version": SAMPLE_VERSION, "seed": SEED,
                     "bbox": list(bbox) if bbox is not None else None},
        )
        return cls(conn, marker, bbox)

    async def for_event(self, event: str | None) -> int:
        if event is None:
            return self.marker
        if event not in self._events:
            self._events[event] = await open_changeset(
                self.conn, actor=ACTOR, source="sample", note=event,
                details={"role": "history", "sample_version": SAMPLE_VERSION, "seed": SEED},
            )
        return self._events[event]


def _validated(layer: Layer, version: Version, label: str) -> tuple[bytes, dict[str, Any]]:
    try:
        wkb, props = prepare(layer, FeatureIn(version.geometry, version.properties))
    except ValidationFailed as exc:
        raise SampleInvalid(f"{layer.id} {label}: {exc}") from exc
    assert wkb is not None
    return wkb, props


def _key(layer: Layer, props: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(props.get(k) for k in layer.attributes.key)


def _check_plan(layer: Layer, plan: Plan, label: str) -> None:
    times = [v.valid_from for v in plan.versions]
    if not times or any(b < a for a, b in itertools.pairwise(times)):
        raise SampleInvalid(f"{layer.id} {label}: versions must be given oldest first")
    if plan.retired_at is not None and plan.retired_at < times[-1]:
        raise SampleInvalid(f"{layer.id} {label}: retired before its last version began")


async def write_layer(
    conn: asyncpg.Connection, layer: Layer, plans: Sequence[Plan], changesets: Changesets
) -> list[int]:
    """Write every plan; returns the fid of each plan, in order.

    Raises:
        SampleInvalid: when any version fails the layer's schema or the plan is out of order.
    """
    if not plans:
        return []
    fields = layer.attributes.names
    validated: list[list[tuple[bytes, dict[str, Any]]]] = []
    for i, plan in enumerate(plans):
        _check_plan(layer, plan, f"plan {i}")
        validated.append([_validated(layer, v, f"plan {i} version {n + 1}") for n, v in enumerate(plan.versions)])
    if layer.attributes.key:
        keys = [_key(layer, v[0][1]) for v in validated]
        if len(set(keys)) != len(keys):
            raise SampleInvalid(f"{layer.id}: two sample features share a key {layer.attributes.key}")

    fids = await _first_versions(conn, layer, plans, validated, fields, changesets)
    rounds = max(len(p.versions) for p in plans)
    for r in range(1, rounds):
        await _later_versions(conn, layer, plans, validated, fids, r, fields, changesets)
    for i, plan in enumerate(plans):
        if plan.retired_at is not None:
            await retire_feature(conn, layer=layer, fid=fids[i], valid_to=plan.retired_at,
                                 changeset_id=await changesets.for_event(plan.retire_event))
    return fids


def _record(n: int, v: Version, wkb: bytes, props: dict[str, Any], fields: list[str]) -> tuple[Any, ...]:
    return (n, wkb, v.valid_from, *[props.get(f) for f in fields])


async def _first_versions(
    conn: asyncpg.Connection, layer: Layer, plans: Sequence[Plan],
    validated: list[list[tuple[bytes, dict[str, Any]]]], fields: list[str], changesets: Changesets,
) -> list[int]:
    staging = await bulk.create_staging(conn, layer, suffix="_v1")
    await bulk.copy_rows(conn, staging, (
        _record(i, plan.versions[0], *validated[i][0], fields) for i, plan in enumerate(plans)
    ))
    await bulk.insert_all(conn, staging, changeset_id=changesets.marker, keep_fids=True)
    by_row = await bulk.fids_by_row(conn, staging)
    await bulk.drop_staging(conn, staging)
    return [by_row[i] for i in range(len(plans))]


async def _later_versions(
    conn: asyncpg.Connection, layer: Layer, plans: Sequence[Plan],
    validated: list[list[tuple[bytes, dict[str, Any]]]], fids: list[int], r: int, fields: list[str],
    changesets: Changesets,
) -> None:
    by_event: dict[str | None, list[int]] = defaultdict(list)
    rekeyed: list[int] = []
    for i, plan in enumerate(plans):
        if len(plan.versions) <= r:
            continue
        same_key = layer.attributes.key and _key(layer, validated[i][r][1]) == _key(layer, validated[i][r - 1][1])
        (by_event[plan.versions[r].event] if same_key else rekeyed).append(i)
    for event, members in by_event.items():
        staging = await bulk.create_staging(conn, layer, suffix=f"_v{r + 1}")
        await bulk.copy_rows(conn, staging, (
            _record(i, plans[i].versions[r], *validated[i][r], fields) for i in members
        ))
        counts = await bulk.upsert_by_key(conn, staging, key=layer.attributes.key,
                                          changeset_id=await changesets.for_event(event))
        await bulk.drop_staging(conn, staging)
        if counts.inserted or counts.new_versions != len(members):
            raise SampleInvalid(f"{layer.id}: round {r + 1} did not match its features by key ({counts})")
    for i in rekeyed:
        version = plans[i].versions[r]
        await replace_feature(conn, layer=layer, fid=fids[i], valid_from=version.valid_from,
                              feature=FeatureIn(version.geometry, version.properties),
                              changeset_id=await changesets.for_event(version.event))
