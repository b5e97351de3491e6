"""DXF drawings from CAD: lines become segments, point symbols become points, text labels name them.

CAD pipeline drawings carry no attribute table. What they do carry:

* the CAD layer of each entity, which names the category (``JS_LINE``, ``雨水``…;
  the profile's ``layer_map`` or ``--layer-map`` turns names into CJJ 61 codes);
* point symbols (POINT or block INSERT) with a TEXT label next to them — the 物探点号;
* lines whose ends sit on those points, which gives each segment its 起始/终止点号.

Labels are taken within :data:`LABEL_DISTANCE` drawing units of a point; ends are
matched within :data:`END_DISTANCE`. Entity handles give stable ids to unlabelled points
and to every segment, so a re-delivered drawing updates features instead of duplicating them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import shapely
from shapely import STRtree

from ingest.readers.base import Batch, ReadOptions, SourceLayer, memory_batches
from ingest.readers.ogr import OgrReader

LABEL_DISTANCE = 3.0
END_DISTANCE = 0.05
POINT_FIELDS = ["point_no", "Layer", "cad_handle"]
SEGMENT_FIELDS = ["segment_no", "Layer", "start_point", "end_point", "cad_handle"]


class DxfReader:
    """A drawing becomes a points table and a segments table (see the module docstring)."""

    def open(self, path: Path, fmt: str, options: ReadOptions) -> list[SourceLayer]:
        """GDAL reads the drawing's ``entities``; they are split into points and segments in memory.

        Raises:
            UnreadableSource: when GDAL cannot read the drawing.
        """
        entities = OgrReader().open(path, fmt, options)
        return split_dxf(entities[0])

    def batches(self, src: SourceLayer, size: int) -> Iterator[Batch]:
        """Stream one of the split tables, which live in memory."""
        return memory_batches(src, size)


def split_dxf(src: SourceLayer) -> list[SourceLayer]:
    """Points and segments tables from the single ``entities`` layer GDAL reads from a DXF."""
    lines: list[tuple[dict[str, Any], Any]] = []
    points: list[tuple[dict[str, Any], Any]] = []
    labels: list[tuple[str, Any]] = []
    for batch in src.batches():
        for i, wkb in enumerate(batch.wkb):
            geom = shapely.from_wkb(wkb) if wkb else None
            if geom is None or geom.is_empty:
                continue
            row = {k: v[i] for k, v in batch.columns.items()}
            text = row.get("Text")
            kind = geom.geom_type
            if kind == "Point" and text:
                labels.append((str(text).strip(), geom))
            elif kind == "Point":
                points.append((row, geom))
            elif kind in ("LineString", "MultiLineString"):
                lines.append((row, shapely.line_merge(geom) if kind == "MultiLineString" else geom))
    label_tree = STRtree([g for _, g in labels]) if labels else None
    point_rows: list[dict[str, Any]] = []
    point_wkb: list[bytes | None] = []
    numbers: list[str] = []
    for row, geom in points:
        number = f"DXF-{row.get('EntityHandle')}"
        if label_tree is not None:
            nearest = label_tree.query_nearest(geom, max_distance=LABEL_DISTANCE)
            if len(nearest):
                number = labels[int(nearest[0])][0]
        numbers.append(number)
        point_rows.append({"point_no": number, "Layer": row.get("Layer"), "cad_handle": row.get("EntityHandle")})
        point_wkb.append(shapely.to_wkb(geom))
    point_tree = STRtree([g for _, g in points]) if points else None
    seg_rows: list[dict[str, Any]] = []
    seg_wkb: list[bytes | None] = []
    for row, geom in lines:
        if geom.geom_type != "LineString":
            continue
        ends = [shapely.Point(geom.coords[0]), shapely.Point(geom.coords[-1])]
        found: list[str | None] = [None, None]
        if point_tree is not None:
            for k, end in enumerate(ends):
                hit = point_tree.query_nearest(end, max_distance=END_DISTANCE)
                found[k] = numbers[int(hit[0])] if len(hit) else None
        seg_rows.append({"segment_no": f"DXF-{row.get('EntityHandle')}", "Layer": row.get("Layer"),
                         "start_point": found[0], "end_point": found[1], "cad_handle": row.get("EntityHandle")})
        seg_wkb.append(shapely.to_wkb(geom))
    notes = [f"DXF: {len(lines)} lines, {len(points)} point symbols, {len(labels)} text labels"]
    out = []
    for name, fields, rows, wkbs, kind in (("points", POINT_FIELDS, point_rows, point_wkb, "Point"),
                                           ("segments", SEGMENT_FIELDS, seg_rows, seg_wkb, "LineString")):
        if rows:
            out.append(SourceLayer(src.path, name, "DXF", fields, kind, declared_crs=src.declared_crs,
                                   rows=rows, wkb_rows=wkbs, count=len(rows), notes=notes))
    return out
