"""``onemap import generic --layer ID``: any registered vector layer, by field names or a profile."""

from __future__ import annotations

import importlib

DESCRIPTION = """Import into any registered vector layer (built-in or an overlay another system registered).

Columns named like the layer's fields (or their Chinese titles) are taken as they are; map the
others with --map COLUMN=FIELD or a YAML --profile.

example:
  onemap import generic --layer roads 道路.geojson --map 道路名称=name --map 等级=highway
"""


def main(argv: list[str]) -> int:
    """Run ``onemap import generic --layer ID …``; returns the exit code (0 imported, 1 refused, 2 error)."""
    options = importlib.import_module("import.options")
    args = options.parser("generic", DESCRIPTION).parse_args(argv)
    code: int = options.execute("generic", args)
    return code
