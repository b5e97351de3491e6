"""Where the benchmark keeps its things, and the synthetic city's extent."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
WORK = ROOT / ".work"  # git-ignored: private cluster, tipg venv, logs
PROJECT = ROOT.parent

# Central Changsha (EPSG:4490 lon/lat): the urban core both banks of the Xiang.
CITY_BBOX_4490 = (112.85, 28.10, 113.10, 28.30)
BENCH_LAYER = "bench_buildings"
TIPG_SCHEMA = "bench"
TIPG_VIEW = "buildings"
# Several checkouts may benchmark at once on one machine; each can move its servers' ports.
PORT_BASE = int(os.environ.get("ONEMAP_BENCH_PORT_BASE", "8901"))


@dataclass(frozen=True, slots=True)
class RunOptions:
    size: int
    duration_s: int
    concurrency: int
    workers: int
    workloads: tuple[str, ...]
    targets: tuple[str, ...]
    port_onemap: int = PORT_BASE
    port_tipg: int = PORT_BASE + 1
