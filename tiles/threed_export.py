"""Seed the 3D tile cache, and export 3D tilesets to a folder a viewer opens from disk.

Both render through :class:`~tiles.threed_service.ThreeDService`, so seeded and exported tiles are
byte for byte what the server sends. An export writes, under ``out``:

* ``<layer>/tileset.json`` and ``<layer>/{z}/{x}/{y}.glb`` per layer (content URIs relative, as
  served, without a query string);
* ``tileset.json``: a root tileset whose children are the layers' tilesets (external tilesets), so
  one file opens the whole export.

The folder opens from disk in the 3D viewer (``/map3d`` → 打开本地文件夹, ``api/map3d/static/localfolder.js``),
which reads the picked files itself: every URI in the folder is relative, so the folder may be copied
anywhere (a field laptop) and keeps working.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from layers.model import Layer
from layers.temporal import Selection
from tiles.seed import Progress, TileRun
from tiles.threed_kinds import kind_of
from tiles.threed_service import ThreeDService

README = """一张图 三维瓦片导出 (3D Tiles 1.1)
打开方法：在一张图三维页面 /map3d 点击“打开本地文件夹”，选择本文件夹（数据只在本机读取，不上传）。
任何支持 3D Tiles 1.1 的软件也可打开 tileset.json。

One Map 3D Tiles export (3D Tiles 1.1).
To view it: open /map3d, press "Open folder" and choose this folder (read on this computer, never uploaded).
Any 3D Tiles 1.1 viewer can also open tileset.json.
"""


def content_cells(tileset: dict[str, Any]) -> list[tuple[int, int, int]]:
    """(z, x, y) of every content tile of a tileset document."""
    out: list[tuple[int, int, int]] = []
    stack = [tileset["root"]]
    while stack:
        tile = stack.pop()
        if "content" in tile:
            z, x, y = tile["content"]["uri"].split("?")[0].removesuffix(".glb").split("/")
            out.append((int(z), int(x), int(y)))
        stack.extend(tile.get("children", []))
    return sorted(out)


Cell = tuple[int, int, int]


async def _each(jobs: list[tuple[Layer, Cell]], work: Callable[[Layer, Cell], Awaitable[None]],
                concurrency: int) -> None:
    queue: asyncio.Queue[tuple[Layer, Cell] | None] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def worker() -> None:
        while (item := await queue.get()) is not None:
            await work(*item)

    for _ in range(concurrency):
        queue.put_nowait(None)
    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def plan(threed: ThreeDService, layers: Sequence[Layer],
               selection: Selection | None = None) -> dict[str, dict[str, Any]]:
    """Each layer's tileset (refuses layers without 3D tiles)."""
    return {layer.id: await threed.tileset(layer, selection) for layer in layers}


async def seed_3d(threed: ThreeDService, layers: Sequence[Layer], *, concurrency: int = 2,
                  progress: Progress | None = None, tilesets: dict[str, dict[str, Any]] | None = None) -> TileRun:
    """Render every content tile of ``layers`` (current state) into the memory and disk caches."""
    run = TileRun()
    started = time.monotonic()
    tilesets = tilesets or await plan(threed, layers)
    jobs = [(layer, cell) for layer in layers for cell in content_cells(tilesets[layer.id])]

    async def work(layer: Layer, cell: tuple[int, int, int]) -> None:
        run.add(cell[0], len((await threed.content(layer, *cell)).data))
        if progress:
            progress(1)

    await _each(jobs, work, max(1, concurrency))
    await threed.tiles.settled()
    run.seconds = time.monotonic() - started
    return run


async def export_3dtiles(threed: ThreeDService, layers: Sequence[Layer], *, out: Path,
                         selection: Selection | None = None, concurrency: int = 2,
                         progress: Progress | None = None,
                         tilesets: dict[str, dict[str, Any]] | None = None) -> TileRun:
    """Write the layers' tilesets and glb tiles under ``out`` (see the module docstring)."""
    run = TileRun()
    started = time.monotonic()
    tilesets = tilesets or await plan(threed, layers, selection)
    await asyncio.to_thread(_write_tilesets, out, layers, tilesets)

    async def work(layer: Layer, cell: tuple[int, int, int]) -> None:
        z, x, y = cell
        data = (await threed.content(layer, z, x, y, selection, use_cache=selection is None)).data
        await asyncio.to_thread(_write_tile, out / layer.id / str(z) / str(x) / f"{y}.glb", data)
        run.add(z, len(data))
        if progress:
            progress(1)

    jobs = [(layer, cell) for layer in layers for cell in content_cells(tilesets[layer.id])]
    await _each(jobs, work, max(1, concurrency))
    run.seconds = time.monotonic() - started
    return run


def _write_tilesets(out: Path, layers: Sequence[Layer], tilesets: dict[str, dict[str, Any]]) -> None:
    for layer in layers:
        (out / layer.id).mkdir(parents=True, exist_ok=True)
        (out / layer.id / "tileset.json").write_text(json.dumps(tilesets[layer.id], ensure_ascii=False))
    (out / "tileset.json").write_text(json.dumps(root_tileset(layers, tilesets), ensure_ascii=False))
    (out / "README.txt").write_text(README, encoding="utf-8")


def _write_tile(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def root_tileset(layers: Sequence[Layer], tilesets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A tileset whose children are the layers' own tilesets (``<layer>/tileset.json``)."""
    children = []
    for layer in layers:
        doc = tilesets[layer.id]
        children.append({"boundingVolume": doc["root"]["boundingVolume"], "geometricError": doc["geometricError"],
                         "content": {"uri": f"{layer.id}/tileset.json"}})
    regions = [c["boundingVolume"]["region"] for c in children]
    region = [min(r[0] for r in regions), min(r[1] for r in regions), max(r[2] for r in regions),
              max(r[3] for r in regions), min(r[4] for r in regions), max(r[5] for r in regions)]
    error = max((c["geometricError"] for c in children), default=0.0)
    return {
        "asset": {"version": "1.1", "extras": {"generator": "One Map 一张图", "layers": [layer.id for layer in layers],
                                               "contentLevels": {layer.id: kind_of(layer).zoom
                                                                 for layer in layers}}},
        "geometricError": error * 2,
        "root": {"boundingVolume": {"region": region}, "geometricError": error * 2, "refine": "ADD",
                 "children": children},
    }
