"""``onemap import buildings``: building footprints (OSM extracts, 房屋调查成果) into ``buildings``."""

from __future__ import annotations

import importlib

DESCRIPTION = """Import building footprints into the buildings layer (key: source_id).

Shipped profiles: buildings_osm (osm_id, building, height, building:levels …) and
buildings_survey (建筑物编号, 建筑名称, 用途, 层数, 建筑高度, 建成年代 …); the best match is used.

example:
  onemap import buildings 房屋普查.shp --valid-from 2024-05-01
"""


def main(argv: list[str]) -> int:
    """Run ``onemap import buildings …``; returns the exit code (0 imported, 1 refused, 2 error)."""
    options = importlib.import_module("import.options")
    args = options.parser("buildings", DESCRIPTION).parse_args(argv)
    code: int = options.execute("buildings", args)
    return code
