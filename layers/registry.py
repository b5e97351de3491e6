"""The layer registry: one row per layer in ``onemap.layers``, cached per process.

The API and the importers learn everything about a layer here: titles, group,
geometry type, schema, access level, style, zoom range and temporal extent.
Other processes hear about registry changes on the ``onemap_registry`` channel.
"""

from __future__ import annotations

import asyncpg

from layers.ddl import add_missing_columns, create_table_statements
from layers.definitions import builtin_layers
from layers.errors import InvalidLayerDefinition, LayerExists, UnknownLayer
from layers.model import ACCESS_RANK, DATA_SCHEMA, Layer, LayerDef
from layers.sql import qualified

REGISTRY_CHANNEL = "onemap_registry"

_COLUMNS = (
    "id, title_zh, title_en, description_zh, description_en, grp, kind, geometry_type, schema, access, "
    "style_id, min_zoom, max_zoom, temporal_start, temporal_end, metadata, builtin, created_at, updated_at, "
    "require_if_match"
)


class Registry:
    """An in-memory snapshot of ``onemap.layers``."""

    def __init__(self, layers: list[Layer]) -> None:
        self._layers = {layer.id: layer for layer in layers}

    @classmethod
    async def load(cls, conn: asyncpg.Connection) -> Registry:
        """Read every registered layer from ``onemap.layers``, ordered by group and id."""
        rows = await conn.fetch(f"SELECT {_COLUMNS} FROM onemap.layers ORDER BY grp, id")  # noqa: S608
        return cls([Layer.from_row(r) for r in rows])

    def get(self, layer_id: str) -> Layer:
        """The layer ``layer_id``.

        Raises:
            UnknownLayer: no such layer is registered.
        """
        layer = self._layers.get(layer_id)
        if layer is None:
            raise UnknownLayer(f"there is no collection {layer_id!r}")
        return layer

    def find(self, layer_id: str) -> Layer | None:
        """The layer ``layer_id``, or None."""
        return self._layers.get(layer_id)

    def all(self) -> list[Layer]:
        """Every layer, in registry order (group, id)."""
        return list(self._layers.values())

    def vector_layers(self) -> list[Layer]:
        """The layers with feature tables, in registry order."""
        return [layer for layer in self._layers.values() if layer.kind == "vector"]

    def __len__(self) -> int:
        return len(self._layers)

    def __contains__(self, layer_id: object) -> bool:
        return layer_id in self._layers


