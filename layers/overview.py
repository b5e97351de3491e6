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

Each version also carries ``tile_key``, the Morton code of the Web Mercator zoom-24 cell holding
its bounding box's centre, and line/polygon layers a btree on ``(tile_zoom, tile_key)`` over
current rows: how many features of a tile survive each generalisation level is then an
index-only count of one key range per overview zoom (:mod:`tiles.density`). On 1,000,000
buildings the densest z13 tile's counts went from ~26,000 heap and index pages to 112 index pages.
"""

from __future__ import annotations

from layers.model import DATA_SCHEMA, LayerDef
from layers.sql import qualified, quote_ident

TILE_ZOOM = "tile_zoom"
INDEX_SUFFIX = "cur_zoom_geom"
TILE_KEY = "tile_key"
KEY_INDEX_SUFFIX = "cur_zoom_key"
# The overview index holds only rows with ``tile_zoom`` up to this: btree_gist's int2 has no
# sortsupport before PostgreSQL 18, so the index is built by inserting row by row, during an initial
# load too (6.1 s of one backend per million buildings, all of them tile_zoom 13-15). A tile at zoom 13
# or finer spans a few kilometres at most, so ``cur_geom`` plus the filter reads about what it draws
# (migration 0015_overview_band; measured in benchmarks/README.md, "Batch import" and "Tile sweep").
OVERVIEW_MAX_ZOOM = 12
# The Web Mercator zoom of the quadtree cell ``tile_key`` names (cells of ~2 m): a tile of any zoom up
# to this one is one contiguous range of keys.
KEY_ZOOM = 24
POINT_TYPES = frozenset({"Point", "MultiPoint"})

# Mercator x of one pixel at zoom 0, in degrees of longitude (256-pixel tiles).
Z0_PIXEL_DEG = 360.0 / 256

# IMMUTABLE, so PostgreSQL accepts it in a generated column; not STRICT (geom is NOT NULL anyway).
# PL/pgSQL so the geometry is cast to its box once: ST_XMin(g) & co. each cast the whole geometry
# again, and the inlined SQL function did it four times a row (on 1,000,000 buildings 1.16 s,
# against 0.80 s now: migration 0017_cheaper_tile_functions). The guards keep degenerate shapes
# (points, zero-width lines, the poles) finite: they get a zoom far beyond any tile matrix.
FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION onemap.tile_zoom(g geometry) RETURNS smallint
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  b box3d := g;
BEGIN
  RETURN ceil(-1.0 - ln(greatest(
           greatest(ST_XMax(b) - ST_XMin(b),
                    (ST_YMax(b) - ST_YMin(b)) / greatest(cos(radians((ST_YMin(b) + ST_YMax(b)) / 2)), 1e-6)),
           1e-12) / (360.0 / 256)) / ln(2.0))::smallint;
END
$$
"""

COLUMN_SQL = f"{TILE_ZOOM} smallint GENERATED ALWAYS AS (onemap.tile_zoom(geom)) STORED"


def _spread(v: int) -> int:
    """The bits of ``v`` moved to the even places (bit i to bit 2i)."""
    out = 0
    for i in range(KEY_ZOOM):
        out |= ((v >> i) & 1) << (2 * i)
    return out


_SPREAD_TABLE = "'{" + ",".join(str(_spread(v)) for v in range(256)) + "}'::bigint[]"


def _spread_sql(v: str) -> str:
    """SQL for the spread of 24-bit ``v`` (bit i to bit 2i): its three bytes' table entries, shifted in place."""
    t = _SPREAD_TABLE
    return f"(({t})[({v} & 255) + 1] | (({t})[(({v} >> 8) & 255) + 1] << 16) | (({t})[({v} >> 16) + 1] << 32))"


# The Morton (Z-order) code of the Web Mercator zoom-24 cell holding the centre of the version's
# bounding box: x bits in the even places, y (rows from the north) in the odd ones, so the keys of
# every cell of a zoom-z tile share its 2z-bit prefix. PL/pgSQL so the box is cast once and each
# cell number computed once; the bits are spread with a 256-entry table in one expression (on
# 1,000,000 buildings 1.2 s, against 2.35 s for four casts and ten shift-and-mask assignments:
# migration 0017_cheaper_tile_functions). Clamped to the Mercator square, so every geometry gets a key.
KEY_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION onemap.tile_key(g geometry) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  b box3d := g;
  lat float8 := radians(greatest(-85.05112878, least(85.05112878, (ST_YMin(b) + ST_YMax(b)) / 2)));
  x bigint := greatest(0, least(16777215, floor(((ST_XMin(b) + ST_XMax(b)) / 2 + 180) / 360 * 16777216)));
  y bigint := greatest(0, least(16777215, floor((1 - ln(tan(lat) + 1 / cos(lat)) / pi()) / 2 * 16777216)));
BEGIN
  RETURN {_spread_sql("x")} | ({_spread_sql("y")} << 1);
END
$$
"""

KEY_COLUMN_SQL = f"{TILE_KEY} bigint GENERATED ALWAYS AS (onemap.tile_key(geom)) STORED"


def tile_key_range(z: int, x: int, y: int) -> tuple[int, int]:
    """The ``tile_key`` values [lo, hi) of the features whose bounding-box centre lies in the Web
    Mercator tile ``z/x/y`` (``z`` at most :data:`KEY_ZOOM`)."""
    if not 0 <= z <= KEY_ZOOM:
        raise ValueError(f"tile_key covers zooms 0-{KEY_ZOOM}, not {z}")
    shift = 2 * (KEY_ZOOM - z)
    prefix = _spread(x) | (_spread(y) << 1)
    return prefix << shift, (prefix + 1) << shift


def key_index_statement(layer: LayerDef, name: str) -> str | None:
    """CREATE INDEX for ``layer``'s density index named ``name`` (already quoted), or None for points.

    A btree on ``(tile_zoom, tile_key)`` over current rows: how many features of a Web Mercator tile
    survive a size threshold is an index-only count, one key range per overview zoom
    (``tile_zoom = ANY(...)``), without reading a row (the GiST's && needs each row rechecked).
    """
    if layer.geometry_type in POINT_TYPES:
        return None
    table = qualified(DATA_SCHEMA, layer.id)
    return (
        f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({quote_ident(TILE_ZOOM)}, {quote_ident(TILE_KEY)}) "
        "WHERE valid_to IS NULL"
    )


def index_statement(layer: LayerDef, name: str) -> str | None:
    """CREATE INDEX for ``layer``'s overview index named ``name`` (already quoted), or None for points.

    ``(tile_zoom, geom)`` over the current rows an overview tile can draw (``tile_zoom <=``
    :data:`OVERVIEW_MAX_ZOOM`): btree_gist's split on the first column puts each overview zoom in
    its own subtrees, and inside them the R-tree works as usual, so ``tile_zoom <= k AND geom && box``
    touches only entries it returns. Tiles finer than that use ``cur_geom`` with the same filter.
    """
    if layer.geometry_type in POINT_TYPES:
        return None
    table = qualified(DATA_SCHEMA, layer.id)
    return (
        f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gist ({quote_ident(TILE_ZOOM)}, geom) "
        f"WHERE valid_to IS NULL AND {quote_ident(TILE_ZOOM)} <= {OVERVIEW_MAX_ZOOM}::smallint"
    )
