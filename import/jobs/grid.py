"""``onemap import grid``: unit grid cells (CJ/T 213) or, with ``--components``, city components (CJ/T 214)."""

from __future__ import annotations

import importlib

DESCRIPTION = """Import unit grid cells into grid_cells (key: grid_code), or city components into
city_components with --components (key: obj_code).

District, street and community numbers are taken from the 14/15-digit grid code when the
delivery does not carry them; the area is computed on the ellipsoid when missing.

examples:
  onemap import grid 单元网格.shp --valid-from 2024-01-01
  onemap import grid --components 部件普查.gdb::井盖
"""


def main(argv: list[str]) -> int:
    """Run ``onemap import grid …``; returns the exit code (0 imported, 1 refused, 2 error)."""
    options = importlib.import_module("import.options")
    p = options.parser("grid", DESCRIPTION)
    p.add_argument("--components", action="store_true", help="import city components (CJ/T 214) instead")
    args = p.parse_args(argv)
    if args.components and not args.target:
        args.target = "city_components"
    code: int = options.execute("grid", args)
    return code
