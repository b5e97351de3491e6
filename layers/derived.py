"""Derived columns some built-in layers store with every version: computed once, when a version is written.

``buildings`` keeps, per version, its footprint area in square metres measured in CGCS2000
Gauss-Krüger zone 38 (EPSG:4547, never in degrees) and a point on its surface (EPSG:4490
lon/lat, ``ST_PointOnSurface``: always inside the footprint), with a GiST index over current
rows. Building statistics (``analysis/building_stats``) read them instead of projecting and
testing a million footprints per request (measured on 1,000,000 synthetic buildings:
benchmarks/building_stats.py).

They are stored generated columns, like ``tile_zoom`` (:mod:`layers.overview`): PostgreSQL fills
them in every INSERT — bulk, per-feature or any future path — and a version's value never
changes (geometry is never updated in place), so history needs no upkeep. They are not layer
fields: features, schemas and exports never show them.
"""

from __future__ import annotations

from dataclasses import dataclass

from layers.sql import quote_ident


@dataclass(frozen=True, slots=True)
class DerivedColumn:
    """A stored generated column: name, SQL type and expression over ``geom``, and whether to GiST-index it."""

    name: str
    sql_type: str
    expression: str
    gist_current: bool = False

    @property
    def column_sql(self) -> str:
        """The column as it goes into CREATE TABLE / ALTER TABLE ADD COLUMN."""
        return f"{quote_ident(self.name)} {self.sql_type} GENERATED ALWAYS AS ({self.expression}) STORED"


DERIVED: dict[str, tuple[DerivedColumn, ...]] = {
    "buildings": (
        DerivedColumn("footprint_m2", "double precision", "ST_Area(ST_Transform(geom, 4547))"),
        DerivedColumn("surface_point", "geometry(Point, 4490)", "ST_PointOnSurface(geom)", gist_current=True),
    ),
}


def derived_columns(layer_id: str) -> tuple[DerivedColumn, ...]:
    """The derived columns of a layer (none for most)."""
    return DERIVED.get(layer_id, ())
