"""SQL that renders features as GeoJSON text inside PostgreSQL, in the requested CRS.

The items hot path never touches a feature in Python: PostgreSQL writes each
feature's JSON and concatenates the page; the API passes the bytes through.
Expressions are cached per layer revision, properties selection, CRS and profile.
"""

from __future__ import annotations

from layers.model import Layer
from layers.sql import quote_ident
from spatial.crs import STORAGE_SRID, CrsRef

DEGREE_DIGITS = 8  # ≈ 1 mm at Changsha's latitude
METRE_DIGITS = 3
_JSON_ARGS_MAX = 50  # PostgreSQL functions take at most 100 arguments
_TS = """'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"""
_TS_COMPACT = """'YYYYMMDD"T"HH24MISS.US"Z"'"""
_TS_SECONDS = """'YYYY-MM-DD"T"HH24:MI:SS'"""
# Valid time, returned among the properties (read-only: writes set it through the write path).
TIME_PROPERTIES = ("valid_from", "valid_to")
_cache: dict[tuple[object, ...], str] = {}


def geometry_sql(crs: CrsRef, *, column: str = "geom") -> tuple[str, int]:
    """(expression, decimal digits) for ``column`` (EPSG:4490) in ``crs``'s axis order.

    CGCS2000 and WGS84 differ by centimetres (PROJ's null transform), so CRS84 and
    EPSG:4326 output reuse the stored coordinates; lat-first CRSs swap the axes.
    """
    if crs.srid in (STORAGE_SRID, 4326) and crs.offset is None:
        expr = f"ST_FlipCoordinates({column})" if crs.lat_first else column
        return expr, DEGREE_DIGITS
    expr = f"ST_Transform({column}, {int(crs.srid)})"
    if crs.lat_first or crs.north_first:
        expr = f"ST_FlipCoordinates({expr})"
    return expr, (DEGREE_DIGITS if crs.is_geographic else METRE_DIGITS)


def properties_sql(layer: Layer, names: tuple[str, ...] | None) -> str:
    """``json_build_object`` of the selected properties (all when ``names`` is None).

    Valid time is a property too (:data:`TIME_PROPERTIES`): GeoJSON readers such as GDAL and
    QGIS drop the JSON-FG ``time`` member, so without it an export would lose when a fact held.
    """
    fields = [f.name for f in layer.attributes.fields] + list(TIME_PROPERTIES) if names is None else list(names)
    if not fields:
        return "'{}'::json"
    chunks = [fields[i : i + _JSON_ARGS_MAX] for i in range(0, len(fields), _JSON_ARGS_MAX)]
    objs = [
        "json_build_object(" + ", ".join(f"'{n}', {_value_sql(n)}" for n in chunk) + ")" for chunk in chunks
    ]
    if len(objs) == 1:
        return objs[0]
    return "(" + " || ".join(f"{o}::jsonb" for o in objs) + ")::json"


def _value_sql(name: str) -> str:
    return iso_timestamp_sql(name) if name in TIME_PROPERTIES else quote_ident(name)


def timestamp_sql(column: str) -> str:
    """``column`` (timestamptz) as UTC text with microseconds, as the JSON-FG ``time`` member has it."""
    return f"to_char({column} AT TIME ZONE 'UTC', {_TS})"


def iso_timestamp_sql(column: str) -> str:
    """``column`` as ISO 8601 UTC text (``2024-01-01T00:00:00Z``), fractions only when present; NULL stays NULL.

    Matches :func:`layers.query.instants.rfc3339`, so a value read here can be pasted into ``datetime=``.
    """
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"(to_char({utc}, {_TS_SECONDS}) || CASE WHEN date_trunc('second', {column}) = {column} "
        f"THEN '' ELSE to_char({utc}, '.US') END || 'Z')"
    )


def feature_sql(layer: Layer, *, names: tuple[str, ...] | None, crs: CrsRef, unique_ids: bool = False) -> str:
    """A text expression producing one GeoJSON Feature (with JSON-FG ``time``) per row."""
    key = (layer.id, layer.updated_at, names, crs, unique_ids)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    geom, digits = geometry_sql(crs)
    if unique_ids:
        fid = f"""'"' || fid || '.' || to_char(valid_from AT TIME ZONE 'UTC', {_TS_COMPACT}) || '"'"""
    else:
        fid = "fid"
    expr = (
        """'{"type":"Feature","id":' || """
        + fid
        + """ || ',"geometry":' || ST_AsGeoJSON("""
        + geom
        + f", {digits}, 0)"
        + """ || ',"properties":' || """
        + properties_sql(layer, names)
        + "::text"
        + """ || ',"time":{"interval":["' || """
        + timestamp_sql("valid_from")
        + """ || '",' || coalesce('"' || """
        + timestamp_sql("valid_to")
        + """ || '"', '".."') || ']}}'"""
    )
    if len(_cache) > 2048:
        _cache.clear()
    _cache[key] = expr
    return expr
