"""What an import did, for people: counts, every rejection with its reason and source row, a map sample.

The JSON form is the record (``report.json``); ``import/reporting.py`` renders the
same data as a standalone HTML page with a map.
"""

from __future__ import annotations

import datetime as dt
import resource
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from layers.errors import FieldError

Status = Literal["imported", "refused", "dry-run", "failed"]
MAP_SAMPLE = 2000  # features of each kind shown on the report map
DETAIL_LIMIT = 100_000  # rejections beyond this keep their reasons but not their source attributes


@dataclass
class LayerCounts:
    """Per target layer: what came in and what the merge did."""

    read: int = 0
    valid: int = 0
    rejected: int = 0
    inserted: int = 0
    new_versions: int = 0
    unchanged: int = 0
    retired: int = 0
    skipped: int = 0  # unchanged rows known by their source fingerprint: not re-mapped, re-validated or staged


@dataclass
class Rejection:
    """One source row that was not imported, with every reason."""

    source: str
    row: int
    target: str | None
    reasons: list[dict[str, str]]
    key: str | None = None
    attributes: dict[str, Any] | None = None
    geometry: dict[str, Any] | None = None


@dataclass
class Report:
    """Everything about one delivery's import."""

    job: str
    options: dict[str, Any]
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    finished_at: dt.datetime | None = None
    status: Status = "failed"
    decision: str = ""
    changeset_id: int | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    layers: dict[str, LayerCounts] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    repairs: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changed_sample: list[dict[str, Any]] = field(default_factory=list)
    rows_read: int = 0
    error: str | None = None
    problem: dict[str, Any] | None = None  # where the error is, when it is one place (file, row, field, fix)
    phase_seconds: dict[str, float] = field(default_factory=dict)  # reading, checking, merging, committing
    inferences: dict[tuple[str, str, str, str], dict[str, Any]] = field(default_factory=dict)

    def layer(self, layer_id: str) -> LayerCounts:
        """The counts of one target layer (created at zero on first use)."""
        return self.layers.setdefault(layer_id, LayerCounts())

    def infer(self, *, source: str, field: str, how: str, value: str, example: str | None) -> None:
        """Count one row whose ``field`` was not delivered but inferred (``how``) as ``value``."""
        entry = self.inferences.setdefault((source, field, how, value), {
            "source": source, "field": field, "how": how, "value": value, "rows": 0, "examples": [],
        })
        entry["rows"] += 1
        if example is not None and len(entry["examples"]) < 5:
            entry["examples"].append(example)

    @property
    def inferred(self) -> list[dict[str, Any]]:
        """What was inferred, how, for how many rows: one entry per source, field, rule and value."""
        return sorted(self.inferences.values(), key=lambda e: (e["source"], e["field"], -e["rows"], e["value"]))

    def reject(
        self, *, source: str, row: int, target: str | None, errors: list[FieldError], key: str | None = None,
        attributes: dict[str, Any] | None = None, geometry: dict[str, Any] | None = None,
    ) -> None:
        """Record one source row that is not imported, with every reason."""
        detailed = len(self.rejections) < DETAIL_LIMIT
        self.rejections.append(Rejection(
            source=source, row=row, target=target, reasons=[e.as_dict() for e in errors], key=key,
            attributes=_jsonable(attributes) if detailed else None,
            geometry=geometry if detailed and self.mapped_rejections() < MAP_SAMPLE else None,
        ))
        if target is not None:
            self.layer(target).rejected += 1

    def mapped_rejections(self) -> int:
        """How many rejections carry a geometry for the report map."""
        return sum(1 for r in self.rejections if r.geometry is not None)

    @property
    def counts(self) -> dict[str, int]:
        """Totals over every layer, as the report's summary shows them."""
        total = LayerCounts()
        for c in self.layers.values():
            for name in ("valid", "inserted", "new_versions", "unchanged", "retired"):
                setattr(total, name, getattr(total, name) + getattr(c, name))
        return {
            "read": self.rows_read, "valid": total.valid, "inserted": total.inserted,
            "new_versions": total.new_versions, "unchanged": total.unchanged, "retired": total.retired,
            "rejected": len(self.rejections), "repaired": len(self.repairs),
        }

    @property
    def seconds(self) -> float:
        """Wall time of the import so far (or in all, once finished)."""
        end = self.finished_at or dt.datetime.now(dt.UTC)
        return (end - self.started_at).total_seconds()

    def reasons_summary(self) -> list[dict[str, Any]]:
        """Rejection reasons grouped by (field, code), most frequent first, with one example each."""
        counter: Counter[tuple[str, str]] = Counter()
        example: dict[tuple[str, str], str] = {}
        for r in self.rejections:
            for reason in r.reasons:
                k = (reason["field"], reason["code"])
                counter[k] += 1
                example.setdefault(k, reason["message"])
        return [{"field": f, "code": c, "rows": n, "example": example[(f, c)]} for (f, c), n in counter.most_common()]

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (what ``report.json`` holds)."""
        seconds = self.seconds
        return {
            "job": self.job, "status": self.status, "decision": self.decision, "error": self.error,
            "problem": self.problem, "phase_seconds": self.phase_seconds,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "seconds": round(seconds, 3),
            "rows_per_second": round(self.rows_read / seconds) if seconds > 0 else None,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "changeset_id": self.changeset_id, "options": _jsonable(self.options), "counts": self.counts,
            "layers": {k: asdict(v) for k, v in sorted(self.layers.items())},
            "sources": self.sources, "warnings": self.warnings, "inferred": self.inferred,
            "reasons": self.reasons_summary(),
            "rejections": [asdict(r) for r in self.rejections], "repairs": self.repairs,
            "changed_sample": self.changed_sample,
        }

    def write_json(self, path: Path) -> Path:
        """Write :meth:`as_dict` to ``path`` (indented UTF-8 JSON) and return the path."""
        path.write_bytes(orjson.dumps(self.as_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
        return path


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return str(value)
