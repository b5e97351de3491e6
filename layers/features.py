"""Feature rows as read back from a layer table, and the SELECT list that produces them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import asyncpg

from layers.model import Layer
from layers.sql import quote_ident

SYSTEM_COLUMNS = ("fid", "version", "valid_from", "valid_to", "recorded_at", "superseded_at", "changeset_id")


@dataclass(frozen=True, slots=True)
class FeatureRow:
    """One version of one feature. ``geometry`` is GeoJSON in EPSG:4490 (lon, lat)."""

    fid: int
    version: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    recorded_at: dt.datetime
    superseded_at: dt.datetime | None
    changeset_id: int
    geometry: dict[str, Any]
    properties: dict[str, Any]

    @property
    def is_current(self) -> bool:
        """Whether this is the feature's open (current) version."""
        return self.valid_to is None


def select_list(layer: Layer, *, alias: str = "") -> str:
    """The SELECT list that :func:`to_feature` reads: system columns, GeoJSON geometry, attributes."""
    p = f"{alias}." if alias else ""
    cols = [f"{p}{c}" for c in SYSTEM_COLUMNS]
    cols.append(f"ST_AsGeoJSON({p}geom, 9)::json AS geometry")
    cols += [f"{p}{quote_ident(f.name)}" for f in layer.attributes.fields]
    return ", ".join(cols)


def to_feature(layer: Layer, row: asyncpg.Record) -> FeatureRow:
    """A :class:`FeatureRow` from a row selected with :func:`select_list`."""
    return FeatureRow(
        fid=row["fid"],
        version=row["version"],
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
        recorded_at=row["recorded_at"],
        superseded_at=row["superseded_at"],
        changeset_id=row["changeset_id"],
        geometry=row["geometry"],
        properties={f.name: row[f.name] for f in layer.attributes.fields},
    )
