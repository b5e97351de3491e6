"""What GIS staff ask an import to do: the options every job shares."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ingest.targets import Part
from spatial.survey import XyOrder

Mode = Literal["append", "upsert", "replace-extent"]
SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")

# Each job's default target layer; pipelines route by category instead.
JOB_LAYERS: dict[str, str | None] = {
    "buildings": "buildings", "grid": "grid_cells", "landuse": "landuse", "pipelines": None, "generic": None,
}


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One delivery file (optionally one layer of it; for pipelines, optionally which part it is)."""

    path: Path
    layer: str | None = None
    part: Part | None = None


@dataclass
class Request:
    """Options of one import run (see ``onemap import <job> --help``)."""

    job: str
    sources: list[SourceSpec]
    layer: str | None = None
    profile: str | None = None
    renames: dict[str, str] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    crs: str | None = None
    xy_order: XyOrder = "auto"
    x_column: str | None = None
    y_column: str | None = None
    encoding: str | None = None
    mode: Mode = "upsert"
    valid_from: dt.datetime | None = None
    dry_run: bool = False
    make_valid: bool = False
    max_rejects: int = 0
    category: str | None = None
    layer_map: dict[str, str] = field(default_factory=dict)
    snap_tolerance_m: float = 0.10
    actor: str = "import"
    note: str | None = None
    progress: bool = False

    @property
    def target_layer(self) -> str | None:
        """The layer to import into: ``--layer``, else the job's own; None for pipelines (routed by category)."""
        return self.layer or JOB_LAYERS.get(self.job)

    def describe(self) -> dict[str, Any]:
        """The options as the report records them."""
        return {
            "job": self.job, "layer": self.target_layer, "sources": [str(s.path) + (f":{s.layer}" if s.layer else "")
                                                                       for s in self.sources],
            "profile": self.profile, "map": self.renames, "set": self.constants, "crs": self.crs,
            "xy_order": self.xy_order, "encoding": self.encoding, "mode": self.mode,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None, "dry_run": self.dry_run,
            "make_valid": self.make_valid, "max_rejects": self.max_rejects, "category": self.category,
            "snap_tolerance_m": self.snap_tolerance_m, "actor": self.actor, "note": self.note,
        }


def parse_valid_from(text: str) -> dt.datetime:
    """``2024-05-01`` (midnight Beijing time) or a full ISO date-time with or without zone.

    Raises:
        ValueError: for anything else.
    """
    value = text.strip()
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return dt.datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--valid-from {text!r}: use a date like 2024-05-01 or 2024-05-01T08:00+08:00") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=SHANGHAI)
