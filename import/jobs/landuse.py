"""``onemap import landuse``: land-use / planning parcels (用地用海, 三调图斑) into ``landuse``."""

from __future__ import annotations

import importlib

DESCRIPTION = """Import land-use or planning parcels into the landuse layer (key: parcel_no).

The classification is rarely in the data; say it:
  onemap import landuse 控规地块.gpkg --scheme ydyh --scheme-version 2023 --set plan_status=规划
"""


def main(argv: list[str]) -> int:
    """Run ``onemap import landuse …``; returns the exit code (0 imported, 1 refused, 2 error)."""
    options = importlib.import_module("import.options")
    p = options.parser("landuse", DESCRIPTION)
    p.add_argument("--scheme", choices=["ydyh", "gbt21010"], help="ydyh: 用地用海分类; gbt21010: GB/T 21010")
    p.add_argument("--scheme-version", help="e.g. 2023 (ydyh) or 2017 (gbt21010)")
    args = p.parse_args(argv)
    if args.scheme:
        args.set.append(("scheme", args.scheme))
    if args.scheme_version:
        args.set.append(("scheme_version", args.scheme_version))
    code: int = options.execute("landuse", args)
    return code
