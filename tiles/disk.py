"""The disk tier of the tile cache: default tiles shared by every worker and filled by seeding.

Layout: ``<root>/<tms>/<layer set>/<z>/<x>/<y>.mvt`` (``.glb`` for a 3D layer set, whose first
"layer" is ``@3d``); a layer set's folder holds ``layers.txt`` naming its layers. 3D tiles were once
written as ``.mvt``: such files are never read, and dropping or clearing a set deletes them too.
An empty tile is a zero-byte file (so "nothing here" is cached too). Writes
go to a temporary file and are renamed into place, so readers never see half a tile.

``watermark.json`` records the id of the last ``onemap.changes`` row whose tiles this cache has
dropped; on start-up :mod:`tiles.invalidation` drops the tiles of every later change, so edits made
while no server was listening (an import run from the command line) cannot leave stale tiles.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tiles.cache import Box, TileKey, touched_ranges

SUFFIX = ".mvt"
SUFFIX_3D = ".glb"
THREED_SET = "@3d"  # tiles.threed_service.PSEUDO_LAYER: the first "layer" of a 3D tile's key
TILE_SUFFIXES = (SUFFIX, SUFFIX_3D)
WATERMARK = "watermark.json"


def layer_set_dir(layers: Sequence[str]) -> str:
    """Folder name for a layer set: readable when short, hashed when long."""
    joined = "+".join(layers)
    if len(joined) <= 80:
        return joined
    return "set-" + hashlib.sha1(joined.encode()).hexdigest()[:16]


@dataclass
class DiskTileCache:
    """Tiles on disk under ``root``; only the default variant ("") is kept."""

    root: Path
    buffer_px: float = 4.0

    def _path(self, key: TileKey) -> Path:
        suffix = SUFFIX_3D if key.layers and key.layers[0] == THREED_SET else SUFFIX
        return self.root / key.tms / layer_set_dir(key.layers) / str(key.z) / str(key.x) / f"{key.y}{suffix}"

    def get(self, key: TileKey) -> bytes | None:
        """The stored bytes of a default-variant tile, or None (b"" is a cached empty tile)."""
        if key.variant:
            return None
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def put(self, key: TileKey, data: bytes) -> None:
        """Store a default-variant tile atomically; other variants are never kept on disk."""
        if key.variant:
            return
        path = self._path(key)
        set_dir = path.parents[2]
        path.parent.mkdir(parents=True, exist_ok=True)
        names = set_dir / "layers.txt"
        if not names.exists():
            _atomic_write(names, "\n".join(key.layers).encode())
        _atomic_write(path, data)

    def _layer_sets(self, tms_dir: Path) -> list[tuple[Path, list[str]]]:
        out = []
        for set_dir in tms_dir.iterdir():
            names = set_dir / "layers.txt"
            if set_dir.is_dir() and names.exists():
                out.append((set_dir, names.read_text().split("\n")))
        return out

    def invalidate(self, layer_id: str, boxes: Sequence[Box] | None) -> int:
        """Delete ``layer_id``'s tiles meeting ``boxes`` (EPSG:4490 lon/lat); None deletes them all."""
        if not self.root.exists():
            return 0
        removed = 0
        for tms_dir in self.root.iterdir():
            if not tms_dir.is_dir():
                continue
            for set_dir, layers in self._layer_sets(tms_dir):
                if layer_id not in layers:
                    continue
                if boxes is None:
                    removed += _count(set_dir)
                    shutil.rmtree(set_dir, ignore_errors=True)
                    continue
                removed += self._invalidate_set(tms_dir.name, set_dir, boxes)
        return removed

    def _invalidate_set(self, tms_id: str, set_dir: Path, boxes: Sequence[Box]) -> int:
        removed = 0
        for z_dir in set_dir.iterdir():
            if not z_dir.is_dir() or not z_dir.name.isdigit():
                continue
            z = int(z_dir.name)
            ranges = touched_ranges(tms_id, boxes, z, buffer_px=self.buffer_px)
            if not ranges:
                continue
            for x_dir in z_dir.iterdir():
                if not x_dir.name.isdigit():
                    continue
                x = int(x_dir.name)
                rows = [r for r in ranges if r.x0 <= x <= r.x1]
                if not rows:
                    continue
                for tile in x_dir.iterdir():
                    stem = tile.name.removesuffix(SUFFIX).removesuffix(SUFFIX_3D)
                    if stem.isdigit() and any(r.y0 <= int(stem) <= r.y1 for r in rows):
                        try:
                            tile.unlink()
                            removed += 1
                        except FileNotFoundError:
                            pass  # another worker got there first
        return removed

    def clear(self) -> None:
        """Delete every tile (the watermark stays; the caller rewrites it)."""
        if self.root.exists():
            for child in self.root.iterdir():
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)

    def count(self) -> int:
        """How many tiles are on disk."""
        return _count(self.root) if self.root.exists() else 0

    def read_watermark(self) -> int | None:
        """The last ``onemap.changes`` id whose tiles were dropped, or None when unknown."""
        try:
            return int(json.loads((self.root / WATERMARK).read_text())["change_id"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None

    def write_watermark(self, change_id: int) -> None:
        """Record that the tiles of every change up to ``change_id`` are gone."""
        self.root.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.root / WATERMARK, json.dumps({"change_id": change_id}).encode())


def _count(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.suffix in TILE_SUFFIXES)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
