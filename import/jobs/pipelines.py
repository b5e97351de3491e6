"""``onemap import pipelines``: pipeline survey results (points and segments together) into the
nine category layers ``pipeline_<key>_points`` / ``pipeline_<key>_segments``."""

from __future__ import annotations

import importlib
from pathlib import Path

DESCRIPTION = """Import a pipeline survey (管线探测成果): points and segments together, in one transaction.

Each row goes to the layer of its category (给水 → pipeline_water_*, 雨水 → pipeline_storm_*, …),
read from its 管线类别/小类 columns or --category. When the delivery has no 管线类别, a point's
category comes from its 物探点号 prefix (JS12 给水, YS3 雨水, RQ 燃气, DL 电力, DX 电信 …) or from
the segments that reference it, a segment's from its end points, then from the file or CAD layer
name; a missing 小类 becomes the category's general code (给水 → JP 配水). The report lists every
inference ("What was inferred"); a prefix that contradicts its segments rejects the point.
Segment ends must meet their points (--snap-tolerance, default 0.10 m); points must end a segment.

examples:
  onemap import pipelines 管线点.shp 管线段.shp --valid-from 2024-05-01
  onemap import pipelines --points 管线点.csv --segments 管线段.csv
  onemap import pipelines --points 管线点成果表.xlsx --segments 管线段成果表.xlsx --category 雨水
  onemap import pipelines 给水管网.inp --crs EPSG:4547 --set material=QM --set start_depth_m=1.2 \\
      --set end_depth_m=1.2
  onemap import pipelines 管线图.dxf --layer-map "^GS=JS/JP" --set material=PE ...
"""


def main(argv: list[str]) -> int:
    """Run ``onemap import pipelines …``; returns the exit code (0 imported, 1 refused, 2 error)."""
    options = importlib.import_module("import.options")
    spec = importlib.import_module("ingest.request").SourceSpec
    p = options.parser("pipelines", DESCRIPTION)
    p.add_argument("--points", action="append", default=[], metavar="FILE[::LAYER]", help="a points table")
    p.add_argument("--segments", action="append", default=[], metavar="FILE[::LAYER]", help="a segments table")
    p.add_argument("--category", help="category of every row: water, storm, sewage, gas, power, streetlight, "
                                      "signal, telecom, cabletv, a CJJ 61 code (PS/YS) or a name (雨水)")
    p.add_argument("--layer-map", action="append", default=[], metavar="REGEX=CATEGORY",
                   help="file or CAD layer names matching REGEX hold CATEGORY (e.g. '^GS=JS/JP')")
    p.add_argument("--snap-tolerance", type=float, default=0.10, metavar="METRES",
                   help="how far a segment end may be from its point (default 0.10 m)")
    args = p.parse_args(argv)
    sources = list(args.sources)
    for part in ("points", "segments"):
        for text in getattr(args, part):
            path, _, layer = text.partition("::")
            sources.append(spec(Path(path), layer or None, part))
    layer_map = dict(options._pair(t) for t in args.layer_map)
    code: int = options.execute("pipelines", args, sources=sources, category=args.category,
                                layer_map=layer_map, snap_tolerance_m=args.snap_tolerance)
    return code
