"""Each version's overview zoom: the first zoom at which it is big enough to draw.

Overview tiles drop lines and polygons smaller than half a pixel. Testing every candidate's
size made a city-wide tile read every building under it (700,000 rows to keep 400). Instead
each version row carries ``tile_zoom``, a stored generated column, and the current rows have a
GiST index on ``(tile_zoom, geom)``: a tile at zoom ``z`` asks for ``tile_zoom <= z`` inside
its box, and the index returns only what it will draw.

``tile_zoom`` is the smallest integer zoom at which the feature's bounding box spans at least
half a Web Mercator pixel (256-pixel tiles) in x or in y, measured on the Mercator plane at the
feature's own latitude:

    size = max(Δlon, Δlat / cos(lat))          (degrees of Mercator x)
    tile_zoom = ceil(-1 - log2(size / (360 / 256)))

so ``tile_zoom <= z - L`` is exactly ``size >= 2**L * 0.5 px at zoom z``. Being a generated
column, PostgreSQL computes it in every INSERT — the bulk path, the per-feature path and any
future one — and a version's value never changes (geometry is never updated in place), so
history (``datetime`` tiles) needs no upkeep either. Points get a large value (~40) and are
never filtered by it.
"""

from __future__ import annotations

from layers.model import DATA_SCHEMA, LayerDef
from layers.sql import qualified, quote_ident

TILE_ZOOM = "tile_zoom"
INDEX_SUFFIX = "cur_zoom_geom"
POINT_TYPES = frozenset({"Point", "MultiPoint"})

# Mercator x of one pixel at zoom 0, in degrees of longitude (256-pixel tiles).
Z0_PIXEL_DEG = 360.0 / 256

# IMMUTABLE, so PostgreSQL accepts it in a generated column; not STRICT, so the planner inlines
# it into the column's expression (measured on 1M rows: +1.8-2.9 s to compute inlined, +8.6 s
# as a STRICT function call per row; geom is NOT NULL anyway). The guards keep degenerate shapes
# (points, zero-width lines, the poles) finite: they get a zoom far beyond any tile matrix.
FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION onemap.tile_zoom(g geometry) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ceil(-1.0 - ln(greatest(
           greatest(ST_XMax(g) - ST_XMin(g),
                    (ST_YMax(g) - ST_YMin(g)) / greatest(cos(radians((ST_YMin(g) + ST_YMax(g)) / 2)), 1e-6)),
           1e-12) / (360.0 / 256)) / ln(2.0))::smallint
$$
"""

COLUMN_SQL = f"{TILE_ZOOM} smallint GENERATED ALWAYS AS (onemap.tile_zoom(geom)) STORED"


def index_statement(layer: LayerDef, name: str) -> str | None:
    """CREATE INDEX for ``layer``'s overview index named ``name`` (already quoted), or None for points.

    ``(tile_zoom, geom)`` over current rows: btree_gist's split on the first column puts each
    overview zoom in its own subtrees, and inside them the R-tree works as usual, so
    ``tile_zoom <= k AND geom && box`` touches only entries it returns.
    """
    if layer.geometry_type in POINT_TYPES:
        return None
    table = qualified(DATA_SCHEMA, layer.id)
    return (
        f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gist ({quote_ident(TILE_ZOOM)}, geom) "
        "WHERE valid_to IS NULL"
    )
