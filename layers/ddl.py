"""DDL for a layer's versioned feature table, generated from its registry schema.

Every version of every feature is a row. The current version of a feature is the
row with ``valid_to IS NULL``; partial indexes over those rows keep current-state
reads as fast as a table without history.
"""

from __future__ import annotations

from layers.building_rollup import trigger_statements
from layers.derived import derived_columns
from layers.model import DATA_SCHEMA, Layer, LayerDef
from layers.overview import (
    COLUMN_SQL,
    INDEX_SUFFIX,
    KEY_COLUMN_SQL,
    KEY_INDEX_SUFFIX,
    index_statement,
    key_index_statement,
)
from layers.sql import qualified, quote_ident
from spatial.crs import STORAGE_SRID


def index_name(layer_id: str, suffix: str) -> str:
    """The quoted name of a layer's index, cut to PostgreSQL's 63-character limit."""
    name = f"{layer_id}_{suffix}"
    return quote_ident(name[:63])


def create_table_statements(layer: LayerDef) -> list[str]:
    """CREATE TABLE and its indexes for a vector layer (idempotent: IF NOT EXISTS)."""
    if layer.kind != "vector":
        return []
    table = qualified(DATA_SCHEMA, layer.id)
    columns = [
        "fid bigint NOT NULL",
        "version integer NOT NULL",
        "valid_from timestamptz NOT NULL",
        "valid_to timestamptz",
        "recorded_at timestamptz NOT NULL DEFAULT now()",
        "superseded_at timestamptz",
        "changeset_id bigint NOT NULL REFERENCES onemap.changesets(id)",
        # Fingerprint of the delivered source row this version came from (NULL for edits),
        # so a re-delivery can skip rows that did not change without re-validating them.
        "src_hash bytea",
        f"geom geometry({layer.geometry_type}, {STORAGE_SRID}) NOT NULL",
        COLUMN_SQL,  # layers.overview: the zoom from which the feature is drawn
        KEY_COLUMN_SQL,  # layers.overview: the quadtree cell of its centre (tile density counts)
    ]
    columns += [f"{quote_ident(f.name)} {f.sql_type}" for f in layer.attributes.fields]
    columns += [d.column_sql for d in derived_columns(layer.id)]  # layers.derived
    columns += [
        "PRIMARY KEY (fid, version)",
        "CHECK (valid_to IS NULL OR valid_to >= valid_from)",
        "CHECK (version >= 1)",
    ]
    stmts = [f"CREATE TABLE IF NOT EXISTS {table} (\n  " + ",\n  ".join(columns) + "\n)"]
    stmts += index_statements(layer)
    stmts += trigger_statements(layer.id)  # the buildings statistics rollup (migration 0014)
    return stmts


def index_statements(layer: LayerDef) -> list[str]:
    """CREATE INDEX statements for a vector layer's table (idempotent: IF NOT EXISTS)."""
    table = qualified(DATA_SCHEMA, layer.id)
    lid = layer.id
    # Closed versions get their own (geometry, validity) index, so the current rows are indexed
    # once, by cur_geom, and an initial load builds no history index at all. A feature's
    # versions are found through the primary key (fid, version).
    stmts = [
        f"CREATE UNIQUE INDEX IF NOT EXISTS {index_name(lid, 'cur_fid')} ON {table} (fid) WHERE valid_to IS NULL",
        f"CREATE INDEX IF NOT EXISTS {index_name(lid, 'cur_geom')} ON {table} USING gist (geom) "
        "WHERE valid_to IS NULL",
        f"CREATE INDEX IF NOT EXISTS {index_name(lid, 'closed_geom_time')} ON {table} "
        "USING gist (geom, tstzrange(valid_from, valid_to)) WHERE valid_to IS NOT NULL",
    ]
    # What changeset N wrote, from the versions themselves (bulk merges keep no per-feature audit row).
    stmts.append(f"CREATE INDEX IF NOT EXISTS {index_name(lid, 'changeset')} ON {table} USING brin (changeset_id)")
    overview = index_statement(layer, index_name(lid, INDEX_SUFFIX))
    if overview is not None:
        stmts.append(overview)
    density = key_index_statement(layer, index_name(lid, KEY_INDEX_SUFFIX))
    if density is not None:
        stmts.append(density)
    if layer.attributes.key:
        cols = ", ".join(quote_ident(k) for k in layer.attributes.key)
        stmts.append(
            f"CREATE INDEX IF NOT EXISTS {index_name(lid, 'cur_key')} ON {table} ({cols}) WHERE valid_to IS NULL"
        )
    stmts += [_derived_index(layer.id, d.name) for d in derived_columns(lid) if d.gist_current]
    for name in layer.attributes.search:
        stmts.append(
            f"CREATE INDEX IF NOT EXISTS {index_name(lid, 'cur_trgm_' + name)} ON {table} "
            f"USING gin ({quote_ident(name)} gin_trgm_ops) WHERE valid_to IS NULL AND {quote_ident(name)} IS NOT NULL"
        )
    return stmts


def _derived_index(layer_id: str, column: str) -> str:
    table = qualified(DATA_SCHEMA, layer_id)
    return (f"CREATE INDEX IF NOT EXISTS {index_name(layer_id, 'cur_' + column)} ON {table} "
            f"USING gist ({quote_ident(column)}) WHERE valid_to IS NULL")


def add_missing_columns(layer: Layer, existing: set[str]) -> list[str]:
    """ALTER TABLE statements for schema fields and derived columns the table lacks (additive evolution only)."""
    stmts = [
        f"ALTER TABLE {layer.table} ADD COLUMN IF NOT EXISTS {quote_ident(f.name)} {f.sql_type}"
        for f in layer.attributes.fields
        if f.name not in existing
    ]
    for d in derived_columns(layer.id):
        if d.name not in existing:  # an older table: the column rewrites it once, then its index
            stmts.append(f"ALTER TABLE {layer.table} ADD COLUMN IF NOT EXISTS {d.column_sql}")
            if d.gist_current:
                stmts.append(_derived_index(layer.id, d.name))
    return stmts
