"""Directory batches: a folder of deliveries and a ``manifest.yaml`` saying what each one is.

Example manifest::

    defaults: {valid_from: "2024-05-01", mode: upsert}
    deliveries:
      - job: pipelines
        files: [管线点.shp, 管线段.shp]
      - job: buildings
        files: [房屋普查.gpkg]
        options: {crs: EPSG:4547, set: {year_source: survey}}
      - job: landuse
        files: [控规.gdb]
        options: {scheme: ydyh, scheme_version: "2023"}

Each delivery is imported on its own, in its own transaction, with its own report.
Without a manifest, every file in the folder is imported with ``--default-job``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ingest.errors import IngestError
from ingest.readers.formats import FORMATS

Job = Literal["pipelines", "buildings", "grid", "landuse", "generic"]
MANIFEST_NAMES = ("manifest.yaml", "manifest.yml", "清单.yaml")
_SIDE_FILES = {".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml", ".yaml", ".yml", ".json"}


class DeliveryEntry(BaseModel):
    """One delivery of a batch: a job, its files (relative to the folder) and its options."""

    model_config = ConfigDict(extra="forbid")

    job: Job
    files: list[str] = Field(min_length=1)
    points: list[str] = Field(default_factory=list)
    segments: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)
    name: str | None = None

    @field_validator("files", "points", "segments", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Manifest(BaseModel):
    """A batch folder's manifest: defaults for every delivery, and the deliveries in order."""

    model_config = ConfigDict(extra="forbid")

    defaults: dict[str, Any] = Field(default_factory=dict)
    deliveries: list[DeliveryEntry]


def load_manifest(folder: Path, manifest: Path | None = None, *, default_job: str | None = None) -> Manifest:
    """The folder's manifest, or one delivery per data file when there is none and ``default_job`` is given.

    Raises:
        IngestError: for a missing or invalid manifest, or files it names that are not there.
    """
    path = manifest or next((folder / n for n in MANIFEST_NAMES if (folder / n).is_file()), None)
    if path is None:
        if default_job is None:
            raise IngestError(f"{folder} has no manifest.yaml; write one or give --default-job")
        files = sorted(p.name for p in folder.iterdir()
                       if p.suffix.lower() in FORMATS and p.suffix.lower() not in _SIDE_FILES)
        return Manifest.model_validate({"deliveries": [{"job": default_job, "files": [f]} for f in files]})
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        parsed = Manifest.model_validate(data)
    except (yaml.YAMLError, ValidationError, OSError) as exc:
        raise IngestError(f"manifest {path} is not valid: {exc}") from exc
    for entry in parsed.deliveries:
        for name in [*entry.files, *entry.points, *entry.segments]:
            if not (folder / name.split("::")[0]).exists():
                raise IngestError(f"manifest {path.name}: {name} is not in {folder}")
    return parsed


def argv_for(entry: DeliveryEntry, folder: Path, defaults: dict[str, Any]) -> list[str]:
    """The command line of one delivery's job, from the manifest entry and the batch defaults."""
    options = {**defaults, **entry.options}
    argv: list[str] = [entry.job, *[str(folder / f) for f in entry.files if f not in entry.points + entry.segments]]
    for part in ("points", "segments"):
        for f in getattr(entry, part):
            argv += [f"--{part}", str(folder / f)]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            argv += [flag] if value else []
        elif isinstance(value, dict):
            for k, v in value.items():
                argv += [flag, f"{k}={v}"]
        elif isinstance(value, list):
            for v in value:
                argv += [flag, str(v)]
        else:
            argv += [flag, str(value)]
    return argv