async def load_layer(conn: asyncpg.Connection, layer_id: str) -> Layer | None:
    """One registered layer read from ``onemap.layers`` (for writers that hold no registry snapshot), or None."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM onemap.layers WHERE id = $1", layer_id)  # noqa: S608
    return Layer.from_row(row) if row is not None else None


def visible_at(layer: Layer, max_access: str) -> bool:
    """Whether a caller cleared for ``max_access`` may see ``layer`` without a per-layer grant."""
    return ACCESS_RANK[layer.access] <= ACCESS_RANK[max_access]


async def _upsert_row(conn: asyncpg.Connection, layer: LayerDef, *, builtin: bool) -> None:
    row = layer.registry_row()
    await conn.execute(
        """
        INSERT INTO onemap.layers (id, title_zh, title_en, description_zh, description_en, grp, kind,
          geometry_type, schema, access, style_id, min_zoom, max_zoom, metadata, builtin, require_if_match)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
        ON CONFLICT (id) DO UPDATE SET
          title_zh = EXCLUDED.title_zh, title_en = EXCLUDED.title_en,
          description_zh = EXCLUDED.description_zh, description_en = EXCLUDED.description_en,
          grp = EXCLUDED.grp, kind = EXCLUDED.kind, geometry_type = EXCLUDED.geometry_type,
          schema = EXCLUDED.schema, access = EXCLUDED.access, style_id = EXCLUDED.style_id,
          min_zoom = EXCLUDED.min_zoom, max_zoom = EXCLUDED.max_zoom, metadata = EXCLUDED.metadata,
          builtin = EXCLUDED.builtin, require_if_match = EXCLUDED.require_if_match, updated_at = now()
        WHERE (onemap.layers.title_zh, onemap.layers.title_en, onemap.layers.description_zh,
               onemap.layers.description_en, onemap.layers.grp, onemap.layers.kind,
               onemap.layers.geometry_type, onemap.layers.schema, onemap.layers.access,
               onemap.layers.style_id, onemap.layers.min_zoom, onemap.layers.max_zoom,
               onemap.layers.metadata, onemap.layers.builtin, onemap.layers.require_if_match)
          IS DISTINCT FROM
              (EXCLUDED.title_zh, EXCLUDED.title_en, EXCLUDED.description_zh, EXCLUDED.description_en,
               EXCLUDED.grp, EXCLUDED.kind, EXCLUDED.geometry_type, EXCLUDED.schema, EXCLUDED.access,
               EXCLUDED.style_id, EXCLUDED.min_zoom, EXCLUDED.max_zoom, EXCLUDED.metadata, EXCLUDED.builtin,
               EXCLUDED.require_if_match)
        """,
        row["id"], row["title_zh"], row["title_en"], row["description_zh"], row["description_en"],
        row["grp"], row["kind"], row["geometry_type"], row["schema"], row["access"], row["style_id"],
        row["min_zoom"], row["max_zoom"], row["metadata"], builtin, row["require_if_match"],
    )


async def _ensure_table(conn: asyncpg.Connection, layer: LayerDef) -> None:
    if layer.kind != "vector":
        return
    exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", qualified(DATA_SCHEMA, layer.id))
    if not exists:
        for stmt in create_table_statements(layer):
            await conn.execute(stmt)
        return
    cols = await conn.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
        DATA_SCHEMA, layer.id,
    )
    stored = Layer.model_validate({**layer.model_dump(by_alias=True)})
    for stmt in add_missing_columns(stored, {c["column_name"] for c in cols}):
        await conn.execute(stmt)


async def sync_builtin(conn: asyncpg.Connection) -> list[str]:
    """Register every built-in layer and create or extend its table. Idempotent.

    Returns the ids of layers whose registry row or table changed.
    """
    changed: list[str] = []
    async with conn.transaction():
        for layer in builtin_layers():
            before = await conn.fetchval("SELECT updated_at FROM onemap.layers WHERE id = $1", layer.id)
            await _upsert_row(conn, layer, builtin=True)
            after = await conn.fetchval("SELECT updated_at FROM onemap.layers WHERE id = $1", layer.id)
            await _ensure_table(conn, layer)
            if before != after:
                changed.append(layer.id)
        if changed:
            await conn.execute("SELECT pg_notify($1, $2)", REGISTRY_CHANNEL, ",".join(changed))
    return changed


async def register_layer(conn: asyncpg.Connection, layer: LayerDef) -> Layer:
    """Register a new overlay layer from another system and create its table.

    Raises:
        LayerExists: when the id is taken.
        InvalidLayerDefinition: when a built-in group or raster kind is requested.
    """
    if layer.group != "overlay":
        raise InvalidLayerDefinition("layers registered through the API belong to the 'overlay' group")
    if layer.kind != "vector":
        raise InvalidLayerDefinition("only vector overlay layers can be registered through the API")
    async with conn.transaction():
        taken = await conn.fetchval("SELECT 1 FROM onemap.layers WHERE id = $1", layer.id)
        if taken:
            raise LayerExists(f"layer {layer.id!r} already exists")
        await _upsert_row(conn, layer, builtin=False)
        await _ensure_table(conn, layer)
        await conn.execute("SELECT pg_notify($1, $2)", REGISTRY_CHANNEL, layer.id)
        row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM onemap.layers WHERE id = $1", layer.id)  # noqa: S608
    return Layer.from_row(row)


async def note_temporal_extent(conn: asyncpg.Connection, layer_id: str) -> None:
    """Recompute a layer's temporal extent from its table (valid time, all versions).

    The write paths keep the extent right incrementally (:func:`layers.lifecycle.after_write`);
    this full scan is the repair for rows that arrived some other way, such as a restored dump.
    """
    layer_table = qualified(DATA_SCHEMA, layer_id)
    await conn.execute(
        f"""
        UPDATE onemap.layers l SET
          temporal_start = t.lo,
          temporal_end = CASE WHEN t.open THEN NULL ELSE t.hi END
        FROM (SELECT min(valid_from) AS lo, max(coalesce(valid_to, valid_from)) AS hi,
                     bool_or(valid_to IS NULL) AS open FROM {layer_table}) t
        WHERE l.id = $1
          AND (l.temporal_start, l.temporal_end) IS DISTINCT FROM
              (t.lo, CASE WHEN t.open THEN NULL ELSE t.hi END)
        """,  # noqa: S608
        layer_id,
    )
