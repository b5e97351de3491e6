"""One source table of a delivery with everything decided about it: its part, CRS, profile and mappers."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.mapping import BatchMapper
from ingest.profiles import Profile, Resolved
from ingest.readers.base import SourceLayer
from ingest.targets import Part
from spatial.survey import CrsDecision


@dataclass
class Input:
    """A source table and its decisions; ``part`` is set for pipeline tables (points or segments)."""

    index: int
    source: SourceLayer
    part: Part | None = None
    decision: CrsDecision | None = None
    profile: Profile | None = None
    resolved: dict[str, Resolved] = field(default_factory=dict)
    mappers: dict[str, BatchMapper] = field(default_factory=dict)
